"""Journey benchmark: what a customer waits for in Chromium on a slow network.

    .venv/bin/python bench/journey.py                # prints a Markdown report
    .venv/bin/python bench/journey.py --as-deployed  # the site's files as CloudFront serves them

The site and the API are served on one origin over real HTTP (uvicorn, against a local
stack), as the browser tests' live server serves them, and Debian's Chromium drives two
journeys with the network slowed by the DevTools protocol ("Fast 3G"-like: 150 ms per
request, 1.6 Mbit/s down, 750 kbit/s up):

- A, "login → ticket ID on screen": the login page, log in, "Abrir ticket", "Soporte",
  subject and message, "Enviar", until the new ticket's ID is shown;
- B, "open a ticket from My tickets": from the home page, "Mis tickets", the first
  ticket's link, until the ticket's heading is shown.

Each journey runs cold (a fresh browser context, the cache disabled) and warm (one context
kept, its cache enabled and primed by a run that is not counted), then warm again with the
network at full speed (what the server and the browser take). For each run: the requests
the browser made (page "request" events; those the cache answered and those revalidated
with a 304 counted apart), the bytes received over the network (the sum of CDP
Network.loadingFinished's encodedDataLength: headers and bodies as they came over the wire)
and the wall time. The user's typing is `fill` (instant), so the time is the system's share
alone.

The browser tests' server sends the site's files uncompressed and without Cache-Control,
so Chromium keeps them by its heuristic (a tenth of their age since Last-Modified: how long
ago they were checked out). `--as-deployed` adds what CloudFront does in front of the
bucket: the deploy's Cache-Control and compression.
"""

from __future__ import annotations

import argparse
import re
import shutil
import socket
import statistics
import tempfile
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parents[1]
EMAIL, PASSWORD = "journey@example.org", "journey-password"
SERVICE = "Hosting Pro — ana.es"
RUNS = 5
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
# "Fast 3G"-like, as DevTools applies it: latency is added to each request (no TCP or TLS
# handshakes are simulated), throughput is shared by the page's responses.
NETWORK = {"offline": False, "latency": 150, "downloadThroughput": 1.6e6 / 8, "uploadThroughput": 750e3 / 8}
TIMEOUT_MS = 20_000


# --- the system under test ----------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Served:
    """The site and the API on one origin over real HTTP, as the browser tests' live server
    serves them; stop() ends uvicorn, then the local stack."""

    def __init__(self, state: Path, deployed: bool = False) -> None:
        from supportdesk.accounts import register_account
        from supportdesk.store import Table
        from supportdesk_dev.provision import seed_departments
        from supportdesk_dev.stack import apply_environment, start_local_stack

        port = free_port()
        # PUBLIC_URL is the origin the browser uses (mail links, the uploads' CORS).
        self.stack = start_local_stack(outbox=state / "outbox", stack_name="supportdesk-journey",
                                       public_url=f"http://127.0.0.1:{port}")
        self.server: Any = None
        self.thread: threading.Thread | None = None
        try:
            local = self.stack.environment
            apply_environment(local)
            table = Table(self.stack.client("dynamodb"), local["TABLE_NAME"])
            seed_departments(table, "example.com")
            register_account(self.stack.client("cognito-idp"), table, local["USER_POOL_ID"], email=EMAIL,
                             name="Ana Journey", password=PASSWORD, services=(SERVICE,))
            self.base = self._serve(port, deployed)
        except BaseException:
            self.stop()
            raise

    def _serve(self, port: int, deployed: bool) -> str:
        import uvicorn

        from supportdesk_dev.devserver import load_portal, origin_secret, site_and_api

        served = site_and_api(load_portal(), REPO / "site", origin=origin_secret(self.stack),
                              local_endpoint=self.stack.endpoint_url)
        if deployed:
            served = as_deployed(served)
        config = uvicorn.Config(served, host="127.0.0.1", port=port, lifespan="off", log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the server did not start")
            time.sleep(0.02)
        return f"http://127.0.0.1:{port}"

    def stop(self) -> None:
        if self.server is not None and self.thread is not None:
            self.server.should_exit = True
            self.thread.join(timeout=5)
        self.stack.stop()


def as_deployed(app: Any) -> Any:
    """The site's files as CloudFront serves them from the bucket: with the Cache-Control
    scripts/deploy_site.py stores with each (pages revalidated, the rest kept a day) and
    compressed (gzip here; CloudFront prefers Brotli when the browser takes it). The API is
    left as it is: its behaviour's cache policy (CachingDisabled) compresses nothing."""
    from starlette.middleware.gzip import GZipMiddleware

    compressed = GZipMiddleware(app, minimum_size=1000)  # CloudFront's own minimum

    async def served(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/api/"):
            await app(scope, receive, send)
            return
        cache = b"no-cache" if scope["path"].endswith((".html", "/")) else b"public, max-age=86400"

        async def cached(message: Any) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), (b"cache-control", cache)]}
            await send(message)

        await compressed(scope, receive, cached)

    return served


