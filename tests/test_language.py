"""Every mail and every word the UI inserts is in the reader's language.

Cognito's own mails through the CustomMessage trigger, a guest's acknowledgement in the
language its mail is written in, a greeting that never uses an address as a name, and the
editor's inserts in the page's language.
"""

from __future__ import annotations

import copy
import uuid
from email.message import EmailMessage
from typing import Any

import pytest
from conftest import browser_client, mails_to

from cognito_messages.handler import handler as custom_message
from supportdesk.language import detect_language
from supportdesk_dev.stack import LocalStack

# --- Cognito's mails ------------------------------------------------------------------------

def cognito_event(trigger: str, locale: str | None) -> dict[str, Any]:
    """A CustomMessage trigger event as Cognito sends it (user-pool-lambda-custom-message)."""
    attributes = {"sub": str(uuid.uuid4()), "email": "ana@example.org", "email_verified": "true",
                  "name": "Ana Pérez", "cognito:user_status": "CONFIRMED"}
    if locale is not None:
        attributes["locale"] = locale
    request: dict[str, Any] = {"userAttributes": attributes, "codeParameter": "{####}",
                               "linkParameter": "{##Click Here##}", "clientMetadata": {}}
    if trigger == "CustomMessage_AdminCreateUser":
        request["usernameParameter"] = "{username}"
    return {
        "version": "1", "region": "eu-west-1", "userPoolId": "eu-west-1_AbCdEfGhI",
        "userName": attributes["sub"], "triggerSource": trigger,
        "callerContext": {"awsSdkVersion": "aws-sdk-unknown-unknown", "clientId": "1example23456789"},
        "request": request,
        "response": {"smsMessage": None, "emailMessage": None, "emailSubject": None},
    }


@pytest.mark.parametrize(("locale", "subject", "words"), [
    ("en", "Your password reset code", "enter this code on the password reset page"),
    ("es", "Su código para cambiar la contraseña", "escriba este código en la página de cambio de contraseña"),
    ("es-ES", "Su código para cambiar la contraseña", "escriba este código"),
    (None, "Su código para cambiar la contraseña", "escriba este código"),  # no locale: Spanish
    ("fr", "Su código para cambiar la contraseña", "escriba este código"),  # one we don't speak
])
def test_the_password_reset_mail_is_in_the_users_language_with_cognitos_code(
        locale: str | None, subject: str, words: str) -> None:
    event = cognito_event("CustomMessage_ForgotPassword", locale)
    answered = custom_message(copy.deepcopy(event))
    response = answered["response"]
    assert response["emailSubject"] == subject
    assert words in response["emailMessage"] and "{####}" in response["emailMessage"]
    assert "{####}" in response["smsMessage"]
    # Cognito reads the event back whole: nothing but the response changed.
    assert {k: v for k, v in answered.items() if k != "response"} == {
        k: v for k, v in event.items() if k != "response"}


@pytest.mark.parametrize(("locale", "subject", "words"), [
    ("en", "Your support account", "this temporary password"),
    ("es", "Su cuenta de soporte", "esta contraseña temporal"),
])
def test_an_operators_new_account_mail_keeps_the_username_and_temporary_password(
        locale: str, subject: str, words: str) -> None:
    response = custom_message(cognito_event("CustomMessage_AdminCreateUser", locale))["response"]
    assert response["emailSubject"] == subject and words in response["emailMessage"]
    for placeholder in ("{username}", "{####}"):
        assert placeholder in response["emailMessage"] and placeholder in response["smsMessage"]


@pytest.mark.parametrize("trigger", ["CustomMessage_SignUp", "CustomMessage_ResendCode",
                                     "CustomMessage_UpdateUserAttribute", "CustomMessage_VerifyUserAttribute"])
def test_verification_codes_are_worded_in_the_users_language(trigger: str) -> None:
    english = custom_message(cognito_event(trigger, "en"))["response"]
    spanish = custom_message(cognito_event(trigger, "es"))["response"]
    assert english["emailSubject"] == "Your verification code"
    assert spanish["emailSubject"] == "Su código de verificación"
    assert "{####}" in english["emailMessage"] and "{####}" in spanish["emailMessage"]


def test_a_message_it_does_not_know_is_left_to_cognito() -> None:
    event = cognito_event("CustomMessage_SomethingNew", "en")
    assert custom_message(copy.deepcopy(event)) == event


# --- a guest's mail --------------------------------------------------------------------------

def guest_mail(sender: str, subject: str, body: str) -> bytes:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, "sales@example.com", subject
    message["Message-ID"] = f"<{uuid.uuid4().hex}@mail.example.org>"
    message.set_content(body)
    return bytes(message)


