"""`make smoke` against `make dev`: the script a pipeline runs against a stack in AWS, run
here against the dev system started as `make dev` starts it (on free ports)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_dev import DevServer

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def dev(tmp_path: Path) -> Iterator[DevServer]:
    server = DevServer(tmp_path / ".dev")
    server.start()
    yield server
    if server.process and server.process.poll() is None:
        server.stop()
    if server.process and server.process.stdout:
        server.process.stdout.close()


def test_make_smoke_passes_against_make_dev(dev: DevServer) -> None:
    done = subprocess.run(["make", "--no-print-directory", "smoke", f"URL={dev.url}"], cwd=REPO, env=dev.env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "ok  logged in as cliente@example.com" in out
    assert "ok  uploaded smoke-test.txt" in out and "its page shows smoke-test.txt" in out
    assert f"through 127.0.0.1:{dev.smtp_port}" in out
    assert f"its acknowledgement links to {dev.url}/ticket.html?id=" in out
    assert out.rstrip().endswith("smoke test passed")

    # A failing step fails the run and says which.
    wrong = subprocess.run([sys.executable, str(REPO / "scripts" / "smoke.py"), dev.url, "--email",
                            "cliente@example.com", "--password", "not-the-password"], cwd=REPO, env=dev.env,
                           capture_output=True, text=True, timeout=120)
    assert wrong.returncode == 1
    assert "FAILED  log in as cliente@example.com: 400" in wrong.stderr or "FAILED  log in" in wrong.stderr
