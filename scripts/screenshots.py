"""PNG screenshots of every page state, in Spanish and in English, on a laptop (1366x768)
and a phone (390x844): `make screenshots` writes them into screenshots/ (not committed).

It starts the system as the browser tests do (the local AWS stand-in, the web function and
site/ on one origin, Debian's Chromium), makes a customer and an agent, opens a ticket and
walks through the portal, so anyone can look at all of it in a minute.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "screenshots"
SIZES = {"laptop": {"width": 1366, "height": 768}, "phone": {"width": 390, "height": 844}}
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
WORDS = {
    "es": {"locale": "es-ES", "email": "Correo electrónico", "password": "Contraseña", "login": "Ingresar",
           "subject": "Asunto", "message": "Mensaje", "preview": "Previsualizar", "submit": "Enviar",
           "support": "Soporte", "reply": "Enviar respuesta", "close": "Cerrar ticket",
           "sure": "Sí, cerrar el ticket", "menu": "Menú"},
    "en": {"locale": "en-GB", "email": "E-mail", "password": "Password", "login": "Log in",
           "subject": "Subject", "message": "Message", "preview": "Preview", "submit": "Submit",
           "support": "Support", "reply": "Send reply", "close": "Close ticket",
           "sure": "Yes, close the ticket", "menu": "Menu"},
}
PASSWORD = "correct horse 1"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start() -> tuple[Any, Any, str]:
    """The local stack and a live server on it: (stack, server, base URL)."""
    import uvicorn

    from supportdesk.store import Table
    from supportdesk_dev.devserver import load_portal, origin_secret, site_and_api
    from supportdesk_dev.provision import seed_departments
    from supportdesk_dev.stack import start_local_stack

    port = free_port()
    state = Path(tempfile.mkdtemp(prefix="screenshots-"))
    stack = start_local_stack(outbox=state / "outbox", stack_name="supportdesk-screenshots",
                              public_url=f"http://127.0.0.1:{port}")
    os.environ.update(stack.environment)
    seed_departments(Table(stack.client("dynamodb"), stack.environment["TABLE_NAME"]), "example.com")
    served = site_and_api(load_portal(), REPO / "site", origin=origin_secret(stack),
                          local_endpoint=stack.endpoint_url)
    server = uvicorn.Server(uvicorn.Config(served, host="127.0.0.1", port=port, lifespan="off",
                                           log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the live server did not start")
        time.sleep(0.02)
    return stack, server, f"http://127.0.0.1:{port}"


def person(stack: Any, name: str, language: str, agent: bool = False) -> str:
    from supportdesk.accounts import register_account
    from supportdesk.store import Table

    email = f"{'agent' if agent else 'customer'}-{language}-{time.time_ns()}@example.org"
    register_account(stack.client("cognito-idp"), Table(stack.client("dynamodb"), stack.environment["TABLE_NAME"]),
                     stack.environment["USER_POOL_ID"], email=email, name=name, password=PASSWORD,
                     language=language, services=("Hosting Pro — ana.es", "Dominio ana.es"), agent=agent)
    return email


def log_in(page: Any, base: str, email: str, t: dict[str, str]) -> None:
    page.goto(base + "/")
    page.get_by_label(t["email"]).fill(email)
    page.get_by_label(t["password"]).fill(PASSWORD)
    page.get_by_role("button", name=t["login"], exact=True).click()
    page.locator("#greeting, .queue-page").first.wait_for()


def walk(page: Any, base: str, stack: Any, language: str, shoot: Any) -> None:
    """Every page state, each shot as soon as it is on screen."""
    t = WORDS[language]
    page.goto(base + "/")
    page.get_by_label(t["password"]).wait_for()
    shoot("login")
    page.goto(base + "/password.html")
    page.get_by_label(t["email"]).fill(person(stack, "Ana Pérez", language))
    page.get_by_label(t["email"]).press("Enter")
    page.locator("#code").wait_for()
    shoot("password-reset")
    page.goto(base + "/ticket.html?id=ZZZ-000000")
    page.locator(".error").first.wait_for()
    shoot("ticket-signed-out")
    page.goto(base + "/nonexistent.html")
    page.locator("[data-reason=not-found]").wait_for()
    shoot("not-found")
    page.goto(base + "/new.html?department=sales")
    page.get_by_label(t["subject"]).wait_for()
    shoot("guest-form")

    log_in(page, base, person(stack, "Ana Pérez", language), t)
    shoot("home")
    page.goto(base + "/tickets.html")
    page.locator("main h1").wait_for()
    shoot("my-tickets-empty")
    page.goto(base + "/departments.html")
    page.locator(".departments").wait_for()
    shoot("departments")
    page.get_by_role("link", name=re.compile(t["support"])).click()
    page.get_by_label(t["subject"]).wait_for()
    shoot("new-ticket")
    page.get_by_role("button", name=t["submit"], exact=True).click()
    page.locator("#form-error").wait_for()
    shoot("new-ticket-errors")
    page.locator("input[type=file]").set_input_files([
        {"name": "captura.png", "mimeType": "image/png", "buffer": b"\x89PNG\r\n\x1a\n" + b"0" * 2048},
        {"name": "instalador.exe", "mimeType": "application/octet-stream", "buffer": b"MZ" + b"0" * 100}])
    page.locator(".upload.done").wait_for()
    page.locator(".upload.failed").wait_for()
    page.get_by_label(t["message"]).fill("a" * 60_000)
    page.locator("#message-counter").wait_for()
    shoot("new-ticket-files-and-counter")
    page.get_by_label(t["subject"]).fill("Error 500 en la tienda de ana.es desde las 10:00")
    page.get_by_label(t["message"]).fill(
        "**Desde las 10:00** la tienda muestra un error.\n\nEl log dice:\n\n```\nPHP Fatal error:  Allowed memory\n```")
    page.get_by_role("button", name=t["preview"], exact=True).click()
    page.locator("#preview .message-body").wait_for()
    shoot("new-ticket-preview")
    page.get_by_role("button", name=t["submit"], exact=True).click()
    page.locator("#created-ticket-id").wait_for()
    ticket_id = page.locator("#created-ticket-id").inner_text().strip()
    shoot("ticket")
    page.get_by_label(t["message"]).fill("El error también aparece en el panel de administración.")
    page.get_by_role("button", name=t["reply"], exact=True).click()
    page.locator("#feedback[data-feedback=replied]").wait_for()
    shoot("ticket-reply-sent")
    page.get_by_role("button", name=t["close"], exact=True).click()
    page.locator("#close-confirm").wait_for()
    shoot("ticket-close-confirmation")
    page.get_by_role("button", name=t["sure"], exact=True).click()
    page.locator("#feedback[data-feedback=closed]").wait_for()
    shoot("ticket-closed")
    page.goto(base + "/home.html")
    page.locator("#greeting").wait_for()
    page.locator(".bar .submenu > summary").click()
    shoot("support-menu-open")
    page.set_viewport_size(SIZES["phone"])
    page.locator(".bar .menu > summary").click()
    page.screenshot(path=OUT / f"{language}-phone-menu-open-phone.png", full_page=True)
    page.set_viewport_size(SIZES["laptop"])
    page.goto(base + "/tickets.html")
    page.locator("#ticket-rows a.ticket-id").first.wait_for()
    shoot("my-tickets")

    page.context.clear_cookies()
    log_in(page, base, person(stack, "Agente", language, agent=True), t)
    page.locator(".queue-page").wait_for()
    shoot("agent-queue")
    page.goto(f"{base}/agent/ticket.html?id={ticket_id}")
    page.locator("main.ticket").wait_for()
    shoot("agent-ticket")
    page.goto(f"{base}/agent/search.html")
    page.locator("#q").fill(ticket_id)
    page.locator(f"#search-rows a:has-text('{ticket_id}')").first.wait_for()
    shoot("agent-search")
    page.goto(f"{base}/agent/saved.html")
    page.locator("main h1").wait_for()
    shoot("agent-saved-replies")


def main() -> int:
    from playwright.sync_api import sync_playwright

    executable = shutil.which("chromium")
    if executable is None:
        print("Debian's chromium is not installed: `make chromium` installs it", file=sys.stderr)
        return 1
    stack, server, base = start()
    OUT.mkdir(exist_ok=True)
    written = 0
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
            for language in WORDS:
                context = browser.new_context(locale=WORDS[language]["locale"])
                page = context.new_page()
                page.set_default_timeout(15_000)

                def shoot(state: str) -> None:
                    nonlocal written
                    for size, viewport in SIZES.items():
                        page.set_viewport_size(viewport)
                        page.screenshot(path=OUT / f"{language}-{state}-{size}.png", full_page=True)
                        written += 1
                    page.set_viewport_size(SIZES["laptop"])

                walk(page, base, stack, language, shoot)
                context.close()
            browser.close()
    finally:
        server.should_exit = True
        stack.stop()
    print(f"{written} screenshots in {OUT.relative_to(REPO)}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
