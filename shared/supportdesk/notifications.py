"""Mail the system sends: the acknowledgement of a new ticket.

Every automatic mail says so (Auto-Submitted: auto-generated, RFC 3834), so other robots
do not answer it and no loop can start. The subject carries the ticket reference
([#ABC-123456]) that the mail intake recognizes when the customer answers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from supportdesk.departments import Department
from supportdesk.i18n import translations
from supportdesk.tickets import Ticket

if TYPE_CHECKING:
    from email.message import EmailMessage


def reference(ticket_id: str) -> str:
    return f"[#{ticket_id}]"


def acknowledgement(ticket: Ticket, department: Department, *, link: str, guest: bool = False,
                    in_reply_to: str | None = None, reply_to: str | None = None) -> EmailMessage:
    """The mail that confirms a new ticket, in the requester's language."""
    # Imported here: the email package costs a cold start ~5 ms that most requests never use.
    from email.message import EmailMessage
    from email.utils import formataddr, formatdate, make_msgid

    language = ticket.requester.language
    _ = translations(language).gettext
    department_name = department.name(language)
    lines = [
        _("Hello %(name)s,") % {"name": ticket.requester.name},
        "",
        _("We received your ticket %(id)s, \u201c%(subject)s\u201d, for %(department)s.")
        % {"id": ticket.id, "subject": ticket.subject, "department": department_name},
        _("Tickets are answered in order of arrival; you will hear from us here."),
        "",
        _("See it and add information at any time:"),
        link,
        "",
    ]
    if guest:
        lines += [_("This link is your access to the ticket: keep it and do not share it."), ""]
    lines += [
        _("Keep the ticket ID %(id)s for any question about this case.") % {"id": ticket.id},
        "",
        f"— {department_name}",
    ]
    message = EmailMessage()
    domain = department.email.split("@", 1)[1]
    message["From"] = formataddr((department_name, department.email))
    message["To"] = formataddr((ticket.requester.name, ticket.requester.email))
    message["Reply-To"] = reply_to or department.email
    message["Subject"] = f"{reference(ticket.id)} {ticket.subject}"
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(idstring=f"{ticket.id}.ack", domain=domain)
    if in_reply_to:  # the ticket came by mail: the answer joins that conversation
        message["In-Reply-To"] = f"<{in_reply_to}>"
        message["References"] = f"<{in_reply_to}>"
    message["Auto-Submitted"] = "auto-generated"
    message["X-Auto-Response-Suppress"] = "All"
    message["Content-Language"] = language
    message["X-Supportdesk-Ticket"] = ticket.id
    message.set_content("\n".join(lines))
    return message


def send(ses: Any, message: EmailMessage) -> str:
    """Hand the mail to SES; returns SES's message id."""
    response = ses.send_raw_email(RawMessage={"Data": bytes(message)})
    return str(response["MessageId"])


def rejection(address: str, subject: str, in_reply_to: str | None, department: Department, *,
              language: str) -> EmailMessage:
    """Why a mail did not open a ticket, for a sender SPF/DKIM vouched for."""
    from email.message import EmailMessage
    from email.utils import formataddr, formatdate, make_msgid

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
        "",
        f"— {department_name}",
    ]
    message = EmailMessage()
    domain = department.email.split("@", 1)[1]
    message["From"] = formataddr((department_name, department.email))
    message["To"] = address
    message["Subject"] = _("No ticket was opened: %(subject)s") % {"subject": subject or "-"}
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(idstring="rejected", domain=domain)
    if in_reply_to:
        message["In-Reply-To"] = f"<{in_reply_to}>"
        message["References"] = f"<{in_reply_to}>"
    # An answer to a mail, made by a robot: RFC 3834's auto-replied.
    message["Auto-Submitted"] = "auto-replied"
    message["X-Auto-Response-Suppress"] = "All"
    message["Content-Language"] = language
    message.set_content("\n".join(lines))
    return message
