"""The artifacts `sam build` makes, tried as Lambda would load them.

`sam build` runs one Makefile target per resource, each into its own ARTIFACTS_DIR. Here
the same targets build the layer (for this machine's Python, so it can be imported here)
and every function into temporary folders (supportdesk_dev.artifacts, which
bench/coldstart.py builds with too); then a Python without site-packages imports
each handler with nothing on its path but the layer, the function code and what the
Lambda runtime itself brings (boto3). A module the layer lacks, or one that only the
development environment has, fails the import as it would fail a cold start.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from supportdesk.i18n import LANGUAGES
from supportdesk_dev import REPO_ROOT
from supportdesk_dev.artifacts import Artifacts, BuildError, bare_python, build, build_all, provenance

# Run in the bare interpreter: imports every handler and says where each module came from.
PROBE = """
import importlib.util, json, sys
import portal.app, inbound.handler, notifier.handler, departments.handler, cognito_messages.handler
assert all(callable(module.handler) for module in (portal.app, inbound.handler, notifier.handler,
                                                   departments.handler, cognito_messages.handler))
print(json.dumps({
    "files": {name: getattr(sys.modules[name], "__file__", None) or ""
              for name in ("portal.app", "inbound.handler", "notifier.handler", "departments.handler",
                           "cognito_messages.handler", "supportdesk", "starlette", "mangum", "jinja2", "boto3")},
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
    assert files["departments.handler"].startswith(str(artifacts.departments))
    assert files["cognito_messages.handler"].startswith(str(artifacts.cognito_messages))
    for name in ("supportdesk", "starlette", "mangum", "jinja2"):
        assert files[name].startswith(str(artifacts.layer / "python")), (name, files[name])
    assert files["boto3"].startswith(str(artifacts.runtime))
    assert not [m for m in seen["modules"] if m.split(".")[0] in ("supportdesk_dev", "moto", "pytest", "uvicorn")]


HANDLERS = ("portal.app", "inbound.handler", "notifier.handler", "departments.handler", "cognito_messages.handler")


def shipped_folders(artifacts: Artifacts) -> tuple[Path, ...]:
    return artifacts.layer, *artifacts.functions


def test_every_module_ships_with_its_bytecode_for_the_runtime_and_its_source(artifacts: Artifacts) -> None:
    # Built for this interpreter (as `sam build` builds for python3.12 with a Python 3.12):
    # each source has the .pyc this version looks for, hash-based and unchecked (flags 0b01:
    # valid whatever dates the zip gives the files), and no .pyc is there without its source.
    sources = [p for folder in shipped_folders(artifacts) for p in folder.rglob("*.py")]
    assert len(sources) > 700
    for source in sources:
        cached = Path(importlib.util.cache_from_source(str(source)))
        header = cached.read_bytes()[:8]
        assert header[:4] == importlib.util.MAGIC_NUMBER, cached
        assert int.from_bytes(header[4:8], "little") == 0b01, cached
    for folder in shipped_folders(artifacts):
        for pyc in folder.rglob("*.pyc"):
            assert Path(importlib.util.source_from_cache(str(pyc))).is_file(), pyc


def test_every_handler_runs_the_shipped_bytecode_and_compiles_nothing(artifacts: Artifacts) -> None:
    for handler in HANDLERS:
        origin = provenance(artifacts, handler)
        assert origin.compiled == (), (handler, origin.compiled[:5])
        # The handler's own module and the domain's it brings (the smallest, Cognito's
        # messages, loads four of ours).
        assert len(origin.from_bytecode) >= 4, handler
        assert any(Path(p).parent.parent.name == handler.split(".")[0] for p in origin.from_bytecode), handler
    # Allowed to write bytecode, an interpreter that found a .pyc stale or missing would
    # write one: nothing in the artifacts changes.
    def files() -> dict[str, tuple[int, int]]:
        return {str(p): (p.stat().st_mtime_ns, p.stat().st_size)
                for folder in shipped_folders(artifacts) for p in folder.rglob("*") if p.is_file()}

    before = files()
    environment = {k: v for k, v in artifacts.environment().items() if k != "PYTHONDONTWRITEBYTECODE"}
    done = subprocess.run(bare_python("-c", "import " + ", ".join(HANDLERS)), env=environment,
                          cwd=artifacts.web.parent, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert files() == before


def test_no_file_names_the_builders_interpreter_or_the_build_folder(artifacts: Artifacts) -> None:
    # Console scripts carry their interpreter's path and .pyc files the path they were
    # compiled from: the build drops the first and names the second after Lambda's folders.
    revealing = {str(artifacts.layer.parent), str(REPO_ROOT), sys.executable, os.path.realpath(sys.executable),
                 sys.prefix}
    found = []
    for folder in shipped_folders(artifacts):
        for path in folder.rglob("*"):
            if path.is_file():
                content = path.read_bytes()
                found += [(str(path), text) for text in revealing if text.encode() in content]
    assert not found, found[:5]
    assert not (artifacts.layer / "python" / "bin").exists()


# The Babel calls the app makes, found in its code; each is tried below with the trimmed data.
FORMATTERS = {"format_datetime", "format_timedelta"}
FORMAT_PROBE = """
import json, sys
opened = set()
sys.addaudithook(lambda event, args: opened.add(str(args[0])) if event == "open" and isinstance(args[0], str) else None)
from portal.rendering import environment
shown = {}
for language in %(languages)r:
    filters = environment(language).filters
    shown[language] = [filters["when"]("2026-03-01T17:05:09.000000Z"),
                       *(filters["duration"](minutes) for minutes in (1, 45, 90, 600, 3000, 90000))]
print(json.dumps({"shown": shown, "opened": sorted(p for p in opened if "locale-data" in p)}))
"""


def test_the_apps_babel_calls_are_the_ones_tried_here() -> None:
    used = set()
    for folder in (REPO_ROOT / "functions", REPO_ROOT / "shared" / "supportdesk"):
        for source in folder.rglob("*.py"):
            for node in ast.walk(ast.parse(source.read_text())):
                if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "babel":
                    used |= {alias.name for alias in node.names}
                elif isinstance(node, ast.Import):
                    assert not [a for a in node.names if a.name.split(".")[0] == "babel"], source
    assert used == FORMATTERS


def test_the_trimmed_locale_data_formats_every_language_as_the_full_data_does(artifacts: Artifacts) -> None:
    data = artifacts.layer / "python" / "babel" / "locale-data"
    kept = {p.name for p in data.glob("*.dat")}
    assert kept == {f"{language}.dat" for language in ("root", *LANGUAGES)}
    done = subprocess.run(bare_python("-c", FORMAT_PROBE % {"languages": LANGUAGES}), env=artifacts.environment(),
                          cwd=artifacts.web.parent, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    assert {Path(p).name for p in seen["opened"]} == kept
    # The same calls here, with this environment's Babel and its data for every locale.
    full = subprocess.run([sys.executable, "-c", FORMAT_PROBE % {"languages": LANGUAGES}],
                          env={**os.environ, "PYTHONPATH": str(REPO_ROOT / "functions")},
                          capture_output=True, text=True, timeout=60)
    assert full.returncode == 0, full.stderr
    expected = json.loads(full.stdout)["shown"]
    assert seen["shown"] == expected
    assert expected["es"][0] != expected["en"][0] and "horas" in " ".join(expected["es"])


def test_two_builds_of_the_same_source_are_the_same_bytes(artifacts: Artifacts, tmp_path: Path) -> None:
    again = build_all(tmp_path)

    def contents(artifact: Path) -> dict[str, bytes]:
        return {str(p.relative_to(artifact)): p.read_bytes() for p in artifact.rglob("*") if p.is_file()}

    for first, second in zip(shipped_folders(artifacts), shipped_folders(again)):
        one, other = contents(first), contents(second)
        assert one.keys() == other.keys(), first.name
        assert [name for name in one if one[name] != other[name]] == [], first.name
