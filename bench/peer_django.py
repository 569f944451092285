"""django-helpdesk's side of bench/peer.py; prints one JSON object.

    .bench-peer/bin/python bench/peer_django.py    # the virtualenv bench/peer_setup.sh makes

A minimal Django project around django-helpdesk, in this process: SQLite in a file of a
temporary folder, migrated; two queues (support, sales), a customer who is not staff.
- Web: the signed-in customer opens the public "submit a ticket" form (not measured) and
  submits it (measured) through Django's test Client, the whole middleware stack included.
- Mail: each raw mail goes the way django-helpdesk's IMAP and POP3 polling hands it on
  (force_str(bytes, errors="replace"), then helpdesk.email.extract_email_metadata with the
  queue): the customer's new-ticket mails and their replies ([support-ID] in the subject)
  to the support queue, then CPython's corpus to the sales queue. No mailbox is polled.

Counted per submission or mail: every SQL statement that reaches the database
(connection.execute_wrapper) and every COMMIT of a transaction block, the CPU spent inside
them (SQLite works in this process), wall time and CPU time of the whole.
"""

from __future__ import annotations

import json
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

# bench/ goes last: its markdown.py would stand for the Markdown package django-helpdesk imports.
BENCH = str(Path(__file__).resolve().parent)
sys.path[:] = [entry for entry in sys.path if entry != BENCH] + [BENCH]
import peer_inputs as inputs  # noqa: E402

SUPPORT, SALES = "support", "sales"


def configure(folder: Path) -> None:
    import django
    from django.conf import settings

    settings.configure(
        DEBUG=False,
        SECRET_KEY="bench-only-not-secret",
        ALLOWED_HOSTS=["testserver"],
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": str(folder / "helpdesk.sqlite3")}},
        INSTALLED_APPS=[
            "django.contrib.auth", "django.contrib.contenttypes", "django.contrib.sessions",
            "django.contrib.messages", "django.contrib.sites", "django.contrib.humanize",
            "django.contrib.staticfiles", "rest_framework", "helpdesk",
        ],
        MIDDLEWARE=[
            "django.contrib.sessions.middleware.SessionMiddleware",
            "django.middleware.common.CommonMiddleware",
            "django.middleware.csrf.CsrfViewMiddleware",
            "django.contrib.auth.middleware.AuthenticationMiddleware",
            "django.contrib.messages.middleware.MessageMiddleware",
        ],
        ROOT_URLCONF=__name__,
        TEMPLATES=[{
            "BACKEND": "django.template.backends.django.DjangoTemplates",
            "APP_DIRS": True,
            "OPTIONS": {"context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]},
        }],
        SITE_ID=1,
        USE_TZ=True,
        STATIC_URL="/static/",
        MEDIA_ROOT=str(folder / "media"),
        DEFAULT_AUTO_FIELD="django.db.models.AutoField",
        # Its notifications are rendered and "sent", into memory.
        EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
        DEFAULT_FROM_EMAIL="support@example.com",
        # Teams need pinax-teams, which is an optional extra.
        HELPDESK_TEAMS_MODE_ENABLED=False,
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],  # the login is not measured
    )
    django.setup()
    from django.urls import include, path

    module = sys.modules[__name__]
    module.urlpatterns = [  # type: ignore[attr-defined]
        path("helpdesk/", include("helpdesk.urls", namespace="helpdesk")),
        path("accounts/", include("django.contrib.auth.urls")),
    ]


