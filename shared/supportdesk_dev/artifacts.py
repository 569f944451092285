"""The artifacts `sam build` makes, built here by the same Makefile targets.

`sam build` runs one Makefile target per resource (build-SharedLayer, build-WebFunction,
build-InboundFunction, build-NotifierFunction, build-DepartmentsFunction,
build-CognitoMessagesFunction), each into its own ARTIFACTS_DIR. The same
targets build them here into a folder of our choosing for this machine's Python instead of
the Lambda runtime's: the layer with its wheels, and the bytecode of both compiled by it
(bytecode is version-specific: the Makefile refuses to compile for a runtime version that
is not its interpreter's). For tests/test_layer.py and tests/test_build.py (do the handlers
import from the layer alone, from the shipped bytecode?) and bench/coldstart.py (how long
does that take?).

Each handler is then imported as Lambda imports it: `python -S -P` (no site-packages, no
working folder), nothing on the path but the layer, the function code and a stand-in for
what the Lambda runtime brings (boto3), and no bytecode written (Lambda's code folders are
read-only).
"""

from __future__ import annotations

import os
import platform
import re
import subprocess
import sys
from dataclasses import dataclass
from importlib.metadata import distribution
from pathlib import Path

from supportdesk_dev import REPO_ROOT

# What the Python runtimes of Lambda bring besides the standard library.
RUNTIME_DISTRIBUTIONS = ("boto3",)
# The Makefile target of each artifact, and the folder it is built into.
FOLDERS = {"layer": "SharedLayer", "web": "WebFunction", "inbound": "InboundFunction",
           "notifier": "NotifierFunction", "departments": "DepartmentsFunction",
           "cognito_messages": "CognitoMessagesFunction"}
TARGETS = {name: f"build-{folder}" for name, folder in FOLDERS.items()}
FUNCTIONS = tuple(name for name in FOLDERS if name != "layer")
BUILD_TIMEOUT = 300  # seconds, per target


class BuildError(RuntimeError):
    """A Makefile target failed (or did not finish): what `sam build` would stop on."""


@dataclass(frozen=True)
class Artifacts:
    """Where each built artifact is, and the stand-in for what the runtime brings."""

    layer: Path
    web: Path
    inbound: Path
    notifier: Path
    departments: Path
    cognito_messages: Path
    runtime: Path

    @property
    def functions(self) -> tuple[Path, ...]:
        return tuple(getattr(self, name) for name in FUNCTIONS)

    def python_path(self) -> str:
        """PYTHONPATH as Lambda composes it: the layer's python/, the function code, the runtime's."""
        return os.pathsep.join(str(p) for p in (self.layer / "python", *self.functions, self.runtime))

    def environment(self) -> dict[str, str]:
        """The whole environment of an interpreter that imports these artifacts. No function
        setting is in it: importing a handler must not need one (they are read on first use)."""
        return {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": self.python_path(), "PYTHONDONTWRITEBYTECODE": "1"}


@dataclass(frozen=True)
class Provenance:
    """Where the modules of the layer and the function code that an import loaded came from."""

    compiled: tuple[str, ...]  # sources compiled there and then (no usable bytecode shipped)
    from_bytecode: tuple[str, ...]  # bytecode files loaded as shipped


def provenance(artifacts: Artifacts, module: str) -> Provenance:
    """Import `module` as Lambda would (bare_python, artifacts.environment()) and tell, from
    `python -v`, which modules were compiled from source and which loaded from bytecode.
    Only the layer and the function folders count: the standard library and the runtime's
    boto3 bring their own bytecode either way."""
    done = subprocess.run(bare_python("-v", "-c", f"import {module}"), env=artifacts.environment(),
                          cwd=artifacts.layer.parent, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"import {module} failed:\n{done.stderr}")
    ours = tuple(str(folder) + os.sep for folder in (artifacts.layer, *artifacts.functions))
    loaded = [line.removeprefix("# code object from ").strip("'")
              for line in done.stderr.splitlines() if line.startswith("# code object from ")]
    loaded = [path for path in loaded if path.startswith(ours)]
    return Provenance(compiled=tuple(p for p in loaded if p.endswith(".py")),
                      from_bytecode=tuple(p for p in loaded if p.endswith(".pyc")))


def bare_python(*arguments: str) -> list[str]:
    """The command of a Python that sees only its PYTHONPATH and the standard library:
    -S, no site-packages (nothing of this development environment); -P, no working folder."""
    return [sys.executable, "-S", "-P", *arguments]


def host_version() -> str:
    """This interpreter's version, as the Makefile's RUNTIME_VERSION spells it ("3.11")."""
    return f"{sys.version_info.major}.{sys.version_info.minor}"


def host_settings() -> dict[str, str]:
    """The Makefile variables that build for this interpreter rather than Lambda's."""
    return {"PYTHON": sys.executable, "BUILD_PYTHON": sys.executable, "RUNTIME_VERSION": host_version()}


def host_platform() -> str:
    """LAYER_PLATFORM for the wheels this interpreter can load (the default is Lambda's)."""
    machine = {"amd64": "x86_64", "arm64": "aarch64"}.get(platform.machine().lower(), platform.machine())
    # The whole version (3.11.7, not 3.11, which pip takes for 3.11.0): a locked package may
    # require a later patch release (soupsieve 4.1.3 requires 3.11.5).
    version = platform.python_version()
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


def build(target: str, artifacts: Path, source: Path = REPO_ROOT, **variables: str) -> None:
    """Run one Makefile target of the repository at `source` into the new folder `artifacts`,
    as `sam build` runs it (in the source folder). Raises BuildError, with make's output,
    when the target fails."""
    artifacts.mkdir()
    settings = [f"{name}={value}" for name, value in {"ARTIFACTS_DIR": str(artifacts), **variables}.items()]
    command = ["make", "--no-print-directory", "-C", str(source), target, *settings]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=BUILD_TIMEOUT)
    except subprocess.TimeoutExpired as timeout:
        raise BuildError(f"make {target} did not finish in {BUILD_TIMEOUT} s") from timeout
    if done.returncode != 0:
        raise BuildError(f"make {target} failed (exit status {done.returncode}):\n{done.stdout}\n{done.stderr}")


def build_all(root: Path, source: Path = REPO_ROOT) -> Artifacts:
    """Build the layer and every function of the repository at `source` for this
    machine's Python into `root`, one folder each, beside a stand-in for the runtime;
    return where they are."""
    root.mkdir(parents=True, exist_ok=True)
    built = {name: root / folder for name, folder in FOLDERS.items()}
    build(TARGETS["layer"], built["layer"], source, LAYER_PLATFORM=host_platform(), **host_settings())
    for name in FUNCTIONS:
        build(TARGETS[name], built[name], source, **host_settings())
    return Artifacts(**built, runtime=runtime_stand_in(root / "runtime"))
