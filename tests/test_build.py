"""How the artifacts are built: the layer's lock.

tests/test_layer.py tries the built artifacts themselves; here, what makes every build the
same: the lock (shared/requirements.txt, made by `make lock` from shared/requirements.in)
that the layer and this development environment both install.
"""

from __future__ import annotations

import re
import tomllib
from importlib.metadata import version

from supportdesk_dev import REPO_ROOT

LOCK = REPO_ROOT / "shared" / "requirements.txt"
TOP_LEVEL = REPO_ROOT / "shared" / "requirements.in"
PIN = re.compile(r"^([A-Za-z0-9._-]+)(\[[^\]]*\])?==(\S+)")


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(text: str) -> dict[str, str]:
    """name -> version of each `name==version` requirement line (continuations and comments skipped)."""
    found = {}
    for line in text.splitlines():
        if matched := PIN.match(line):
            found[canonical(matched.group(1))] = matched.group(3)
    return found


def locked_entries() -> dict[str, list[str]]:
    """Each locked requirement's line with its --hash continuation lines."""
    entries: dict[str, list[str]] = {}
    current = None
    for line in LOCK.read_text().splitlines():
        if matched := PIN.match(line):
            current = canonical(matched.group(1))
            entries[current] = [line]
        elif current and line.strip().startswith("--hash="):
            entries[current].append(line)
        else:
            current = None
    return entries


def test_the_lock_pins_every_package_it_installs_with_hashes() -> None:
    entries = locked_entries()
    assert len(entries) > len(pins(TOP_LEVEL.read_text()))  # the dependencies of the dependencies too
    for name, lines in entries.items():
        assert len(lines) > 1 and all(re.search(r"--hash=sha256:[0-9a-f]{64}", h) for h in lines[1:]), name
    # Every top-level pin is locked at its version.
    locked = pins(LOCK.read_text())
    for name, pinned in pins(TOP_LEVEL.read_text()).items():
        assert locked.get(name) == pinned, name


def test_the_top_level_pins_are_pyprojects_runtime_dependencies_but_boto3() -> None:
    # boto3 comes with the Lambda runtime: the project pins it, the layer leaves it out.
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    declared = pins("\n".join(project["dependencies"]))
    assert declared.pop("boto3")
    assert pins(TOP_LEVEL.read_text()) == declared


def test_this_environment_runs_the_versions_the_layer_ships() -> None:
    # The tests pass on what is deployed: the venv installs the lock before anything else,
    # and no development tool may have moved one of its packages since.
    locked = pins(LOCK.read_text())
    installed = {name: version(name) for name in locked}
    assert installed == locked
