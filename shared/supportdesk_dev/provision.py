"""Create the local table, buckets, user pool and secrets from template.yaml.

The template is the single source of truth: this module reads each resource's own
properties (key schema, indexes, bucket settings, pool policies, client flows, secrets)
and makes the same calls CloudFormation would make, against moto's server. A property it
does not know how to apply stops it, so a template change cannot be silently missed
locally. The template's Conditions are evaluated with the given parameters, as
CloudFormation does. The function environment (TABLE_NAME, USER_POOL_ID, ...) is the
template's Globals plus the functions' own variables, with each !Ref resolved to the local
resource. Resources with no local meaning (the API, CloudFront, WAF, Lambda permissions)
are not created.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Callable

from samtranslator.yaml_helper import yaml_parse

from supportdesk_dev import REPO_ROOT

TEMPLATE_PATH = REPO_ROOT / "template.yaml"

# Properties with no local meaning (who owns objects, retention, CloudFront access, access
# logs): neither resolved nor applied.
IGNORED_PROPERTIES = {
    "AWS::SecretsManager::Secret": set(),
    "AWS::S3::Bucket": {"OwnershipControls", "LoggingConfiguration"},
    "AWS::DynamoDB::Table": set(),
    "AWS::Cognito::UserPool": set(),
    "AWS::Cognito::UserPoolClient": set(),
    "AWS::Cognito::UserPoolGroup": set(),
    "AWS::SES::EmailIdentity": set(),
    "AWS::SES::ReceiptRuleSet": set(),
    "AWS::SES::ReceiptRule": set(),
}


class UnsupportedProperty(Exception):
    pass


class NoLocalValue(Exception):
    """A reference to something that does not exist locally (e.g. the CloudFront domain)."""


def load_template(path: Path = TEMPLATE_PATH) -> dict[str, Any]:
    return dict(yaml_parse(path.read_text()))


# What `{"Ref": "AWS::NoValue"}` resolves to: the property or list item is left out.
_NO_VALUE = object()


class Resolver:
    """Resolves the intrinsic functions the local resources need: Ref, Sub, GetAtt of a
    function's Arn, and the condition functions (If, Equals, Not, And, Or, NoValue)."""

    def __init__(self, stack_name: str, parameters: dict[str, str], region: str,
                 functions: tuple[str, ...] = (),
                 conditions: dict[str, Any] | None = None) -> None:
        # Functions do not run in moto; their ARNs only need to be well formed.
        self.arns = {name: f"arn:aws:lambda:{region}:123456789012:function:{stack_name}-{name}"
                     for name in functions}
        self.values: dict[str, str] = {
            "AWS::StackName": stack_name,
            "AWS::Region": region,
            "AWS::AccountId": "123456789012",
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            **parameters,
        }
        self.conditions = conditions or {}
        self._evaluated: dict[str, bool] = {}

    def condition(self, name: str) -> bool:
        """The value of one of the template's Conditions (evaluated once, like CloudFormation)."""
        if name not in self._evaluated:
            if name not in self.conditions:
                raise NoLocalValue(f"no condition named {name}")
            self._evaluated[name] = self._truth(self.conditions[name])
        return self._evaluated[name]

    def _truth(self, expression: Any) -> bool:
        if isinstance(expression, dict) and len(expression) == 1:
            (function, argument), = expression.items()
            if function == "Condition":
                return self.condition(argument)
            if function == "Fn::Equals":
                left, right = (self(a) for a in argument)
                # Parameters are strings here; CloudFormation compares Number ones as text too.
                return str(left) == str(right)
            if function == "Fn::Not":
                return not self._truth(argument[0])
            if function == "Fn::And":
                return all(self._truth(a) for a in argument)
            if function == "Fn::Or":
                return any(self._truth(a) for a in argument)
        raise UnsupportedProperty(f"no local equivalent for the condition {expression!r}")

    def _value(self, name: str) -> str:
        if name not in self.values:
            raise NoLocalValue(f"{name} has no local value")
        return self.values[name]

    def __call__(self, value: Any) -> Any:
        if isinstance(value, dict) and len(value) == 1:
            (function, argument), = value.items()
            if function == "Ref":
                return _NO_VALUE if argument == "AWS::NoValue" else self._value(argument)
            if function == "Fn::Sub" and isinstance(argument, str):
                return re.sub(r"\$\{([^}]+)\}", lambda m: self._value(m.group(1)), argument)
            if function == "Fn::GetAtt" and argument[0] in self.arns and argument[1] == "Arn":
                return self.arns[argument[0]]
            if function == "Fn::If":
                # Only the branch taken is resolved: the other may name what has no local
                # value (the CloudFront domain when PublicUrl is set).
                name, when_true, when_false = argument
                return self(when_true if self.condition(name) else when_false)
            if function in {"Fn::Equals", "Fn::Not", "Fn::And", "Fn::Or", "Condition"}:
                return self._truth(value)
        if isinstance(value, dict):
            resolved = {k: self(v) for k, v in value.items()}
            return {k: v for k, v in resolved.items() if v is not _NO_VALUE}
        if isinstance(value, list):
            return [v for v in (self(item) for item in value) if v is not _NO_VALUE]
        return value


