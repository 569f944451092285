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
    assert set(buckets) == {"AttachmentsBucket", "InboundMailBucket", "SiteBucket", "LogsBucket"}
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


def test_the_stack_stops_early_outside_the_regions_where_ses_receives_mail() -> None:
    """The SesReceivingRegion rule and .cfnlintrc name the same regions; cfn-lint knows the
    SES receipt types in each of them, and finds them missing in a region left out."""
    import yaml

    rule = load_template()["Rules"]["SesReceivingRegion"]["Assertions"][0]["Assert"]["Fn::Contains"]
    regions, region = rule
    assert region == {"Ref": "AWS::Region"}
    linted = yaml.safe_load((REPO / ".cfnlintrc").read_text())["regions"]
    assert sorted(linted) == sorted(regions)
    assert {"us-east-1", "us-west-2", "eu-west-1"} <= set(regions)
    outside = subprocess.run([str(Path(sys.executable).parent / "cfn-lint"), "--regions", "ap-east-1", "--",
                              str(TEMPLATE_PATH)], capture_output=True, text=True)
    assert "Resource type 'AWS::SES::ReceiptRule' does not exist in 'ap-east-1'" in outside.stdout


# --- departments as configuration, one portal address, the edge --------------------------

def _resolved_public_url(**parameters: str) -> Any:
    from supportdesk_dev.provision import Resolver, function_variables

    template = load_template()
    values = {name: str(parameters.get(name, spec.get("Default", "")))
              for name, spec in template["Parameters"].items()}
    resolve = Resolver("supportdesk", values, "us-east-1", conditions=template["Conditions"])
    resolve.values["Distribution.DomainName"] = "d111111abcdef8.cloudfront.net"
    return resolve(function_variables(template)["PUBLIC_URL"])


def test_the_portal_has_one_address_from_configuration_only() -> None:
    assert _resolved_public_url() == "https://d111111abcdef8.cloudfront.net"
    certificate = "arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-0000-4000-8000-000000000000"
    assert _resolved_public_url(PortalDomain="support.example.com",
                                PortalCertificateArn=certificate) == "https://support.example.com"
    assert _resolved_public_url(PublicUrl="http://127.0.0.1:8000") == "http://127.0.0.1:8000"
    template = load_template()
    # The same address is the attachments bucket's one CORS origin and the stack's SiteUrl.
    url = template["Globals"]["Function"]["Environment"]["Variables"]["PUBLIC_URL"]
    (rule,) = template["Resources"]["AttachmentsBucket"]["Properties"]["CorsConfiguration"]["CorsRules"]
    assert rule["AllowedOrigins"] == [url]
    assert template["Outputs"]["SiteUrl"]["Value"] == url
    # No function sets its own, and the code reads it in the one settings module.
    for name, resource in resources_of("AWS::Serverless::Function").items():
        assert "PUBLIC_URL" not in resource["Properties"].get("Environment", {}).get("Variables", {}), name
    import re

    code = {p.relative_to(REPO): p.read_text()
            for p in [*REPO.glob("shared/supportdesk/**/*.py"), *REPO.glob("functions/**/*.py")]}
    reads = re.compile(r"""[(\[]\s*["']PUBLIC_URL["']""")  # env.get("PUBLIC_URL"), environ["PUBLIC_URL"]
    assert [path for path, text in code.items() if reads.search(text)] == [Path("shared/supportdesk/config.py")]
    # Nothing builds an address from what a request says its host is.
    host = re.compile(r"""forwarded-host|["']host["']|url\.(netloc|hostname)|base_url""", re.I)
    assert [path for path, text in code.items() if host.search(text)] == []


def test_a_portal_domain_gets_aliases_and_a_modern_sni_certificate() -> None:
    template = load_template()
    config = template["Resources"]["Distribution"]["Properties"]["DistributionConfig"]
    assert config["Aliases"] == {"Fn::If": ["HasPortalDomain", [{"Ref": "PortalDomain"}], {"Ref": "AWS::NoValue"}]}
    condition, certificate, otherwise = config["ViewerCertificate"]["Fn::If"]
    assert condition == "HasPortalDomain" and otherwise == {"Ref": "AWS::NoValue"}
    assert certificate == {"AcmCertificateArn": {"Ref": "PortalCertificateArn"},
                           "MinimumProtocolVersion": "TLSv1.2_2021", "SslSupportMethod": "sni-only"}
    assert "us-east-1" in template["Parameters"]["PortalCertificateArn"]["AllowedPattern"]
    # A domain without its certificate (or next to PublicUrl) is refused before anything is made.
    rule = template["Rules"]["PortalDomainHasItsCertificate"]
    assertions = [a["Assert"] for a in rule["Assertions"]]
    assert {"Fn::Not": [{"Fn::Equals": [{"Ref": "PortalCertificateArn"}, ""]}]} in assertions
    assert {"Fn::Equals": [{"Ref": "PublicUrl"}, ""]} in assertions