# --- measuring a page ---------------------------------------------------------------------

@dataclass
class Sent:
    method: str
    path: str
    from_cache: bool = False
    status: int = 0
    wire_status: int = 0  # as it came over the network: 304 where the page's 200 was revalidated
    received: int = 0
    done: bool = False


@dataclass
class Run:
    seconds: float
    requests: int
    from_cache: int
    revalidated: int
    received: int
    sent: list[Sent] = field(default_factory=list)


class Meter:
    """Counts what one page sends while a journey is measured: Playwright's request events
    for the requests, the page's CDP session for the bytes received, what the cache answered
    and what was revalidated (a 304 on the wire)."""

    def __init__(self, page: Any, cdp: Any) -> None:
        self.page = page
        self.measuring = False
        self.requests = 0
        self.sent: dict[str, Sent] = {}  # CDP requestId → what became of it
        page.on("request", self._on_request)
        cdp.on("Network.requestWillBeSent", self._will_be_sent)
        cdp.on("Network.requestServedFromCache", self._from_cache)
        cdp.on("Network.responseReceived", self._response)
        cdp.on("Network.responseReceivedExtraInfo", self._raw_response)
        cdp.on("Network.loadingFinished", self._finished)
        cdp.on("Network.loadingFailed", self._failed)

    def _on_request(self, request: Any) -> None:
        if self.measuring and request.url.startswith("http"):
            self.requests += 1

    def _will_be_sent(self, event: dict[str, Any]) -> None:
        url = event["request"]["url"]
        if self.measuring and url.startswith("http") and event["requestId"] not in self.sent:
            parts = urlsplit(url)
            self.sent[event["requestId"]] = Sent(event["request"]["method"],
                                                 parts.path + (f"?{parts.query}" if parts.query else ""))

    def _from_cache(self, event: dict[str, Any]) -> None:
        if event["requestId"] in self.sent:
            self.sent[event["requestId"]].from_cache = True

    def _response(self, event: dict[str, Any]) -> None:
        sent = self.sent.get(event["requestId"])
        if sent:
            sent.status = int(event["response"]["status"])
            if event["response"].get("fromDiskCache") or event["response"].get("fromPrefetchCache"):
                sent.from_cache = True

    def _raw_response(self, event: dict[str, Any]) -> None:
        sent = self.sent.get(event["requestId"])
        if sent:
            sent.wire_status = int(event["statusCode"])

    def _finished(self, event: dict[str, Any]) -> None:
        sent = self.sent.get(event["requestId"])
        if sent:
            sent.received = int(event["encodedDataLength"])
            sent.done = True

    def _failed(self, event: dict[str, Any]) -> None:
        sent = self.sent.get(event["requestId"])
        if sent:
            sent.done = True

    @contextmanager
    def measure(self) -> Iterator[dict[str, float]]:
        self.requests, self.sent, self.measuring = 0, {}, True
        timing: dict[str, float] = {}
        start = time.perf_counter()
        try:
            yield timing
        finally:
            timing["seconds"] = time.perf_counter() - start
            self.measuring = False

    def settle(self) -> None:
        """Let the requests started during the journey finish, so their bytes are counted."""
        deadline = time.monotonic() + 5
        while not all(sent.done for sent in self.sent.values()) and time.monotonic() < deadline:
            self.page.wait_for_timeout(50)


# --- the journeys -------------------------------------------------------------------------

# Is `selector` on the page at `path` (any path: None) and visible? Checked on every animation
# frame: Playwright's own waits (a locator's wait_for, an action's auto-wait) poll at growing
# intervals, then every 500 ms, which adds up to half a second to each step of a journey.
SHOWN = """([selector, path]) => (!path || location.pathname === path)
    && [...document.querySelectorAll(selector)].some(e => e.checkVisibility())"""


def shown(page: Any, selector: str, path: str | None = None) -> None:
    page.wait_for_function(SHOWN, arg=[selector, path], polling="raf")


