"""Attachments in Debian's Chromium: drag and drop, "+ Add More", progress, download back."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest
from browser_steps import log_in
from browser_words import TEXTS
from conftest import Person
from playwright.sync_api import expect

pytestmark = pytest.mark.browser




def new_ticket(page_in: Any, base: str, person: Person, message: str, subject: str | None = None) -> Any:
    """A signed-in customer on the form of a new Support ticket, with what they typed in it."""
    page = page_in("es-ES")
    log_in(page, base, person, TEXTS["es"])
    page.goto(base + "/new.html?department=support")
    if subject is not None:
        page.get_by_label("Asunto").fill(subject)
    page.get_by_label("Mensaje").fill(message)
    return page


def submit(page: Any) -> None:
    page.get_by_role("button", name="Enviar", exact=True).click()
    page.locator("#created-ticket-id").wait_for()


def drop_files(page: Any, selector: str, files: list[tuple[str, str, bytes]]) -> None:
    """Drop files onto an element, as a user dragging them from the desktop."""
    transfer = page.evaluate_handle(
        """files => {
            const transfer = new DataTransfer();
            for (const f of files) {
                transfer.items.add(new File([new Uint8Array(f.bytes)], f.name, { type: f.type }));
            }
            return transfer;
        }""",
        [{"name": name, "type": kind, "bytes": list(data)} for name, kind, data in files],
    )
    page.dispatch_event(selector, "dragover", {"dataTransfer": transfer})
    page.dispatch_event(selector, "drop", {"dataTransfer": transfer})


def test_drag_two_add_a_third_submit_and_download_each_back(
        live_server: str, page_in: Any, customer: Person, tmp_path: Path) -> None:
    screenshot = b"\x89PNG\r\n\x1a\n" + os.urandom(300_000)
    log_text = "\n".join(f"2026-11-25 10:{n:02d} ERROR 500 /tienda" for n in range(60)).encode()
    report = b"%PDF-1.4\n" + os.urandom(50_000)
    third = tmp_path / "informe.pdf"
    third.write_bytes(report)

    page = new_ticket(page_in, live_server, customer, "Adjunto la captura, el log del servidor y el informe del banco.",
                      subject="La tienda da error 500 al pagar")

    drop_files(page, "[data-dropzone]", [("captura.png", "image/png", screenshot),
                                          ("error.log", "text/plain", log_text)])
    with page.expect_file_chooser() as chooser:
        page.get_by_role("button", name="+ Añadir Más").click()
    chooser.value.set_files(str(third))

    uploads = page.locator(".upload")
    expect(uploads).to_have_count(3)
    for name in ("captura.png", "error.log", "informe.pdf"):
        row = uploads.filter(has_text=name)
        expect(row).to_have_class(re.compile(r"\bdone\b"))
        assert row.locator("progress").get_attribute("value") == "100"

    submit(page)
    for name, content in (("captura.png", screenshot), ("error.log", log_text), ("informe.pdf", report)):
        with page.expect_download() as download:
            page.get_by_role("link", name=name).click()
        assert download.value.suggested_filename == name
        assert Path(download.value.path()).read_bytes() == content


def test_a_file_removed_before_submit_is_not_attached(live_server: str, page_in: Any,
                                                       customer: Person) -> None:
    page = new_ticket(page_in, live_server, customer, "Debería quedar solamente el archivo que no quité de la lista.",
                      subject="Solo un adjunto")
    drop_files(page, "[data-dropzone]", [("queda.txt", "text/plain", b"me quedo"),
                                          ("sobra.txt", "text/plain", b"me voy")])
    expect(page.locator(".upload.done")).to_have_count(2)
    page.locator(".upload", has_text="sobra.txt").get_by_role("button", name="Quitar").click()
    submit(page)
    expect(page.get_by_role("link", name="queda.txt")).to_be_visible()
    expect(page.get_by_role("link", name="sobra.txt")).to_have_count(0)


def test_a_refused_file_keeps_its_name_with_one_short_reason_and_nothing_typed_is_lost(
        live_server: str, page_in: Any, customer: Person) -> None:
    page = new_ticket(page_in, live_server, customer, "Texto que no se pierde")
    drop_files(page, "[data-dropzone]", [("programa.exe", "application/octet-stream", b"MZ" * 10)])
    row = page.locator(".upload", has_text="programa.exe")
    expect(row).to_have_class(re.compile(r"\bfailed\b"))
    expect(row.locator(".upload-state")).to_have_text("rechazado: el tipo .exe no está permitido")
    # The allowed types are listed once, by the drop zone, not in the row.
    assert "docx" not in row.inner_text()
    expect(page.locator("#attachment-limits")).to_contain_text("docx")
    assert page.get_by_label("Mensaje").input_value() == "Texto que no se pierde"


def test_a_screenshot_pasted_into_the_message_is_attached(live_server: str, page_in: Any,
                                                          customer: Person) -> None:
    page = new_ticket(page_in, live_server, customer, "Pego la captura del error aquí mismo.",
                      subject="Captura pegada desde el portapapeles")
    page.locator("#message").evaluate("""textarea => {
        const transfer = new DataTransfer();
        const pixels = new Uint8Array([137, 80, 78, 71, 13, 10, 26, 10, 1, 2, 3, 4]);
        transfer.items.add(new File([pixels], "image.png", { type: "image/png" }));
        textarea.dispatchEvent(new ClipboardEvent("paste", { clipboardData: transfer, bubbles: true }));
    }""")
    pasted = page.locator(".upload.done", has_text=re.compile(r"^captura-\d{8}T\d{6}\.png"))
    expect(pasted).to_have_count(1)
    assert page.get_by_label("Mensaje").input_value() == "Pego la captura del error aquí mismo."
    submit(page)
    expect(page.locator(".message-attachments a", has_text=re.compile(r"^captura-.*\.png$"))).to_have_count(1)
