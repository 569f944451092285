"""Attachments over HTTP: the presigned POST's policy, the check S3 skips locally, the claim, who may download."""

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
from conftest import Person, browser_client, csrf_token, datastore_calls, log_in, mailed_key
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


def put_file(client: TestClient, filename: str, data: bytes, content_type: str = "text/plain") -> str:
    """Upload as the browser does: ask for a presigned POST, then POST the file to S3."""
    answer = ask_upload(client, filename, len(data), content_type)
    assert answer.status_code == 200, answer.text
    post = answer.json()
    sent = httpx.post(post["url"], data=post["fields"], files={"file": (filename, data, content_type)})
    assert sent.status_code < 300, sent.text
    return str(post["key"])


def check(client: TestClient, key: str) -> Any:
    """What the browser asks right after its upload: the API checks the file."""
    return client.post("/api/uploads/checked", data={"key": key},
                       headers={"X-CSRF-Token": csrf_token(client, "/api/departments")})


def upload(client: TestClient, filename: str, data: bytes, content_type: str = "text/plain") -> str:
    """Upload and check a file: the token the form carries for it."""
    checked = check(client, put_file(client, filename, data, content_type))
    assert checked.status_code == 200, checked.text
    return str(checked.json()["token"])


def submit(client: TestClient, tokens: list[str], **fields: str) -> Any:
    token = csrf_token(client, "/api/departments")
    data: dict[str, Any] = {"department": "support", "subject": "Con adjuntos", "priority": "normal",
                            "message": "Van los archivos del problema.", "csrf_token": token,
                            "attachment": tokens, **fields}
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


def test_files_cost_a_message_no_call(as_person: Any, customer: Person) -> None:
    """Each file's own requests make at most two calls, and sending them none at all: the
    message's transaction claims them (the bar is two calls per action, files included)."""
    from portal import resources

    resources.departments()  # a warm container has them (kept for a minute)
    client = as_person(customer)
    costs: dict[str, list[str]] = {}
    tokens = []
    csrf = {"X-CSRF-Token": csrf_token(client, "/api/departments")}
    for n, name in enumerate(("error.log", "captura.png", "factura.pdf")):
        with datastore_calls() as calls:
            slot = client.post("/api/uploads", headers=csrf,
                               data={"filename": name, "size": "100", "content_type": "text/plain"}).json()
        costs[f"presigned POST {n}"] = list(calls)
        httpx.post(slot["url"], data=slot["fields"], files={"file": (name, b"x" * 100, "text/plain")})
        with datastore_calls() as calls:
            tokens.append(client.post("/api/uploads/checked", headers=csrf, data={"key": slot["key"]}).json()["token"])
        costs[f"check {n}"] = list(calls)
    form = {"department": "support", "subject": "Con adjuntos", "priority": "normal",
            "message": "Van los archivos.", "csrf_token": csrf["X-CSRF-Token"]}
    with datastore_calls() as calls:
        created = client.post("/api/tickets", follow_redirects=False, data={**form, "attachment": tokens[:2]})
    costs["submit with two files"] = list(calls)
    ticket_id = re.search(r"[A-Z]{3}-\d{6}", created.headers["location"]).group(0)  # type: ignore[union-attr]
    with datastore_calls() as calls:
        replied = client.post(f"/api/tickets/{ticket_id}/replies", follow_redirects=False, data={
            "message": "Y la factura", "attachment": tokens[2:], "csrf_token": csrf["X-CSRF-Token"]})
    costs["reply with a file"] = list(calls)
    assert replied.status_code == 303
    assert {name: c for name, c in costs.items() if len(c) > 2} == {}
    assert "TransactWriteItems" in costs["submit with two files"]


def test_the_api_checks_what_local_s3_does_not(as_person: Any, customer: Person, stack: Any) -> None:
    """moto ignores the POST policy: an oversized upload reaches the bucket, and its check refuses it."""
    client = as_person(customer)
    answer = ask_upload(client, "grande.zip", 1000, "application/zip")
    post = answer.json()
    oversized = b"0" * (TEN_MB + 10)
    sent = httpx.post(post["url"], data=post["fields"], files={"file": ("grande.zip", oversized, "application/zip")})
    assert sent.status_code < 300  # locally nobody stopped it...
    refused = check(client, post["key"])
    assert refused.status_code == 400  # ...the API does, next to the file, before anything is sent
    assert "«grande.zip» supera los 10 MB, el límite por archivo." in refused.json()["error"]
    # A form that names it anyway, as if checked, is refused and keeps what was typed.
    forged = json.dumps({"key": post["key"], "size": 1000, "type": "application/zip"})
    refused = submit(client, [forged], message="El texto se conserva")
    assert refused.status_code == 400
    assert "«grande.zip» no llegó desde este navegador" in refused.text
    assert "El texto se conserva</textarea>" in refused.text


