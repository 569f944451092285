"""supportdesk and django-helpdesk side by side, on the same inputs, in one run.

    bench/peer_setup.sh                  # once: .bench-peer/, django-helpdesk's own virtualenv
    .venv/bin/python bench/peer.py       # prints a Markdown report

Child processes, each printing JSON, two passes alternated (django-helpdesk, supportdesk,
django-helpdesk, supportdesk) so that a slow spell of the machine falls on both:
- django-helpdesk: `.bench-peer/bin/python bench/peer_django.py` (Django's test Client and
  helpdesk.email against SQLite in that process; see that file);
- supportdesk: this file with --stack, which starts a fresh local stack (moto's server over
  HTTP, bench/serving.py) and serves the requests in a child of its own (--serve), through
  the real Lambda handlers.
Both get the inputs of bench/peer_inputs.py: WEB_ROUNDS web submissions by a signed-in
customer (the form opened first, not measured), MAIL_ROUNDS new-ticket mails from that
customer each followed by a reply naming the ticket in its subject, then CPython's mail
corpus (bench/mail.py's), each mail once. A first submission and a first mail warm each
side up and are not counted.

Counted per submission or mail: round trips to the data store (SQL statements and COMMITs
for django-helpdesk; DynamoDB and S3 calls, by a botocore event hook, for supportdesk, the
raw mail's GetObject included), wall time, CPU time of the serving process
(time.process_time), and the part of that CPU spent inside the data-store calls. Of each
corpus mail, what the stored ticket kept: the words of the mail's first text part, and its
attachments (bench/peer_inputs.py says how). Timings are pooled over the passes; outcomes,
round trips and what was kept come from the first pass (the second must agree).
"""

from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlencode

import peer_inputs as inputs

REPO = Path(__file__).resolve().parents[1]
PEER_PYTHON = REPO / ".bench-peer" / "bin" / "python"
NOT_IMPORTED = "attachments not imported:"
OUTSIDE = "CPU outside the data-store calls"


# -- supportdesk, in the child ----------------------------------------------------------------

