"""The artifacts `sam build` makes, tried as Lambda would load them.

`sam build` runs one Makefile target per resource, each into its own ARTIFACTS_DIR. Here
the same targets build the layer (for this machine's Python, so it can be imported here)
and the three functions into temporary folders (supportdesk_dev.artifacts, which
bench/coldstart.py builds with too); then a Python without site-packages imports
each handler with nothing on its path but the layer, the function code and what the
Lambda runtime itself brings (boto3). A module the layer lacks, or one that only the
development environment has, fails the import as it would fail a cold start.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from supportdesk_dev.artifacts import Artifacts, BuildError, bare_python, build, build_all

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
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> Artifacts:
    return build_all(tmp_path_factory.mktemp("sam-build"))


def test_a_failed_build_says_which_target_failed_and_why(tmp_path: Path) -> None:
    with pytest.raises(BuildError, match=r"(?s)make build-NoSuchFunction failed.*build-NoSuchFunction"):
        build("build-NoSuchFunction", tmp_path / "artifacts")


def test_the_layer_holds_the_domain_and_not_the_dev_code(artifacts: Artifacts) -> None:
    python = artifacts.layer / "python"
    assert (python / "supportdesk" / "config.py").is_file()
    assert list((python / "supportdesk" / "locale").glob("*/LC_MESSAGES/messages.mo"))  # compiled
    assert not list(python.rglob("supportdesk_dev*"))
    assert not [p for p in python.rglob("*.py") if p.name in ("cli.py", "devserver.py", "provision.py")
                and p.parent.name == "supportdesk"]
    assert not list(artifacts.layer.rglob("__pycache__"))


def test_every_handler_imports_from_the_layer_and_its_own_code_alone(artifacts: Artifacts) -> None:
    # No setting is needed to import a handler (Settings are read on a request's first use),
    # so none is given: an import that starts reading one fails here. The interpreter sees
    # nothing of this development environment (-S) nor the working folder (-P).
    done = subprocess.run(bare_python("-c", PROBE), capture_output=True, text=True,
                          env=artifacts.environment(), cwd=artifacts.web.parent, timeout=60)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    assert not seen["site"] and not seen["dev"]
    files = seen["files"]
    assert files["portal.app"].startswith(str(artifacts.web))
    assert files["inbound.handler"].startswith(str(artifacts.inbound))
    assert files["notifier.handler"].startswith(str(artifacts.notifier))
    for name in ("supportdesk", "starlette", "mangum", "jinja2"):
        assert files[name].startswith(str(artifacts.layer / "python")), (name, files[name])
    assert files["boto3"].startswith(str(artifacts.runtime))
    assert not [m for m in seen["modules"] if m.split(".")[0] in ("supportdesk_dev", "moto", "pytest", "uvicorn")]