def test_a_file_is_claimed_as_it_was_checked_and_only_once(as_person: Any, customer: Person) -> None:
    client = as_person(customer)
    token = upload(client, "registro.log", b"x" * 500)
    shrunk = json.dumps({**json.loads(token), "size": 5})
    assert submit(client, [shrunk]).status_code == 400
    page = ticket_page(client, submit(client, [token]))
    assert "registro.log" in page.text
    ticket_id = re.search(r"[A-Z]{3}-\d{6}", page.url.path).group(0)  # type: ignore[union-attr]
    again = client.post(f"/api/tickets/{ticket_id}/replies", follow_redirects=False, data={
        "message": "Otra vez el mismo archivo", "attachment": [token],
        "csrf_token": csrf_token(client, "/api/departments")})
    assert again.status_code == 400 and "«registro.log» no llegó desde este navegador" in again.text
    assert "Otra vez el mismo archivo</textarea>" in again.text


def test_nobody_links_an_object_uploaded_by_someone_else(as_person: Any, make_customer: Any) -> None:
    owner, other = make_customer(), make_customer(name="Eve Otra")
    owners = as_person(owner)
    theirs = put_file(owners, "privado.txt", b"datos de Ana")
    intruder = as_person(other)
    refused = check(intruder, theirs)
    assert refused.status_code == 400
    assert "«privado.txt» no llegó desde este navegador" in refused.json()["error"]
    checked = check(owners, theirs).json()["token"]
    refused = submit(intruder, [checked], message="Quiero el archivo de otra persona")
    assert refused.status_code == 400
    assert "«privado.txt» no llegó desde este navegador" in refused.text
    forged = theirs.replace(f"acct-{owner.account.id}", f"acct-{other.account.id}")
    assert check(intruder, forged).status_code == 400
    assert submit(intruder, [checked.replace(theirs, forged)]).status_code == 400
    sneaky = f"uploads/acct-{other.account.id}/../acct-{owner.account.id}/x/privado.txt"
    assert check(intruder, sneaky).status_code == 400
    assert submit(intruder, [checked.replace(theirs, sneaky)]).status_code == 400
    assert ticket_page(owners, submit(owners, [checked])).status_code == 200  # still the owner's to send


def test_more_files_than_the_limit_are_refused(as_person: Any, customer: Person) -> None:
    client = as_person(customer)
    tokens = [upload(client, f"nota{n}.txt", b"x") for n in range(11)]
    refused = submit(client, tokens)
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


def test_no_lifecycle_rule_expires_the_files_messages_keep() -> None:
    """A message keeps its files where they were uploaded: nothing may expire them there."""
    bucket = load_template()["Resources"]["AttachmentsBucket"]["Properties"]
    for rule in bucket["LifecycleConfiguration"]["Rules"]:
        assert "ExpirationInDays" not in rule and "Expiration" not in rule, rule


def test_an_upload_no_message_claimed_is_deleted_when_its_record_expires(
        as_person: Any, customer: Person, stack: Any) -> None:
    """DynamoDB's TTL removes the record (moto has none: the stream record is AWS's shape)."""
    from notifier import handler as notifier

    client = as_person(customer)
    s3, bucket = stack.client("s3"), stack.environment["ATTACHMENTS_BUCKET"]
    kept, abandoned = (json.loads(upload(client, name, b"datos"))["key"] for name in ("kept.txt", "abandoned.txt"))
    ticket_page(client, submit(client, [json.dumps({"key": kept, "size": 5, "type": "text/plain"})]))

    def removed(key: str, by_ttl: bool) -> dict[str, Any]:
        record = {"eventName": "REMOVE", "dynamodb": {"Keys": {"PK": {"S": f"UPLOAD#{key}"}, "SK": {"S": "UPLOAD"}},
                                                      "SequenceNumber": "1"}}
        if by_ttl:
            record["userIdentity"] = {"type": "Service", "principalId": "dynamodb.amazonaws.com"}
        return record

    notifier.files.cache_clear()
    answer = notifier.handler({"Records": [removed(kept, by_ttl=False), removed(abandoned, by_ttl=True)]},
                              LambdaContext())
    assert answer == {"batchItemFailures": []}
    assert s3.head_object(Bucket=bucket, Key=kept)["ContentLength"] == 5
    with pytest.raises(s3.exceptions.ClientError):
        s3.head_object(Bucket=bucket, Key=abandoned)


class LambdaContext:
    function_name = "notifier"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:notifier"
    aws_request_id = "test"