def serve(web_rounds: int) -> dict[str, Any]:
    from inbound.handler import handler as inbound
    from inbound.handler import mailroom
    from portal import resources
    from portal.app import handler as web
    from supportdesk.mail.parsing import parse_headers
    from supportdesk.tickets import get_ticket
    from supportdesk_dev.events import LambdaContext, http_api_event, ses_receipt_event

    room, s3, settings = mailroom()
    calls: list[str] = []
    # CPU inside the calls: from before-call to after-call, botocore signs the request, sends
    # it, waits and parses the answer (the waiting is no CPU; moto works in another process).
    inside = {"cpu": 0.0, "since": 0.0}

    def before(event_name: str, **_: Any) -> None:
        calls.append(event_name.removeprefix("before-call."))
        inside["since"] = time.process_time()

    def after(**_: Any) -> None:
        inside["cpu"] += time.process_time() - inside["since"]

    clients = {id(client): client for client in (resources._client("dynamodb"), resources._client("s3"),
                                                  room.table.client, room.s3)}
    for client in clients.values():
        client.meta.events.register("before-call.*", before)
        client.meta.events.register("after-call.*", after)

    def measure(action: Callable[[], Any]) -> tuple[Any, dict[str, Any]]:
        calls.clear()
        inside["cpu"] = 0.0
        wall, cpu = time.perf_counter(), time.process_time()
        error = None
        try:
            result = action()
        except Exception as exc:  # a crash is a result here: counted and named
            result, error = None, f"{type(exc).__name__}: {str(exc)[:160]}"
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        return result, {"round_trips": len(calls), "calls": list(calls), "ms": wall * 1000,
                        "cpu_ms": cpu * 1000, "db_cpu_ms": inside["cpu"] * 1000, "error": error}

    # Web: a browser's cookies and the CSRF token of the last page it got.
    context, origin = LambdaContext(), resources.origin_secret()
    jar: dict[str, str] = {}
    token = {"value": ""}

    def call(method: str, url: str, form: dict[str, str] | None = None) -> dict[str, Any]:
        headers = {"hx-request": "true"}
        body = ""
        if form is not None:
            headers["content-type"] = "application/x-www-form-urlencoded"
            body = urlencode({**form, "csrf_token": token["value"]})
        response = web(http_api_event(method, url, headers=headers, body=body, origin_secret=origin,
                                      cookies=[f"{k}={v}" for k, v in jar.items()]), context)
        found = re.search(r'name="csrf_token" value="([^"]+)"', response.get("body") or "")
        if found:
            token["value"] = found.group(1)
        for cookie in response.get("cookies", []):
            name, _, rest = cookie.partition("=")
            jar[name] = rest.split(";")[0]
        return dict(response)

    call("GET", "/api/login")
    call("POST", "/api/login", {"email": inputs.CUSTOMER, "password": os.environ["BENCH_PASSWORD"]})
    web_rows = []
    for n in range(web_rounds + 1):
        form = call("GET", "/api/tickets/new?department=support")  # as the browser opens it
        assert form["statusCode"] == 200, form["statusCode"]
        response, row = measure(lambda: call("POST", "/api/tickets", {
            "department": "support", "subject": inputs.web_subject(n), "priority": "normal",
            "service": "Hosting Pro — ana.es", "message": inputs.WEB_MESSAGE}))
        assert row["error"] is None and response["statusCode"] < 400, (row, response["statusCode"])
        assert 'id="created-ticket-id"' in response["body"]
        if n:  # the first warms up
            web_rows.append(row)

    # Mail: the raw mail in the inbound bucket, as SES's S3 action leaves it, then the handler.
    def deliver(raw: bytes, to: str, envelope: str) -> tuple[dict[str, Any] | None, dict[str, Any]]:
        ses_id = uuid.uuid4().hex
        s3.put_object(Bucket=settings.inbound_bucket, Key=settings.inbound_prefix + ses_id, Body=raw)
        result, row = measure(lambda: inbound(ses_receipt_event(ses_id, sender=envelope, recipients=[to]),
                                              LambdaContext()))
        return (result["outcomes"][0] if result else None), row

    support = "support@example.com"
    deliver(inputs.warm_up_mail(), support, inputs.CUSTOMER)  # warms up
    rounds: dict[str, list[dict[str, Any]]] = {"new ticket": [], "reply by subject token": []}
    for n in range(inputs.MAIL_ROUNDS):
        outcome, row = deliver(inputs.new_mail(n), support, inputs.CUSTOMER)
        assert outcome and outcome["outcome"] == "created", (outcome, row)
        rounds["new ticket"].append(row)
        replied, row = deliver(inputs.reply_mail(f"[#{outcome['ticket']}]"), support, inputs.CUSTOMER)
        assert replied and replied["outcome"] == "replied", (replied, row)
        rounds["reply by subject token"].append(row)
    corpus = []
    for name, raw in inputs.corpus():
        # As if sent by its own From's server (SPF-aligned), as bench/mail.py sends it: read, not refused.
        outcome, row = deliver(raw, "sales@example.com", parse_headers(raw).from_address or inputs.CUSTOMER)
        row["name"] = name
        if outcome is None:
            row["outcome"] = "crashed"
        elif outcome["outcome"] in ("created", "replied"):
            row["outcome"] = outcome["outcome"]
            ticket = get_ticket(room.table, outcome["ticket"])
            assert ticket is not None
            text = "\n".join(message.body for message in ticket.messages)
            files = [s3.get_object(Bucket=room.attachments_bucket, Key=attachment.key)["Body"].read()
                     for message in ticket.messages for attachment in message.attachments]
            listed = text.split(NOT_IMPORTED, 1)[1].count("\n- ") if NOT_IMPORTED in text else 0
            row["kept"] = inputs.kept(inputs.reference(raw), text, files, listed)
        else:
            row["outcome"] = f"{outcome['outcome']}: {outcome['reason']}"
        corpus.append(row)
    return {"web": web_rows, "mail": {"rounds": rounds, "corpus": corpus}}


# -- the report --------------------------------------------------------------------------------