def _check(kind: str, logical_id: str, properties: dict[str, Any], handled: set[str]) -> None:
    unknown = set(properties) - handled - IGNORED_PROPERTIES[kind]
    if unknown:
        raise UnsupportedProperty(
            f"{logical_id} ({kind}): no local equivalent for {', '.join(sorted(unknown))}"
        )


def _apply(props: dict[str, Any], calls: dict[str, Callable[[Any], Any]]) -> None:
    """For each property the template sets that takes an API call of its own (after the
    resource exists), that call with the property's value; in the order given."""
    for key, call in calls.items():
        if key in props:
            call(props[key])


def create_table(dynamodb: Any, name: str, logical_id: str, props: dict[str, Any]) -> None:
    _check("AWS::DynamoDB::Table", logical_id, props, {
        "TableName", "BillingMode", "AttributeDefinitions", "KeySchema", "GlobalSecondaryIndexes",
        "LocalSecondaryIndexes", "DeletionProtectionEnabled", "SSESpecification",
        "PointInTimeRecoverySpecification", "TimeToLiveSpecification", "StreamSpecification",
    })
    if name in dynamodb.list_tables()["TableNames"]:
        _update_table(dynamodb, name, props)
        return
    kwargs: dict[str, Any] = {
        "TableName": name,
        "AttributeDefinitions": props["AttributeDefinitions"],
        "KeySchema": props["KeySchema"],
        "BillingMode": props.get("BillingMode", "PROVISIONED"),
    }
    for key in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes", "DeletionProtectionEnabled"):
        if key in props:
            kwargs[key] = props[key]
    if "SSESpecification" in props:
        kwargs["SSESpecification"] = {"Enabled": props["SSESpecification"]["SSEEnabled"]}
    if "StreamSpecification" in props:
        kwargs["StreamSpecification"] = {"StreamEnabled": True, **props["StreamSpecification"]}
    dynamodb.create_table(**kwargs)
    _apply(props, {
        "TimeToLiveSpecification": lambda spec: dynamodb.update_time_to_live(
            TableName=name, TimeToLiveSpecification=spec),
        "PointInTimeRecoverySpecification": lambda spec: dynamodb.update_continuous_backups(
            TableName=name, PointInTimeRecoverySpecification=spec),
    })


def _update_table(dynamodb: Any, name: str, props: dict[str, Any]) -> None:
    """A table kept from an earlier run (`make dev`'s state) gets what the template added
    since, as a stack update would: new indexes, the stream."""
    table = dynamodb.describe_table(TableName=name)["Table"]
    existing = {index["IndexName"] for index in table.get("GlobalSecondaryIndexes", [])}
    for index in props.get("GlobalSecondaryIndexes", []):
        if index["IndexName"] not in existing:
            dynamodb.update_table(TableName=name, AttributeDefinitions=props["AttributeDefinitions"],
                                  GlobalSecondaryIndexUpdates=[{"Create": index}])
    if "StreamSpecification" in props and not table.get("StreamSpecification", {}).get("StreamEnabled"):
        dynamodb.update_table(TableName=name, StreamSpecification={"StreamEnabled": True,
                                                                   **props["StreamSpecification"]})


def create_secret(secretsmanager: Any, name: str, logical_id: str, props: dict[str, Any]) -> str:
    """The secret's ARN. An existing secret is kept, so a generated value survives restarts;
    a given SecretString is applied when it changed, as a stack update would."""
    _check("AWS::SecretsManager::Secret", logical_id, props, {
        "Name", "Description", "SecretString", "GenerateSecretString",
    })
    given = props.get("SecretString")
    try:
        existing = secretsmanager.describe_secret(SecretId=name)
    except secretsmanager.exceptions.ResourceNotFoundException:
        existing = None
    if existing:
        if given is not None:
            current = secretsmanager.get_secret_value(SecretId=name)["SecretString"]
            if current != given:
                secretsmanager.put_secret_value(SecretId=name, SecretString=given)
        return str(existing["ARN"])
    if given is None:
        given = _generated_secret(secretsmanager, logical_id, props.get("GenerateSecretString", {}))
    extra = {"Description": props["Description"]} if "Description" in props else {}
    return str(secretsmanager.create_secret(Name=name, SecretString=given, **extra)["ARN"])


