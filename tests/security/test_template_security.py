"""The security review of template.yaml, point by point, and its local equivalents.

Each test reads the template (or the stack made from it) and states one decision:
least-privilege roles, secrets in Secrets Manager, no host taken from a request, an API
reachable only through CloudFront, security headers, rate limits, CORS, retention.
"""

from __future__ import annotations

import copy
import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from conftest import sam_translate

from supportdesk_dev.provision import TEMPLATE_PATH, load_template, provision
from supportdesk_dev.stack import LocalStack

REPO = Path(__file__).resolve().parents[2]
FUNCTIONS = ("WebFunction", "InboundFunction", "NotifierFunction", "CognitoMessagesFunction")

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self' https://*.amazonaws.com; form-action 'self'; frame-ancestors 'none'; "
       "base-uri 'none'; object-src 'none'")
# PublicUrl, else the portal's own domain (PortalDomain), else the distribution's: configuration only.
PORTAL_ORIGIN = {"Fn::If": ["HasPublicUrl", {"Ref": "PublicUrl"},
                            {"Fn::If": ["HasPortalDomain", {"Fn::Sub": "https://${PortalDomain}"},
                                        {"Fn::Sub": "https://${Distribution.DomainName}"}]}]}
MAIL_IDENTITY = {"Fn::Sub": "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/${MailDomain}"}
TABLE_AND_INDEXES = [{"Fn::GetAtt": ["Table", "Arn"]}, {"Fn::Sub": "${Table.Arn}/index/*"}]
TABLE_ACTIONS = ["dynamodb:GetItem", "dynamodb:Query", "dynamodb:PutItem", "dynamodb:UpdateItem",
                 "dynamodb:ConditionCheckItem"]


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template()


def resources(template: dict[str, Any]) -> dict[str, Any]:
    return dict(template["Resources"])


def properties(template: dict[str, Any], logical_id: str) -> dict[str, Any]:
    return dict(template["Resources"][logical_id]["Properties"])


def statements(template: dict[str, Any], function: str) -> list[dict[str, Any]]:
    found = []
    for policy in properties(template, function).get("Policies", []):
        found += policy["Statement"]
    return found


def grants(template: dict[str, Any], function: str) -> list[tuple[list[str], list[Any]]]:
    """Each statement as (its actions, its resources), both as lists, in template order."""
    def as_list(value: Any) -> list[Any]:
        return value if isinstance(value, list) else [value]

    return [(as_list(s["Action"]), as_list(s["Resource"])) for s in statements(template, function)]


def environment(template: dict[str, Any], function: str | None = None) -> dict[str, Any]:
    section = template["Globals"]["Function"] if function is None else properties(template, function)
    return dict(section["Environment"]["Variables"])


