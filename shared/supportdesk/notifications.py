"""Mail the system sends: the acknowledgement of a new ticket, the confirmation a guest's
address must give, an agent's reply, a ticket closed by an agent, a customer's answer for
the assigned agent, why a mail opened nothing, and that mail over a sender's hourly
allowance waits.

Every automatic mail says so (Auto-Submitted, RFC 3834), so other robots do not answer it
and no loop can start. The subject carries the ticket reference ([#ABC-123456]) that the
mail intake recognizes when the customer answers.

Nothing a visitor typed is ever mailed to an address that has not proven to be theirs: a
guest's web ticket first gets `address_confirmation`, whose text is ours alone (no name, no
subject), and only then the acknowledgement.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable
from urllib.parse import urlencode

from supportdesk.accounts import get_account
from supportdesk.departments import Department
from supportdesk.events import EventKind, TicketEvent
from supportdesk.i18n import N_, translations
from supportdesk.reply_address import reply_address
from supportdesk.tickets import Message, Requester, Ticket, get_message

if TYPE_CHECKING:
    from datetime import datetime
    from email.message import EmailMessage

    from supportdesk.channels import Outlet


def reference(ticket_id: str) -> str:
    return f"[#{ticket_id}]"


# The first line of our mails about a ticket: a reply's text ends where it stands
# (supportdesk.mail.history cuts at any "##- ... -##" line).
REPLY_MARKER = N_("##- Please type your reply above this line -##")


def ticket_link(public_url: str, ticket_id: str, guest_key: str | None) -> str:
    """The ticket's page on the portal; a guest's carries the key that opens it."""
    return f"{public_url}/ticket.html?" + urlencode({"id": ticket_id, **({"key": guest_key} if guest_key else {})})


def thread_id(ticket_id: str, domain: str) -> str:
    """The Message-ID of the ticket's acknowledgement: every later mail about the ticket
    refers to it, so mail clients show one conversation (intake.MESSAGE_ID_REFERENCE)."""
    return f"{ticket_id}.ack@{domain}"


def on_ticket_event(event: TicketEvent, outlet: Outlet) -> None:
    """The mail channel.

    - opened / confirmed: the acknowledgement (a guest's web ticket first asks its address
      to confirm it, and is acknowledged once it has);
    - answered: the agent's reply, to the customer;
    - closed by an agent: a notice to the customer (one who closed it needs none);
    - replied (by the customer): a notice to the assigned agent, if the stack wants it.
    """
    ticket = event.ticket
    department = outlet.departments.get(ticket.department)
    if department is None:
        return
    guest_key = None if ticket.requester.account_id else outlet.guest_keys.of(ticket.id)
    link = ticket_link(outlet.public_url, ticket.id, guest_key)
    reply_to = reply_address(department.email, ticket.id, outlet.reply_secret)
    provider = outlet.provider_name
    message: EmailMessage | None = None
    if event.kind in (EventKind.OPENED, EventKind.CONFIRMED):
        if not ticket.confirmed:
            message = address_confirmation(ticket, department, link=link, provider=provider)
        else:
            message = acknowledgement(ticket, department, link=link, guest=guest_key is not None,
                                      in_reply_to=event.in_reply_to, reply_to=reply_to, provider=provider)
    elif event.kind is EventKind.ANSWERED and ticket.confirmed and event.message_key:
        reply = get_message(outlet.table, ticket.id, event.message_key)
        if reply is not None:
            message = agent_reply(ticket, department, reply, link=link, reply_to=reply_to, provider=provider)
    elif event.kind is EventKind.CLOSED and event.by_agent and ticket.confirmed:
        message = closed_notice(ticket, department, agent=event.agent or "", link=link, reply_to=reply_to,
                                provider=provider)
    elif event.kind is EventKind.REPLIED and ticket.assignee and outlet.notify_assignee:
        agent = get_account(outlet.table, ticket.assignee.id)
        if agent is not None:
            message = assignee_notice(ticket, department, agent.email, agent.language,
                                      link=f"{outlet.public_url}/agent/ticket.html?id={ticket.id}", provider=provider)
    if message is not None:
        send(outlet.ses, message)


def sender_name(department: Department, language: str, provider: str = "") -> str:
    """Who our mail is from: the department, and whose help desk it is (ProviderName)."""
    name = department.name(language)
    return f"{name} \u00b7 {provider}" if provider else name


def _mail(department: Department, *, provider: str = "", to: str, subject: str, lines: list[str], language: str,
          kind: str, auto_submitted: str | None = "auto-generated", in_reply_to: str | None = None,
          reply_to: str | None = None, ticket_id: str | None = None, html: str | None = None,
          message_id: str | None = None, references: tuple[str, ...] = (), signed: bool = True) -> EmailMessage:
    """The headers every mail of ours carries, around `lines` (and `html`, its HTML part).

    `auto_submitted`: None for a mail a person wrote (an agent's reply); our automatic mail
    says so (RFC 3834), so other robots do not answer it.
    """
    # Imported here: the email package costs a cold start ~5 ms that most requests never use.
    from email.message import EmailMessage
    from email.utils import formataddr, formatdate, make_msgid

    department_name = sender_name(department, language, provider)
    domain = department.email.split("@", 1)[1]
    message = EmailMessage()
    message["From"] = formataddr((department_name, department.email))
    message["To"] = to
    if reply_to:
        message["Reply-To"] = reply_to
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = f"<{message_id}>" if message_id else make_msgid(idstring=kind, domain=domain)
    threading = [*((in_reply_to,) if in_reply_to else ()), *references]
    if threading:  # an answer joins the conversation it answers
        message["In-Reply-To"] = f"<{threading[-1]}>"
        message["References"] = " ".join(f"<{m}>" for m in dict.fromkeys(threading))
    if auto_submitted:
        message["Auto-Submitted"] = auto_submitted
        message["X-Auto-Response-Suppress"] = "All"
    if ticket_id:
        message["X-Supportdesk-Ticket"] = ticket_id
    message.set_content("\n".join([*lines, *(("", f"— {department_name}") if signed else ())]))
    if html is not None:  # (this moves the Content-* headers into the text part)
        message.add_alternative(html, subtype="html")
    message["Content-Language"] = language
    return message


def _hello(_: Callable[[str], str], requester: Requester) -> str:
    """"Hello Ana," by the requester's name; a plain "Hello," when all we have is the address
    (a mail without a display name): greeting someone by their address reads as a robot's."""
    name = requester.name.strip()
    if not name or "@" in name:
        return _("Hello,")
    return _("Hello %(name)s,") % {"name": name}


def acknowledgement(ticket: Ticket, department: Department, *, link: str, guest: bool = False,
                    in_reply_to: str | None = None, reply_to: str | None = None,
                    provider: str = "") -> EmailMessage:
    """The mail that confirms a new ticket, in the requester's language."""
    from email.utils import formataddr

    language = ticket.requester.language
    _ = translations(language).gettext
    lines = [
        _hello(_, ticket.requester),
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
    return _mail(
        department, provider=provider, to=formataddr((ticket.requester.name, ticket.requester.email)),
        subject=f"{reference(ticket.id)} {ticket.subject}", lines=lines, language=language,
        kind=f"{ticket.id}.ack", in_reply_to=in_reply_to, reply_to=reply_to or department.email,
        ticket_id=ticket.id, message_id=thread_id(ticket.id, department.email.split("@", 1)[1]))


def agent_reply(ticket: Ticket, department: Department, reply: Message, *, link: str,
                reply_to: str, provider: str = "") -> EmailMessage:
    """An agent's answer, to the customer: their words (text and HTML), the marker above
    which the customer answers, [#ID] in the subject, the signed reply address, and the
    conversation's threading headers. A person wrote it: no Auto-Submitted."""
    from email.utils import formataddr

    language = ticket.requester.language
    _ = translations(language).gettext
    domain = department.email.split("@", 1)[1]
    status = _(ticket.status.customer_label)
    files = [a.filename for a in reply.attachments]
    footer = [
        "",
        f"— {reply.author_name}, {sender_name(department, language, provider)}",
        "",
        _("Ticket %(id)s: \u201c%(subject)s\u201d") % {"id": ticket.id, "subject": ticket.subject},
        _("Status: %(status)s") % {"status": status},
        _("See it on our website:") + f" {link}",
    ]
    if files:
        footer.insert(2, _("Attachments (on our website): %(names)s") % {"names": ", ".join(files)})
    lines = [_(REPLY_MARKER), "", _hello(_, ticket.requester), "", reply.body, *footer]
    html = _reply_html(reply, lines_before=[_(REPLY_MARKER), _hello(_, ticket.requester)],
                       lines_after=footer, link=link, language=language)
    return _mail(
        department, provider=provider, to=formataddr((ticket.requester.name, ticket.requester.email)),
        subject=f"{reference(ticket.id)} {ticket.subject}", lines=lines, language=language,
        kind=f"{ticket.id}.reply", auto_submitted=None, reply_to=reply_to, ticket_id=ticket.id, html=html, signed=False,
        message_id=f"{ticket.id}.reply.{_digits(reply.created_at)}@{domain}",
        references=(thread_id(ticket.id, domain),))


def _digits(moment: str) -> str:
    return "".join(c for c in moment if c.isdigit())


def _reply_html(reply: Message, *, lines_before: list[str], lines_after: list[str], link: str,
                language: str) -> str:
    """The HTML part: the reply as the portal shows it (sanitized when it was stored)."""
    from html import escape

    from supportdesk.markup import render_markdown

    body = reply.html or render_markdown(reply.body)
    before = "".join(f"<p>{escape(line)}</p>" for line in lines_before)
    after = "".join(f"<p>{escape(line)}</p>" for line in lines_after if line and not line.endswith(link))
    return (f'<!doctype html><html lang="{escape(language)}"><body>{before}<div>{body}</div>{after}'
            f'<p><a href="{escape(link)}">{escape(link)}</a></p></body></html>')


def closed_notice(ticket: Ticket, department: Department, *, agent: str, link: str, reply_to: str,
                  provider: str = "") -> EmailMessage:
    """An agent closed the customer's ticket: they hear so, and how to reopen it."""
    from email.utils import formataddr

    language = ticket.requester.language
    _ = translations(language).gettext
    domain = department.email.split("@", 1)[1]
    lines = [
        _hello(_, ticket.requester),
        "",
        _("Your ticket %(id)s, \u201c%(subject)s\u201d, was closed by %(agent)s.")
        % {"id": ticket.id, "subject": ticket.subject, "agent": agent},
        _("If something is still wrong, answer this mail or reply on our website: the ticket reopens."),
        link,
    ]
    return _mail(
        department, provider=provider, to=formataddr((ticket.requester.name, ticket.requester.email)),
        subject=f"{reference(ticket.id)} {ticket.subject}", lines=lines, language=language,
        kind=f"{ticket.id}.closed", reply_to=reply_to, ticket_id=ticket.id,
        references=(thread_id(ticket.id, domain),))


def assignee_notice(ticket: Ticket, department: Department, address: str, language: str, *,
                    link: str, provider: str = "") -> EmailMessage:
    """The customer answered a ticket assigned to an agent: that agent hears of it. The
    customer's words stay on the agents' page (this mail leaves the help desk)."""
    _ = translations(language).gettext
    lines = [
        _("%(customer)s replied to ticket %(id)s, \u201c%(subject)s\u201d, assigned to you.")
        % {"customer": ticket.requester.name, "id": ticket.id, "subject": ticket.subject},
        link,
    ]
    return _mail(department, provider=provider, to=address, subject=f"{reference(ticket.id)} {ticket.subject}", lines=lines,
                 language=language, kind=f"{ticket.id}.assigned", ticket_id=ticket.id)


def address_confirmation(ticket: Ticket, department: Department, *, link: str, provider: str = "") -> EmailMessage:
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
    return _mail(
        department, provider=provider, to=ticket.requester.email,
        subject=_("Confirm your ticket %(id)s") % {"id": ticket.id}, lines=lines, language=language,
        kind=f"{ticket.id}.confirm", ticket_id=ticket.id)


def send(ses: Any, message: EmailMessage) -> str:
    """Hand the mail to SES; returns SES's message id."""
    response = ses.send_raw_email(RawMessage={"Data": bytes(message)})
    return str(response["MessageId"])


def rejection(address: str, subject: str, in_reply_to: str | None, department: Department, *,
              language: str, provider: str = "") -> EmailMessage:
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
    return _mail(
        department, provider=provider, to=address, subject=_("No ticket was opened: %(subject)s") % {"subject": subject or "-"},
        lines=lines, language=language, kind="rejected", auto_submitted="auto-replied",
        in_reply_to=in_reply_to)


def held_notice(address: str, subject: str, in_reply_to: str | None, department: Department, *,
                limit: int, release: datetime, language: str, provider: str = "") -> EmailMessage:
    """A mail over its sender's hourly allowance waits, and is taken in after `release` (UTC):
    one notice an hour, to an authenticated sender."""
    _ = translations(language).gettext
    lines = [
        _("Hello,"),
        "",
        _("We received your mail \u201c%(subject)s\u201d at %(address)s. It is not lost.")
        % {"subject": subject or "-", "address": department.email},
        _("You have sent us more than %(limit)s mails within an hour, so it waits: after %(time)s "
          "(UTC) it is taken in automatically, like any other mail.")
        % {"limit": limit, "time": release.strftime("%H:%M")},
        _("Mails you send until then wait the same way. You do not need to send them again."),
    ]
    return _mail(
        department, provider=provider, to=address, subject=_("Your mail is waiting: %(subject)s") % {"subject": subject or "-"},
        lines=lines, language=language, kind="held", auto_submitted="auto-replied", in_reply_to=in_reply_to)