def test_the_language_of_a_text_is_told_by_its_words() -> None:
    assert detect_language("Hi, how much is the 4 GB VPS? I would like to move my shop there. Thanks") == "en"
    assert detect_language("Hola, ¿cuánto cuesta el VPS de 4 GB? Quiero llevar mi tienda. Gracias") == "es"
    assert detect_language("VPS 4 GB") == "es"  # no evidence: the default
    assert detect_language("VPS 4 GB", default="en") == "en"


def test_an_english_mail_from_a_stranger_to_sales_is_acknowledged_in_english(
        deliver: Any, stack: LocalStack) -> None:
    stranger = f"prospect{uuid.uuid4().hex[:6]}@example.org"
    outcome = deliver(guest_mail(f"Bea Smith <{stranger}>", "VPS pricing",
                                 "Hi,\n\nHow much is the 4 GB VPS? We would like to move our shop to it.\n\nThanks"),
                      to="sales@example.com")
    assert outcome["outcome"] == "created"
    (ack,) = mails_to(stack, stranger)
    text = ack.get_content()
    assert ack["Content-Language"] == "en"
    assert text.startswith("Hello Bea Smith,") and "We received your ticket" in text


def test_a_spanish_mail_from_a_stranger_to_sales_is_acknowledged_in_spanish(
        deliver: Any, stack: LocalStack) -> None:
    stranger = f"prospecto{uuid.uuid4().hex[:6]}@example.org"
    outcome = deliver(guest_mail(f"Bea Ruiz <{stranger}>", "Precio del VPS",
                                 "Hola,\n\n¿Cuánto cuesta el VPS de 4 GB? Queremos llevar la tienda a él.\n\nGracias"),
                      to="sales@example.com")
    assert outcome["outcome"] == "created"
    (ack,) = mails_to(stack, stranger)
    assert ack["Content-Language"] == "es"
    assert ack.get_content().startswith("Hola Bea Ruiz,")


def test_a_sender_without_a_display_name_is_greeted_without_the_address(
        deliver: Any, stack: LocalStack) -> None:
    stranger = f"prospect{uuid.uuid4().hex[:6]}@example.org"
    deliver(guest_mail(stranger, "VPS pricing", "Hello, what is the price of the 4 GB VPS for a year? Thanks"),
            to="sales@example.com")
    (ack,) = mails_to(stack, stranger)
    text = ack.get_content()
    assert text.startswith("Hello,\n") and f"Hello {stranger}" not in text
    stranger = f"prospecto{uuid.uuid4().hex[:6]}@example.org"
    deliver(guest_mail(stranger, "Precio", "Hola, ¿cuál es el precio del VPS de 4 GB por un año? Gracias"),
            to="sales@example.com")
    (ack,) = mails_to(stack, stranger)
    assert ack.get_content().startswith("Hola,\n") and stranger not in ack.get_content().split("\n")[0]


def test_a_stranger_refused_by_a_department_is_told_in_the_language_of_the_mail(
        deliver: Any, stack: LocalStack) -> None:
    # Support takes mail from customers only: the notice is all a stranger gets, in their words.
    stranger = f"visitor{uuid.uuid4().hex[:6]}@example.org"
    english = guest_mail(stranger, "Website down", "Hi, my website is not working since this morning. "
                                                   "Could you help me? Thanks")
    assert deliver(english, to="support@example.com")["reason"] == "unknown-sender"
    (notice,) = mails_to(stack, stranger)
    assert notice["Content-Language"] == "en" and notice["Auto-Submitted"] == "auto-replied"
    stranger = f"visitante{uuid.uuid4().hex[:6]}@example.org"
    spanish = guest_mail(stranger, "Web caída", "Hola, mi página no funciona desde esta mañana. ¿Me pueden ayudar? Gracias")
    assert deliver(spanish, to="support@example.com")["reason"] == "unknown-sender"
    (notice,) = mails_to(stack, stranger)
    assert notice["Content-Language"] == "es"


# --- the editor's inserts ------------------------------------------------------------------

@pytest.mark.parametrize(("language", "sample", "screenshot"), [("en", "text", "screenshot"),
                                                                 ("es", "texto", "captura")])
def test_the_editors_inserts_are_in_the_pages_language(app: Any, language: str, sample: str,
                                                      screenshot: str) -> None:
    with browser_client(app) as client:
        page = client.get("/api/tickets/new", params={"department": "sales", "lang": language})
    assert page.status_code == 200
    assert f'data-sample-text="{sample}"' in page.text
    assert f'data-screenshot-name="{screenshot}"' in page.text


def test_the_script_takes_its_words_from_the_page() -> None:
    from pathlib import Path

    script = (Path(__file__).resolve().parents[1] / "site" / "static" / "app.js").read_text()
    assert 'getAttribute("data-sample-text")' in script and 'getAttribute("data-screenshot-name")' in script
    assert '"texto"' not in script and '"captura-"' not in script