def test_every_cache_behaviour_sends_the_security_headers() -> None:
    config = load_template()["Resources"]["Distribution"]["Properties"]["DistributionConfig"]
    behaviours = [config["DefaultCacheBehavior"], *config.get("CacheBehaviors", [])]
    assert len(behaviours) >= 2
    for behaviour in behaviours:
        assert behaviour.get("ResponseHeadersPolicyId") == {"Ref": "SecurityHeadersPolicy"}, behaviour


def test_the_departments_resource_is_answered_by_its_function_with_department_items_only() -> None:
    translated = sam_translate(load_template())
    resources = translated["Resources"]
    departments = resources["Departments"]
    assert departments["Type"] == "Custom::Departments"
    assert departments["Properties"]["ServiceToken"] == {"Fn::GetAtt": ["DepartmentsFunction", "Arn"]}
    function = resources["DepartmentsFunction"]["Properties"]
    assert function["Handler"] == "departments.handler.handler"
    role = resources[function["Role"]["Fn::GetAtt"][0]]["Properties"]
    statements = [s for policy in role.get("Policies", []) for s in policy["PolicyDocument"]["Statement"]]
    assert statements == [{
        "Sid": "DepartmentItemsOnly", "Effect": "Allow", "Action": ["dynamodb:PutItem", "dynamodb:UpdateItem"],
        "Resource": {"Fn::GetAtt": ["Table", "Arn"]},
        "Condition": {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": ["DEPARTMENT"]}},
    }]


def test_every_declared_department_is_valid_and_has_a_receipt_rule() -> None:
    from supportdesk_dev.provision import declared_departments

    declared = declared_departments("example.com")
    assert [d.slug for d in declared] == ["support", "billing", "sales"]
    recipients = {str(r).replace("${MailDomain}", "example.com")
                  for rule in resources_of("AWS::SES::ReceiptRule").values()
                  for r in (x["Fn::Sub"] if isinstance(x, dict) else x for x in rule["Properties"]["Rule"]["Recipients"])}
    assert {d.email for d in declared if d.enabled} <= recipients


def test_every_function_has_its_build_target_and_handler() -> None:
    makefile = (REPO / "Makefile").read_text()
    for name, resource in resources_of("AWS::Serverless::Function").items():
        assert f"\nbuild-{name}:" in makefile, name
        module = resource["Properties"]["Handler"].rsplit(".", 1)[0]
        assert (REPO / "functions" / (module.replace(".", "/") + ".py")).is_file(), name


def test_the_departments_function_builds_alone_and_imports_with_the_domain(tmp_path: Path) -> None:
    """`sam build` runs build-DepartmentsFunction; the bundle holds its package only and
    imports with nothing beside it but the domain package (which the layer ships)."""
    from supportdesk_dev.artifacts import build, host_settings

    build("build-DepartmentsFunction", tmp_path / "function", **host_settings())
    files = sorted(str(p.relative_to(tmp_path / "function")) for p in (tmp_path / "function").rglob("*.py"))
    assert files == ["departments/__init__.py", "departments/handler.py"]
    assert {p.parent.name for p in (tmp_path / "function").rglob("*.pyc")} == {"__pycache__"}
    probe = "import departments.handler as h; assert callable(h.handler); print(h.__file__)"
    done = subprocess.run([sys.executable, "-P", "-c", probe], capture_output=True, text=True, timeout=60,
                          cwd=tmp_path, env={"PYTHONPATH": f"{tmp_path / 'function'}:{REPO / 'shared'}",
                                             "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(tmp_path / "function" / "departments" / "handler.py")


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



def test_an_address_the_site_does_not_have_gets_its_not_found_page_at_the_edge() -> None:
    import json

    template = load_template()
    function = template["Resources"]["SitePagesFunction"]["Properties"]
    assert function["FunctionConfig"]["Runtime"] == "cloudfront-js-2.0" and function["AutoPublish"] is True
    code = function["FunctionCode"]
    # What it answers is tried in Chromium (tests/test_browser_edge.py); here, that it knows
    # every file of the site and serves site/404.html as it is (`make site` writes both).
    files = json.loads(re.search(r"var FILES = (\[.*?\]);", code).group(1))  # type: ignore[union-attr]
    site = REPO / "site"
    assert sorted(files) == sorted(["/", *("/" + p.relative_to(site).as_posix() for p in site.rglob("*") if p.is_file())])
    page = json.loads(re.search(r"var NOT_FOUND = (.*);", code).group(1))  # type: ignore[union-attr]
    assert page == (site / "404.html").read_text()
    assert len(code.encode()) < 10 * 1024  # CloudFront Functions' size limit
    config = template["Resources"]["Distribution"]["Properties"]["DistributionConfig"]
    (association,) = config["DefaultCacheBehavior"]["FunctionAssociations"]
    assert association == {"EventType": "viewer-request",
                           "FunctionARN": {"Fn::GetAtt": ["SitePagesFunction", "FunctionMetadata.FunctionARN"]}}
    assert all("FunctionAssociations" not in behaviour for behaviour in config["CacheBehaviors"])  # not the API's
    assert "CustomErrorResponses" not in config
