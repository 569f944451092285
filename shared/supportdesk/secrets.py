"""The stack's secrets, read from Secrets Manager (never from the environment).

template.yaml creates them (generated unless the operator gives the reply secret) and hands
each function only their ARNs and GetSecretValue on exactly those; a container reads each
value once. (BatchGetSecretValue would save a call but needs a permission on every secret
of the account.)
"""

from __future__ import annotations

from typing import Any


class MissingSecret(RuntimeError):
    """A secret the function needs is not configured or could not be read."""


def read_secrets(secretsmanager: Any, arns: list[str]) -> dict[str, str]:
    """The SecretString of each ARN, by ARN."""
    found = {}
    for arn in dict.fromkeys(arns):
        if not arn:
            continue
        value = secretsmanager.get_secret_value(SecretId=arn).get("SecretString")
        if not value:
            raise MissingSecret(f"{arn} holds no SecretString")
        found[arn] = str(value)
    return found
