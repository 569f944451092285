"""Cost per action against the size of the archive (SPEC §5: constant in archive size).

    .venv/bin/python bench/scale.py          # prints a Markdown report

Three customers with 10, 1,000 and 5,000 tickets (1–8 messages of 150–1,500 characters
each, seven in ten closed) and a department with 10,000 tickets waiting are written
straight into a local stack's table; then a child process (the web function: its own CPU
and memory) drives each action through the real Lambda handler and counts, per action:
- data-store calls (a botocore event hook on the function's DynamoDB and S3 clients);
- read units: estimated from the items each call read, by DynamoDB's rule (4 KB per unit,
  eventually consistent reads at half, strongly consistent whole; a filtered Query is
  charged for what it evaluated, estimated at the mean size of what it returned);
- CPU milliseconds of the function's process (time.process_time);
- the response's bytes.
"""

from __future__ import annotations

import json
import math
import os
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

REPO = Path(__file__).resolve().parents[1]
SIZES = (10, 1_000, 5_000)
QUEUE = 10_000
# Three runs per action (medians): call counts, read units and bytes do not vary between
# them; CPU time does a little.
ROUNDS = 3
# The words the searches look for. A search reads only its words' partitions of the index,
# so only their items are written (all of them would be about 80 per ticket, 1.3 million
# here: more than moto holds comfortably), for every ticket that has them.
SEARCHED = ("certificado", "renovacion")
WORDS = ("correo dominio hosting servidor copia seguridad error certificado factura pago web "
         "lenta caída php mysql base datos dns registro mx spam buzón contraseña panel cpanel "
         "ftp ssh acceso permiso disco cuota memoria cpu proceso cron tarea wordpress plugin "
         "actualización migración transferencia renovación ssl https redirección subdominio "
         "alias reenvío rebote 550 timeout conexión puerto firewall ip bloqueo backup restaurar").split()


def _text(rng: random.Random, chars: int) -> str:
    words: list[str] = []
    while sum(len(w) + 1 for w in words) < chars:
        words.append(rng.choice(WORDS))
    return " ".join(words).capitalize() + "."


def _items_of_ticket(rng: random.Random, number: int, requester: Any, department: str, status: Any,
                     moment: float, *, render: bool) -> list[dict[str, Any]]:
    from supportdesk import tickets
    from supportdesk.markup import excerpt_of_html, render_markdown

    def stamp(seconds: float) -> str:
        return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{number % 1_000_000:06d}Z"

    ticket_id = f"{'QWERTYUIOPASDFGHJKLZXCVBNM'[number % 26]}{'ABCDEFGHIJ'[number // 26 % 10]}S-{number:06d}"
    count = rng.randint(1, 8) if status is not tickets.Status.OPEN or department != "queue10k" else 1
    bodies = [_text(rng, rng.randint(150, 1_500)) for _ in range(count)]
    created = stamp(moment)
    messages = tuple(
        tickets.Message(ticket_id, stamp(moment + 3600 * n), requester.name if n % 2 == 0 else "Agente",
                        body, from_agent=n % 2 == 1, sequence=n + 1,
                        # Rendering every message of 16,000 tickets takes minutes: the ones
                        # a page shows are rendered, the others keep their excerpt only.
                        html=render_markdown(body) if render or n == 0 else "")
        for n, body in enumerate(bodies))
    subject = _text(rng, 40)[:60]
    waiting = tickets.AWAITING_AGENT
    ticket = tickets.Ticket(
        id=ticket_id, department=department, subject=subject, priority=tickets.Priority.NORMAL, status=status,
        requester=requester, created_at=created, updated_at=messages[-1].created_at, messages=messages,
        message_count=count,
        waiting_since=created if status in waiting else None, excerpt=excerpt_of_html(messages[0].html),
        version=count)
    from supportdesk.search_index import whole_ticket_items

    terms = [i for i in whole_ticket_items(ticket) if str(i["PK"]).rsplit("#", 1)[-1] in SEARCHED]
    return [tickets._ticket_item(ticket), *(tickets._message_item(m) for m in messages), *terms]