def behaviours(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    config = properties(template, "Distribution")["DistributionConfig"]
    return {"default": config["DefaultCacheBehavior"],
            **{b["PathPattern"]: b for b in config["CacheBehaviors"]}}


# --- 8. least privilege ------------------------------------------------------------------

def test_functions_have_explicit_statements_only_and_no_star_resource(template: dict[str, Any]) -> None:
    for function in FUNCTIONS:
        for policy in properties(template, function).get("Policies", []):
            # No SAM policy templates (DynamoDBCrudPolicy, S3CrudPolicy...) and no managed
            # policies (AmazonS3FullAccess...): only statements written out here.
            assert isinstance(policy, dict) and set(policy) == {"Statement"}, policy
        for statement in statements(template, function):
            assert statement["Effect"] == "Allow"
            resources_ = statement["Resource"] if isinstance(statement["Resource"], list) else [
                statement["Resource"]]
            assert "*" not in resources_, statement
            assert not any(isinstance(r, str) and r.endswith(":*") for r in resources_), statement


def test_the_deployed_roles_carry_no_crud_full_access_or_star_data_policy(template: dict[str, Any]) -> None:
    translated = sam_translate(copy.deepcopy(template))
    for name, resource in translated["Resources"].items():
        if resource["Type"] != "AWS::IAM::Role":
            continue
        managed = json.dumps(resource["Properties"].get("ManagedPolicyArns", []))
        assert "FullAccess" not in managed and "Crud" not in managed, (name, managed)
        for policy in resource["Properties"].get("Policies", []):
            assert "Crud" not in policy["PolicyName"] and "FullAccess" not in policy["PolicyName"]
            for statement in policy["PolicyDocument"]["Statement"]:
                assert statement.get("Resource") != "*", (name, statement)
                assert "*" not in (statement.get("Resource") or []), (name, statement)


def test_the_web_function_may_do_exactly_what_the_portal_does(template: dict[str, Any]) -> None:
    assert grants(template, "WebFunction") == [
        (["dynamodb:GetItem", "dynamodb:BatchGetItem", *TABLE_ACTIONS[1:]], TABLE_AND_INDEXES),
        (["dynamodb:DeleteItem"], [{"Fn::GetAtt": ["Table", "Arn"]}]),
        (["s3:PutObject", "s3:GetObject"], [{"Fn::Sub": "${AttachmentsBucket.Arn}/uploads/*"}]),
        (["s3:GetObject"], [{"Fn::Sub": "${AttachmentsBucket.Arn}/attachments/*"}]),
        (["s3:GetObject"], [{"Fn::Sub": "${InboundMailBucket.Arn}/inbound/*"}]),
        (["cognito-idp:InitiateAuth", "cognito-idp:ForgotPassword", "cognito-idp:ConfirmForgotPassword",
          "cognito-idp:RevokeToken", "cognito-idp:AdminUserGlobalSignOut"],
         [{"Fn::GetAtt": ["UserPool", "Arn"]}]),
        (["secretsmanager:GetSecretValue"], [{"Ref": "SigningSecret"}, {"Ref": "OriginSecret"}]),
    ]  # no SES: every mail leaves from the notifier, off the request path


def test_the_notifier_may_do_exactly_what_delivering_an_event_does(template: dict[str, Any]) -> None:
    assert grants(template, "NotifierFunction") == [
        (["dynamodb:GetItem", "dynamodb:UpdateItem"], [{"Fn::GetAtt": ["Table", "Arn"]}]),
        (["dynamodb:BatchWriteItem"], [{"Fn::GetAtt": ["Table", "Arn"]}]),
        (["ses:SendRawEmail"], [MAIL_IDENTITY]),
        (["secretsmanager:GetSecretValue"], [{"Ref": "SigningSecret"}]),
        (["dynamodb:Query"], [{"Fn::GetAtt": ["Table", "Arn"]}]),
        (["s3:DeleteObject"], [{"Fn::Sub": "${AttachmentsBucket.Arn}/uploads/*"}]),
        (["sqs:SendMessage"], [{"Fn::GetAtt": ["NotifierDeadLetterQueue", "Arn"]}]),
    ]


def test_the_intake_function_may_do_exactly_what_the_intake_does(template: dict[str, Any]) -> None:
    assert grants(template, "InboundFunction") == [
        (TABLE_ACTIONS, TABLE_AND_INDEXES),
        # Held mail (over a sender's hourly allowance) is let in later: its HELD item goes then.
        (["dynamodb:DeleteItem"], [{"Fn::GetAtt": ["Table", "Arn"]}]),
        (["s3:GetObject"], [{"Fn::Sub": "${InboundMailBucket.Arn}/inbound/*"}]),
        (["s3:PutObject"], [{"Fn::Sub": "${AttachmentsBucket.Arn}/attachments/*"}]),
        (["ses:SendRawEmail"], [MAIL_IDENTITY]),
        (["secretsmanager:GetSecretValue"], [{"Ref": "SigningSecret"}]),
    ]


def test_cognitos_message_trigger_may_do_nothing_but_log(template: dict[str, Any]) -> None:
    # It words Cognito's mails from the event alone (the user's locale attribute): no table,
    # no secret, no mail of its own. Its role is SAM's basic one: logs and traces only.
    assert grants(template, "CognitoMessagesFunction") == []
    translated = sam_translate(copy.deepcopy(template))
    role = translated["Resources"]["CognitoMessagesFunctionRole"]["Properties"]
    assert "Policies" not in role or role["Policies"] == []
    managed = json.dumps(role["ManagedPolicyArns"])
    assert "AWSLambdaBasicExecutionRole" in managed and "AWSXrayWriteOnlyAccess" in managed
    assert len(role["ManagedPolicyArns"]) == 2
    # Cognito, and only this pool, may invoke it; the pool names it by its fixed name.
    permission = properties(template, "CognitoMessagesPermission")
    assert permission["Principal"] == "cognito-idp.amazonaws.com"
    assert permission["SourceArn"] == {"Fn::GetAtt": ["UserPool", "Arn"]}
    trigger = properties(template, "UserPool")["LambdaConfig"]["CustomMessage"]["Fn::Sub"]
    assert trigger.endswith(":function:" + properties(template, "CognitoMessagesFunction")["FunctionName"]["Fn::Sub"])


def test_no_function_may_scan_delete_or_batch_write(template: dict[str, Any]) -> None:
    for function in FUNCTIONS:
        for statement in statements(template, function):
            actions = set(statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]])
            assert not actions & {"dynamodb:Scan", "s3:ListBucket", "dynamodb:*", "s3:*", "ses:*"}
            if "dynamodb:DeleteItem" in actions:
                # The only items deleted: an upload's record, claimed by its message (the
                # portal), and a held mail's, when it is let in (the intake).
                assert function in ("WebFunction", "InboundFunction") and actions == {"dynamodb:DeleteItem"}
                assert statement["Condition"] == {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": [
                    "UPLOAD#*" if function == "WebFunction" else "HELD"]}}
            if "s3:DeleteObject" in actions:
                # The only files deleted: uploads no message claimed (their records expired).
                assert function == "NotifierFunction" and actions == {"s3:DeleteObject"}
                assert statement["Resource"] == {"Fn::Sub": "${AttachmentsBucket.Arn}/uploads/*"}
            if "dynamodb:BatchWriteItem" in actions:
                # The notifier writes the search index 25 items a call, and nothing else: a
                # batch (which could delete) is held to the index's keys.
                assert function == "NotifierFunction" and actions == {"dynamodb:BatchWriteItem"}
                assert statement["Condition"] == {
                    "ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["TERMS#*"]}}


# --- 1. secrets ----------------------------------------------------------------------------

def test_the_signing_secret_is_the_parameter_or_generated(template: dict[str, Any]) -> None:
    parameter = template["Parameters"]["ReplySecret"]
    assert parameter["NoEcho"] is True and parameter["Default"] == ""
    assert template["Conditions"]["HasReplySecret"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "ReplySecret"}, ""]}]}
    secret = resources(template)["SigningSecret"]
    assert secret["Type"] == "AWS::SecretsManager::Secret"
    assert secret["Properties"]["SecretString"] == {
        "Fn::If": ["HasReplySecret", {"Ref": "ReplySecret"}, {"Ref": "AWS::NoValue"}]}
    assert secret["Properties"]["GenerateSecretString"] == {
        "Fn::If": ["HasReplySecret", {"Ref": "AWS::NoValue"},
                   {"PasswordLength": 64, "ExcludePunctuation": True}]}


