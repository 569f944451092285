"""Mail the system sends: the acknowledgement of a new ticket, the confirmation a guest's
address must give, and why a mail opened nothing.

Every automatic mail says so (Auto-Submitted, RFC 3834), so other robots do not answer it
and no loop can start. The subject carries the ticket reference ([#ABC-123456]) that the
mail intake recognizes when the customer answers.

Nothing a visitor typed is ever mailed to an address that has not proven to be theirs: a
guest's web ticket first gets `address_confirmation`, whose text is ours alone (no name, no
subject), and only then the acknowledgement.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from supportdesk.departments import Department
from supportdesk.events import EventKind, TicketEvent
from supportdesk.i18n import translations
from supportdesk.reply_address import reply_address
from supportdesk.tickets import Ticket

if TYPE_CHECKING:
    from email.message import EmailMessage

    from supportdesk.channels import Outlet


def reference(ticket_id: str) -> str:
    return f"[#{ticket_id}]"


def ticket_link(public_url: str, ticket_id: str, guest_key: str | None) -> str:
    """The ticket's page on the portal; a guest's carries the key that opens it."""
    return f"{public_url}/ticket.html?" + urlencode({"id": ticket_id, **({"key": guest_key} if guest_key else {})})


def on_ticket_event(event: TicketEvent, outlet: Outlet) -> None:
    """The mail channel: a new ticket is acknowledged (a guest's web ticket first asks its
    address to confirm it, and is acknowledged once it has)."""
    ticket = event.ticket
    department = outlet.departments.get(ticket.department)
    if department is None or event.kind not in (EventKind.OPENED, EventKind.CONFIRMED):
        return
    link = ticket_link(outlet.public_url, ticket.id, event.guest_key)
    if not ticket.confirmed:
        message = address_confirmation(ticket, department, link=link)
    else:
        message = acknowledgement(
            ticket, department, link=link, guest=event.guest_key is not None, in_reply_to=event.in_reply_to,
            reply_to=reply_address(department.email, ticket.id, outlet.reply_secret))
    send(outlet.ses, message)


def _automatic_mail(department: Department, *, to: str, subject: str, lines: list[str], language: str,
                    kind: str, auto_submitted: str = "auto-generated", in_reply_to: str | None = None,
                    reply_to: str | None = None, ticket_id: str | None = None) -> EmailMessage:
    """The headers every automatic mail of ours carries, around `lines`."""
    # Imported here: the email package costs a cold start ~5 ms that most requests never use.
    from email.message import EmailMessage
    from email.utils import formataddr, formatdate, make_msgid

    department_name = department.name(language)
    message = EmailMessage()
    message["From"] = formataddr((department_name, department.email))
    message["To"] = to
    if reply_to:
        message["Reply-To"] = reply_to
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(idstring=kind, domain=department.email.split("@", 1)[1])
    if in_reply_to:  # an answer to a mail joins that conversation
        message["In-Reply-To"] = f"<{in_reply_to}>"
        message["References"] = f"<{in_reply_to}>"
    message["Auto-Submitted"] = auto_submitted
    message["X-Auto-Response-Suppress"] = "All"
    message["Content-Language"] = language
    if ticket_id:
        message["X-Supportdesk-Ticket"] = ticket_id
    message.set_content("\n".join([*lines, "", f"— {department_name}"]))
    return message


def acknowledgement(ticket: Ticket, department: Department, *, link: str, guest: bool = False,
                    in_reply_to: str | None = None, reply_to: str | None = None) -> EmailMessage:
    """The mail that confirms a new ticket, in the requester's language."""
    from email.utils import formataddr

    language = ticket.requester.language
    _ = translations(language).gettext
    lines = [
        _("Hello %(name)s,") % {"name": ticket.requester.name},
        "",
        _("We received your ticket %(id)s, \u201c%(subject)s\u201d, for %(department)s.")
        % {"id": ticket.id, "subject": ticket.subject, "department": department.name(language)},
        _("Tickets are answered in order of arrival; you will hear from us here."),
        "",
        _("See it and add information at any time:"),
        link,
        "",
    ]
    if guest:
        lines += [_("This link is your access to the ticket: keep it and do not share it."), ""]
    lines.append(_("Keep the ticket ID %(id)s for any question about this case.") % {"id": ticket.id})
    # Our Message-IDs carry the ticket ID (intake.MESSAGE_ID_REFERENCE).
    return _automatic_mail(
        department, to=formataddr((ticket.requester.name, ticket.requester.email)),
        subject=f"{reference(ticket.id)} {ticket.subject}", lines=lines, language=language,
        kind=f"{ticket.id}.ack", in_reply_to=in_reply_to, reply_to=reply_to or department.email,
        ticket_id=ticket.id)


def address_confirmation(ticket: Ticket, department: Department, *, link: str) -> EmailMessage:
    """Asks a guest's address to confirm the ticket opened with it: our words only.

    The visitor's name and subject stay out (a stranger may have typed them), the address
    stands alone in To:, and the mail offers nothing to reply to.
    """
    language = ticket.requester.language
    _ = translations(language).gettext
    department_name = department.name(language)
    lines = [
        _("Hello,"),
        "",
        _("A ticket for %(department)s was opened on our website with this e-mail address. "
          "Its ID is %(id)s.") % {"department": department_name, "id": ticket.id},
        _("If it was you, confirm your address to send the ticket to our team and to follow it:"),
        link,
        "",
        _("If it was not you, ignore this mail: the ticket stays unconfirmed and we will not "
          "write to you again about it."),
    ]
    return _automatic_mail(
        department, to=ticket.requester.email,
        subject=_("Confirm your ticket %(id)s") % {"id": ticket.id}, lines=lines, language=language,
        kind=f"{ticket.id}.confirm", ticket_id=ticket.id)


def send(ses: Any, message: EmailMessage) -> str:
    """Hand the mail to SES; returns SES's message id."""
    response = ses.send_raw_email(RawMessage={"Data": bytes(message)})
    return str(response["MessageId"])


def rejection(address: str, subject: str, in_reply_to: str | None, department: Department, *,
              language: str) -> EmailMessage:
    """Why a mail did not open a ticket, for a sender whose address is authenticated."""
    _ = translations(language).gettext
    department_name = department.name(language)
    lines = [
        _("Hello,"),
        "",
        _("We received your mail \u201c%(subject)s\u201d at %(address)s, but no ticket was opened.")
        % {"subject": subject or "-", "address": department.email},
        _("For %(department)s we accept mail only from the address registered on a client "
          "account, because we need to verify the customer and the services in the account.")
        % {"department": department_name},
        _("Please send it again from that address, or log in to your account and open the "
          "ticket on our website."),
    ]
    # An answer to a mail, made by a robot: RFC 3834's auto-replied.
    return _automatic_mail(
        department, to=address, subject=_("No ticket was opened: %(subject)s") % {"subject": subject or "-"},
        lines=lines, language=language, kind="rejected", auto_submitted="auto-replied",
        in_reply_to=in_reply_to)
