"""E-mail intake: SES stores incoming mail as raw MIME; this package turns it into tickets.

``supportdesk.mail.parsing`` reads one raw message into a ``ParsedMail`` without ever
raising and without dropping text or parts; ``parse_headers`` (also importable from there)
reads only its header block, so a mail can be refused by its sender before its body costs
anything. The work is linear in the size of the mail:

* ``headers``: the header fields, and whether the sender is exactly one mailbox;
* ``mime``: the MIME tree, read without the stdlib's line-by-line parser;
* ``charsets``: bytes to text when the charset label may lie;
* ``flowed``: format=flowed text unwrapped;
* ``markdown``: HTML as Markdown;
* ``history``: the new text of a reply, without quoted history and signature.
"""