class Counter:
    """Round trips to the database: statements through the execute wrapper, and COMMITs."""

    def __init__(self) -> None:
        self.statements: list[str] = []
        self.texts: list[str] = []  # the statements themselves, shortened: what they are
        self.commits = 0
        self.cpu = 0.0  # process time inside the database calls (SQLite's own work, mostly)

    def reset(self) -> None:
        self.statements, self.texts, self.commits, self.cpu = [], [], 0, 0.0

    def __call__(self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        start = time.process_time()
        try:
            return execute(sql, params, many, context)
        finally:
            self.cpu += time.process_time() - start
            self.statements.append(sql.split(None, 1)[0].upper())
            self.texts.append(" ".join(sql.split())[:110])

    def wrap_commit(self, connection: Any) -> None:
        original = connection.commit

        def commit() -> None:
            start = time.process_time()
            try:
                original()
            finally:
                self.cpu += time.process_time() - start
                self.commits += 1

        connection.commit = commit

    @property
    def round_trips(self) -> int:
        return len(self.statements) + self.commits

    def kinds(self) -> dict[str, int]:
        found: dict[str, int] = {}
        for verb in [*self.statements, *["COMMIT"] * self.commits]:
            found[verb] = found.get(verb, 0) + 1
        return found


def measure(counter: Counter, action: Callable[[], Any]) -> tuple[Any, dict[str, Any]]:
    counter.reset()
    wall, cpu = time.perf_counter(), time.process_time()
    error = None
    try:
        result = action()
    except Exception as exc:  # a crash is a result here: counted and named
        result, error = None, f"{type(exc).__name__}: {str(exc)[:160]}"
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return result, {"round_trips": counter.round_trips, "kinds": counter.kinds(), "ms": wall * 1000,
                    "cpu_ms": cpu * 1000, "db_cpu_ms": counter.cpu * 1000, "error": error}


def web(counter: Counter, queue: Any, user: Any) -> list[dict[str, Any]]:
    from django.test import Client

    client = Client()
    client.force_login(user)
    url = "/helpdesk/tickets/submit/"
    rows = []
    for n in range(inputs.WEB_ROUNDS + 1):
        form = client.get(url)  # the customer opens the form, as a browser does before posting it
        assert form.status_code == 200 and b'name="title"' in form.content, form.status_code
        data = {"queue": queue.id, "title": inputs.web_subject(n), "body": inputs.WEB_MESSAGE,
                "priority": "3", "submitter_email": user.email, "due_date": ""}
        response, row = measure(counter, lambda: client.post(url, data))
        assert row["error"] is None and response.status_code == 302, (row, response.status_code)
        if n:  # the first warms up
            rows.append(row)
    return rows


def mail(counter: Counter, queues: dict[str, Any]) -> dict[str, Any]:
    from django.core import mail as outbox  # the locmem backend keeps what was sent in outbox.outbox
    from django.utils.encoding import force_str
    from helpdesk.email import HTML_EMAIL_ATTACHMENT_FILENAME, extract_email_metadata
    from helpdesk.models import FollowUp

    logger = logging.getLogger("helpdesk.email.bench")

    def intake(raw: bytes, queue: Any) -> Any:
        # As imap_sync and pop3_sync hand a fetched message on.
        return extract_email_metadata(message=force_str(raw, errors="replace"), queue=queue, logger=logger)

    def deliver(raw: bytes, queue: Any) -> tuple[Any, dict[str, Any]]:
        return measure(counter, lambda: intake(raw, queue))

    deliver(inputs.warm_up_mail(), queues[SUPPORT])  # warms up
    rounds: dict[str, list[dict[str, Any]]] = {"new ticket": [], "reply by subject token": []}
    for n in range(inputs.MAIL_ROUNDS):
        ticket, row = deliver(inputs.new_mail(n), queues[SUPPORT])
        assert row["error"] is None and ticket is not None, row
        rounds["new ticket"].append(row)
        replied, row = deliver(inputs.reply_mail(f"[{SUPPORT}-{ticket.id}]"), queues[SUPPORT])
        assert row["error"] is None and replied.id == ticket.id, row
        rounds["reply by subject token"].append(row)
    corpus = []
    for name, raw in inputs.corpus():
        sent = len(getattr(outbox, "outbox", []))
        ticket, row = deliver(raw, queues[SALES])
        row["name"] = name
        row["answered"] = [address for sent_mail in getattr(outbox, "outbox", [])[sent:] for address in sent_mail.to]
        if ticket is None:
            row["outcome"] = "crashed" if row["error"] else "not filed"
        else:
            row["outcome"] = "created"
            followup = FollowUp.objects.filter(ticket=ticket).order_by("-id").first()
            # The HTML alternative it stores as a file is the mail's text, not one of its files.
            files = [Path(attachment.file.path).read_bytes() for attachment in followup.followupattachment_set.all()
                     if attachment.filename != HTML_EMAIL_ATTACHMENT_FILENAME]
            text = f"{ticket.description or ''}\n{followup.comment or ''}"
            row["kept"] = inputs.kept(inputs.reference(raw), text, files, listed=0)
        corpus.append(row)
    return {"rounds": rounds, "corpus": corpus}


def main() -> None:
    from importlib.metadata import version

    import django

    with tempfile.TemporaryDirectory() as folder:
        configure(Path(folder))
        from django.contrib.auth import get_user_model
        from django.core.management import call_command
        from django.db import connection
        from helpdesk.models import Queue

        started = time.perf_counter()
        call_command("migrate", verbosity=0)
        migrate_s = time.perf_counter() - started
        queues = {slug: Queue.objects.create(title=slug.title(), slug=slug, allow_public_submission=True,
                                             allow_email_submission=True, email_box_type="local",
                                             email_address=f"{slug}@example.com")
                  for slug in (SUPPORT, SALES)}
        user = get_user_model().objects.create_user("ana", inputs.CUSTOMER, "bench-password",
                                                    first_name="Ana", last_name="Bench")
        counter = Counter()
        counter.wrap_commit(connection)
        with connection.execute_wrapper(counter):
            web_rows = web(counter, queues[SUPPORT], user)
            mail_rows = mail(counter, queues)
    print(json.dumps({
        "versions": {"django-helpdesk": version("django-helpdesk"), "Django": django.get_version(),
                     "SQLite": __import__("sqlite3").sqlite_version},
        "migrate_s": migrate_s,
        "web": web_rows,
        "mail": mail_rows,
        "web_median_ms": statistics.median(row["ms"] for row in web_rows),
    }))


if __name__ == "__main__":
    main()