def log_in(page: Any, base: str) -> None:
    page.goto(base + "/", wait_until="commit")
    shown(page, "#email", "/")
    page.get_by_label("Correo electrónico").fill(EMAIL)
    page.get_by_label("Contraseña").fill(PASSWORD)
    page.get_by_role("button", name="Ingresar", exact=True).click()
    shown(page, "#greeting")


def journey_a(page: Any, base: str, number: int) -> None:
    """Login → the created ticket's ID on screen."""
    log_in(page, base)
    page.get_by_role("link", name="Abrir ticket", exact=True).click()
    shown(page, "a.department[href*='department=support']", "/departments.html")
    page.get_by_role("link", name=re.compile("Soporte")).click()
    shown(page, "#subject", "/new.html")
    page.get_by_label("Asunto").fill(f"El correo de ana.es rebota desde las 10:00 ({number})")
    page.get_by_label("Mensaje").fill("Desde las 10:00 los mensajes a info@ana.es rebotan con 550 5.1.1; "
                                      "el panel no muestra ningún cambio en los registros MX.")
    page.get_by_role("button", name="Enviar", exact=True).click()
    shown(page, "#created-ticket-id")


def to_home(page: Any, base: str) -> None:
    page.goto(base + "/home.html", wait_until="commit")
    shown(page, "#greeting", "/home.html")


def journey_b(page: Any, base: str, number: int) -> None:
    """The home page → My tickets → the first ticket's heading."""
    # The header's link and the home page's button both go to My tickets.
    page.get_by_role("link", name="Mis tickets", exact=True).first.click()
    shown(page, "#ticket-rows a.ticket-id", "/tickets.html")
    page.locator("#ticket-rows a.ticket-id").first.click()
    shown(page, "main h1", "/ticket.html")


@dataclass
class Journey:
    name: str
    walk: Callable[[Any, str, int], None]
    # Unmeasured, before each run: where the journey starts from (None: a blank page).
    prepare: Callable[[Any, str], None] | None
    signed_in: bool  # the journey starts with the customer signed in


JOURNEYS = [
    Journey("A. login → ticket ID on screen", journey_a, None, signed_in=False),
    Journey("B. open a ticket from My tickets", journey_b, to_home, signed_in=True),
]


def open_page(browser: Any) -> tuple[Any, Any, Meter]:
    context = browser.new_context(locale="es-ES")
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    return context, cdp, Meter(page, cdp)


def throttle(cdp: Any, on: bool) -> None:
    cdp.send("Network.emulateNetworkConditions", NETWORK if on else
             {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1})


def measured(meter: Meter, journey: Journey, base: str, number: int) -> Run:
    with meter.measure() as timing:
        journey.walk(meter.page, base, number)
    meter.settle()
    sent = list(meter.sent.values())
    return Run(timing["seconds"], meter.requests, sum(s.from_cache for s in sent),
               sum(s.wire_status == 304 for s in sent), sum(s.received for s in sent), sent)


def cold_runs(browser: Any, journey: Journey, base: str, runs: int, numbers: Iterator[int]) -> list[Run]:
    """A fresh context each time, the cache disabled: every file comes over the network."""
    results = []
    for _ in range(runs):
        context, cdp, meter = open_page(browser)
        try:
            if journey.signed_in:
                log_in(meter.page, base)  # at full speed: not part of the journey
            if journey.prepare:
                journey.prepare(meter.page, base)
            cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
            throttle(cdp, True)
            results.append(measured(meter, journey, base, next(numbers)))
        finally:
            context.close()
    return results


def warm_runs(browser: Any, journey: Journey, base: str, runs: int, numbers: Iterator[int],
              slow: bool = True) -> list[Run]:
    """One context kept, its cache on, primed by a first run that is not counted. Journey A
    starts signed out each time: the cookies go, the cache stays. Not `slow`: the network at
    full speed, for what is left of the time without it (the server and the browser)."""
    context, cdp, meter = open_page(browser)
    results = []
    try:
        cdp.send("Network.setCacheDisabled", {"cacheDisabled": False})
        if journey.signed_in:
            log_in(meter.page, base)
        for run in range(runs + 1):
            if not journey.signed_in:
                context.clear_cookies()
            throttle(cdp, False)
            meter.page.goto("about:blank")
            if journey.prepare:
                journey.prepare(meter.page, base)
            throttle(cdp, slow)
            result = measured(meter, journey, base, next(numbers))
            if run:
                results.append(result)
    finally:
        context.close()
    return results


# --- the report ---------------------------------------------------------------------------