def test_the_origin_secret_is_always_generated(template: dict[str, Any]) -> None:
    secret = resources(template)["OriginSecret"]
    assert secret["Type"] == "AWS::SecretsManager::Secret"
    assert "SecretString" not in secret["Properties"]
    assert secret["Properties"]["GenerateSecretString"] == {"PasswordLength": 64, "ExcludePunctuation": True}


def test_the_functions_name_their_secrets_and_hold_no_secret_value(template: dict[str, Any]) -> None:
    shared = environment(template)
    assert shared["SIGNING_SECRET_ARN"] == {"Ref": "SigningSecret"}
    assert environment(template, "WebFunction")["ORIGIN_SECRET_ARN"] == {"Ref": "OriginSecret"}
    assert "ORIGIN_SECRET_ARN" not in environment(template, "InboundFunction")
    assert "ORIGIN_SECRET_ARN" not in shared
    for variables in (shared, *(environment(template, f) for f in FUNCTIONS)):
        assert "REPLY_SECRET" not in variables
        assert "ReplySecret" not in json.dumps(variables)


# --- 2. public URL, and the API declared so that nothing depends on itself ------------------

def test_links_in_mail_never_come_from_a_request(template: dict[str, Any]) -> None:
    assert environment(template)["PUBLIC_URL"] == PORTAL_ORIGIN
    assert template["Conditions"]["HasPublicUrl"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "PublicUrl"}, ""]}]}
    text = TEMPLATE_PATH.read_text().lower()
    assert "x-forwarded-host" not in text
    # No edge function reads the viewer's headers or passes its Host on (the one there only
    # answers unknown addresses with the not-found page).
    for function in (r for r in resources(template).values() if r["Type"] == "AWS::CloudFront::Function"):
        code = function["Properties"]["FunctionCode"].lower()
        assert "request.headers" not in code and "host" not in code


