"""template.yaml is valid, deployable, and the very definition the local stack is made from."""

from __future__ import annotations

import copy
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import sam_translate

from supportdesk.limits import PASSWORD_MIN_CHARS
from supportdesk_dev.provision import TEMPLATE_PATH, UnsupportedProperty, load_template, provision
from supportdesk_dev.stack import LocalStack

REPO = Path(__file__).resolve().parents[1]


def resources_of(kind: str) -> dict[str, Any]:
    return {k: v for k, v in load_template()["Resources"].items() if v["Type"] == kind}


def test_cfn_lint_finds_nothing() -> None:
    result = subprocess.run([str(Path(sys.executable).parent / "cfn-lint"), str(TEMPLATE_PATH)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_sam_translator_turns_it_into_cloudformation() -> None:
    translated = sam_translate(load_template())
    kinds = {r["Type"] for r in translated["Resources"].values()}
    assert {"AWS::Lambda::Function", "AWS::Lambda::LayerVersion", "AWS::ApiGatewayV2::Api",
            "AWS::IAM::Role", "AWS::DynamoDB::Table", "AWS::Cognito::UserPool",
            "AWS::CloudFront::Distribution"} <= kinds
    function = next(r for r in translated["Resources"].values() if r["Type"] == "AWS::Lambda::Function")
    assert function["Properties"]["Handler"] == "portal.app.handler"
    assert function["Properties"]["Runtime"] == "python3.12"


def test_the_table_is_on_demand_recoverable_and_protected() -> None:
    (table,) = resources_of("AWS::DynamoDB::Table").values()
    props = table["Properties"]
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert props["DeletionProtectionEnabled"] is True
    assert table["DeletionPolicy"] == "Retain"


def test_every_bucket_blocks_public_access_and_encrypts() -> None:
    buckets = resources_of("AWS::S3::Bucket")
    assert set(buckets) == {"AttachmentsBucket", "InboundMailBucket", "SiteBucket"}
    for bucket in buckets.values():
        block = bucket["Properties"]["PublicAccessBlockConfiguration"]
        assert all(block[k] is True for k in ("BlockPublicAcls", "BlockPublicPolicy",
                                              "IgnorePublicAcls", "RestrictPublicBuckets"))
        assert bucket["Properties"]["BucketEncryption"]
    assert buckets["AttachmentsBucket"]["Properties"]["VersioningConfiguration"]["Status"] == "Enabled"


def test_the_local_table_has_the_keys_and_indexes_the_template_declares(stack: LocalStack) -> None:
    (declared,) = resources_of("AWS::DynamoDB::Table").values()
    props = declared["Properties"]
    dynamodb = stack.client("dynamodb")
    local = dynamodb.describe_table(TableName=stack.environment["TABLE_NAME"])["Table"]
    assert local["KeySchema"] == props["KeySchema"]
    assert sorted(local["AttributeDefinitions"], key=lambda a: a["AttributeName"]) == sorted(
        props["AttributeDefinitions"], key=lambda a: a["AttributeName"])
    local_indexes = {i["IndexName"]: (i["KeySchema"], i["Projection"])
                     for i in local["GlobalSecondaryIndexes"]}
    declared_indexes = {i["IndexName"]: (i["KeySchema"], i["Projection"])
                        for i in props["GlobalSecondaryIndexes"]}
    assert local_indexes == declared_indexes
    assert local["BillingModeSummary"]["BillingMode"] == props["BillingMode"]
    ttl = dynamodb.describe_time_to_live(TableName=stack.environment["TABLE_NAME"])
    assert ttl["TimeToLiveDescription"]["AttributeName"] == props["TimeToLiveSpecification"]["AttributeName"]
    backups = dynamodb.describe_continuous_backups(TableName=stack.environment["TABLE_NAME"])
    pitr = backups["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]
    assert pitr["PointInTimeRecoveryStatus"] == "ENABLED"


def test_the_local_buckets_are_the_templates_with_its_settings(stack: LocalStack) -> None:
    s3 = stack.client("s3")
    env = stack.environment
    names = {"AttachmentsBucket": env["ATTACHMENTS_BUCKET"], "InboundMailBucket": env["INBOUND_BUCKET"]}
    existing = {b["Name"] for b in s3.list_buckets()["Buckets"]}
    assert set(names.values()) <= existing
    declared = resources_of("AWS::S3::Bucket")
    for logical_id, name in names.items():
        props = declared[logical_id]["Properties"]
        block = s3.get_public_access_block(Bucket=name)["PublicAccessBlockConfiguration"]
        assert block == props["PublicAccessBlockConfiguration"]
        versioning = s3.get_bucket_versioning(Bucket=name).get("Status")
        assert versioning == props.get("VersioningConfiguration", {}).get("Status")
    rules = s3.get_bucket_lifecycle_configuration(Bucket=names["AttachmentsBucket"])["Rules"]
    declared_rules = declared["AttachmentsBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
    assert [r["ID"] for r in rules] == [r["Id"] for r in declared_rules]


def test_the_local_user_pool_and_client_are_the_templates(stack: LocalStack) -> None:
    cognito = stack.client("cognito-idp")
    env = stack.environment
    (pool_decl,) = resources_of("AWS::Cognito::UserPool").values()
    (client_decl,) = resources_of("AWS::Cognito::UserPoolClient").values()
    pool = cognito.describe_user_pool(UserPoolId=env["USER_POOL_ID"])["UserPool"]
    assert pool["Policies"]["PasswordPolicy"]["MinimumLength"] == (
        pool_decl["Properties"]["Policies"]["PasswordPolicy"]["MinimumLength"])
    # The portal says the same before Cognito does (limits.PASSWORD_MIN_CHARS).
    assert pool["Policies"]["PasswordPolicy"]["MinimumLength"] == PASSWORD_MIN_CHARS
    client = cognito.describe_user_pool_client(
        UserPoolId=env["USER_POOL_ID"], ClientId=env["USER_POOL_CLIENT_ID"])["UserPoolClient"]
    assert client["ExplicitAuthFlows"] == client_decl["Properties"]["ExplicitAuthFlows"]
    groups = cognito.list_groups(UserPoolId=env["USER_POOL_ID"])["Groups"]
    assert [g["GroupName"] for g in groups] == ["agents"]


def test_the_functions_environment_is_the_templates_globals(stack: LocalStack) -> None:
    declared = load_template()["Globals"]["Function"]["Environment"]["Variables"]
    assert set(declared) <= set(stack.environment)


def test_a_property_with_no_local_equivalent_stops_provisioning(stack: LocalStack) -> None:
    template = copy.deepcopy(load_template())
    template["Resources"]["Table"]["Properties"]["Replicas"] = [{"Region": "eu-west-1"}]
    with pytest.raises(UnsupportedProperty, match="Replicas"):
        provision(stack.client, stack_name="drift-check", template=template)


def test_the_template_gives_the_provider_to_the_functions() -> None:
    from supportdesk.config import Settings
    from supportdesk_dev.provision import function_variables

    template = load_template()
    variables = function_variables(template)
    assert variables["PROVIDER_NAME"] == {"Ref": "ProviderName"}
    assert variables["PROVIDER_LOGO_URL"] == {"Ref": "ProviderLogoUrl"}
    defaults = Settings.from_environ({"TABLE_NAME": "t", "USER_POOL_ID": "p", "USER_POOL_CLIENT_ID": "c",
                                      "PROVIDER_NAME": template["Parameters"]["ProviderName"]["Default"],
                                      "PROVIDER_LOGO_URL": template["Parameters"]["ProviderLogoUrl"]["Default"]})
    assert (defaults.provider_name, defaults.provider_logo_url) == ("Demo Hosting", "/static/logo.svg")
    assert (REPO / "site" / defaults.provider_logo_url.lstrip("/")).is_file()  # the demo's logo ships with the site
    pattern = re.compile(template["Parameters"]["ProviderLogoUrl"]["AllowedPattern"])
    assert pattern.match("/static/acme.png") and not pattern.match("//evil.example/logo.svg")
    assert not pattern.match("https://evil.example/logo.svg")

