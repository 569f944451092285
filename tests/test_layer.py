"""The artifacts `sam build` makes, tried as Lambda would load them.

`sam build` runs one Makefile target per resource, each into its own ARTIFACTS_DIR. Here
the same targets build the layer (for this machine's Python, so it can be imported here)
and both functions into temporary folders; then a Python without site-packages imports
each handler with nothing on its path but the layer, the function code and what the
Lambda runtime itself brings (boto3). A module the layer lacks, or one that only the
development environment has, fails the import as it would fail a cold start.
"""

from __future__ import annotations

import json
import os
import platform
import re
import subprocess
import sys
from importlib.metadata import distribution
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# What the Python runtimes of Lambda bring besides the standard library.
RUNTIME_DISTRIBUTIONS = ("boto3",)


def host_platform() -> str:
    """LAYER_PLATFORM for the wheels this interpreter can load (the default is Lambda's)."""
    machine = {"amd64": "x86_64", "arm64": "aarch64"}.get(platform.machine().lower(), platform.machine())
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    return f"--platform manylinux2014_{machine} --implementation cp --python-version {version} --only-binary=:all:"


def runtime_stand_in(folder: Path) -> Path:
    """A folder with what the Lambda runtime brings (boto3 and what it needs), linked from
    this environment: the layer leaves boto3 out on purpose."""
    folder.mkdir()
    wanted, seen = list(RUNTIME_DISTRIBUTIONS), set()
    while wanted:
        name = wanted.pop()
        if name in seen:
            continue
        seen.add(name)
        found = distribution(name)
        for requirement in found.requires or []:
            if "extra ==" not in requirement:
                wanted.append(re.split(r"[\s<>=!~;\[(]", requirement, maxsplit=1)[0])
        tops = {Path(str(f)).parts[0] for f in found.files or []}
        for top in tops - {"..", "__pycache__"}:
            source = Path(str(found.locate_file(top)))
            if not top.endswith(".dist-info") and source.exists() and not (folder / top).exists():
                (folder / top).symlink_to(source)
    return folder


def build(target: str, artifacts: Path, **variables: str) -> None:
    artifacts.mkdir()
    settings = [f"{name}={value}" for name, value in {"ARTIFACTS_DIR": str(artifacts), **variables}.items()]
    done = subprocess.run(["make", "--no-print-directory", "-C", str(REPO), target, *settings],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"make {target} failed:\n{done.stdout}\n{done.stderr}"


# Run in the bare interpreter: imports every handler and says where each module came from.
PROBE = """
import importlib.util, json, sys
import portal.app, inbound.handler, notifier.handler
assert callable(portal.app.handler) and callable(inbound.handler.handler) and callable(notifier.handler.handler)
print(json.dumps({
    "files": {name: getattr(sys.modules[name], "__file__", None) or ""
              for name in ("portal.app", "inbound.handler", "notifier.handler", "supportdesk", "starlette", "mangum",
                           "jinja2", "boto3")},
    "dev": importlib.util.find_spec("supportdesk_dev") is not None,
    "modules": sorted(sys.modules),
    "site": "site" in sys.modules,
}))
"""


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("sam-build")
    built = {"layer": root / "SharedLayer", "web": root / "WebFunction", "inbound": root / "InboundFunction",
             "notifier": root / "NotifierFunction"}
    build("build-SharedLayer", built["layer"], PYTHON=sys.executable, LAYER_PLATFORM=host_platform())
    build("build-WebFunction", built["web"])
    build("build-InboundFunction", built["inbound"])
    build("build-NotifierFunction", built["notifier"])
    built["runtime"] = runtime_stand_in(root / "runtime")
    return built


def test_the_layer_holds_the_domain_and_not_the_dev_code(artifacts: dict[str, Path]) -> None:
    python = artifacts["layer"] / "python"
    assert (python / "supportdesk" / "config.py").is_file()
    assert list((python / "supportdesk" / "locale").glob("*/LC_MESSAGES/messages.mo"))  # compiled
    assert not list(python.rglob("supportdesk_dev*"))
    assert not [p for p in python.rglob("*.py") if p.name in ("cli.py", "devserver.py", "provision.py")
                and p.parent.name == "supportdesk"]
    assert not list(artifacts["layer"].rglob("__pycache__"))


def test_every_handler_imports_from_the_layer_and_its_own_code_alone(artifacts: dict[str, Path]) -> None:
    path = os.pathsep.join(str(p) for p in (artifacts["layer"] / "python", artifacts["web"],
                                            artifacts["inbound"], artifacts["notifier"], artifacts["runtime"]))
    # No setting is needed to import a handler (Settings are read on a request's first use),
    # so none is given: an import that starts reading one fails here.
    environment = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": path, "PYTHONDONTWRITEBYTECODE": "1"}
    # -S: no site-packages, so nothing of this development environment is on the path;
    # -P: nor the working folder.
    done = subprocess.run([sys.executable, "-S", "-P", "-c", PROBE], capture_output=True, text=True,
                          env=environment, cwd=artifacts["web"].parent, timeout=60)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    assert not seen["site"] and not seen["dev"]
    files = seen["files"]
    assert files["portal.app"].startswith(str(artifacts["web"]))
    assert files["inbound.handler"].startswith(str(artifacts["inbound"]))
    assert files["notifier.handler"].startswith(str(artifacts["notifier"]))
    for name in ("supportdesk", "starlette", "mangum", "jinja2"):
        assert files[name].startswith(str(artifacts["layer"] / "python")), (name, files[name])
    assert files["boto3"].startswith(str(artifacts["runtime"]))
    assert not [m for m in seen["modules"] if m.split(".")[0] in ("supportdesk_dev", "moto", "pytest", "uvicorn")]
