"""Cold start of the built artifacts, as they ship today.

    .venv/bin/python bench/coldstart.py      # prints a Markdown report

Builds the layer and the three functions with the Makefile's build-* targets, which
`sam build` runs (supportdesk_dev.artifacts; the layer with the wheels of this machine's
Python), into a temporary folder. Then times each handler's import as Lambda runs it: a
fresh `python -S -P` with nothing on its path but the layer, the function folders and a
stand-in for the runtime's boto3, and PYTHONDONTWRITEBYTECODE=1 (Lambda's code folders are
read-only, so what is compiled at a cold start is never kept). Against it, the handler's
own third-party imports alone, imported the same way. Every run is a new interpreter; the
runs alternate, median of 15 each.

A second row per handler times a copy of the same artifacts with bytecode compiled by this
Python (compileall, unchecked-hash .pyc): what shipping bytecode would bring, measured on
this machine's Python version, not on the runtime's.
"""

from __future__ import annotations

import compileall
import os
import platform
import py_compile
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

from supportdesk_dev.artifacts import Artifacts, bare_python, build_all

REPO = Path(__file__).resolve().parents[1]
RUNS = 15
MIB = 1024 * 1024
# Each handler, and the third-party packages its import brings in that any handler of that
# kind would need: the floor it is compared with. The web function's are those of
# bench/web.py's cold-start table (its Logger, from aws_lambda_powertools, counts on the
# handler's side there and here). The other two import aws_lambda_powertools' Logger
# themselves, and boto3 comes in with the domain's store (at the top of supportdesk.store;
# the handlers make their clients on the first event).
HANDLERS = {
    "portal.app": "boto3, starlette.applications, mangum, jinja2",
    "inbound.handler": "boto3, aws_lambda_powertools",
    "notifier.handler": "boto3, aws_lambda_powertools",
}
TIMER = "import time; t = time.perf_counter(); import {modules}; print(time.perf_counter() - t)"
SHIPPED, COMPILED = "as shipped", "with bytecode"


def import_seconds(artifacts: Artifacts, modules: str) -> float:
    """The time `import modules` takes in a fresh bare interpreter over `artifacts`."""
    done = subprocess.run(bare_python("-c", TIMER.format(modules=modules)), env=artifacts.environment(),
                          cwd=artifacts.layer.parent, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"import {modules} failed over {artifacts.layer.parent}:\n{done.stderr}")
    return float(done.stdout.strip())


@dataclass(frozen=True)
class Provenance:
    compiled: int  # Python modules of the layer and the function code compiled from source
    from_bytecode: int  # ... and those loaded from a .pyc


def provenance(artifacts: Artifacts, module: str) -> Provenance:
    """Where each module of the import came from, as `python -v` tells: a source compiled
    there and then, or bytecode. Counted over the layer and the function folders only (the
    standard library and the runtime's boto3 have their bytecode either way)."""
    done = subprocess.run(bare_python("-v", "-c", f"import {module}"), env=artifacts.environment(),
                          cwd=artifacts.layer.parent, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"import {module} failed:\n{done.stderr}")
    ours = tuple(str(folder) + os.sep for folder in (artifacts.layer, *artifacts.functions))
    loaded = [line.removeprefix("# code object from ").strip("'")
              for line in done.stderr.splitlines() if line.startswith("# code object from ")]
    loaded = [path for path in loaded if path.startswith(ours)]
    return Provenance(compiled=sum(path.endswith(".py") for path in loaded),
                      from_bytecode=sum(path.endswith(".pyc") for path in loaded))


def with_bytecode(shipped: Artifacts, root: Path) -> Artifacts:
    """A copy of the layer and the functions with every module compiled by this Python; the
    runtime stand-in is shared. Hash-based .pyc: valid whatever dates the files get when
    zipped and unzipped; unchecked, since code that Lambda runs never changes in place."""
    copies = {}
    for name in ("layer", "web", "inbound", "notifier"):
        folder: Path = getattr(shipped, name)
        copies[name] = root / folder.name
        shutil.copytree(folder, copies[name], symlinks=True)
        if not compileall.compile_dir(copies[name], quiet=1, workers=0,
                                      invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH):
            raise RuntimeError(f"compileall failed in {copies[name]}")
    return replace(shipped, **copies)


@dataclass(frozen=True)
class Tally:
    size: int  # bytes
    py: int
    pyc: int

    def shown(self) -> str:
        return f"{self.size / MIB:.1f} MiB" if self.size >= MIB else f"{self.size / 1024:.0f} KiB"


