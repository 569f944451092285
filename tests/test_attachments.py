"""Attachments over HTTP: the presigned POST's policy, the checks S3 skips locally, who may download."""

from __future__ import annotations

import base64
import json
import re
import time
from datetime import datetime, timezone
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx2 as httpx
import pytest
from conftest import Person, browser_client, csrf_token, log_in, mailed_key
from starlette.testclient import TestClient

from supportdesk.attachments import AttachmentPolicy, AttachmentRefused, check_file, safe_filename
from supportdesk_dev.provision import load_template

TEN_MB = 10 * 1024 * 1024


@pytest.fixture
def as_person(app: Any) -> Any:
    clients: list[TestClient] = []

    def open_for(person: Person | None) -> TestClient:
        client = browser_client(app)
        clients.append(client)
        if person:
            assert log_in(client, person.email, person.password).status_code == 303
        else:
            client.get("/api/departments")
        return client

    yield open_for
    for client in clients:
        client.close()


def ask_upload(client: TestClient, filename: str, size: int, content_type: str = "text/plain") -> Any:
    return client.post("/api/uploads", data={"filename": filename, "size": str(size),
                                             "content_type": content_type},
                       headers={"X-CSRF-Token": csrf_token(client, "/api/departments")})


def upload(client: TestClient, filename: str, data: bytes, content_type: str = "text/plain") -> str:
    """Upload as the browser does: ask for a presigned POST, then POST the file to S3."""
    answer = ask_upload(client, filename, len(data), content_type)
    assert answer.status_code == 200, answer.text
    post = answer.json()
    sent = httpx.post(post["url"], data=post["fields"], files={"file": (filename, data, content_type)})
    assert sent.status_code < 300, sent.text
    return str(post["key"])


def submit(client: TestClient, keys: list[str], **fields: str) -> Any:
    token = csrf_token(client, "/api/departments")
    data: dict[str, Any] = {"department": "support", "subject": "Con adjuntos", "priority": "normal",
                            "message": "Van los archivos del problema.", "csrf_token": token,
                            "attachment": keys, **fields}
    return client.post("/api/tickets", data=data, follow_redirects=False)


def ticket_page(client: TestClient, response: Any) -> Any:
    assert response.status_code == 303, response.text
    return client.get(response.headers["location"])


