"""The stack's secrets, read from Secrets Manager (never from the environment).

template.yaml creates them (generated unless the operator gives the reply secret) and hands
each function only their ARNs; a container reads the values once, in one call.
"""

from __future__ import annotations

from typing import Any


class MissingSecret(RuntimeError):
    """A secret the function needs is not configured or could not be read."""


def read_secrets(secretsmanager: Any, arns: list[str]) -> dict[str, str]:
    """The SecretString of each ARN, by ARN, in one BatchGetSecretValue call."""
    wanted = [arn for arn in dict.fromkeys(arns) if arn]
    if not wanted:
        return {}
    response = secretsmanager.batch_get_secret_value(SecretIdList=wanted)
    values = {str(s["ARN"]): str(s["SecretString"]) for s in response.get("SecretValues", [])}
    # Secrets Manager answers by ARN; an ARN given without its random suffix matches by prefix.
    found = {arn: next((v for k, v in values.items() if k == arn or k.startswith(arn + "-")), "")
             for arn in wanted}
    missing = [arn for arn, value in found.items() if not value]
    if missing or response.get("Errors"):
        raise MissingSecret(f"could not read {', '.join(missing) or 'a secret'}: {response.get('Errors')}")
    return found