def run_django() -> dict[str, Any]:
    if not PEER_PYTHON.exists():
        raise SystemExit("No .bench-peer/ yet: run bench/peer_setup.sh first.")
    done = subprocess.run([str(PEER_PYTHON), str(REPO / "bench" / "peer_django.py")], capture_output=True,
                          text=True, cwd=REPO)
    if done.returncode != 0:
        raise SystemExit(f"bench/peer_django.py failed:\n{done.stderr[-4000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


Rows = list[dict[str, Any]]


class Side:
    """One desk's results over all passes: timings pooled, outcomes from the first pass."""

    def __init__(self, passes: list[dict[str, Any]]) -> None:
        self.passes = len(passes)
        self.web: Rows = [row for one in passes for row in one["web"]]
        self.rounds: dict[str, Rows] = {name: [row for one in passes for row in one["mail"]["rounds"][name]]
                                        for name in passes[0]["mail"]["rounds"]}
        self.corpus: Rows = [row for one in passes for row in one["mail"]["corpus"]]
        self.first: Rows = passes[0]["mail"]["corpus"]
        # The same mails must meet the same fate in every pass, or the figures mix two behaviours.
        for one in passes[1:]:
            for a, b in zip(self.first, one["mail"]["corpus"]):
                assert (a["outcome"], a["round_trips"], a.get("kept")) == (b["outcome"], b["round_trips"], b.get("kept")), \
                    (a["name"], a, b)

    def filed(self, names: set[str] | None = None) -> Rows:
        return [row for row in self.first if row["outcome"] in ("created", "replied")
                and (names is None or row["name"] in names)]

    def timings(self, names: set[str]) -> Rows:
        return [row for row in self.corpus if row["name"] in names]


def median(rows: Rows, key: str) -> float:
    return float(statistics.median(row[key] for row in rows))


def per_pass(rows: Rows, key: str, passes: int) -> float:
    return float(sum(row[key] for row in rows)) / passes


def ratio(ours: float, theirs: float) -> str:
    return f"{ours / theirs:.2f}" if theirs else "–"


def outside_db(rows: Rows) -> Rows:
    """The rows with the CPU spent inside the data-store calls taken out: SQLite's driver and
    engine for django-helpdesk; botocore signing, sending and parsing for supportdesk."""
    return [{**row, "cpu_ms": row["cpu_ms"] - row["db_cpu_ms"]} for row in rows]


def verbs(row: dict[str, Any]) -> str:
    return ", ".join(f"{count} {verb}" for verb, count in sorted(row["kinds"].items(), key=lambda kv: -kv[1]))


def calls_of(row: dict[str, Any]) -> str:
    return ", ".join(call.split(".", 1)[1] for call in row["calls"])


def line(label: str, theirs: str, ours: str, ratio_: str = "") -> None:
    print(f"| {label} | {theirs} | {ours} | {ratio_} |")


def compare(title: str, theirs: Rows, ours: Rows) -> None:
    """Median round trips, wall time and CPU of each side, and the ratios."""
    line(f"{title}: round trips", f"{median(theirs, 'round_trips'):g} ({verbs(theirs[-1])})",
         f"{median(ours, 'round_trips'):g} ({calls_of(ours[-1])})",
         ratio(median(ours, "round_trips"), median(theirs, "round_trips")))
    for label, key, mine, yours in (("wall time", "ms", theirs, ours), ("CPU", "cpu_ms", theirs, ours),
                                    (OUTSIDE, "cpu_ms", outside_db(theirs), outside_db(ours))):
        line(f"{title}: {label}, ms", f"{median(mine, key):.1f}", f"{median(yours, key):.1f}",
             ratio(median(yours, key), median(mine, key)))


def kept(rows: Rows, key: str) -> int:
    return sum(row["kept"][key] for row in rows)


def named(rows: Rows, key: str | None = None) -> str:
    return ", ".join(row["name"].removesuffix(".txt") + (f" ({row['kept'][key]})" if key else "")
                     for row in rows) or "none"


def report(them: Side, us: Side, versions: dict[str, str], elapsed: float) -> None:
    print(f"django-helpdesk {versions['django-helpdesk']} on Django {versions['Django']} "
          f"(SQLite {versions['SQLite']}, a file in a temporary folder) against supportdesk on the "
          f"local stack (moto's server over HTTP); Python {sys.version.split()[0]}. {us.passes} passes, "
          f"alternated (django-helpdesk, supportdesk, django-helpdesk, ...), timings pooled; "
          f"the whole run took {elapsed:.0f} s.\n")
    header = "| | django-helpdesk | supportdesk | supportdesk / django-helpdesk |\n|---|---|---|---|"
    print(f"## Web submission by a signed-in customer ({len(us.web)} submissions each, medians)\n")
    print(header)
    compare("submit", them.web, us.web)

    print(f"\n## Mail from the customer ({len(us.rounds['new ticket'])} of each, medians)\n")
    print(header)
    for name in us.rounds:
        compare(name, them.rounds[name], us.rounds[name])

    everything = {row["name"] for row in us.first}
    both = {row["name"] for row in them.filed()} & {row["name"] for row in us.filed()}
    print(f"\n## CPython's mail corpus ({len(everything)} mails, each once per pass)\n")
    print(header)
    crashed = [[row for row in side.first if row["outcome"] == "crashed"] for side in (them, us)]
    refused = [[row for row in side.first if row["outcome"] not in ("created", "replied", "crashed")]
               for side in (them, us)]
    line("filed in a ticket", str(len(them.filed())), str(len(us.filed())))
    line("refused, with a reason (the raw mail kept)", str(len(refused[0])), str(len(refused[1])))
    line("crashed (an exception)", str(len(crashed[0])), str(len(crashed[1])))
    for title, names in (("all mails", everything), (f"the {len(both)} mails both filed", both)):
        theirs, ours = them.timings(names), us.timings(names)
        measures = (("round trips", "round_trips", "g", theirs, ours), ("wall time, ms", "ms", ".1f", theirs, ours),
                    ("CPU, ms", "cpu_ms", ".1f", theirs, ours),
                    (f"{OUTSIDE}, ms", "cpu_ms", ".1f", outside_db(theirs), outside_db(ours)))
        for label, key, unit, mine, yours in measures:
            line(f"{title}: {label} per mail, median (max)",
                 f"{median(mine, key):{unit}} ({max(row[key] for row in mine):{unit}})",
                 f"{median(yours, key):{unit}} ({max(row[key] for row in yours):{unit}})",
                 ratio(median(yours, key), median(mine, key)))
        for label, key, _, mine, yours in measures:
            if key != "ms":
                theirs_total, ours_total = per_pass(mine, key, them.passes), per_pass(yours, key, us.passes)
                line(f"{title}: {label}, all of them", f"{theirs_total:.0f}", f"{ours_total:.0f}",
                     ratio(ours_total, theirs_total))
    for title, names in (("filed", None), ("both filed", both)):
        theirs, ours = them.filed(names), us.filed(names)
        lost = [[row for row in rows if row["kept"]["words_lost"]] for rows in (theirs, ours)]
        line(f"{title}: mails whose first text part has words not in the ticket's text "
             "(words of those checked)",
             *(f"{len([r for r in rows if r['kept']['words_not_in_text']])} "
               f"({kept(rows, 'words_not_in_text')} of {kept(rows, 'words')})" for rows in (theirs, ours)))
        line(f"{title}: … nor in the files stored with it: mails with text lost (words)",
             *(f"{len(rows)} ({kept(rows, 'words_lost')})" for rows in lost))
        line(f"{title}: attachments stored / listed as not imported / dropped silently, of all",
             *(f"{kept(rows, 'attachments_stored')} / {kept(rows, 'attachments_listed')} / "
               f"{kept(rows, 'attachments_dropped')} of {kept(rows, 'attachments')}" for rows in (theirs, ours)))
    line("files stored with the tickets, of every kind", str(kept(them.filed(), "files_stored")),
         str(kept(us.filed(), "files_stored")))

    print("\nWhich mails:\n")
    for number, (side, label) in enumerate(((them, "django-helpdesk"), (us, "supportdesk"))):
        crashes = "; ".join(f"{row['name'].removesuffix('.txt')} ({row['error']})" for row in crashed[number])
        refusals = ", ".join(f"{row['name'].removesuffix('.txt')} ({row['outcome']})" for row in refused[number])
        filed = side.filed()
        print(f"- {label}: crashed: {crashes or 'none'}; refused: {refusals or 'none'}; "
              f"words not in the ticket's text: {named([r for r in filed if r['kept']['words_not_in_text']], 'words_not_in_text')}; "
              f"text lost (words): {named([r for r in filed if r['kept']['words_lost']], 'words_lost')}; "
              f"attachments dropped silently: {named([r for r in filed if r['kept']['attachments_dropped']], 'attachments_dropped')}")
    automatic = {row["name"] for row in refused[1] if row["outcome"].startswith("ignored")}
    answered = [row for row in them.first if row["name"] in automatic and row["answered"]]
    nowhere = Counter(address for row in them.first for address in row["answered"] if "@" not in address)
    print(f"- django-helpdesk mailed an answer for {len(answered)} of the {len(automatic)} mails supportdesk "
          f"sets aside as automatic ({named(answered)}), and {sum(nowhere.values())} to no address at all ("
          + ", ".join(f'"{address}" ×{count}' for address, count in nowhere.most_common())
          + "); supportdesk answers none of those (its acknowledgements leave from the notifier, on the "
          "table's stream, outside this measure)")


PASSES = 2  # alternated, so that a slow spell of the machine falls on both sides


def run_supportdesk() -> dict[str, Any]:
    """A process of its own for each pass: the local stack's state lives in its process."""
    done = subprocess.run([sys.executable, __file__, "--stack"], capture_output=True, text=True, cwd=REPO)
    if done.returncode != 0:
        raise SystemExit(f"bench/peer.py --stack failed:\n{done.stderr[-4000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--serve":
        print(json.dumps(serve(int(sys.argv[2]))))
        return
    if len(sys.argv) > 1 and sys.argv[1] == "--stack":
        from serving import serve_in_child

        print(json.dumps(serve_in_child(__file__, inputs.WEB_ROUNDS, stack_name="supportdesk-bench-peer",
                                        services=("Hosting Pro — ana.es",), env={"INBOUND_PREFIX": "inbound/"})))
        return
    started = time.perf_counter()
    theirs, ours = [], []
    for _ in range(PASSES):
        theirs.append(run_django())  # alone: the local stack is not running then
        ours.append(run_supportdesk())
    report(Side(theirs), Side(ours), theirs[0]["versions"], time.perf_counter() - started)


if __name__ == "__main__":
    main()