def test_each_presigned_post_carries_the_policys_conditions(as_person: Any, customer: Person,
                                                            stack: Any) -> None:
    client = as_person(customer)
    started = datetime.now(timezone.utc)
    answer = ask_upload(client, "captura de pantalla.png", 2048, "image/png")
    post = answer.json()
    policy = json.loads(base64.b64decode(post["fields"]["policy"]))
    key = post["key"]
    assert re.fullmatch(rf"uploads/acct-{customer.account.id}/[0-9a-f]{{32}}/captura de pantalla\.png", key)
    conditions = policy["conditions"]
    assert ["eq", "$key", key] in conditions
    assert ["content-length-range", 1, TEN_MB] in conditions
    assert ["eq", "$Content-Type", "image/png"] in conditions
    assert {"bucket": stack.environment["ATTACHMENTS_BUCKET"]} in conditions
    expires = datetime.strptime(policy["expiration"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    assert 0 < (expires - started).total_seconds() <= 5 * 60 + 5
    assert post["fields"]["x-amz-algorithm"] == "AWS4-HMAC-SHA256"


@pytest.mark.parametrize("filename, size, message", [
    ("enorme.zip", TEN_MB + 1, "supera los 10 MB"),
    ("programa.exe", 100, "los tipos permitidos son 7z, bmp, csv"),
    ("pagina.html", 100, "No se puede adjuntar «pagina.html»"),
    ("vacio.txt", 0, "«vacio.txt» está vacío"),
])
def test_what_will_not_be_accepted_is_refused_before_the_upload(
        as_person: Any, customer: Person, filename: str, size: int, message: str) -> None:
    answer = ask_upload(as_person(customer), filename, size)
    assert answer.status_code == 400
    assert message in answer.json()["error"]


def test_uploaded_files_are_linked_and_downloaded_byte_identical(as_person: Any, customer: Person) -> None:
    client = as_person(customer)
    files = {"error.log": b"PHP Fatal error\n" * 100, "captura.png": b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40}
    keys = [upload(client, name, data, "image/png" if name.endswith("png") else "text/plain")
            for name, data in files.items()]
    page = ticket_page(client, submit(client, keys))
    links = dict(re.findall(r'<a href="(/api/tickets/[^"]+/attachments/[0-9a-f]+)" download>([^<]+)</a>', page.text))
    assert sorted(links.values()) == sorted(files)
    for href, name in links.items():
        redirect = client.get(href, follow_redirects=False)
        assert redirect.status_code == 303
        url = redirect.headers["location"]
        query = parse_qs(urlsplit(url).query)
        assert query["response-content-disposition"][0].startswith(f'attachment; filename="{name}"')
        assert int(query["X-Amz-Expires"][0]) <= 60
        assert httpx.get(url).content == files[name]


def test_the_api_checks_what_local_s3_does_not(as_person: Any, customer: Person, stack: Any) -> None:
    """moto ignores the POST policy: an oversized upload reaches the bucket, and is refused at submit."""
    client = as_person(customer)
    answer = ask_upload(client, "grande.zip", 1000, "application/zip")
    post = answer.json()
    oversized = b"0" * (TEN_MB + 10)
    sent = httpx.post(post["url"], data=post["fields"], files={"file": ("grande.zip", oversized, "application/zip")})
    assert sent.status_code < 300  # locally nobody stopped it...
    refused = submit(client, [post["key"]], message="El texto se conserva")
    assert refused.status_code == 400  # ...the API does
    assert "«grande.zip» supera los 10 MB, el límite por archivo." in refused.text
    assert "El texto se conserva</textarea>" in refused.text


def test_nobody_links_an_object_uploaded_by_someone_else(as_person: Any, make_customer: Any) -> None:
    owner, other = make_customer(), make_customer(name="Eve Otra")
    theirs = upload(as_person(owner), "privado.txt", b"datos de Ana")
    intruder = as_person(other)
    refused = submit(intruder, [theirs], message="Quiero el archivo de otra persona")
    assert refused.status_code == 400
    assert "«privado.txt» no llegó desde este navegador" in refused.text
    forged = theirs.replace(f"acct-{owner.account.id}", f"acct-{other.account.id}")
    assert submit(intruder, [forged]).status_code == 400
    sneaky = f"uploads/acct-{other.account.id}/../acct-{owner.account.id}/x/privado.txt"
    assert submit(intruder, [sneaky]).status_code == 400


def test_more_files_than_the_limit_are_refused(as_person: Any, customer: Person) -> None:
    client = as_person(customer)
    keys = [upload(client, f"nota{n}.txt", b"x") for n in range(11)]
    refused = submit(client, keys)
    assert refused.status_code == 400 and "como máximo 10 archivos" in refused.text


def test_another_customer_cannot_download_an_attachment(as_person: Any, make_customer: Any) -> None:
    owner, other = make_customer(), make_customer(name="Eve Otra")
    client = as_person(owner)
    page = ticket_page(client, submit(client, [upload(client, "factura.pdf", b"%PDF-1.4 secreto")]))
    href = re.search(r'href="(/api/tickets/[^"]+/attachments/[0-9a-f]+)"', page.text).group(1)  # type: ignore[union-attr]
    assert client.get(href, follow_redirects=False).status_code == 303
    assert as_person(other).get(href, follow_redirects=False).status_code == 404
    assert as_person(None).get(href, follow_redirects=False).status_code == 404
    wrong_attachment = href.rsplit("/", 1)[0] + "/" + "0" * 32
    assert client.get(wrong_attachment, follow_redirects=False).status_code == 404


def test_a_guest_attaches_and_downloads_with_the_ticket_key_only(as_person: Any, stack: Any) -> None:
    guest = as_person(None)
    key = upload(guest, "presupuesto.pdf", b"%PDF-1.4 presupuesto")
    created = submit(guest, [key], department="sales", name="Bea", email=f"bea{time.time_ns()}@example.org",
                     service="")
    assert created.status_code == 303
    ticket_id = re.search(r"[A-Z]{3}-\d{6}", created.headers["location"]).group(0)  # type: ignore[union-attr]
    page = guest.get(f"/api/tickets/{ticket_id}", params={"key": mailed_key(stack, ticket_id)})
    href = re.search(r'href="(/api/tickets/[^"]+/attachments/[0-9a-f]+\?key=[\w-]+)"', page.text).group(1)  # type: ignore[union-attr]
    assert guest.get(href, follow_redirects=False).status_code == 303
    assert as_person(None).get(href.split("?")[0], follow_redirects=False).status_code == 404


def test_active_content_is_always_a_download() -> None:
    from supportdesk.attachments import Attachment, download_url

    class Signer:
        def generate_presigned_url(self, operation: str, Params: dict[str, str], ExpiresIn: int) -> str:
            return json.dumps(Params)

    for kind in ("text/html", "image/svg+xml", "application/xhtml+xml"):
        params = json.loads(download_url(Signer(), "b", Attachment("id", "k", "x.txt", 1, kind)))
        assert params["ResponseContentType"] == "application/octet-stream"
        assert params["ResponseContentDisposition"].startswith("attachment;")


@pytest.mark.parametrize("given, kept", [
    ("../../etc/passwd", "passwd"),
    ("C:\\Users\\ana\\captura.png", "captura.png"),
    ("\x00mal\nnombre.txt", "malnombre.txt"),
    ("...oculto.log", "oculto.log"),
    ("", "file"),
    ("informe de octubre ñ.pdf", "informe de octubre ñ.pdf"),
])
def test_filenames_are_safe_to_store_and_show(given: str, kept: str) -> None:
    assert safe_filename(given) == kept


def test_long_filenames_keep_their_extension() -> None:
    name = safe_filename("a" * 300 + ".pdf")
    assert len(name) == 150 and name.endswith(".pdf")


def test_configured_limits_apply() -> None:
    policy = AttachmentPolicy(max_bytes=1024, max_files=2, extensions=frozenset({"txt"}))
    check_file(policy, "a.txt", 1024)
    with pytest.raises(AttachmentRefused, match="too-large"):
        check_file(policy, "a.txt", 1025)
    with pytest.raises(AttachmentRefused, match="type-not-allowed"):
        check_file(policy, "a.png", 10)


def test_uploads_never_linked_expire_by_lifecycle_rule() -> None:
    bucket = load_template()["Resources"]["AttachmentsBucket"]["Properties"]
    rules = {r["Id"]: r for r in bucket["LifecycleConfiguration"]["Rules"]}
    assert rules["abandoned-uploads"]["Prefix"] == "uploads/"
    assert rules["abandoned-uploads"]["ExpirationInDays"] == 1
    assert rules["abandoned-uploads"]["Status"] == "Enabled"