def test_the_http_api_is_plain_api_gateway_resources(template: dict[str, Any]) -> None:
    kinds = {k: v["Type"] for k, v in resources(template).items()}
    assert "AWS::Serverless::HttpApi" not in kinds.values()
    assert "Events" not in properties(template, "WebFunction")
    assert properties(template, "HttpApi")["ProtocolType"] == "HTTP"
    integration = properties(template, "HttpApiIntegration")
    assert integration["IntegrationType"] == "AWS_PROXY"
    assert integration["PayloadFormatVersion"] == "2.0"
    assert integration["IntegrationUri"] == {"Fn::GetAtt": ["WebFunction", "Arn"]}
    route = properties(template, "HttpApiRoute")
    assert route["RouteKey"] == "ANY /api/{proxy+}"
    assert route["Target"] == {"Fn::Sub": "integrations/${HttpApiIntegration}"}
    stage = properties(template, "HttpApiApiGatewayDefaultStage")
    assert stage["StageName"] == "$default" and stage["AutoDeploy"] is True
    assert stage["DefaultRouteSettings"] == {"ThrottlingBurstLimit": 200, "ThrottlingRateLimit": 100}
    permission = properties(template, "WebFunctionApiPermission")
    assert permission["Principal"] == "apigateway.amazonaws.com"
    assert permission["FunctionName"] == {"Ref": "WebFunction"}
    assert template["Outputs"]["HttpApiUrl"]["Value"] == {
        "Fn::Sub": "https://${HttpApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}"}


def dependency_cycle(translated: dict[str, Any]) -> list[str] | None:
    """A cycle of references among the deployed resources (both branches of every Fn::If
    count, as CloudFormation orders resources before evaluating them), or None."""
    names = set(translated["Resources"])

    def references(value: Any) -> set[str]:
        if isinstance(value, list):
            return set().union(*(references(v) for v in value)) if value else set()
        if not isinstance(value, dict):
            return set()
        found: set[str] = set()
        for key, argument in value.items():
            if key == "Ref" and isinstance(argument, str):
                found.add(argument)
            elif key == "Fn::GetAtt":
                found.add(argument[0] if isinstance(argument, list) else argument.split(".")[0])
            elif key == "Fn::Sub":
                text = argument if isinstance(argument, str) else argument[0]
                found |= {m.split(".")[0] for m in re.findall(r"\$\{([^}!]+)\}", text)}
                if not isinstance(argument, str):
                    found |= references(argument[1])
            else:
                found |= references(argument)
        return found

    graph: dict[str, set[str]] = {}
    for name, resource in translated["Resources"].items():
        depends = resource.get("DependsOn", [])
        targets = references(resource.get("Properties", {})) | set(
            [depends] if isinstance(depends, str) else depends)
        graph[name] = targets & names
    done: set[str] = set()

    def visit(node: str, path: list[str]) -> list[str] | None:
        for target in sorted(graph[node]):
            if target in path:
                return path[path.index(target):] + [target]
            if target not in done:
                cycle = visit(target, path + [target])
                if cycle:
                    return cycle
        done.add(node)
        return None

    for start in sorted(graph):
        if start not in done:
            cycle = visit(start, [start])
            if cycle:
                return cycle
    return None


def test_no_resource_depends_on_itself(template: dict[str, Any]) -> None:
    # cfn-lint does not follow the references SAM writes into an API's OpenAPI body, so
    # the deployed graph is checked here.
    assert dependency_cycle(sam_translate(copy.deepcopy(template))) is None


def test_the_cycle_check_sees_the_cycle_a_sam_http_api_event_would_make(template: dict[str, Any]) -> None:
    variant = copy.deepcopy(template)
    del variant["Resources"]["WebFunctionApiPermission"]  # SAM makes its own, with this name
    variant["Resources"]["SamApi"] = {"Type": "AWS::Serverless::HttpApi", "Properties": {}}
    variant["Resources"]["WebFunction"]["Properties"]["Events"] = {"Api": {"Type": "HttpApi", "Properties": {
        "ApiId": {"Ref": "SamApi"}, "Path": "/api/{proxy+}", "Method": "ANY"}}}
    api_origin = variant["Resources"]["Distribution"]["Properties"]["DistributionConfig"]["Origins"][1]
    api_origin["DomainName"] = {"Fn::Sub": "${SamApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}"}
    cycle = dependency_cycle(sam_translate(variant))
    assert cycle and {"Distribution", "SamApi", "WebFunction"} <= set(cycle)


