"""Login, session tokens and password reset, with Amazon Cognito.

The portal logs customers in with USER_PASSWORD_AUTH from its own form and keeps the
ID token (and the refresh token) in cookies. Every request verifies the ID token against
the pool's published keys (JWKS, fetched once and cached), its issuer, audience, use and
expiry. moto's server publishes a JWKS too, so the same code runs locally and in AWS.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class AuthError(Exception):
    """A login or reset step the user must correct; `reason` names what went wrong."""

    reason = "auth"


class InvalidCredentials(AuthError):
    reason = "invalid-credentials"


class MissingCredentials(AuthError):
    reason = "missing-credentials"


class TooManyAttempts(AuthError):
    reason = "too-many-attempts"


class InvalidCode(AuthError):
    reason = "invalid-code"


class InvalidNewPassword(AuthError):
    reason = "invalid-password"


class InvalidToken(Exception):
    """The session token is forged, from another pool or client, or unreadable."""


class ExpiredToken(InvalidToken):
    """The token was genuine but its time is over: refresh it."""


@dataclass(frozen=True)
class Tokens:
    id_token: str
    refresh_token: str | None


@dataclass(frozen=True)
class Identity:
    """What a verified ID token says about who is calling.

    Not the name: a customer can change the token's claims through Cognito's public client,
    so names shown come from our own profile (supportdesk.accounts.Account).
    """

    account_id: str
    email: str
    groups: tuple[str, ...]
    # When the browser's session began (ms), from our own signed cookie, not from the token.
    session_started: int = 0

    @property
    def is_agent(self) -> bool:
        return "agents" in self.groups


def _error_code(error: Exception) -> str:
    return str(getattr(error, "response", {}).get("Error", {}).get("Code", ""))


def _tokens(result: dict[str, Any], refresh_token: str | None = None) -> Tokens:
    auth = result["AuthenticationResult"]
    return Tokens(
        id_token=auth["IdToken"],
        refresh_token=auth.get("RefreshToken", refresh_token),
    )


def log_in(cognito: Any, client_id: str, email: str, password: str) -> Tokens:
    if not email.strip() or not password:
        raise MissingCredentials()
    try:
        result = cognito.initiate_auth(
            ClientId=client_id,
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": email.strip().lower(), "PASSWORD": password},
        )
    except cognito.exceptions.ClientError as error:
        code = _error_code(error)
        if code in ("NotAuthorizedException", "UserNotFoundException",
                    "UserNotConfirmedException", "PasswordResetRequiredException"):
            raise InvalidCredentials() from error
        if code in ("TooManyRequestsException", "LimitExceededException"):
            raise TooManyAttempts() from error
        raise
    if "AuthenticationResult" not in result:
        # A challenge (new password, MFA) that this portal does not offer: operators
        # create accounts with permanent passwords, so this means a misconfigured user.
        raise InvalidCredentials()
    return _tokens(result)


def refresh_session(cognito: Any, client_id: str, refresh_token: str) -> Tokens:
    try:
        result = cognito.initiate_auth(
            ClientId=client_id,
            AuthFlow="REFRESH_TOKEN_AUTH",
            AuthParameters={"REFRESH_TOKEN": refresh_token},
        )
    except cognito.exceptions.ClientError as error:
        raise InvalidToken("refresh refused") from error
    return _tokens(result, refresh_token)


def revoke_session(cognito: Any, client_id: str, refresh_token: str) -> None:
    """End the session at Cognito too, so a copied refresh token stops working."""
    try:
        cognito.revoke_token(Token=refresh_token, ClientId=client_id)
    except cognito.exceptions.ClientError:
        pass  # an unknown or already revoked token needs no revoking


def start_password_reset(cognito: Any, client_id: str, email: str) -> None:
    """Have Cognito mail a reset code. Says nothing about whether the address exists."""
    try:
        cognito.forgot_password(ClientId=client_id, Username=email.strip().lower())
    except cognito.exceptions.ClientError as error:
        code = _error_code(error)
        if code in ("TooManyRequestsException", "LimitExceededException"):
            raise TooManyAttempts() from error
        if code not in ("UserNotFoundException", "ResourceNotFoundException",
                        "InvalidParameterException", "NotAuthorizedException"):
            raise


def finish_password_reset(
    cognito: Any, client_id: str, email: str, code: str, new_password: str
) -> None:
    try:
        cognito.confirm_forgot_password(
            ClientId=client_id,
            Username=email.strip().lower(),
            ConfirmationCode=code.strip(),
            Password=new_password,
        )
    except cognito.exceptions.ClientError as error:
        reason = _error_code(error)
        if reason == "InvalidPasswordException" or (
            reason == "InvalidParameterException" and "assword" in str(error)
        ):
            raise InvalidNewPassword() from error
        if reason in ("CodeMismatchException", "ExpiredCodeException",
                      "UserNotFoundException", "ResourceNotFoundException",
                      "InvalidParameterException"):
            raise InvalidCode() from error
        if reason in ("TooManyRequestsException", "LimitExceededException",
                      "TooManyFailedAttemptsException"):
            raise TooManyAttempts() from error
        raise


class TokenVerifier:
    """Verifies ID tokens of one user pool and app client."""

    def __init__(self, jwks_url: str, issuer: str, client_id: str) -> None:
        # Imported here: PyJWT pulls in `cryptography`, ~100 ms that a cold start of a
        # request without a session (the login page) need not pay.
        import jwt

        self._jwt = jwt
        self.issuer = issuer
        self.client_id = client_id
        # Keys are fetched on first use and kept; an unknown `kid` fetches them again.
        self._keys = jwt.PyJWKClient(jwks_url, cache_keys=True, lifespan=3600, timeout=5)

    def verify(self, token: str) -> Identity:
        jwt = self._jwt
        try:
            key = self._keys.get_signing_key_from_jwt(token)
            claims = jwt.decode(
                token,
                key.key,
                algorithms=["RS256"],
                audience=self.client_id,
                issuer=self.issuer,
                options={"require": ["exp", "iat", "iss", "aud", "sub", "token_use"]},
            )
        except jwt.ExpiredSignatureError as error:
            raise ExpiredToken(str(error)) from error
        except jwt.PyJWTError as error:
            raise InvalidToken(str(error)) from error
        if claims.get("token_use") != "id":
            raise InvalidToken("not an ID token")
        return Identity(
            account_id=str(claims["sub"]),
            email=str(claims.get("email", "")),
            groups=tuple(claims.get("cognito:groups", ())),
        )