def populate(table: Any, *, customers: dict[int, Any], agent: Any) -> dict[str, Any]:
    """Write the archives and the queue; returns what the child needs to find them."""
    from boto3.dynamodb.types import TypeSerializer

    from supportdesk.tickets import Requester, Status

    rng = random.Random(7)
    serializer = TypeSerializer()
    pending: list[dict[str, Any]] = []

    def write(item: dict[str, Any]) -> None:
        pending.append({"PutRequest": {"Item": {k: serializer.serialize(v) for k, v in item.items()
                                                if v is not None}}})
        if len(pending) == 25:
            flush()

    def flush() -> None:
        request = {table.name: list(pending)}
        pending.clear()
        while request:
            request = table.client.batch_write_item(RequestItems=request).get("UnprocessedItems") or {}

    found: dict[str, Any] = {"customers": {}}
    number = 0
    start = time.time() - 3 * 365 * 86400
    for size, account in customers.items():
        requester = Requester.of(account)
        ids = []
        for n in range(size):
            number += 1
            status = Status.CLOSED if rng.random() < 0.7 else rng.choice([Status.ANSWERED, Status.OPEN])
            items = _items_of_ticket(rng, number, requester, "support", status, start + n * 3 * 365 * 86400 / size,
                                     render=n == size - 1)
            for item in items:
                write(item)
            ids.append(items[0]["id"])
        found["customers"][str(size)] = {"ids": ids}
    for n in range(QUEUE):
        number += 1
        guest = Requester(f"Invitado {n}", f"invitado{n}@example.net")
        for item in _items_of_ticket(rng, number, guest, "queue10k", Status.OPEN, start + n * 600, render=False):
            write(item)
    write({"PK": "QUEUE#queue10k", "SK": "COUNT", "waiting": QUEUE})
    flush()
    return found


def item_size(raw: dict[str, Any]) -> int:
    """An item's size as DynamoDB counts it: names plus values."""
    def value(typed: dict[str, Any]) -> int:
        (kind, data), = typed.items()
        if kind in ("S", "B"):
            return len(str(data).encode())
        if kind == "N":
            return len(str(data)) // 2 + 1
        if kind in ("BOOL", "NULL"):
            return 1
        if kind == "M":
            return 3 + sum(len(k.encode()) + value(v) for k, v in data.items())
        if kind == "L":
            return 3 + sum(1 + value(v) for v in data)
        return sum(len(str(v).encode()) for v in data)  # sets
    return sum(len(k.encode()) + value(v) for k, v in raw.items())


