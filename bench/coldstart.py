"""Cold start of the built artifacts, as they ship.

    .venv/bin/python bench/coldstart.py      # prints a Markdown report

Builds the layer and every function with the Makefile's build-* targets, which
`sam build` runs (supportdesk_dev.artifacts), into a temporary folder: for this machine's
Python rather than the runtime's (the layer with its wheels, the bytecode compiled by it,
as `sam build` compiles it with the runtime's Python). Then times each handler's import as
Lambda runs it: a fresh `python -S -P` with nothing on its path but the layer, the function
folders and a stand-in for the runtime's boto3, and PYTHONDONTWRITEBYTECODE=1 (Lambda's code
folders are read-only, so what is compiled at a cold start is never kept). Against it, the
handler's own third-party imports alone, imported the same way. Every run is a new
interpreter; the runs alternate, median of 15 each.

A second row per handler times a copy of the same artifacts without their bytecode (the
sources only, as the build shipped them before it compiled them). The sizes compare the
layer as shipped with the layer as pip installs it (every Babel locale, console scripts;
counted from the dist-infos' RECORD files) and without bytecode.
"""

from __future__ import annotations

import csv
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

from supportdesk_dev.artifacts import FOLDERS, Artifacts, Provenance, bare_python, build_all, provenance

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
    "departments.handler": "boto3, aws_lambda_powertools",
    # No third-party import at all: its floor is the standard library's gettext it reads
    # its words with.
    "cognito_messages.handler": "gettext",
}
TIMER = "import time; t = time.perf_counter(); import {modules}; print(time.perf_counter() - t)"
SHIPPED, SOURCES = "as shipped", "sources only"
NAMES = FOLDERS


def import_seconds(artifacts: Artifacts, modules: str) -> float:
    """The time `import modules` takes in a fresh bare interpreter over `artifacts`."""
    done = subprocess.run(bare_python("-c", TIMER.format(modules=modules)), env=artifacts.environment(),
                          cwd=artifacts.layer.parent, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"import {modules} failed over {artifacts.layer.parent}:\n{done.stderr}")
    return float(done.stdout.strip())


def without_bytecode(shipped: Artifacts, root: Path) -> Artifacts:
    """A copy of the layer and the functions with every __pycache__ left out: the sources
    only, as the build shipped them before it compiled them. The runtime stand-in is shared."""
    copies = {}
    for name in NAMES:
        folder: Path = getattr(shipped, name)
        copies[name] = root / folder.name
        shutil.copytree(folder, copies[name], symlinks=True, ignore=shutil.ignore_patterns("__pycache__"))
    return replace(shipped, **copies)


@dataclass(frozen=True)
class Tally:
    size: int  # bytes
    bytecode: int  # bytes of the .pyc files among them
    py: int
    pyc: int


def tally(folder: Path) -> Tally:
    """Unzipped size (bytes of the regular files), that of the .pyc, how many .py and .pyc files."""
    size, bytecode, py, pyc = 0, 0, 0, 0
    for directory, _, names in os.walk(folder):
        for name in names:
            path = Path(directory, name)
            if path.is_symlink() or not path.is_file():
                continue
            size += path.stat().st_size
            py += name.endswith(".py")
            if name.endswith(".pyc"):
                pyc += 1
                bytecode += path.stat().st_size
    return Tally(size, bytecode, py, pyc)


def removed_by_the_build(layer: Path) -> int:
    """Bytes that pip installed into the layer and the build removed (the locale data of
    Babel's other locales, console scripts): the files each RECORD lists that are gone."""
    gone = 0
    python = layer / "python"
    for record in python.glob("*.dist-info/RECORD"):
        with record.open(newline="") as rows:
            for row in csv.reader(rows):
                if len(row) == 3 and row[2] and not (python / row[0]).exists():
                    gone += int(row[2])
    return gone


def shown(size: int) -> str:
    return f"{size / MIB:.1f} MiB" if size >= MIB else f"{size / 1024:.0f} KiB"


def lambda_runtime() -> str:
    text = (REPO / "template.yaml").read_text()
    found = re.search(r"Globals:\n  Function:\n    Runtime: (\S+)\n    Architectures: \[(\w+)\]", text)
    return f"{found.group(1)} on {found.group(2)}" if found else "the runtime template.yaml names"


def main() -> None:
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    with tempfile.TemporaryDirectory(prefix="coldstart-") as temporary:
        root = Path(temporary)
        shipped = build_all(root / "shipped")
        (root / "sources").mkdir()
        sources = without_bytecode(shipped, root / "sources")
        variants = {SHIPPED: shipped, SOURCES: sources}

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
        # PYTHONDONTWRITEBYTECODE held: nothing was compiled into the copy without bytecode.
        written = [str(p) for folder in (sources.layer, *sources.functions) for p in folder.rglob("*.pyc")]
        if written:
            raise RuntimeError(f"bytecode was written into the artifacts: {written[:3]}")
        sizes = {name: tally(getattr(shipped, name)) for name in NAMES}
        removed = removed_by_the_build(shipped.layer)

    print(f"## Cold start of the built artifacts (median of {RUNS} fresh interpreters each, alternated)\n")
    print("| handler | artifacts | its own third-party imports alone | `import` of the handler | difference "
          "| ratio | modules of the layer and function code compiled at import |")
    print("|---|---|---|---|---|---|---|")
    for handler, bare in HANDLERS.items():
        for label in variants:
            bare_ms, handler_ms = medians[handler, label]
            origin = origins[handler, label]
            described = f"{label} (bytecode of Python {version})" if label == SHIPPED else label
            print(f"| `{handler}` | {described} | {bare_ms:.0f} ms ({bare}) | {handler_ms:.0f} ms "
                  f"| {handler_ms - bare_ms:.0f} ms | {handler_ms / bare_ms:.2f} "
                  f"| {len(origin.compiled)} of {len(origin.compiled) + len(origin.from_bytecode)} |")
    print("\n## What ships (unzipped)\n")
    print("| artifact | as shipped | .py files | .pyc files | without bytecode | as pip installs it, without bytecode |")
    print("|---|---|---|---|---|---|")
    for name, each in sizes.items():
        installed = shown(each.size - each.bytecode + removed) if name == "layer" else "(not installed by pip)"
        print(f"| {NAMES[name]} | {shown(each.size)} | {each.py:,} | {each.pyc:,} "
              f"| {shown(each.size - each.bytecode)} | {installed} |")
    print(f"\nPython {platform.python_version()} on {platform.machine()}, {os.cpu_count()} cores (the template's "
          f"runtime: {lambda_runtime()}; the layer here holds this Python's wheels and its bytecode, as `sam build` "
          f"compiles it with the runtime's Python). Each time is the import alone, inside a fresh `python -S -P` "
          f"with PYTHONDONTWRITEBYTECODE=1 and nothing on its path but the layer, the function folders and boto3 "
          f"(linked from this environment with its bytecode, in every column); {RUNS} rounds after an unmeasured "
          f"one, a handler's four runs alternated in each.")
    print(f"\n\"Sources only\": a copy of the same artifacts without their __pycache__ folders, as the build shipped "
          f"them before it compiled them. \"As pip installs it\": the layer's size with what the build removes from "
          f"what pip installed ({shown(removed)}: the locale data of Babel's locales other than "
          f"root, es and en, and the console scripts), counted from the RECORD of each installed package.")


if __name__ == "__main__":
    main()
