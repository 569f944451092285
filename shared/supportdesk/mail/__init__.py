"""E-mail intake: SES stores incoming mail as raw MIME; this package turns it into tickets.

``supportdesk.mail.parsing`` reads one raw message into a ``ParsedMail`` without ever
raising and without dropping text or parts.
"""
