"""The local AWS: moto's server in this process, resources from template.yaml, state on disk.

Used by ``make dev`` and by the tests, so both run the code paths the Lambda functions run
in AWS, over HTTP, against the same resource definitions.
"""

from __future__ import annotations

import copyreg
import json
import logging
import os
import pickle
import threading
import time
import uuid
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Any, Callable

import boto3
from botocore.config import Config
from moto.moto_server.threaded_moto_server import ThreadedMotoServer

from supportdesk_dev import REPO_ROOT
from supportdesk_dev.background import Every
from supportdesk_dev.provision import provision
from supportdesk_dev.streams import StreamPump

REGION = "us-east-1"
# Where the portal is reached locally unless told otherwise (`make dev` passes its own):
# mail links and the attachments bucket's CORS origin come from it, never from a request.
LOCAL_PUBLIC_URL = "http://127.0.0.1:8000"
# moto accepts any credentials; boto3 only needs some to sign requests.
FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
PERSISTED_BACKENDS = {
    "dynamodb": "moto.dynamodb.models",
    "s3": "moto.s3.models",
    "cognitoidp": "moto.cognitoidp.models",
    "ses": "moto.ses.models",
    # Generated secrets must survive a restart: reply addresses already sent are signed
    # with the signing secret.
    "secretsmanager": "moto.secretsmanager.models",
}

log = logging.getLogger("supportdesk_dev")


def client_factory(endpoint_url: str, region: str = REGION) -> Callable[[str], Any]:
    session = boto3.session.Session(
        aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        region_name=region,
    )
    config = Config(signature_version="s3v4", retries={"max_attempts": 2})

    def client(service: str) -> Any:
        return session.client(service, endpoint_url=endpoint_url, config=config)

    return client


def write_outbox(outbox: Path, raw: bytes) -> Path:
    """Keep a mail the system sent as an .eml file, where `make dev` users read it."""
    outbox.mkdir(parents=True, exist_ok=True)
    # Names sort by time of sending and never collide.
    path = outbox / f"{time.time_ns()}-{uuid.uuid4().hex[:8]}.eml"
    path.write_bytes(raw)
    return path


# --- state kept across restarts --------------------------------------------------------

def _backend_dicts() -> dict[str, Any]:
    import importlib

    return {
        service: getattr(importlib.import_module(module), f"{service}_backends")
        for service, module in PERSISTED_BACKENDS.items()
    }


def _bundled_cognito_key() -> Any:
    from joserfc import jwk
    from moto.utilities.utils import load_resource

    return jwk.RSAKey.import_key(load_resource("cognitoidp/resources/jwks-private.json"))


def _reduce_cognito_key(key: Any) -> tuple[Callable[[], Any], tuple[()]]:
    # moto signs every pool's tokens with one fixed bundled key, so restoring means
    # loading that key again (the key object itself does not pickle).
    return _bundled_cognito_key, ()


def _register_reducers() -> None:
    from joserfc import jwk

    copyreg.pickle(jwk.RSAKey, _reduce_cognito_key)


def snapshot_state() -> bytes:
    _register_reducers()
    state = {
        service: {account: dict(regions) for account, regions in backends.items()}
        for service, backends in _backend_dicts().items()
    }
    return pickle.dumps(state)


def restore_state(data: bytes) -> None:
    _register_reducers()
    state = pickle.loads(data)  # our own file, written by snapshot_state
    backends = _backend_dicts()
    for service, accounts in state.items():
        for account, regions in accounts.items():
            for region, backend in regions.items():
                dict.__setitem__(backends[service][account], region, backend)


class StateKeeper:
    """Saves moto's state to a file now and then, and on stop; loads it at start."""

    def __init__(self, path: Path, interval: float = 2.0) -> None:
        self.path = path
        self.interval = interval
        self._last: bytes | None = None
        self._rounds: Every | None = None

    def load(self) -> bool:
        if not self.path.exists():
            return False
        data = self.path.read_bytes()
        restore_state(data)
        self._last = data
        return True

    def save(self) -> None:
        for _ in range(5):
            try:
                data = snapshot_state()
                break
            except RuntimeError:  # a request changed a dict while it was being pickled
                continue
        else:
            log.warning("could not snapshot the local state; will try again")
            return
        if data != self._last:
            temporary = self.path.with_suffix(".tmp")
            temporary.write_bytes(data)
            temporary.replace(self.path)  # atomic: a crash never leaves half a file
            self._last = data

    def start(self) -> None:
        self._rounds = Every(self.interval, self.save, "state-keeper")

    def stop(self) -> None:
        if self._rounds:
            self._rounds.stop()
        self.save()


# --- what AWS would do that moto does not ------------------------------------------------