def tally(folder: Path) -> Tally:
    """Unzipped size (bytes of the regular files) and how many .py and .pyc files."""
    size, py, pyc = 0, 0, 0
    for directory, _, names in os.walk(folder):
        for name in names:
            path = Path(directory, name)
            if path.is_symlink() or not path.is_file():
                continue
            size += path.stat().st_size
            py += name.endswith(".py")
            pyc += name.endswith(".pyc")
    return Tally(size, py, pyc)


def lambda_runtime() -> str:
    text = (REPO / "template.yaml").read_text()
    found = re.search(r"Globals:\n  Function:\n    Runtime: (\S+)\n    Architectures: \[(\w+)\]", text)
    return f"{found.group(1)} on {found.group(2)}" if found else "the runtime template.yaml names"


def main() -> None:
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    with tempfile.TemporaryDirectory(prefix="coldstart-") as temporary:
        root = Path(temporary)
        (root / "shipped").mkdir()
        shipped = build_all(root / "shipped")
        (root / "compiled").mkdir()
        compiled = with_bytecode(shipped, root / "compiled")
        variants = {SHIPPED: shipped, COMPILED: compiled}

        medians: dict[tuple[str, str], tuple[float, float]] = {}
        origins: dict[tuple[str, str], Provenance] = {}
        for handler, bare in HANDLERS.items():
            times: dict[tuple[str, str], list[float]] = {}
            for round_number in range(RUNS + 1):  # the first round only brings the files into the OS cache
                for label, artifacts in variants.items():  # alternated: bare, handler, bare, handler
                    for what, modules in (("bare", bare), ("handler", handler)):
                        seconds = import_seconds(artifacts, modules)
                        if round_number:
                            times.setdefault((label, what), []).append(seconds)
            for label, artifacts in variants.items():
                medians[handler, label] = (statistics.median(times[label, "bare"]) * 1000,
                                           statistics.median(times[label, "handler"]) * 1000)
                origins[handler, label] = provenance(artifacts, handler)
        # PYTHONDONTWRITEBYTECODE held: nothing was compiled into the shipped artifacts.
        written = [str(p) for folder in (shipped.layer, *shipped.functions) for p in folder.rglob("*.pyc")]
        if written:
            raise RuntimeError(f"bytecode was written into the shipped artifacts: {written[:3]}")
        sizes = {name: (tally(getattr(shipped, name)), tally(getattr(compiled, name)))
                 for name in ("layer", "web", "inbound", "notifier")}

    print(f"## Cold start of the built artifacts (median of {RUNS} fresh interpreters each, alternated)\n")
    print("| handler | artifacts | its own third-party imports alone | `import` of the handler | difference "
          "| ratio | modules of the layer and function code compiled at import |")
    print("|---|---|---|---|---|---|---|")
    for handler, bare in HANDLERS.items():
        for label in variants:
            bare_ms, handler_ms = medians[handler, label]
            origin = origins[handler, label]
            shown = label if label == SHIPPED else f"{label} compiled by Python {version}"
            print(f"| `{handler}` | {shown} | {bare_ms:.0f} ms ({bare}) | {handler_ms:.0f} ms "
                  f"| {handler_ms - bare_ms:.0f} ms | {handler_ms / bare_ms:.2f} "
                  f"| {origin.compiled} of {origin.compiled + origin.from_bytecode} |")
    print("\n## What ships (unzipped)\n")
    print(f"| artifact | size | .py files | .pyc files | with bytecode compiled by Python {version} |")
    print("|---|---|---|---|---|")
    names = {"layer": "SharedLayer", "web": "WebFunction", "inbound": "InboundFunction",
             "notifier": "NotifierFunction"}
    for name, (as_shipped, with_pyc) in sizes.items():
        print(f"| {names[name]} | {as_shipped.shown()} | {as_shipped.py:,} | {as_shipped.pyc:,} "
              f"| {with_pyc.shown()}, {with_pyc.pyc:,} .pyc |")
    print(f"\nPython {platform.python_version()} on {platform.machine()}, {os.cpu_count()} cores (the template's "
          f"runtime: {lambda_runtime()}; the layer here holds this Python's wheels). Each time is the import "
          f"alone, inside a fresh `python -S -P` with PYTHONDONTWRITEBYTECODE=1 and nothing on its path but the "
          f"layer, the function folders and boto3 (linked from this environment with its bytecode, in every "
          f"column); {RUNS} rounds after an unmeasured one, a handler's four runs alternated in each.")
    print(f"\n\"With bytecode\": a copy of the same artifacts with every module compiled by this Python "
          f"(unchecked-hash .pyc), which the build does not ship; Python {version}'s bytecode, not the runtime's.")

if __name__ == "__main__":
    main()