# --- 3. the API only through CloudFront -------------------------------------------------------

def test_cloudfront_proves_itself_to_the_api_with_the_origin_secret(template: dict[str, Any]) -> None:
    origins = {o["Id"]: o for o in properties(template, "Distribution")["DistributionConfig"]["Origins"]}
    assert origins["api"]["OriginCustomHeaders"] == [{
        "HeaderName": "X-Origin-Verify",
        "HeaderValue": {"Fn::Sub": "{{resolve:secretsmanager:${OriginSecret}}}"},
    }]
    assert "OriginCustomHeaders" not in origins["site"]


# --- 4. security headers ---------------------------------------------------------------------

def test_every_response_gets_the_security_headers(template: dict[str, Any]) -> None:
    config = properties(template, "SecurityHeadersPolicy")["ResponseHeadersPolicyConfig"]
    assert config["SecurityHeadersConfig"] == {
        "ContentSecurityPolicy": {"ContentSecurityPolicy": CSP, "Override": True},
        "StrictTransportSecurity": {"AccessControlMaxAgeSec": 63072000, "IncludeSubdomains": True,
                                    "Override": True},
        "ContentTypeOptions": {"Override": True},
        "FrameOptions": {"FrameOption": "DENY", "Override": True},
        "ReferrerPolicy": {"ReferrerPolicy": "no-referrer", "Override": True},
    }
    for behaviour in behaviours(template).values():
        assert behaviour["ResponseHeadersPolicyId"] == {"Ref": "SecurityHeadersPolicy"}