def spread(values: list[float], digits: int = 0) -> str:
    low, high = min(values), max(values)
    text = f"{statistics.median(values):,.{digits}f}"
    return text if round(low, digits) == round(high, digits) else f"{text} ({low:,.{digits}f}–{high:,.{digits}f})"


def requests_listed(run: Run) -> str:
    def one(sent: Sent) -> str:
        how = "cache" if sent.from_cache else f"{sent.wire_status or sent.status}, {sent.received / 1024:.1f} KB"
        return f"`{sent.method} {sent.path}` ({how})"

    return ", ".join(one(sent) for sent in run.sent)


def report(results: dict[str, dict[str, list[Run]]], runs: int, total_seconds: float, deployed: bool) -> str:
    serving = ("the site's files with the Cache-Control the deploy stores (pages `no-cache`, the rest "
               "`max-age=86400`) and gzip-compressed, as CloudFront serves them; the API as it is"
               if deployed else "as the browser tests' live server serves the site and the API: no "
               "compression, no Cache-Control on the site's files")
    lines = [
        "Network profile (CDP `Network.emulateNetworkConditions`): latency 150 ms per request, "
        "1.6 Mbit/s down, 750 kbit/s up, as DevTools applies it (added to each request; no TCP or "
        f"TLS handshakes simulated). Served by uvicorn on 127.0.0.1, {serving}.",
        "",
        f"Median of {runs} runs each (min–max in brackets where they differ). Cold: a fresh "
        "browser context per run, the cache disabled. Warm: one context kept, the cache enabled "
        "and primed by an uncounted run; the last row is the same without the slow network (what the "
        "server, the browser and the driver take). Requests: every request the page made, those the "
        "browser's cache answered and those revalidated with a 304 included (counted apart); KB: "
        "bytes received over the network (`encodedDataLength`, headers included). Each step waits "
        "for what it needs checked on every animation frame, not by Playwright's polling.",
        "",
    ]
    for name, by_kind in results.items():
        lines += [f"## {name}", "",
                  "| run | requests | from the browser's cache | revalidated (304) | KB received | median s |",
                  "|---|---|---|---|---|---|"]
        for kind, kept in by_kind.items():
            lines.append(f"| {kind} | {spread([r.requests for r in kept])} | {spread([r.from_cache for r in kept])} "
                         f"| {spread([r.revalidated for r in kept])} | {spread([r.received / 1024 for r in kept], 1)} "
                         f"| {spread([r.seconds for r in kept], 2)} |")
        lines.append("")
        for kind in ("cold", "warm"):
            lines += [f"Requests of the first {kind} run: {requests_listed(by_kind[kind][0])}.", ""]
    lines.append(f"Whole run: {total_seconds:.0f} s.")
    return "\n".join(lines)


def warm_up(browser: Any, base: str, numbers: Iterator[int]) -> None:
    """Each journey once at full speed, uncounted: the server imports some modules on first
    use (a warm container is measured), and journey B finds a ticket to open."""
    context, _, meter = open_page(browser)
    try:
        for journey in JOURNEYS:
            if journey.prepare:
                journey.prepare(meter.page, base)
            journey.walk(meter.page, base, next(numbers))
    finally:
        context.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=RUNS, help="measured runs per journey and cache state")
    parser.add_argument("--as-deployed", action="store_true",
                        help="serve the site's files with the deployed Cache-Control and compressed, "
                             "as CloudFront serves them (the default serves them as the browser tests do)")
    options = parser.parse_args()
    runs = options.runs
    executable = shutil.which("chromium")
    if executable is None:
        raise SystemExit("Debian's chromium is not installed: `make chromium` installs it")
    from playwright.sync_api import sync_playwright

    started = time.perf_counter()
    numbers = iter(range(1, 10_000))
    results: dict[str, dict[str, list[Run]]] = {}
    with tempfile.TemporaryDirectory() as state:
        served = Served(Path(state), deployed=options.as_deployed)
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
                try:
                    warm_up(browser, served.base, numbers)
                    for journey in JOURNEYS:  # A first: it leaves tickets for B to open
                        results[journey.name] = {
                            "cold": cold_runs(browser, journey, served.base, runs, numbers),
                            "warm": warm_runs(browser, journey, served.base, runs, numbers),
                            "warm, network at full speed": warm_runs(browser, journey, served.base, runs,
                                                                     numbers, slow=False),
                        }
                finally:
                    browser.close()
        finally:
            served.stop()
    print(report(results, runs, time.perf_counter() - started, options.as_deployed))


if __name__ == "__main__":
    main()