def _generated_secret(secretsmanager: Any, logical_id: str, spec: dict[str, Any]) -> str:
    options = {"PasswordLength", "ExcludeCharacters", "ExcludeLowercase", "ExcludeNumbers",
               "ExcludePunctuation", "ExcludeUppercase", "IncludeSpace", "RequireEachIncludedType"}
    unknown = set(spec) - options
    if unknown:
        raise UnsupportedProperty(
            f"{logical_id} (AWS::SecretsManager::Secret): no local equivalent for "
            f"GenerateSecretString.{', '.join(sorted(unknown))}"
        )
    # Parameters arrive as text; the API wants numbers and booleans.
    kwargs = {k: (int(v) if k == "PasswordLength" else v if k == "ExcludeCharacters"
                  else str(v).lower() == "true") for k, v in spec.items()}
    return str(secretsmanager.get_random_password(**kwargs)["RandomPassword"])


def _lifecycle_rule(rule: dict[str, Any]) -> dict[str, Any]:
    converted: dict[str, Any] = {"ID": rule["Id"], "Status": rule["Status"]}
    converted["Filter"] = {"Prefix": rule.get("Prefix", "")}
    if "ExpirationInDays" in rule:
        # A !Ref of a Number parameter resolves to text; S3 wants a number.
        converted["Expiration"] = {"Days": int(rule["ExpirationInDays"])}
    for key in ("NoncurrentVersionExpiration", "AbortIncompleteMultipartUpload"):
        if key in rule:
            converted[key] = rule[key]
    return converted


def _cors_rule(rule: dict[str, Any]) -> dict[str, Any]:
    converted = {k: v for k, v in rule.items() if k not in ("Id", "MaxAge")}
    if "MaxAge" in rule:
        converted["MaxAgeSeconds"] = rule["MaxAge"]
    return converted


def create_bucket(s3: Any, name: str, logical_id: str, props: dict[str, Any]) -> None:
    _check("AWS::S3::Bucket", logical_id, props, {
        "BucketName", "VersioningConfiguration", "BucketEncryption",
        "PublicAccessBlockConfiguration", "LifecycleConfiguration", "CorsConfiguration",
    })
    existing = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
    if name not in existing:
        s3.create_bucket(Bucket=name)
    # Settings are applied on every start, as a stack update would: a bucket kept from
    # an earlier run gets the template's current CORS and lifecycle rules.
    _apply(props, {
        "VersioningConfiguration": lambda spec: s3.put_bucket_versioning(
            Bucket=name, VersioningConfiguration={"Status": spec["Status"]}),
        "BucketEncryption": lambda spec: s3.put_bucket_encryption(
            Bucket=name, ServerSideEncryptionConfiguration={"Rules": [
                {"ApplyServerSideEncryptionByDefault": r["ServerSideEncryptionByDefault"]}
                for r in spec["ServerSideEncryptionConfiguration"]
            ]}),
        "PublicAccessBlockConfiguration": lambda spec: s3.put_public_access_block(
            Bucket=name, PublicAccessBlockConfiguration=spec),
        "LifecycleConfiguration": lambda spec: s3.put_bucket_lifecycle_configuration(
            Bucket=name, LifecycleConfiguration={"Rules": [_lifecycle_rule(r) for r in spec["Rules"]]}),
        "CorsConfiguration": lambda spec: s3.put_bucket_cors(
            Bucket=name, CORSConfiguration={"CORSRules": [_cors_rule(r) for r in spec["CorsRules"]]}),
    })


def create_user_pool(cognito: Any, logical_id: str, props: dict[str, Any]) -> str:
    _check("AWS::Cognito::UserPool", logical_id, props, {
        "UserPoolName", "DeletionProtection", "AdminCreateUserConfig", "UsernameConfiguration",
        "AutoVerifiedAttributes", "AccountRecoverySetting", "Policies", "Schema",
        "UsernameAttributes", "AliasAttributes", "MfaConfiguration", "LambdaConfig",
    })
    # Functions do not run in moto: locally Cognito's mails are its own (the dev outbox).
    props = {k: v for k, v in props.items() if k != "LambdaConfig"}
    name = props["UserPoolName"]
    for pool in cognito.list_user_pools(MaxResults=60)["UserPools"]:
        if pool["Name"] == name:
            return str(pool["Id"])
    kwargs = {k: v for k, v in props.items() if k != "UserPoolName"}
    return str(cognito.create_user_pool(PoolName=name, **kwargs)["UserPool"]["Id"])


