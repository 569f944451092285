"""The operators' command line: customers, agents and departments.

Without --stack it works against the stack `make dev` is running (it finds it through
.dev/stack.json); with --stack NAME it works against that CloudFormation stack in AWS.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any, Callable, Sequence

from supportdesk.accounts import AccountExists, InvalidAccount, register_account
from supportdesk.departments import (
    Department,
    DepartmentExists,
    InvalidDepartment,
    UnknownDepartment,
    add_department,
    edit_department,
    list_departments,
    set_enabled,
)
from supportdesk.i18n import DEFAULT_LANGUAGE, LANGUAGES
from supportdesk.store import Table
from supportdesk_dev import REPO_ROOT


class Target:
    """Where the commands act: the table, the user pool, and clients for them."""

    def __init__(self, client: Callable[[str], Any], table_name: str, user_pool_id: str,
                 mail_domain: str = "example.com", outputs: dict[str, str] | None = None) -> None:
        self.client = client
        self.table = Table(client("dynamodb"), table_name)
        self.user_pool_id = user_pool_id
        # The domain of the department addresses (the stack's MailDomain).
        self.mail_domain = mail_domain
        # A stack's outputs in AWS (queues, functions); the local stack has none of these.
        self.outputs = outputs or {}


def _dev_stack_file() -> Path | None:
    if os.environ.get("SUPPORTDESK_DEV_DIR"):
        path = Path(os.environ["SUPPORTDESK_DEV_DIR"]) / "stack.json"
        return path if path.exists() else None
    candidates = [Path.cwd(), *Path.cwd().parents, REPO_ROOT]
    for directory in candidates:
        path = directory / ".dev" / "stack.json"
        if path.exists():
            return path
    return None


def local_target() -> Target:
    from supportdesk_dev.stack import client_factory, read_stack_file

    path = _dev_stack_file()
    if path is None:
        raise SystemExit(
            "supportdesk: no local stack is running. Start it with `make dev`, "
            "or pass --stack NAME to work on a stack in AWS."
        )
    env = read_stack_file(path)
    return Target(client_factory(env["AWS_ENDPOINT_URL"], env["AWS_REGION"]),
                  env["TABLE_NAME"], env["USER_POOL_ID"], env.get("MAIL_DOMAIN", "example.com"))


def aws_target(stack_name: str, region: str | None) -> Target:
    import boto3

    session = boto3.session.Session(region_name=region)
    stacks = session.client("cloudformation").describe_stacks(StackName=stack_name)["Stacks"]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}
    parameters = {p["ParameterKey"]: p.get("ParameterValue", "") for p in stacks[0].get("Parameters", [])}
    return Target(session.client, outputs["TableName"], outputs["UserPoolId"],
                  parameters.get("MailDomain") or "example.com", outputs)


def add_account(target: Target, args: argparse.Namespace, *, agent: bool) -> int:
    try:
        account = register_account(
            target.client("cognito-idp"),
            target.table,
            target.user_pool_id,
            email=args.email,
            name=args.name,
            password=args.password,
            language=args.language,
            services=tuple(getattr(args, "service", None) or ()),
            agent=agent,
        )
    except AccountExists:
        print(f"supportdesk: an account with {args.email} exists already", file=sys.stderr)
        return 1
    except InvalidAccount as error:
        print(f"supportdesk: {error}", file=sys.stderr)
        return 2
    kind = "agent" if agent else "customer"
    print(f"Created {kind} {account.email} ({account.name}), id {account.id}. They can log in now.")
    for service in account.services:
        print(f"  service: {service}")
    return 0


def show_departments(target: Target, args: argparse.Namespace) -> int:
    departments = list_departments(target.table)
    if not departments:
        print("No departments yet.")
        return 0
    print(f"{'key':10} {'name (es / en)':28} {'address':26} login  guests  mail  state")
    for d in departments:
        names = f"{d.name_es} / {d.name_en}"
        print(f"{d.slug:10} {names:28} {d.email:26} "
              f"{'yes' if d.login_required else 'no':6} {'yes' if d.guests_allowed else 'no':7} "
              f"{'on' if d.email_intake else 'off':5} {'enabled' if d.enabled else 'disabled'}")
    return 0


def _describe(department: Department) -> str:
    who = "everyone" if department.open_to_guests else "customers who log in"
    state = "" if department.enabled else " (disabled: no new tickets)"
    return f"{department.slug}: {department.name_es} / {department.name_en} <{department.email}>, for {who}{state}"


def _department_failure(error: Exception, key: str) -> int:
    if isinstance(error, InvalidDepartment):
        print(f"supportdesk: {error}", file=sys.stderr)
        return 2
    if isinstance(error, DepartmentExists):
        print(f"supportdesk: a department with the key {key} exists already (edit it instead)", file=sys.stderr)
    else:
        print(f"supportdesk: no department with the key {key} (`supportdesk department list`)", file=sys.stderr)
    return 1


def new_department(target: Target, args: argparse.Namespace) -> int:
    local = (args.mail_local_part or args.key).strip().lower()
    position = max((d.position for d in list_departments(target.table)), default=0) + 1
    department = Department(
        args.key, args.name_es, args.name_en, f"{local}@{target.mail_domain}",
        # A department for guests needs no login, unless told otherwise.
        login_required=not args.guests if args.login_required is None else bool(args.login_required),
        guests_allowed=bool(args.guests), position=position,
        description_es=args.description_es or "", description_en=args.description_en or "")
    try:
        add_department(target.table, department)
    except (InvalidDepartment, DepartmentExists) as error:
        return _department_failure(error, args.key)
    print(f"Added {_describe(department)}.")
    print(f"  Mail to {department.email} opens tickets here once a receipt rule lists the address "
          "(template.yaml's mail rules; locally, restart `make dev`).")
    return 0


def change_department(target: Target, args: argparse.Namespace) -> int:
    changes: dict[str, Any] = {name: value for name, value in (
        ("name_es", args.name_es), ("name_en", args.name_en), ("description_es", args.description_es),
        ("description_en", args.description_en), ("guests_allowed", args.guests),
        ("login_required", args.login_required), ("enabled", args.enabled)) if value is not None}
    if args.mail_local_part:
        changes["email"] = f"{args.mail_local_part.strip().lower()}@{target.mail_domain}"
    if not changes:
        print("supportdesk: nothing to change (see `supportdesk department edit --help`)", file=sys.stderr)
        return 2
    try:
        department = edit_department(target.table, args.key, **changes)
    except (InvalidDepartment, UnknownDepartment) as error:
        return _department_failure(error, args.key)
    print(f"Changed {_describe(department)}.")
    return 0


def switch_department(target: Target, args: argparse.Namespace, *, enabled: bool) -> int:
    try:
        set_enabled(target.table, args.key, enabled=enabled)
    except UnknownDepartment as error:
        return _department_failure(error, args.key)
    if enabled:
        print(f"Enabled {args.key}: it takes new tickets again.")
    else:
        print(f"Disabled {args.key}: it takes no new tickets; its tickets carry on.")
    return 0


def _department_fields(command: argparse.ArgumentParser, *, adding: bool) -> None:
    command.add_argument("key", help="short lower-case key, e.g. hosting (in URLs and tickets; cannot change)")
    command.add_argument("--name-es", required=adding, help="name in Spanish")
    command.add_argument("--name-en", required=adding, help="name in English")
    command.add_argument("--description-es", help="one line in Spanish, shown under the name")
    command.add_argument("--description-en", help="one line in English, shown under the name")
    command.add_argument("--mail-local-part", help="the part before @ of its address (default: the key)")
    command.add_argument("--guests", action=argparse.BooleanOptionalAction, default=False if adding else None,
                         help="whether people without a customer account may open tickets")
    command.add_argument("--login-required", action=argparse.BooleanOptionalAction, default=None,
                         help="whether opening a ticket needs a login (when adding: unless --guests)")


def reindex(target: Target, args: argparse.Namespace) -> int:
    """Write the search index of every ticket (the notifier keeps it from then on): once,
    for tickets stored before word search read an index. Safe to run again."""
    from supportdesk.search_index import whole_ticket_items
    from supportdesk.tickets import get_ticket

    heads = target.client("dynamodb").get_paginator("scan").paginate(
        TableName=target.table.name, FilterExpression="SK = :head",
        ExpressionAttributeValues={":head": {"S": "TICKET"}}, ProjectionExpression="PK")
    count = 0
    for page in heads:
        for item in page.get("Items", []):
            ticket = get_ticket(target.table, item["PK"]["S"].removeprefix("TICKET#"), whole=True)
            if ticket is not None:
                target.table.batch_put(whole_ticket_items(ticket))
                count += 1
    print(f"{count} tickets indexed for search.")
    return 0


def _how_many(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of 1 or more")
    return int(text)


def redrive_dead_letters(target: Target, args: argparse.Namespace) -> int:
    """Give what waits in a dead-letter queue to its function again (supportdesk_dev.deadletters)."""
    from supportdesk_dev.deadletters import lambda_invoker, redrive

    if not target.outputs:
        print("supportdesk: the local stack has no dead-letter queues; pass --stack NAME.",
              file=sys.stderr)
        return 2
    prefix = args.queue.capitalize()
    queue_url, function = target.outputs[f"{prefix}DeadLetterQueueUrl"], target.outputs[f"{prefix}FunctionName"]
    outcome = redrive(target.client("sqs"), queue_url, lambda_invoker(target.client("lambda"), function),
                      queue=args.queue, streams=target.client("dynamodbstreams"), limit=args.max)
    for why in outcome.kept:
        print(f"  kept {why}")
    print(f"{outcome.redriven} of {outcome.seen} messages of the {args.queue} dead-letter queue "
          f"re-driven; {len(outcome.kept)} kept in the queue.")
    return 0 if not outcome.kept else 1


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="supportdesk", description=__doc__.splitlines()[0])
    top.add_argument("--stack", help="CloudFormation stack in AWS (default: the running `make dev`)")
    top.add_argument("--region", default=os.environ.get("AWS_REGION"), help="AWS region of --stack")
    nouns = top.add_subparsers(dest="noun", required=True)

    for noun, help_text in (("customer", "customer accounts"), ("agent", "support agents")):
        verbs = nouns.add_parser(noun, help=help_text).add_subparsers(dest="verb", required=True)
        add = verbs.add_parser("add", help=f"create a {noun} who can log in at once")
        add.add_argument("email")
        add.add_argument("--name", required=True)
        add.add_argument("--password", required=True)
        add.add_argument("--language", choices=LANGUAGES, default=DEFAULT_LANGUAGE)
        if noun == "customer":
            add.add_argument("--service", action="append",
                             help="a service in the account (repeat for several)")
        add.set_defaults(run=lambda t, a, agent=(noun == "agent"): add_account(t, a, agent=agent))

    departments = nouns.add_parser("department", help="departments").add_subparsers(
        dest="verb", required=True)
    departments.add_parser("list", help="list the departments (disabled ones too)").set_defaults(
        run=show_departments)
    add_command = departments.add_parser("add", help="add a department (it takes tickets at once)")
    _department_fields(add_command, adding=True)
    add_command.set_defaults(run=new_department)
    edit_command = departments.add_parser("edit", help="change a department's names, address or access")
    _department_fields(edit_command, adding=False)
    edit_command.add_argument("--enabled", action=argparse.BooleanOptionalAction, default=None,
                              help="whether it takes new tickets")
    edit_command.set_defaults(run=change_department)
    for verb, enabled, help_text in (("disable", False, "stop new tickets (its tickets carry on; never deleted)"),
                                     ("enable", True, "take new tickets again")):
        switch = departments.add_parser(verb, help=help_text)
        switch.add_argument("key")
        switch.set_defaults(run=lambda t, a, enabled=enabled: switch_department(t, a, enabled=enabled))
    search = nouns.add_parser("search", help="search by words").add_subparsers(dest="verb", required=True)
    search.add_parser("reindex", help="index every ticket's words (tickets stored before the index)").set_defaults(
        run=reindex)

    dlq = nouns.add_parser("dlq", help="dead-letter queues (--stack)").add_subparsers(dest="verb", required=True)
    drive = dlq.add_parser("redrive", help="give the queue's messages to their function again; "
                                           "each is deleted once the function took it")
    drive.add_argument("--queue", choices=("notifier", "inbound"), default="notifier",
                       help="the notifier's (mail about tickets) or the mail intake's")
    drive.add_argument("--max", type=_how_many, default=None, metavar="N", help="at most N messages (default: all)")
    drive.set_defaults(run=redrive_dead_letters)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    target = aws_target(args.stack, args.region) if args.stack else local_target()
    try:
        return int(args.run(target, args))
    except Exception as error:  # connection refused, missing permissions...: one clear line
        if type(error).__name__ in ("EndpointConnectionError", "ConnectionRefusedError"):
            print("supportdesk: the local stack does not answer. Is `make dev` running?",
                  file=sys.stderr)
            return 1
        raise


if __name__ == "__main__":
    sys.exit(main())
