"""Cognito's CustomMessage trigger: the mails Cognito sends itself, in the user's language.

Cognito writes the password-reset code, the temporary password of an account an operator
created and the verification codes; without this trigger it does so in its own English.
This function only words them: the language is the user's `locale` attribute (which
accounts.create_account sets from the profile's language), Spanish when there is none, and
the texts come from the catalogs. Cognito's placeholders (`{####}` for the code or the
temporary password, `{username}`) stay for Cognito to fill. It reads no table, no secret:
the event carries all it needs, so its role grants nothing but its logs.
"""

from __future__ import annotations

from html import escape
from typing import Any

from supportdesk.i18n import DEFAULT_LANGUAGE, N_, supported, translations

CODE = "{####}"
USERNAME = "{username}"

# triggerSource -> (subject, lines); each text is a msgid of the catalogs.
_MESSAGES: dict[str, tuple[str, tuple[str, ...]]] = {
    "CustomMessage_ForgotPassword": (
        N_("Your password reset code"),
        (N_("Hello,"),
         N_("To choose a new password, enter this code on the password reset page: %(code)s"),
         N_("If you did not ask for it, ignore this mail: your password stays as it is."))),
    "CustomMessage_AdminCreateUser": (
        N_("Your support account"),
        (N_("Hello,"),
         N_("We opened a support account for you. Log in with %(username)s and this temporary password: %(code)s"),
         N_("You will choose your own password when you first log in."))),
}
_VERIFICATION = (
    N_("Your verification code"),
    (N_("Hello,"),
     N_("Your verification code is %(code)s"),
     N_("If you did not ask for it, ignore this mail.")),
)
# SignUp, ResendCode, UpdateUserAttribute, VerifyUserAttribute, Authentication: a code to enter.
_VERIFICATION_SOURCES = ("CustomMessage_SignUp", "CustomMessage_ResendCode",
                         "CustomMessage_UpdateUserAttribute", "CustomMessage_VerifyUserAttribute",
                         "CustomMessage_Authentication")


def language_of(event: dict[str, Any]) -> str:
    attributes = (event.get("request") or {}).get("userAttributes") or {}
    return supported(attributes.get("locale")) or DEFAULT_LANGUAGE


def handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    source = event.get("triggerSource", "")
    if source in _MESSAGES:
        subject, lines = _MESSAGES[source]
    elif source in _VERIFICATION_SOURCES:
        subject, lines = _VERIFICATION
    else:
        return event  # an unknown message: Cognito's own
    request = event.get("request") or {}
    values = {"code": request.get("codeParameter") or CODE,
              "username": request.get("usernameParameter") or USERNAME}
    _ = translations(language_of(event)).gettext
    paragraphs = [_(line) % values if "%(" in line else _(line) for line in lines]
    response = event.setdefault("response", {})
    response["emailSubject"] = _(subject)
    # Cognito sends the mail as HTML: one paragraph each (the placeholders need no escaping).
    response["emailMessage"] = "".join(f"<p>{escape(p, quote=False)}</p>" for p in paragraphs)
    response["smsMessage"] = " ".join(paragraphs[1:2])
    return event