def deliver_cognito_codes(outbox: Path) -> None:
    """Cognito mails password-reset codes itself; moto only keeps them. Mail them to the outbox."""
    from moto.cognitoidp.models import CognitoIdpBackend

    original = CognitoIdpBackend.forgot_password
    if getattr(original, "delivers_to_outbox", False):
        return

    def forgot_password(self: Any, client_id: str, username: str) -> Any:
        code, response = original(self, client_id, username)
        if code:
            user = next(
                (p._get_user(username) for p in self.user_pools.values() if client_id in p.clients),
                None,
            )
            address = user and next(
                (a["Value"] for a in user.attributes if a["Name"] == "email"), None
            )
            if address:
                message = EmailMessage()
                message["From"] = "no-reply@verificationemail.com"
                message["To"] = address
                message["Subject"] = "Your verification code"
                message["Date"] = formatdate(localtime=False)
                message["Message-ID"] = make_msgid(domain="verificationemail.com")
                message.set_content(f"Your verification code is {code}")
                write_outbox(outbox, bytes(message))
        return code, response

    forgot_password.delivers_to_outbox = True  # type: ignore[attr-defined]
    CognitoIdpBackend.forgot_password = forgot_password  # type: ignore[method-assign]


def deliver_sent_mail(outbox: Path) -> None:
    """SES delivers what it is given; moto only counts it. Write each mail to the outbox."""
    from moto.ses.models import SESBackend

    original = SESBackend.send_raw_email
    if getattr(original, "delivers_to_outbox", False):
        return

    def send_raw_email(self: Any, source: Any, destinations: Any, raw_data: str) -> Any:
        sent = original(self, source, destinations, raw_data)
        write_outbox(outbox, raw_data.encode("utf-8", "surrogateescape"))
        return sent

    send_raw_email.delivers_to_outbox = True  # type: ignore[attr-defined]
    SESBackend.send_raw_email = send_raw_email  # type: ignore[method-assign]


_TURNS = threading.RLock()


def serialize_table_access() -> None:
    """DynamoDB applies each write and transaction atomically, in some order. moto's server
    runs requests on threads: a cancelled transaction restores the tables as they were when
    it began, undoing what another request wrote meanwhile, and a query that walks a table
    while another request adds to it fails ("dictionary changed size during iteration").
    Reads and writes take turns here."""
    from moto.dynamodb.models import DynamoDBBackend

    for name in ("put_item", "update_item", "delete_item", "transact_write_items", "batch_write_item",
                 "get_item", "batch_get_item", "query", "scan", "transact_get_items"):
        original = getattr(DynamoDBBackend, name, None)
        if original is None or getattr(original, "takes_turns", False):
            continue

        def taking_turns(self: Any, *args: Any, _original: Any = original, **kwargs: Any) -> Any:
            with _TURNS:
                return _original(self, *args, **kwargs)

        taking_turns.takes_turns = True  # type: ignore[attr-defined]
        setattr(DynamoDBBackend, name, taking_turns)


class _TablesUncopied:
    """moto's `copy` module for its DynamoDB backend, except that a table is not copied: a
    transaction's undo is kept item by item instead (rollback_touched_items)."""

    def __getattr__(self, name: str) -> Any:
        import copy

        return getattr(copy, name)

    @staticmethod
    def deepcopy(value: Any, memo: Any = None) -> Any:
        import copy

        from moto.dynamodb.models.table import Table

        return value if isinstance(value, Table) else copy.deepcopy(value, memo)


def rollback_touched_items() -> None:
    """moto undoes a cancelled transaction by copying every table it names, whole, before it
    starts: the time of every transaction grows with the table. Here only the items the
    transaction names are kept, and put back (with the stream records it added dropped)
    when it is cancelled, which is what DynamoDB's atomicity amounts to."""
    import copy

    import moto.dynamodb.models as models
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.dynamo_type import DynamoType

    original = DynamoDBBackend.transact_write_items
    if getattr(original, "keeps_touched_items", False):
        return

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        saved = []
        for entry in transact_items:
            _, op = next(iter(entry.items()))
            table = self.tables.get(op.get("TableName"))
            if table is None:
                continue
            key = op.get("Key") or op.get("Item") or {}
            if table.hash_key_attr not in key:
                continue
            hash_value = DynamoType(key[table.hash_key_attr])
            range_value = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
            bucket = table.items.get(hash_value, {}) if range_value is not None else table.items
            before = bucket.get(range_value if range_value is not None else hash_value)
            shard = getattr(table, "stream_shard", None)
            saved.append((table, hash_value, range_value, copy.deepcopy(before),
                          len(shard.items) if shard is not None else None))
        try:
            original(self, transact_items)
        except Exception:
            for table, hash_value, range_value, before, records in reversed(saved):
                if range_value is None:
                    table.items.pop(hash_value, None) if before is None else table.items.__setitem__(hash_value, before)
                elif before is None:
                    table.items.get(hash_value, {}).pop(range_value, None)
                else:
                    table.items[hash_value][range_value] = before
                if records is not None:
                    del table.stream_shard.items[records:]
            raise

    transact_write_items.keeps_touched_items = True  # type: ignore[attr-defined]
    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]
    models.copy = _TablesUncopied()  # type: ignore[assignment]


