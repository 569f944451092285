"""E-mail intake: SES stores incoming mail as raw MIME; this package turns it into tickets.

``supportdesk.mail.parsing`` reads one raw message into a ``ParsedMail`` without ever
raising and without dropping text or parts; ``parse_headers`` (also importable from there)
reads only its header block, so a mail can be refused by its sender before its body costs
anything. ``parse_mail`` is a pipeline, one module a step, and the work is linear in the size
of the mail:

1. ``decode``: the MIME tree (``mime``, read without the stdlib's line-by-line parser) and
   the header fields (``headers``, which also says whether the sender is exactly one mailbox);
2. ``body``: the parts that hold the text the customer wrote, each read by ``text`` (bytes
   to text by ``charsets`` when the charset label may lie, format=flowed unwrapped by
   ``flowed``, HTML as Markdown by ``markdown``, uuencoded files taken out by ``uuencode``);
   an attached mail is a file (.eml) and a block of text of its own;
3. ``history``: the new text of the mail's own parts, without quoted history and signature,
   cut only at delimiters it trusts; what it cut is kept as ``trimmed`` (a forward is text);
4. ``attachments``: the other parts, as files with safe names (named by their type when
   their name has no extension).

``parts`` reads one MIME part without raising; ``safe`` holds the guard for calls that may.
"""
