"""How the artifacts are built: the layer's lock, the build's settings, what it refuses.

tests/test_layer.py tries the built artifacts themselves; here, what makes every build the
same: the lock (shared/requirements.txt, made by `make lock` from shared/requirements.in)
that the layer and this development environment both install, the interpreter the
bytecode is compiled with, template.yaml's build metadata and samconfig.toml.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from importlib.metadata import version
from pathlib import Path

import pytest

from supportdesk_dev import REPO_ROOT
from supportdesk_dev.artifacts import BuildError, build, build_all, host_settings
from supportdesk_dev.provision import load_template

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


def test_a_build_with_an_interpreter_of_another_version_is_refused(tmp_path: Path) -> None:
    # Bytecode of another version would ship and be ignored at every cold start: the build
    # stops with a message that says what to do.
    ours = "%d.%d" % sys.version_info[:2]
    other = "3.%d" % (sys.version_info.minor + 1)
    with pytest.raises(BuildError, match=rf"is Python {re.escape(ours)}, the runtime is Python {re.escape(other)}"):
        build("build-NotifierFunction", tmp_path / "other", BUILD_PYTHON=sys.executable, RUNTIME_VERSION=other)
    missing = r"python3\.99 was not found or does not run \(install Python 3\.99, or set BUILD_PYTHON"
    with pytest.raises(BuildError, match=missing):
        build("build-NotifierFunction", tmp_path / "missing", RUNTIME_VERSION="3.99")
    assert not list((tmp_path / "other").iterdir()) and not list((tmp_path / "missing").iterdir())


def built_resources() -> dict[str, dict]:
    return {name: resource for name, resource in load_template()["Resources"].items()
            if resource["Type"] in ("AWS::Serverless::Function", "AWS::Serverless::LayerVersion")}


def test_every_function_and_layer_is_built_by_its_makefile_target_for_arm64() -> None:
    resources = built_resources()
    assert {"SharedLayer", "WebFunction", "InboundFunction", "NotifierFunction"} <= set(resources)
    globals_ = load_template()["Globals"]["Function"]
    for name, resource in resources.items():
        assert resource["Metadata"]["BuildMethod"] == "makefile", name
        # make -n: the target exists (and what it would run), without running it.
        dry = subprocess.run(["make", "-n", "-C", str(REPO_ROOT), f"build-{name}", "ARTIFACTS_DIR=/nowhere",
                              *(f"{k}={v}" for k, v in host_settings().items())],
                             capture_output=True, text=True, timeout=30)
        assert dry.returncode == 0, (name, dry.stderr)
        assert "compileall" in dry.stdout and "unchecked-hash" in dry.stdout, name
        if resource["Type"] == "AWS::Serverless::LayerVersion":
            # SAM builds a layer for x86_64 unless its metadata says otherwise.
            assert resource["Metadata"]["BuildArchitecture"] == "arm64"
            assert resource["Properties"]["CompatibleArchitectures"] == ["arm64"]
        else:
            assert resource["Properties"].get("Architectures", globals_["Architectures"]) == ["arm64"], name


def test_every_environment_builds_in_the_source_in_parallel_and_cached() -> None:
    config = tomllib.loads((REPO_ROOT / "samconfig.toml").read_text())
    stacks = set()
    for environment in ("default", "dev", "staging", "prod"):
        built = config[environment]["build"]["parameters"]
        assert built == {"build_in_source": True, "cached": True, "parallel": True}, environment
        stacks.add(config[environment]["global"]["parameters"]["stack_name"])
        deployed = config[environment]["deploy"]["parameters"]
        stage = "dev" if environment == "default" else environment
        assert f"Stage={stage}" in deployed["parameter_overrides"], environment
    assert len(stacks) == 3  # default is dev


def test_nothing_hidden_in_the_source_reaches_an_artifact(tmp_path: Path) -> None:
    # A copy of the repository's tracked files with what a developer's machine also has: the
    # local stack's .dev/ (its reply secret), a .venv, and hidden files inside the very
    # folders the build copies. sam build runs the targets in the source folder; none of it
    # may end up in an artifact.
    source = tmp_path / "source"
    tracked = subprocess.run(["git", "-C", str(REPO_ROOT), "ls-files", "-z"], capture_output=True, check=True)
    for name in tracked.stdout.decode().split("\0"):
        if name and (REPO_ROOT / name).exists():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO_ROOT / name, source / name, follow_symlinks=False)
    secret = "reply-secret-7c1b5e0d9a"
    for folder in (".dev", ".venv", "functions/portal/.dev", "functions/inbound/.dev", "functions/notifier/.dev",
                   "shared/supportdesk/.dev", "templates/.dev"):
        (source / folder).mkdir(parents=True, exist_ok=True)
        (source / folder / "reply-secret").write_text(secret)
    (source / "functions" / "portal" / ".env").write_text(f"REPLY_SECRET={secret}\n")
    artifacts = build_all(tmp_path / "built", source=source)
    leaked = [str(path) for folder in (artifacts.layer, *artifacts.functions) for path in folder.rglob("*")
              if path.name.startswith(".") or (path.is_file() and secret.encode() in path.read_bytes())]
    assert leaked == []
    assert (artifacts.web / "portal" / "app.py").is_file()  # the build did copy the code