def test_the_app_sends_the_same_security_headers_as_cloudfront(template: dict[str, Any]) -> None:
    """The app's own headers (what `make dev` shows) are CloudFront's, value for value."""
    from portal.edge import SECURITY_HEADERS

    config = properties(template, "SecurityHeadersPolicy")["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]
    hsts = config["StrictTransportSecurity"]
    assert SECURITY_HEADERS == {
        "content-security-policy": config["ContentSecurityPolicy"]["ContentSecurityPolicy"],
        "strict-transport-security": f"max-age={hsts['AccessControlMaxAgeSec']}"
                                     + ("; includeSubDomains" if hsts["IncludeSubdomains"] else ""),
        "x-content-type-options": "nosniff",
        "x-frame-options": config["FrameOptions"]["FrameOption"],
        "referrer-policy": config["ReferrerPolicy"]["ReferrerPolicy"],
    }


# --- 5. the client's address at the origin -----------------------------------------------------

# Headers the API gets whatever the policy says, or must not get from the viewer.
NOT_FROM_THE_POLICY = {
    "cookie",  # the policy's CookiesConfig
    "host",  # API Gateway routes by its own host
    "x-forwarded-host",  # links never come from a request
    "x-origin-verify",  # an origin custom header, added by CloudFront itself
    "x-forwarded-for", "x-forwarded-proto", "x-forwarded-port", "content-length",
}


def headers_the_portal_reads() -> dict[str, str]:
    """Request header names read in functions/, with where (a guard, not a parser)."""
    patterns = [r"headers\.get\(\s*\"([A-Za-z][A-Za-z0-9-]*)\"",  # request.headers.get("hx-target")
                r"\.get\(\s*b\"([a-z][a-z0-9-]*)\"",  # dict(scope["headers"]).get(b"content-type")
                r"==\s*b\"([a-z][a-z0-9-]*)\"",  # k == b"accept-language"
                r"^\s*[A-Z_]*HEADER[A-Z_]*\s*=\s*b\"([a-z][a-z0-9-]*)\""]  # HEADER = b"x-csrf-token"
    found: dict[str, str] = {}
    for path in sorted((REPO / "functions").rglob("*.py")):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if "headers" not in line and "HEADER" not in line:
                continue
            for pattern in patterns:
                for name in re.findall(pattern, line):
                    found.setdefault(name.lower(), f"{path.relative_to(REPO)}:{number}")
    return found


def test_the_api_gets_the_client_address_and_every_header_it_reads_but_never_host(
        template: dict[str, Any]) -> None:
    api = behaviours(template)["/api/*"]
    # Not the managed AllViewerExceptHostHeader: it forwards viewer headers only, never
    # CloudFront-Viewer-Address (see the policy's comment in template.yaml).
    assert api["OriginRequestPolicyId"] == {"Ref": "ApiOriginRequestPolicy"}
    config = properties(template, "ApiOriginRequestPolicy")["OriginRequestPolicyConfig"]
    assert config["CookiesConfig"] == {"CookieBehavior": "all"}
    assert config["QueryStringsConfig"] == {"QueryStringBehavior": "all"}
    assert config["HeadersConfig"]["HeaderBehavior"] == "whitelist"
    forwarded = {h.lower() for h in config["HeadersConfig"]["Headers"]}
    assert "cloudfront-viewer-address" in forwarded
    assert not forwarded & {"host", "x-forwarded-host"}
    assert len(forwarded) <= 10  # CloudFront's default quota of headers per policy
    read = headers_the_portal_reads()
    assert "hx-request" in read and "accept-language" in read  # the guard still finds reads
    missing = {name: where for name, where in read.items()
               if name not in forwarded and name not in NOT_FROM_THE_POLICY}
    assert not missing, f"the API reads headers CloudFront does not forward: {missing}"


# --- 6. WAF ----------------------------------------------------------------------------------

def test_waf_is_optional_and_only_where_cloudfront_web_acls_live(template: dict[str, Any]) -> None:
    general = template["Parameters"]["WafRequestsPerFiveMinutes"]
    sensitive = template["Parameters"]["WafSensitiveRequestsPerFiveMinutes"]
    assert general["Type"] == "Number" and general["Default"] == 0
    assert sensitive["Type"] == "Number" and sensitive["MinValue"] == 100
    for parameter in (general, sensitive):
        assert "us-east-1" in parameter["Description"] and "skipped" in parameter["Description"]
    assert template["Conditions"]["UseWaf"] == {"Fn::And": [
        {"Fn::Not": [{"Fn::Equals": [{"Ref": "WafRequestsPerFiveMinutes"}, "0"]}]},
        {"Fn::Equals": [{"Ref": "AWS::Region"}, "us-east-1"]},
    ]}
    acl = resources(template)["WebAcl"]
    assert acl["Condition"] == "UseWaf"
    assert acl["Properties"]["Scope"] == "CLOUDFRONT"
    assert acl["Properties"]["DefaultAction"] == {"Allow": {}}
    assert properties(template, "Distribution")["DistributionConfig"]["WebACLId"] == {
        "Fn::If": ["UseWaf", {"Fn::GetAtt": ["WebAcl", "Arn"]}, {"Ref": "AWS::NoValue"}]}


def test_waf_limits_each_ip_and_posts_to_sensitive_paths_harder(template: dict[str, Any]) -> None:
    rules = {r["Name"]: r for r in properties(template, "WebAcl")["Rules"]}
    assert set(rules) == {"requests-per-ip", "sensitive-posts-per-ip"}
    for rule in rules.values():
        assert "Block" in rule["Action"]
    general = rules["requests-per-ip"]["Statement"]["RateBasedStatement"]
    assert general == {"Limit": {"Ref": "WafRequestsPerFiveMinutes"}, "AggregateKeyType": "IP"}
    strict = rules["sensitive-posts-per-ip"]["Statement"]["RateBasedStatement"]
    assert strict["Limit"] == {"Ref": "WafSensitiveRequestsPerFiveMinutes"}
    assert strict["AggregateKeyType"] == "IP"
    method, paths = strict["ScopeDownStatement"]["AndStatement"]["Statements"]
    assert method["ByteMatchStatement"]["FieldToMatch"] == {"Method": {}}
    assert method["ByteMatchStatement"]["SearchString"] == "POST"
    assert method["ByteMatchStatement"]["PositionalConstraint"] == "EXACTLY"
    matches = [s["ByteMatchStatement"] for s in paths["OrStatement"]["Statements"]]
    assert [m["SearchString"] for m in matches] == [
        "/api/login", "/api/password/", "/api/tickets", "/api/uploads", "/api/preview"]
    for match in matches:
        assert match["FieldToMatch"] == {"UriPath": {}}
        assert match["PositionalConstraint"] == "STARTS_WITH"
        assert match["TextTransformations"] == [{"Priority": 0, "Type": "URL_DECODE"}]
    # The stricter rule is evaluated first, so a blocked login burst never reaches the other.
    assert rules["sensitive-posts-per-ip"]["Priority"] < rules["requests-per-ip"]["Priority"]


# --- 7. reserved concurrency --------------------------------------------------------------------

@pytest.mark.parametrize("function, parameter, default, condition", [
    ("WebFunction", "WebReservedConcurrency", 50, "ReserveWebConcurrency"),
    ("InboundFunction", "InboundReservedConcurrency", 10, "ReserveInboundConcurrency"),
])
def test_each_function_reserves_its_concurrency_unless_told_0(
        template: dict[str, Any], function: str, parameter: str, default: int, condition: str) -> None:
    declared = template["Parameters"][parameter]
    assert declared["Type"] == "Number" and declared["Default"] == default and declared["MinValue"] == 0
    assert "must set 0" in declared["Description"]
    assert template["Conditions"][condition] == {"Fn::Not": [{"Fn::Equals": [{"Ref": parameter}, "0"]}]}
    assert properties(template, function)["ReservedConcurrentExecutions"] == {
        "Fn::If": [condition, {"Ref": parameter}, {"Ref": "AWS::NoValue"}]}


# --- 9-11. CORS, retention, the app client ---------------------------------------------------------

def test_only_the_portal_may_use_the_attachments_bucket_from_a_browser(template: dict[str, Any]) -> None:
    (rule,) = properties(template, "AttachmentsBucket")["CorsConfiguration"]["CorsRules"]
    assert rule["AllowedOrigins"] == [PORTAL_ORIGIN]
    assert "*" not in json.dumps(rule["AllowedOrigins"])
    assert sorted(rule["AllowedMethods"]) == ["GET", "POST"]


def test_raw_inbound_mail_expires(template: dict[str, Any]) -> None:
    parameter = template["Parameters"]["InboundMailRetentionDays"]
    assert parameter["Default"] == 365 and parameter["MinValue"] == 1
    rules = properties(template, "InboundMailBucket")["LifecycleConfiguration"]["Rules"]
    assert rules == [{"Id": "raw-mail-retention", "Status": "Enabled", "Prefix": "inbound/",
                      "ExpirationInDays": {"Ref": "InboundMailRetentionDays"}}]


def test_customers_cannot_rewrite_their_name_or_email_through_the_public_client(
        template: dict[str, Any]) -> None:
    client = properties(template, "UserPoolClient")
    assert client["WriteAttributes"] == ["locale"]
    assert client["ReadAttributes"] == ["email", "email_verified", "name", "locale"]


# --- 12. the local stack -------------------------------------------------------------------------

def test_the_local_stack_has_the_secrets_and_the_environment_names_them(stack: LocalStack) -> None:
    env = stack.environment
    secrets = stack.client("secretsmanager")
    for name in ("SIGNING_SECRET_ARN", "ORIGIN_SECRET_ARN"):
        assert env[name].startswith("arn:aws:secretsmanager:us-east-1:123456789012:secret:")
        value = secrets.get_secret_value(SecretId=env[name])["SecretString"]
        # Generated as the template says: 64 characters, no punctuation.
        assert re.fullmatch(r"[A-Za-z0-9]{64}", value)
    assert env["SIGNING_SECRET_ARN"] != env["ORIGIN_SECRET_ARN"]
    assert env["PUBLIC_URL"].startswith("http://127.0.0.1:")


def test_no_secret_value_is_in_the_functions_environment(stack: LocalStack) -> None:
    values = {stack.client("secretsmanager").get_secret_value(SecretId=arn)["SecretString"]
              for arn in (stack.environment["SIGNING_SECRET_ARN"], stack.environment["ORIGIN_SECRET_ARN"])}
    assert not values & set(stack.environment.values())
    assert "REPLY_SECRET" not in stack.environment


def test_the_local_attachments_bucket_accepts_only_the_portals_origin(stack: LocalStack) -> None:
    cors = stack.client("s3").get_bucket_cors(Bucket=stack.environment["ATTACHMENTS_BUCKET"])
    (rule,) = cors["CORSRules"]
    assert rule["AllowedOrigins"] == [stack.environment["PUBLIC_URL"]]
    assert sorted(rule["AllowedMethods"]) == ["GET", "POST"]


def test_the_local_inbound_bucket_expires_raw_mail(stack: LocalStack) -> None:
    rules = stack.client("s3").get_bucket_lifecycle_configuration(
        Bucket=stack.environment["INBOUND_BUCKET"])["Rules"]
    assert [(r["ID"], r["Filter"], r["Expiration"]) for r in rules] == [
        ("raw-mail-retention", {"Prefix": "inbound/"}, {"Days": 365})]


def test_the_local_client_writes_only_the_locale(stack: LocalStack) -> None:
    client = stack.client("cognito-idp").describe_user_pool_client(
        UserPoolId=stack.environment["USER_POOL_ID"],
        ClientId=stack.environment["USER_POOL_CLIENT_ID"])["UserPoolClient"]
    assert client["WriteAttributes"] == ["locale"]


def test_provisioning_again_keeps_the_generated_secrets(stack: LocalStack) -> None:
    parameters = {"PublicUrl": "https://support.example.com"}
    first = provision(stack.client, stack_name="again-check", parameters=parameters)
    second = provision(stack.client, stack_name="again-check", parameters=parameters)
    secrets = stack.client("secretsmanager")
    for name in ("SIGNING_SECRET_ARN", "ORIGIN_SECRET_ARN"):
        assert first[name] == second[name]
    assert first["PUBLIC_URL"] == "https://support.example.com"
    cors = stack.client("s3").get_bucket_cors(Bucket=first["ATTACHMENTS_BUCKET"])
    assert cors["CORSRules"][0]["AllowedOrigins"] == ["https://support.example.com"]
    value = secrets.get_secret_value(SecretId=first["SIGNING_SECRET_ARN"])["SecretString"]
    third = provision(stack.client, stack_name="again-check", parameters=parameters)
    assert secrets.get_secret_value(SecretId=third["SIGNING_SECRET_ARN"])["SecretString"] == value


def test_a_given_reply_secret_is_the_signing_secrets_value(stack: LocalStack) -> None:
    secrets = stack.client("secretsmanager")
    parameters = {"PublicUrl": "https://support.example.com", "ReplySecret": "first-secret"}
    env = provision(stack.client, stack_name="given-check", parameters=parameters)
    assert secrets.get_secret_value(SecretId=env["SIGNING_SECRET_ARN"])["SecretString"] == "first-secret"
    # A new value is applied, as a stack update would; the secret stays the same one.
    again = provision(stack.client, stack_name="given-check",
                      parameters={**parameters, "ReplySecret": "second-secret"})
    assert again["SIGNING_SECRET_ARN"] == env["SIGNING_SECRET_ARN"]
    assert secrets.get_secret_value(SecretId=env["SIGNING_SECRET_ARN"])["SecretString"] == "second-secret"


def test_the_public_url_fallback_has_no_local_value(stack: LocalStack) -> None:
    from supportdesk_dev.provision import NoLocalValue

    # Locally PUBLIC_URL must come from the parameter: the CloudFront domain does not exist.
    with pytest.raises(NoLocalValue, match="Distribution.DomainName"):
        provision(stack.client, stack_name="fallback-check", parameters={"PublicUrl": ""})


# A child process: moto's state is global to a process, and a restart restores it whole.
RESTART = textwrap.dedent("""
    import json, sys
    from pathlib import Path
    from supportdesk_dev.stack import start_local_stack
    stack = start_local_stack(state_file=Path(sys.argv[1]), stack_name="restart-check")
    secrets = stack.client("secretsmanager")
    env = stack.environment
    print(json.dumps({name: [env[name], secrets.get_secret_value(SecretId=env[name])["SecretString"]]
                      for name in ("SIGNING_SECRET_ARN", "ORIGIN_SECRET_ARN")}))
    stack.stop()
""")


def test_a_restarted_local_stack_keeps_its_generated_secrets(tmp_path: Path) -> None:
    def start_and_stop() -> dict[str, list[str]]:
        run = subprocess.run([sys.executable, "-c", RESTART, str(tmp_path / "state.pickle")],
                             capture_output=True, text=True, check=True, cwd=REPO, timeout=120)
        return dict(json.loads(run.stdout.strip().splitlines()[-1]))

    first = start_and_stop()
    assert start_and_stop() == first
