"""How much a customer may send, in one place: the checks read these numbers and the forms
show them (maxlength, the counters, the error texts), so changing one changes every place."""

from __future__ import annotations

from dataclasses import dataclass

SUBJECT_CHARS = 200
MESSAGE_BYTES = 64 * 1024
NAME_CHARS = 100
EMAIL_CHARS = 254  # RFC 5321's longest path, less the angle brackets
# Cognito's pool policy says the same (template.yaml, PasswordPolicy.MinimumLength; a test
# keeps the two equal): checked here first so the form can say it in the user's words.
PASSWORD_MIN_CHARS = 8


@dataclass(frozen=True)
class Limits:
    """The limits as the templates read them (`limits.subject_chars`)."""

    subject_chars: int = SUBJECT_CHARS
    message_bytes: int = MESSAGE_BYTES
    name_chars: int = NAME_CHARS
    email_chars: int = EMAIL_CHARS
    password_min_chars: int = PASSWORD_MIN_CHARS

    @property
    def message_kb(self) -> int:
        return self.message_bytes // 1024


LIMITS = Limits()


def message_problem(body: str) -> str | None:
    """Why a message cannot be sent as it is (a reason the templates put into words), if so."""
    if not body.strip():
        return "required"
    if is_too_large(body):
        return "too-large"
    return None


def is_too_large(body: str) -> bool:
    return len(body.encode("utf-8")) > MESSAGE_BYTES