def forget_read_records(table_name: str) -> Callable[[str], None]:
    """A stream keeps its records for a day; moto keeps them forever, inside the table, and
    copies the table whole for every transaction. Once the notifier has read a record it is
    dropped here (sequence numbers stay as they were), with the spent shard iterators."""
    from moto.dynamodb.models import dynamodb_backends
    from moto.dynamodbstreams.models import dynamodbstreams_backends

    def forget(sequence: str) -> None:
        with _TURNS:
            for regions in dynamodb_backends.values():
                for backend in regions.values():
                    table = backend.tables.get(table_name)
                    shard = getattr(table, "stream_shard", None)
                    if shard is None:
                        continue
                    read = int(sequence) - shard.starting_sequence_number + 1
                    if read > 0:
                        del shard.items[:read]
                        shard.starting_sequence_number += read
            for stream_regions in dynamodbstreams_backends.values():
                for streams in stream_regions.values():
                    streams.shard_iterators.clear()

    return forget


# --- the stack ---------------------------------------------------------------------------

@dataclass
class LocalStack:
    server: ThreadedMotoServer
    endpoint_url: str
    environment: dict[str, str]
    state: StateKeeper | None = None
    outbox: Path | None = None
    # The notifier function on the table's stream (streams.StreamPump).
    notifier: StreamPump | None = None

    def client(self, service: str) -> Any:
        return client_factory(self.endpoint_url)(service)

    def deliver_events(self) -> int:
        """Run the notifier on every event stored so far (the mails they make), now."""
        return self.notifier.drain() if self.notifier else 0

    def stop(self) -> None:
        if self.notifier:
            self.notifier.stop()
        if self.state:
            self.state.stop()
        self.server.stop()


def notifier_handler() -> Any:
    """The notifier function's handler, as Lambda would load it (functions/ on the path)."""
    import sys

    functions = str(REPO_ROOT / "functions")
    if functions not in sys.path:
        sys.path.insert(0, functions)
    from notifier.handler import handler

    return handler


def start_local_stack(
    *,
    port: int = 0,
    state_file: Path | None = None,
    outbox: Path | None = None,
    stack_name: str = "supportdesk-local",
    mail_domain: str = "example.com",
    public_url: str = LOCAL_PUBLIC_URL,
    reply_secret: str = "",
) -> LocalStack:
    """Start moto's server, restore saved state, create the template's resources.

    Returns the environment the Lambda functions would have (TABLE_NAME, USER_POOL_ID,
    SIGNING_SECRET_ARN, ORIGIN_SECRET_ARN, PUBLIC_URL...), plus AWS_ENDPOINT_URL, region
    and fake credentials for the local endpoint. `reply_secret` becomes the signing
    secret's value; empty: the template generates one, kept with the state file.
    """
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    rollback_touched_items()
    serialize_table_access()
    keeper = StateKeeper(state_file) if state_file else None
    if keeper:
        keeper.load()
    if outbox:
        deliver_cognito_codes(outbox)
        deliver_sent_mail(outbox)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    host, bound_port = server.get_host_and_port()
    endpoint = f"http://{host}:{bound_port}"
    environment = provision(
        client_factory(endpoint),
        stack_name=stack_name,
        # PublicUrl is never empty here: the template's fallback is the CloudFront domain,
        # which has no local equivalent.
        parameters={"Stage": "dev", "MailDomain": mail_domain,
                    "PublicUrl": public_url or LOCAL_PUBLIC_URL, "ReplySecret": reply_secret},
        region=REGION,
    )
    environment.update(
        AWS_ENDPOINT_URL=endpoint,
        AWS_REGION=REGION,
        AWS_DEFAULT_REGION=REGION,
        **FAKE_CREDENTIALS,
    )
    if keeper:
        keeper.save()
        keeper.start()
    pump = StreamPump(client_factory(endpoint), environment["TABLE_NAME"], notifier_handler,
                      forget=forget_read_records(environment["TABLE_NAME"]))
    pump.start()
    return LocalStack(server, endpoint, environment, keeper, outbox, pump)


def write_stack_file(path: Path, stack: LocalStack) -> None:
    """Tell other local processes (the CLI) where the running stack is."""
    path.write_text(json.dumps(stack.environment, indent=2, sort_keys=True) + "\n")


def read_stack_file(path: Path) -> dict[str, str]:
    return dict(json.loads(path.read_text()))


def apply_environment(environment: dict[str, str]) -> None:
    os.environ.update(environment)