def create_user_pool_client(cognito: Any, logical_id: str, props: dict[str, Any]) -> str:
    _check("AWS::Cognito::UserPoolClient", logical_id, props, {
        "UserPoolId", "ClientName", "GenerateSecret", "ExplicitAuthFlows",
        "PreventUserExistenceErrors", "EnableTokenRevocation", "ReadAttributes", "WriteAttributes",
        "IdTokenValidity", "AccessTokenValidity", "RefreshTokenValidity", "TokenValidityUnits",
    })
    pool_id = props["UserPoolId"]
    for client in cognito.list_user_pool_clients(UserPoolId=pool_id, MaxResults=60)["UserPoolClients"]:
        if client["ClientName"] == props["ClientName"]:
            # A client kept from an earlier run gets the template's current settings; its
            # ID stays (the environment and issued tokens name it). GenerateSecret cannot change.
            settings = {k: v for k, v in props.items() if k != "GenerateSecret"}
            cognito.update_user_pool_client(ClientId=client["ClientId"], **settings)
            return str(client["ClientId"])
    return str(cognito.create_user_pool_client(**props)["UserPoolClient"]["ClientId"])


def create_user_pool_group(cognito: Any, logical_id: str, props: dict[str, Any]) -> str:
    _check("AWS::Cognito::UserPoolGroup", logical_id, props, {
        "GroupName", "UserPoolId", "Description", "Precedence",
    })
    try:
        cognito.create_group(**props)
    except cognito.exceptions.GroupExistsException:
        pass
    return str(props["GroupName"])


def create_email_identity(ses: Any, logical_id: str, props: dict[str, Any]) -> str:
    _check("AWS::SES::EmailIdentity", logical_id, props, {"EmailIdentity"})
    identity = str(props["EmailIdentity"])
    if "@" in identity:
        ses.verify_email_identity(EmailAddress=identity)
    else:
        ses.verify_domain_identity(Domain=identity)
    return identity


def create_receipt_rule_set(ses: Any, logical_id: str, props: dict[str, Any]) -> str:
    _check("AWS::SES::ReceiptRuleSet", logical_id, props, {"RuleSetName"})
    name = str(props["RuleSetName"])
    existing = {r["Name"] for r in ses.list_receipt_rule_sets().get("RuleSets", [])}
    if name not in existing:
        ses.create_receipt_rule_set(RuleSetName=name)
    return name


def create_receipt_rule(ses: Any, logical_id: str, props: dict[str, Any]) -> str:
    _check("AWS::SES::ReceiptRule", logical_id, props, {"RuleSetName", "Rule", "After"})
    rule = dict(props["Rule"])
    # moto runs no functions and refuses a Lambda action without one; locally the SMTP
    # port calls the intake handler itself, right after the S3 action stored the mail.
    rule["Actions"] = [a for a in rule.get("Actions", []) if "LambdaAction" not in a]
    rules = ses.describe_receipt_rule_set(RuleSetName=props["RuleSetName"]).get("Rules", [])
    if rule["Name"] not in {r["Name"] for r in rules}:
        extra = {"After": props["After"]} if props.get("After") else {}
        ses.create_receipt_rule(RuleSetName=props["RuleSetName"], Rule=rule, **extra)
    return str(rule["Name"])


