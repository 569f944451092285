"""Benchmark of the web function against SPEC §5's quality bars.

    .venv/bin/python bench/web.py            # prints a Markdown report

Measures, with the local stack (moto's server over HTTP) standing in for AWS:
- data-store calls (DynamoDB and S3, counted by a botocore event hook) per customer action
  and per agent action, through the real Lambda entry point (HTTP API events into the
  Mangum handler), each side with its own signed-in browser session;
- the time of each action, median of repeated runs (moto's latency, not AWS's: compare
  runs of this script with each other, not with production);
- cold start: importing the handler module vs importing its bare dependencies (boto3,
  starlette, mangum, jinja2), each in fresh interpreters, alternated, median of 15;
- peak RSS of the process that served all the actions, against the function's MemorySize;
- page weight of the ticket form page (HTML shell, fragment, JS, CSS), gzip-compressed.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlencode

REPO = Path(__file__).resolve().parents[1]
RUNS = 15
BAR = 2  # SPEC §5: data-store calls per action


class Session:
    """One browser: its cookies, and the CSRF token its last page carried."""

    def __init__(self, role: str) -> None:
        self.role = role  # whose table its actions go in: "customer" or "agent"
        self.jar: dict[str, str] = {}
        self.token = ""


def import_time(code: str, env: dict[str, str]) -> float:
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                            check=True)
    return float(result.stdout.strip())


def cold_start(bytecode: bool) -> dict[str, float]:
    """Import times; `bytecode`: our modules' .pyc are cached, as pip caches the dependencies'."""
    env = {**os.environ, "PYTHONPATH": f"{REPO / 'functions'}{os.pathsep}{REPO / 'shared'}",
           "TABLE_NAME": "t", "USER_POOL_ID": "p", "USER_POOL_CLIENT_ID": "c"}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    if not bytecode:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        for cache in [*(REPO / "functions").rglob("__pycache__"), *(REPO / "shared").rglob("__pycache__")]:
            shutil.rmtree(cache)
    timer = "import time; t = time.perf_counter(); {imports}; print(time.perf_counter() - t)"
    if bytecode:
        import_time(timer.format(imports="import portal.app"), env)  # writes the cache
    bare, handler = [], []
    for _ in range(RUNS):  # alternate, so both see the same machine state
        bare.append(import_time(timer.format(
            imports="import boto3, starlette.applications, mangum, jinja2"), env))
        handler.append(import_time(timer.format(imports="import portal.app"), env))
    return {"bare_ms": statistics.median(bare) * 1000, "handler_ms": statistics.median(handler) * 1000}


# What a customer attaches: a log, a screenshot, a PDF.
FILES = {"error.log": b"550 5.1.1 <info@ana.es>: Recipient address rejected\n" * 40,
         "captura.png": b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 60,
         "factura.pdf": b"%PDF-1.4\n" + b"0" * 20_000}


def attach(session: Session, name: str, data: bytes, measure: Callable[..., dict[str, Any]]) -> str:
    """As the browser attaches a file: a presigned POST (measured), the upload straight to S3
    (not the function's), the file's check (measured); the token the form sends."""
    import httpx2 as httpx

    slot = json.loads(measure("attach: presigned POST", session, "POST", "/api/uploads",
                              {"filename": name, "size": str(len(data)), "content_type": "text/plain"})["body"])
    sent = httpx.post(slot["url"], data=slot["fields"], files={"file": (name, data, "text/plain")})
    assert sent.status_code < 300, sent.text
    checked = measure("attach: check", session, "POST", "/api/uploads/checked", {"key": slot["key"]})
    return str(json.loads(checked["body"])["token"])


def serve_actions(rounds: int) -> dict[str, Any]:
    """Drive the Lambda handler through every customer and agent action; runs in a child
    process. Each round the customer opens a ticket and the agent works on it (before the
    customer closes it, so it is in the queue)."""
    from serving import own_peak_mb

    from portal import resources
    from portal.app import handler
    from supportdesk_dev.events import LambdaContext, http_api_event

    calls: list[str] = []

    def count(event_name: str, **_: Any) -> None:
        calls.append(event_name)

    for service in ("dynamodb", "s3"):
        resources._client(service).meta.events.register("before-call.*", count)
    context = LambdaContext()
    # As CloudFront sends it.
    origin = resources.origin_secret()
    served = {"requests": 0}

    def call(session: Session, method: str, url: str, form: dict[str, Any] | None = None,
             htmx: bool = True) -> dict[str, Any]:
        headers = {"hx-request": "true"} if htmx else {}
        body = ""
        if form is not None:
            headers["content-type"] = "application/x-www-form-urlencoded"
            body = urlencode({**form, "csrf_token": session.token}, doseq=True)
        event = http_api_event(method, url, headers=headers, body=body, origin_secret=origin,
                               cookies=[f"{k}={v}" for k, v in session.jar.items()])
        response = handler(event, context)
        served["requests"] += 1
        found = re.search(r'name="csrf_token" value="([^"]+)"', response.get("body") or "")
        if found:
            session.token = found.group(1)
        for cookie in response.get("cookies", []):
            name, _, rest = cookie.partition("=")
            session.jar[name] = rest.split(";")[0]
        return response

    costs: dict[str, dict[str, list[int]]] = {"customer": {}, "agent": {}}
    times: dict[str, dict[str, list[float]]] = {"customer": {}, "agent": {}}
    dearest: dict[str, list[str]] = {}  # each action's calls, in its costliest round

    def measure(name: str, session: Session, method: str, url: str,
                form: dict[str, Any] | None = None) -> dict[str, Any]:
        calls.clear()
        start = time.perf_counter()
        response = call(session, method, url, form)
        times[session.role].setdefault(name, []).append(time.perf_counter() - start)
        counted = costs[session.role].setdefault(name, [])
        if not counted or len(calls) > max(counted):
            dearest[name] = list(calls)
        counted.append(len(calls))
        assert response["statusCode"] < 400, (name, response["statusCode"], response["body"][:300])
        return response

    customer, agent = Session("customer"), Session("agent")
    email, password = os.environ["BENCH_EMAIL"], os.environ["BENCH_PASSWORD"]
    call(customer, "GET", "/api/login")
    # The agent stays signed in all along, as at a desk.
    call(agent, "GET", "/api/login")
    call(agent, "POST", "/api/login", {"email": os.environ["BENCH_AGENT_EMAIL"],
                                       "password": os.environ["BENCH_AGENT_PASSWORD"]})
    resources.departments()  # as in a warm container
    resources.agents()
    for round_number in range(rounds):
        for name in ("__Host-sd_id", "__Host-sd_refresh", "__Host-sd_since"):
            customer.jar.pop(name, None)
        # A new visit: the login page's token (one bound to the ended session is stale).
        call(customer, "GET", "/api/login")
        measure("login", customer, "POST", "/api/login", {"email": email, "password": password})
        measure("form", customer, "GET", "/api/tickets/new?department=support")
        measure("subject advice", customer, "GET", "/api/tickets/similar?subject=correo+rebota")
        measure("preview", customer, "POST", "/api/preview", {"message": "**negrita** y `code`"})
        tokens = [attach(customer, name, data, measure) for name, data in FILES.items()]
        created = measure(f"submit with {len(tokens)} files", customer, "POST", "/api/tickets", {
            "department": "support", "subject": f"El correo rebota {round_number}",
            "priority": "normal", "service": "Hosting Pro — ana.es", "attachment": tokens,
            "message": "Desde las 10:00 los mensajes a info@ana.es rebotan con 550.\n\n```\n550 5.1.1\n```"})
        ticket_id = re.search(r'id="created-ticket-id">([A-Z]{3}-\d{6})<', created["body"]).group(1)  # type: ignore[union-attr]
        measure("list + search", customer, "GET", "/api/tickets?q=rebota")
        measure("view", customer, "GET", f"/api/tickets/{ticket_id}")
        measure("reply", customer, "POST", f"/api/tickets/{ticket_id}/replies", {"message": "Más datos: el log."})
        work_on(agent, ticket_id, round_number, call, measure)
        measure("close", customer, "POST", f"/api/tickets/{ticket_id}/close", {"sure": "yes"})
    form_fragment = call(customer, "GET", "/api/tickets/new?department=support")["body"]
    return {
        "costs": {role: {name: max(values) for name, values in by_name.items()} for role, by_name in costs.items()},
        "times_ms": {role: {name: statistics.median(values) * 1000 for name, values in by_name.items()}
                     for role, by_name in times.items()},
        "calls": {name: dearest[name] for by_name in costs.values() for name, values in by_name.items()
                  if max(values) > BAR},
        "requests": served["requests"],
        "peak_rss_mb": own_peak_mb(),
        "form_fragment": form_fragment,
    }


def work_on(agent: Session, ticket_id: str, round_number: int, call: Callable[..., dict[str, Any]],
            measure: Callable[..., dict[str, Any]]) -> None:
    """The agent's actions on the round's ticket, each the request alone: a change's 303 to
    the view is not followed inside the measured call."""
    ticket = f"/api/agent/tickets/{ticket_id}"
    # The customer's reply left the ticket waiting: both queues list it.
    for name, url in (("queue page", "/api/agent/queue?department=support"),
                      ("queue page, all departments", "/api/agent/queue")):
        assert f'data-ticket="{ticket_id}"' in measure(name, agent, "GET", url)["body"], name
    measure("agent view", agent, "GET", ticket)
    measure("agent reply", agent, "POST", f"{ticket}/messages", {"kind": "reply", "message": "Lo miramos ya."})
    noted = measure("internal note", agent, "POST", f"{ticket}/messages",
                    {"kind": "note", "message": "Rebota por el SPF del dominio."})
    # The browser follows the note's redirect: the view it shows carries the version to change.
    view = call(agent, "GET", noted["headers"]["location"])
    version = re.search(r'name="version" value="(\d+)"', view["body"]).group(1)  # type: ignore[union-attr]
    status = "in-progress" if round_number % 2 == 0 else "on-hold"
    measure("status change", agent, "POST", f"{ticket}/changes", {"status": status, "version": version})
    measure("presence", agent, "POST", f"{ticket}/presence", {"writing": "1"})
    # Words are indexed by the notifier, off the request path: wait (unmeasured) until it has.
    waited = time.monotonic() + 10
    while ticket_id not in call(agent, "GET", "/api/agent/search?q=rebota")["body"]:
        assert time.monotonic() < waited, "the notifier did not index the ticket's words"
        time.sleep(0.05)
    for name, url in (("search by ID", f"/api/agent/search?q={ticket_id}"),
                      ("search by words", "/api/agent/search?q=rebota")):
        assert ticket_id in measure(name, agent, "GET", url)["body"], name


def page_weight(form_fragment: str) -> dict[str, int]:
    parts = {
        "site/new.html": (REPO / "site/new.html").read_bytes(),
        "form fragment (/api/tickets/new)": form_fragment.encode(),
        "static/htmx.min.js": (REPO / "site/static/htmx.min.js").read_bytes(),
        "static/app.min.js": (REPO / "site/static/app.min.js").read_bytes(),
        "static/app.min.css": (REPO / "site/static/app.min.css").read_bytes(),
    }
    return {name: len(gzip.compress(data, compresslevel=9)) for name, data in parts.items()}


def memory_size() -> int:
    text = (REPO / "template.yaml").read_text()
    return int(re.search(r"Globals:\n  Function:.*?MemorySize: (\d+)", text, re.S).group(1))  # type: ignore[union-attr]


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--serve":
        print(json.dumps(serve_actions(int(sys.argv[2]))))
        return
    from serving import serve_in_child

    results = serve_in_child(__file__, 20, stack_name="supportdesk-bench",
                             services=("Hosting Pro — ana.es",))
    starts = {"with cached bytecode": cold_start(bytecode=True),
              "compiling our modules each time": cold_start(bytecode=False)}
    weights = page_weight(results["form_fragment"])

    for role in ("customer", "agent"):
        if role == "agent":
            print()
        print(f"## Data-store calls and time per {role} action (20 rounds, warm container)\n")
        print("| action | DynamoDB + S3 calls (max) | median time (ms, moto) |")
        print("|---|---|---|")
        for name, cost in results["costs"][role].items():
            print(f"| {name} | {cost} | {results['times_ms'][role][name]:.1f} |")
        over = [name for name in results["costs"][role] if name in results["calls"]]
        if over:
            print(f"\nOver the bar ({BAR} calls), in the costliest round:\n")
            for name in over:
                print(f"- {name}: {', '.join(results['calls'][name])}")
    print("\n## Cold start (median of 15 fresh interpreters each, alternated)\n")
    print("| our modules | bare deps (boto3, starlette, mangum, jinja2) | `import portal.app` | ratio (bar 1.30) |")
    print("|---|---|---|---|")
    for label, start in starts.items():
        ratio = start["handler_ms"] / start["bare_ms"]
        print(f"| {label} | {start['bare_ms']:.0f} ms | {start['handler_ms']:.0f} ms | {ratio:.2f} |")
    print("\n## Memory\n")
    print(f"- peak memory (VmHWM) of the function's own process after {results['requests']} requests: "
          f"{results['peak_rss_mb']:.0f} MB (MemorySize in template.yaml: {memory_size()} MB)")
    print("\n## Page weight of the ticket form (gzip -9)\n")
    print("| part | bytes |")
    print("|---|---|")
    for name, size in weights.items():
        print(f"| {name} | {size:,} |")
    print(f"| **total** | **{sum(weights.values()):,}** (bar: 30,720) |")


if __name__ == "__main__":
    main()