def serve(found: dict[str, Any]) -> dict[str, Any]:
    """Runs in the child: each action through the Lambda handler, counted."""
    from portal import resources
    from portal.app import handler
    from supportdesk_dev.events import LambdaContext, http_api_event

    calls: list[str] = []
    units: list[float] = []

    def count(event_name: str, **_: Any) -> None:
        calls.append(event_name)

    def charge(event_name: str, parsed: dict[str, Any], model: Any, **kwargs: Any) -> None:
        params = kwargs.get("context", {}) or {}
        strong = bool(params.get("consistent"))
        if "Items" in parsed:
            sizes = [item_size(i) for i in parsed["Items"]]
            mean = statistics.mean(sizes) if sizes else 0
            evaluated = sum(sizes) + max(0, int(parsed.get("ScannedCount", len(sizes))) - len(sizes)) * mean
            units.append(math.ceil(evaluated / 4096 or 1) * (1 if strong else 0.5))
        elif "Item" in parsed:
            units.append(math.ceil(item_size(parsed["Item"]) / 4096) * (1 if strong else 0.5))
        elif "Responses" in parsed and isinstance(parsed["Responses"], dict):
            for items in parsed["Responses"].values():
                units.extend(math.ceil(item_size(i) / 4096) * 0.5 for i in items)

    for service in ("dynamodb", "s3"):
        resources._client(service).meta.events.register("before-call.*", count)
    resources._client("dynamodb").meta.events.register("after-call.dynamodb.*", charge)
    context = LambdaContext()
    origin = resources.origin_secret()

    class Visit:
        def __init__(self) -> None:
            self.jar: dict[str, str] = {}
            self.token = ""

        def call(self, method: str, url: str, form: dict[str, str] | None = None) -> dict[str, Any]:
            import re

            headers = {"hx-request": "true"}
            body = ""
            if form is not None:
                headers["content-type"] = "application/x-www-form-urlencoded"
                body = urlencode({**form, "csrf_token": self.token})
            event = http_api_event(method, url, headers=headers, body=body, origin_secret=origin,
                                   cookies=[f"{k}={v}" for k, v in self.jar.items()])
            response = handler(event, context)
            found_token = re.search(r'name="csrf_token" value="([^"]+)"', response.get("body") or "")
            if found_token:
                self.token = found_token.group(1)
            for cookie in response.get("cookies", []):
                name, _, rest = cookie.partition("=")
                self.jar[name] = rest.split(";")[0]
            return response

        def log_in(self, email: str, password: str) -> None:
            self.call("GET", "/api/login")
            self.call("POST", "/api/login", {"email": email, "password": password})

    results: dict[str, dict[str, dict[str, float]]] = {}

    def measure(column: str, name: str, visit: Visit, url: str, method: str = "GET",
                form: dict[str, str] | None = None) -> None:
        rows = []
        for _ in range(ROUNDS):
            # As in a warm container: departments and agents are kept for a minute, and a
            # run at 5,000 tickets takes longer than that.
            resources.departments()
            resources.agents()
            calls.clear()
            units.clear()
            cpu, wall = time.process_time(), time.perf_counter()
            response = visit.call(method, url, form)
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            assert response["statusCode"] < 400, (name, response["statusCode"], (response.get("body") or "")[:300])
            rows.append({"calls": len(calls), "rru": sum(units), "cpu_ms": cpu * 1000, "wall_ms": wall * 1000,
                         "kb": len((response.get("body") or "").encode()) / 1024})
        results.setdefault(name, {})[column] = {k: statistics.median(r[k] for r in rows) for k in rows[0]}

    resources.departments()
    resources.agents()
    for size in SIZES:
        visit = Visit()
        visit.log_in(os.environ[f"SCALE_EMAIL_{size}"], os.environ["SCALE_PASSWORD"])
        ids = found["customers"][str(size)]["ids"]
        column = f"{size:,} tickets"
        measure(column, "My tickets", visit, "/api/tickets")
        measure(column, "My tickets, open only", visit, "/api/tickets?status=open")
        measure(column, "search by word", visit, "/api/tickets?q=certificado")
        measure(column, "search by ID", visit, f"/api/tickets?q={ids[len(ids) // 2]}")
        measure(column, "subject advice", visit, "/api/tickets/similar?subject=" + "error+de+certificado+ssl")
        measure(column, "view a ticket", visit, f"/api/tickets/{ids[-1]}")
        measure(column, "reply", visit, f"/api/tickets/{ids[-1]}/replies", "POST",
                {"message": "Sigue fallando la renovación del certificado."})
        measure(column, "submit", visit, "/api/tickets", "POST", {
            "department": "support", "subject": "Certificado sin renovar", "priority": "normal",
            "message": "La renovación del certificado de tienda.es no se aplicó."})
    agent = Visit()
    agent.log_in(os.environ["SCALE_AGENT_EMAIL"], os.environ["SCALE_PASSWORD"])
    column = f"{QUEUE:,} waiting"
    measure(column, "agent: queue page", agent, "/api/agent/queue?department=queue10k")
    measure(column, "agent: queue page, all departments", agent, "/api/agent/queue")
    measure(column, "agent: search by words", agent, "/api/agent/search?q=certificado+renovacion")
    last = found["customers"][str(SIZES[-1])]["ids"][-1]
    measure(column, "agent: view", agent, f"/api/agent/tickets/{last}")
    measure(column, "agent: reply", agent, f"/api/agent/tickets/{last}/messages", "POST",
            {"kind": "reply", "message": "Renovado: ya está activo."})
    status = Path("/proc/self/status").read_text() if Path("/proc/self/status").exists() else ""
    peak = next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:")), 0)
    return {"results": results, "vmhwm_mb": peak / 1024}


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--serve":
        found = json.loads(Path(os.environ["SCALE_FOUND"]).read_text())
        print(json.dumps(serve(found)))
        return
    import subprocess
    import tempfile

    from supportdesk.accounts import register_account
    from supportdesk.departments import Department, _department_item
    from supportdesk.store import Table
    from supportdesk_dev.provision import seed_departments
    from supportdesk_dev.stack import apply_environment, start_local_stack

    password = "scale-password"
    with tempfile.TemporaryDirectory() as state:
        stack = start_local_stack(outbox=Path(state) / "outbox", stack_name="supportdesk-scale")
        try:
            local = stack.environment
            apply_environment(local)
            table = Table(stack.client("dynamodb"), local["TABLE_NAME"])
            seed_departments(table, "example.com")
            table.put(_department_item(Department("queue10k", "Cola grande", "Big queue", "big@example.com",
                                                  login_required=False, guests_allowed=True, position=9)))
            cognito, pool = stack.client("cognito-idp"), local["USER_POOL_ID"]
            customers = {size: register_account(cognito, table, pool, email=f"scale{size}@example.org",
                                                 name=f"Cliente {size}", password=password) for size in SIZES}
            agent = register_account(cognito, table, pool, email="scale-agent@example.org", name="Agente Escala",
                                     password=password, agent=True)
            began = time.perf_counter()
            found = populate(table, customers=customers, agent=agent)
            loaded = time.perf_counter() - began
            found_file = Path(state) / "found.json"
            found_file.write_text(json.dumps(found))
            env = {**os.environ, **local, "SCALE_FOUND": str(found_file), "SCALE_PASSWORD": password,
                   "SCALE_AGENT_EMAIL": agent.email, "POWERTOOLS_LOG_LEVEL": "WARNING",
                   **{f"SCALE_EMAIL_{size}": account.email for size, account in customers.items()},
                   "PYTHONPATH": f"{REPO / 'functions'}{os.pathsep}{REPO / 'shared'}"}
            served = subprocess.run([sys.executable, __file__, "--serve"], env=env, capture_output=True, text=True)
            if served.returncode != 0:
                raise SystemExit(f"bench/scale.py --serve failed:\n{served.stderr[-4000:]}")
            report = json.loads(served.stdout.strip().splitlines()[-1])
        finally:
            stack.stop()
    print(f"## Cost per action against the archive ({ROUNDS} runs each, medians; data written in {loaded:.0f} s)\n")
    print("Each cell: data-store calls / read units (estimated) / CPU ms of the function / KB of HTML.\n")
    columns = [f"{size:,} tickets" for size in SIZES]
    print("| action | " + " | ".join(columns) + " |")
    print("|---|" + "---|" * len(columns))
    results = report["results"]
    for name, cells in results.items():
        if name.startswith("agent:"):
            continue
        row = [f"{c['calls']:.0f} / {c['rru']:.1f} / {c['cpu_ms']:.0f} / {c['kb']:.1f}" for c in
               (cells[column] for column in columns)]
        print(f"| {name} | " + " | ".join(row) + " |")
    print(f"\n| agent action ({QUEUE:,} tickets waiting in one department) | calls / read units / CPU ms / KB |")
    print("|---|---|")
    for name, cells in results.items():
        if name.startswith("agent:"):
            (cell,) = cells.values()
            print(f"| {name[7:]} | {cell['calls']:.0f} / {cell['rru']:.1f} / {cell['cpu_ms']:.0f} / {cell['kb']:.1f} |")
    print(f"\nPeak memory of the function's own process (VmHWM): {report['vmhwm_mb']:.0f} MB.")


if __name__ == "__main__":
    main()