def provision(
    client: Callable[[str], Any],
    *,
    stack_name: str,
    parameters: dict[str, str] | None = None,
    region: str = "us-east-1",
    template: dict[str, Any] | None = None,
) -> dict[str, str]:
    """Create what the template declares (idempotent) and return the functions' environment.

    `client(service)` returns a boto3 client bound to the local endpoint.
    """
    template = template or load_template()
    given = parameters or {}
    values = {
        name: str(given.get(name, spec.get("Default", "")))
        for name, spec in template.get("Parameters", {}).items()
    }
    functions = tuple(k for k, v in template["Resources"].items()
                      if v["Type"] == "AWS::Serverless::Function")
    resolve = Resolver(stack_name, values, region, functions, template.get("Conditions", {}))
    resources = template["Resources"]
    # Creation order follows the references: secrets first (the functions' environment
    # names them), pool before its client and group.
    order = ["AWS::SecretsManager::Secret", "AWS::DynamoDB::Table", "AWS::S3::Bucket",
             "AWS::Cognito::UserPool", "AWS::Cognito::UserPoolClient", "AWS::Cognito::UserPoolGroup",
             "AWS::SES::EmailIdentity", "AWS::SES::ReceiptRuleSet", "AWS::SES::ReceiptRule"]
    for kind in order:
        for logical_id, resource in resources.items():
            if resource["Type"] != kind:
                continue
            if "Condition" in resource and not resolve.condition(resource["Condition"]):
                continue
            props = resolve({k: v for k, v in resource.get("Properties", {}).items()
                             if k not in IGNORED_PROPERTIES[kind]})
            if kind == "AWS::SecretsManager::Secret":
                physical = create_secret(client("secretsmanager"),
                                         props.get("Name") or f"{stack_name}-{logical_id}",
                                         logical_id, props)
            elif kind == "AWS::DynamoDB::Table":
                physical = props.get("TableName") or f"{stack_name}-{logical_id}"
                create_table(client("dynamodb"), physical, logical_id, props)
            elif kind == "AWS::S3::Bucket":
                physical = props.get("BucketName") or f"{stack_name}-{logical_id}".lower()
                create_bucket(client("s3"), physical, logical_id, props)
            elif kind == "AWS::Cognito::UserPool":
                physical = create_user_pool(client("cognito-idp"), logical_id, props)
            elif kind == "AWS::Cognito::UserPoolClient":
                physical = create_user_pool_client(client("cognito-idp"), logical_id, props)
            elif kind == "AWS::Cognito::UserPoolGroup":
                physical = create_user_pool_group(client("cognito-idp"), logical_id, props)
            elif kind == "AWS::SES::EmailIdentity":
                physical = create_email_identity(client("ses"), logical_id, props)
            elif kind == "AWS::SES::ReceiptRuleSet":
                physical = create_receipt_rule_set(client("ses"), logical_id, props)
            else:
                physical = create_receipt_rule(client("ses"), logical_id, props)
            resolve.values[logical_id] = physical
    return {name: str(resolve(value)) for name, value in function_variables(template).items()}


def function_variables(template: dict[str, Any]) -> dict[str, Any]:
    """The variables (unresolved) of the one local process that plays every function.

    The Globals, plus each function's own variables (ORIGIN_SECRET_ARN, INBOUND_PREFIX...).
    A name the functions set to different values (their log service name) is left out:
    one process cannot be both.
    """
    def variables_of(section: dict[str, Any]) -> dict[str, Any]:
        return dict(section.get("Environment", {}).get("Variables", {}))

    merged = variables_of(template.get("Globals", {}).get("Function", {}))
    own: dict[str, Any] = {}
    conflicting: set[str] = set()
    for resource in template["Resources"].values():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        for name, value in variables_of(resource.get("Properties", {})).items():
            if name in own and own[name] != value:
                conflicting.add(name)
            own[name] = value
    merged.update({k: v for k, v in own.items() if k not in conflicting})
    return merged


def _as_cloudformation_sends(value: Any) -> Any:
    """A custom resource gets every scalar of its properties as text ("true", "3")."""
    if isinstance(value, dict):
        return {k: _as_cloudformation_sends(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_as_cloudformation_sends(v) for v in value]
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def custom_resource_properties(logical_id: str, *, stack_name: str = "supportdesk-local",
                               parameters: dict[str, str] | None = None, region: str = "us-east-1",
                               template: dict[str, Any] | None = None) -> dict[str, Any]:
    """The ResourceProperties CloudFormation sends the handler of the custom resource
    `logical_id`: its properties resolved with `parameters`, scalars as text."""
    template = template or load_template()
    given = parameters or {}
    values = {name: str(given.get(name, spec.get("Default", "")))
              for name, spec in template.get("Parameters", {}).items()}
    functions = tuple(k for k, v in template["Resources"].items() if v["Type"] == "AWS::Serverless::Function")
    resolve = Resolver(stack_name, values, region, functions, template.get("Conditions", {}))
    return dict(_as_cloudformation_sends(resolve(template["Resources"][logical_id]["Properties"])))


def declared_departments(mail_domain: str, template: dict[str, Any] | None = None) -> list[Any]:
    """The departments template.yaml declares (its Departments custom resource), for `mail_domain`."""
    from supportdesk.departments import declared_departments as declared

    return declared(custom_resource_properties("Departments", parameters={"MailDomain": mail_domain},
                                               template=template))


def seed_departments(table: Any, mail_domain: str) -> list[Any]:
    """Store the declared departments that are missing, as a deploy would (tests, benchmarks
    and the demo seed them without deploying); an operator's edits are kept."""
    from supportdesk.departments import DepartmentExists, add_department

    added = []
    for department in declared_departments(mail_domain):
        try:
            add_department(table, department)
            added.append(department)
        except DepartmentExists:
            pass
    return added
