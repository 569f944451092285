"""What both benchmarks share: a local stack with a customer and an agent, and a child
process that serves the measured requests (so its peak RSS is the function's own)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
EMAIL, PASSWORD = "bench@example.org", "bench-password"
AGENT_EMAIL, AGENT_PASSWORD = "bench-agent@example.com", "bench-agent-password"


def serve_in_child(script: str, rounds: int, *, stack_name: str, services: tuple[str, ...] = (),
                   env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run `script --serve rounds` against a fresh local stack; return the JSON it prints."""
    from supportdesk.accounts import register_account
    from supportdesk.store import Table
    from supportdesk_dev.provision import seed_departments
    from supportdesk_dev.stack import apply_environment, start_local_stack

    with tempfile.TemporaryDirectory() as state:
        stack = start_local_stack(outbox=Path(state) / "outbox", stack_name=stack_name)
        try:
            local = stack.environment
            # The notifier runs here, on the stream, as make dev runs it: it reads the same settings.
            apply_environment(local)
            table = Table(stack.client("dynamodb"), local["TABLE_NAME"])
            seed_departments(table, "example.com")
            register_account(stack.client("cognito-idp"), table, local["USER_POOL_ID"],
                             email=EMAIL, name="Ana Bench", password=PASSWORD, services=services)
            register_account(stack.client("cognito-idp"), table, local["USER_POOL_ID"], email=AGENT_EMAIL,
                             name="Bench Agent", password=AGENT_PASSWORD, agent=True)
            child_env = {**os.environ, **local, "BENCH_EMAIL": EMAIL, "BENCH_PASSWORD": PASSWORD,
                         "BENCH_AGENT_EMAIL": AGENT_EMAIL, "BENCH_AGENT_PASSWORD": AGENT_PASSWORD,
                         "POWERTOOLS_LOG_LEVEL": "WARNING", **(env or {}),
                         "PYTHONPATH": f"{REPO / 'functions'}{os.pathsep}{REPO / 'shared'}"}
            served = subprocess.run([sys.executable, script, "--serve", str(rounds)], env=child_env,
                                    capture_output=True, text=True)
            if served.returncode != 0:  # say why, not only that it failed
                raise SystemExit(f"{script} --serve failed:\n{served.stderr[-4000:]}")
        finally:
            stack.stop()
    return dict(json.loads(served.stdout.strip().splitlines()[-1]))


def own_peak_mb() -> float:
    """This process's own peak memory (VmHWM). ru_maxrss is not it: a child started from a
    bigger parent (the local AWS) inherits the parent's figure across exec."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
