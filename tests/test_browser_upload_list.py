"""The attachments list in Debian's Chromium, on a laptop and on a phone: one row per file with
its name, size, state and Remove; files the server would refuse are refused here first,
before any upload; the drop zone is one labelled field a keyboard reaches."""

from __future__ import annotations

import re
from typing import Any

import pytest
from conftest import Person
from playwright.sync_api import expect
from test_browser_attachments import drop_files, new_ticket

from supportdesk.attachments import AttachmentPolicy

pytestmark = pytest.mark.browser

LAPTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}
POLICY = AttachmentPolicy()  # the local stack runs with the default policy


def presign_requests(page: Any) -> list[str]:
    """The presigned-POST requests the page makes from now on (one per file sent to S3)."""
    seen: list[str] = []
    page.on("request", lambda request: seen.append(request.url)
            if request.method == "POST" and request.url.endswith("/api/uploads") else None)
    return seen


def horizontal_overflow(page: Any) -> int:
    return int(page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth"))


def inside(inner: dict[str, float], outer: dict[str, float]) -> bool:
    return (inner["x"] >= outer["x"] - 0.5 and inner["y"] >= outer["y"] - 0.5
            and inner["x"] + inner["width"] <= outer["x"] + outer["width"] + 0.5
            and inner["y"] + inner["height"] <= outer["y"] + outer["height"] + 0.5)


@pytest.mark.parametrize("viewport", [LAPTOP, PHONE], ids=["laptop", "phone"])
def test_each_file_is_a_row_with_name_size_progress_state_and_remove(
        live_server: str, page_in: Any, customer: Person, viewport: dict[str, int]) -> None:
    page = new_ticket(page_in, live_server, customer, "Van dos archivos.")
    page.set_viewport_size(viewport)
    drop_files(page, "[data-dropzone]", [("nota.txt", "text/plain", b"doce bytes!\n"),
                                          ("registro.log", "text/plain", b"x" * 3482)])
    rows = page.locator(".upload")
    expect(rows).to_have_count(2)
    expect(page.locator(".upload.done")).to_have_count(2)

    note = rows.filter(has_text="nota.txt")
    expect(note.locator(".upload-size")).to_have_text("12 bytes")
    expect(note.locator(".upload-state")).to_have_text("listo")
    expect(rows.filter(has_text="registro.log").locator(".upload-size")).to_have_text("3,4 KB")
    remove = note.get_by_role("button", name="Quitar nota.txt", exact=True)
    expect(remove).to_be_visible()
    for row in (note, rows.filter(has_text="registro.log")):
        box = row.bounding_box()
        for part in (".upload-name", ".upload-size", "progress", ".upload-state", "button"):
            assert inside(row.locator(part).bounding_box(), box), (part, viewport)
    assert horizontal_overflow(page) == 0

    remove.click()
    expect(rows).to_have_count(1)
    expect(page.get_by_role("button", name="Quitar registro.log", exact=True)).to_be_focused()


def test_the_file_over_the_count_is_refused_at_once_and_never_uploaded(
        live_server: str, page_in: Any, customer: Person) -> None:
    page = new_ticket(page_in, live_server, customer, "Demasiados archivos de una vez.")
    asked = presign_requests(page)
    count = POLICY.max_files + 1
    drop_files(page, "[data-dropzone]", [(f"parte-{n:02d}.txt", "text/plain", b"parte %d" % n)
                                          for n in range(1, count + 1)])
    expect(page.locator(".upload")).to_have_count(count)
    expect(page.locator(".upload.done")).to_have_count(POLICY.max_files)
    last = page.locator(".upload", has_text=f"parte-{count:02d}.txt")
    expect(last).to_have_class(re.compile(r"\bfailed\b"))
    expect(last.locator(".upload-state")).to_have_text(f"rechazado: más de {POLICY.max_files} archivos")
    assert not last.locator("progress").is_visible()
    assert len(asked) == POLICY.max_files
    assert not any("parte-11" in url for url in asked)

    # Removing a file frees its place: the next one goes up.
    page.locator(".upload", has_text="parte-01.txt").get_by_role("button", name="Quitar").click()
    drop_files(page, "[data-dropzone]", [("otra.txt", "text/plain", b"cabe")])
    expect(page.locator(".upload.done", has_text="otra.txt")).to_have_count(1)
    assert len(asked) == POLICY.max_files + 1


def test_files_too_large_or_empty_are_refused_before_upload_with_one_short_reason(
        live_server: str, page_in: Any, customer: Person) -> None:
    page = new_ticket(page_in, live_server, customer, "Estos no deberían subir.")
    asked = presign_requests(page)
    page.locator("[data-dropzone]").evaluate("""(zone, size) => {
        const transfer = new DataTransfer();
        transfer.items.add(new File([new Uint8Array(size + 1)], "copia.zip", { type: "application/zip" }));
        transfer.items.add(new File([], "vacio.txt", { type: "text/plain" }));
        transfer.items.add(new File(["MZ"], "sin-tipo", { type: "application/octet-stream" }));
        zone.dispatchEvent(new DragEvent("drop", { dataTransfer: transfer, bubbles: true }));
    }""", POLICY.max_bytes)
    expect(page.locator(".upload.failed")).to_have_count(3)
    states = {name: page.locator(".upload", has_text=name).locator(".upload-state") for name in
              ("copia.zip", "vacio.txt", "sin-tipo")}
    expect(states["copia.zip"]).to_have_text(f"rechazado: supera {POLICY.max_megabytes} MB")
    expect(states["vacio.txt"]).to_have_text("rechazado: el archivo está vacío")
    expect(states["sin-tipo"]).to_contain_text("sin tipo")
    expect(page.locator(".upload", has_text="copia.zip").locator(".upload-size")).to_have_text("10 MB")
    assert asked == []


def test_on_a_phone_a_long_name_keeps_its_type_visible_and_nothing_overflows(
        live_server: str, page_in: Any, customer: Person) -> None:
    page = new_ticket(page_in, live_server, customer, "Nombres larguísimos.")
    page.set_viewport_size(PHONE)
    long_png = "captura-" + "muy-larga-" * 19 + "fin.png"
    long_exe = "instalador-" + "muy-largo-" * 19 + "fin.exe"
    assert len(long_png) >= 200 and len(long_exe) >= 200
    drop_files(page, "[data-dropzone]", [(long_png, "image/png", b"\x89PNG\r\n\x1a\n" + b"1" * 40),
                                          (long_exe, "application/octet-stream", b"MZ" * 30)])
    expect(page.locator(".upload.done")).to_have_count(1)
    expect(page.locator(".upload.failed")).to_have_count(1)
    assert horizontal_overflow(page) == 0
    for row in page.locator(".upload").all():
        name = row.locator(".upload-name")
        full = name.get_attribute("title")
        assert full in (long_png, long_exe)
        assert name.inner_text().replace("\n", "") == full  # the whole name, for screen readers
        tail = name.locator(".upload-name-tail")
        expect(tail).to_be_visible()
        assert inside(tail.bounding_box(), row.bounding_box())
        assert full.endswith(tail.inner_text())
        # The state is a line or two, not a column of words.
        line = float(row.locator(".upload-state").evaluate("e => parseFloat(getComputedStyle(e).lineHeight)"))
        assert row.locator(".upload-state").bounding_box()["height"] <= 2 * line + 1
    expect(page.locator(".upload.failed .upload-state")).to_have_text("rechazado: el tipo .exe no está permitido")


def test_the_drop_zone_is_one_labelled_field_a_keyboard_reaches(
        live_server: str, page_in: Any, customer: Person, tmp_path: Any) -> None:
    page = new_ticket(page_in, live_server, customer, "Adjunto con el teclado.")
    # File choosers are watched from here on: Playwright turns the watch on without waiting,
    # and a key press sent right after could open the chooser before the watch is on.
    page.on("filechooser", lambda _: None)
    field = page.locator("fieldset.attachments")
    expect(field.get_by_text("Adjuntos", exact=True)).to_have_count(1)
    expect(page.get_by_role("group", name="Adjuntos")).to_have_count(1)
    expect(field).to_contain_text("Suelte archivos aquí o elija archivos")
    choose = page.get_by_label("elija archivos")
    expect(choose).to_have_attribute("type", "file")
    # The native input is out of sight; its label is the visible "choose files".
    assert choose.evaluate("e => e.getBoundingClientRect().width") <= 1

    page.get_by_label("Mensaje").focus()
    for _ in range(12):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "attachment-files":
            break
    assert page.evaluate("document.activeElement.id") == "attachment-files"
    label = field.locator("label.choose")
    assert label.evaluate("e => getComputedStyle(e).outlineStyle") == "solid"
    assert label.evaluate("e => parseFloat(getComputedStyle(e).outlineWidth)") >= 2

    paper = tmp_path / "factura.pdf"
    paper.write_bytes(b"%PDF-1.4\n" + b"0" * 2000)
    with page.expect_file_chooser() as chooser:
        page.keyboard.press("Space")
    chooser.value.set_files(str(paper))
    expect(page.locator(".upload.done", has_text="factura.pdf")).to_have_count(1)
    expect(page.locator(".upload", has_text="factura.pdf").locator(".upload-size")).to_have_text("2 KB")


def test_dragging_over_the_zone_highlights_it(live_server: str, page_in: Any, customer: Person) -> None:
    page = new_ticket(page_in, live_server, customer, "Arrastrando.")
    zone = page.locator("[data-dropzone]")
    still = zone.evaluate("e => getComputedStyle(e).backgroundColor")
    zone.dispatch_event("dragover", {"dataTransfer": page.evaluate_handle("new DataTransfer()")})
    expect(zone).to_have_class(re.compile(r"\bdragging\b"))
    assert zone.evaluate("e => getComputedStyle(e).backgroundColor") != still


def test_the_server_still_refuses_what_the_browser_would_have(
        live_server: str, page_in: Any, customer: Person) -> None:
    """The browser's check saves a trip; the server's is the one that counts."""
    page = new_ticket(page_in, live_server, customer, "Sin pasar por la lista.")
    answer = page.evaluate("""async () => {
        const token = JSON.parse(document.querySelector("[hx-headers]").getAttribute("hx-headers"))["X-CSRF-Token"];
        const ask = new FormData();
        ask.append("filename", "programa.exe");
        ask.append("size", "20");
        ask.append("content_type", "application/octet-stream");
        const response = await fetch("/api/uploads", { method: "POST", body: ask, headers: { "X-CSRF-Token": token } });
        return { status: response.status, body: await response.json() };
    }""")
    assert answer["status"] == 400
    assert answer["body"]["reason"] == "type-not-allowed"
    assert "programa.exe" in answer["body"]["error"]


def test_without_javascript_the_form_says_files_need_it_and_still_sends(
        live_server: str, browser: Any, customer: Person) -> None:
    """Files go from the browser straight to S3, which takes a script; without one the form
    shows no control that would do nothing, says so, and sends the text."""
    context = browser.new_context(locale="es-ES", java_script_enabled=False)
    try:
        page = context.new_page()
        page.set_default_timeout(10_000)
        page.goto(live_server + "/")
        page.get_by_label("Correo electrónico").fill(customer.email)
        page.get_by_label("Contraseña").fill(customer.password)
        page.get_by_role("button", name="Ingresar").click()
        page.get_by_role("link", name="Abrir un ticket").click()
        page.get_by_role("link", name=re.compile("Soporte")).click()
        field = page.get_by_role("group", name="Adjuntos")
        # (Playwright's text matching skips <noscript>: the hint is found by its place.)
        hint = field.locator("noscript > p.hint")
        expect(hint).to_be_visible()
        expect(hint).to_have_text("Adjuntar archivos requiere JavaScript; su mensaje se envía sin ellos.")
        expect(field.locator("input[type=file], label, button")).to_have_count(3)  # all in the hidden zone
        for control in field.locator("input[type=file], label, button").all():
            expect(control).to_be_hidden()
        page.get_by_label("Asunto").fill("Sin JavaScript, sin adjuntos")
        page.get_by_label("Mensaje").fill("El texto llega igual.")
        page.get_by_role("button", name="Enviar", exact=True).click()
        expect(page.locator("#created-ticket-id")).to_have_text(re.compile(r"^[A-Z]{3}-\d{6}$"))
    finally:
        context.close()


def test_in_english_the_rows_and_the_counter_speak_english(
        live_server: str, page_in: Any, customer: Person) -> None:
    page = page_in("en-GB")
    page.goto(live_server + "/")
    page.get_by_label("E-mail").fill(customer.email)
    page.get_by_label("Password").fill(customer.password)
    page.get_by_role("button", name="Log in", exact=True).click()
    page.locator("#greeting").wait_for()
    page.goto(live_server + "/new.html?department=support")
    page.get_by_label("Message").fill("a" * 60_000)
    expect(page.locator("#message-counter")).to_have_text("5,536 characters left")
    expect(page.get_by_role("group", name="Attachments")).to_contain_text("Drop files here or choose files")
    drop_files(page, "[data-dropzone]", [("note.txt", "text/plain", b"twelve bytes"),
                                          ("dump.log", "text/plain", b"d" * 1_300_000),
                                          ("setup.exe", "application/octet-stream", b"MZ")])
    expect(page.locator(".upload.done")).to_have_count(2)
    expect(page.locator(".upload", has_text="note.txt").locator(".upload-size")).to_have_text("12 bytes")
    expect(page.locator(".upload", has_text="dump.log").locator(".upload-size")).to_have_text("1.2 MB")
    expect(page.locator(".upload", has_text="note.txt").locator(".upload-state")).to_have_text("ready")
    expect(page.get_by_role("button", name="Remove note.txt", exact=True)).to_be_visible()
    expect(page.locator(".upload.failed .upload-state")).to_have_text("refused: type .exe not allowed")
