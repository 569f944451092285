"""Operations: the dead-letter queues re-driven against moto's SQS and DynamoDB Streams over
HTTP, and the operations part of template.yaml (alarms, logs, access logs, outputs).

moto runs no Lambda function without Docker, so the re-drive is given the function as a
callable (`invoke`); what the command would invoke in AWS is checked through moto's Lambda
API, which answers that the function does not exist and must leave every message queued.
"""

from __future__ import annotations

import io
import json
import uuid
from typing import Any

import pytest

from supportdesk_dev import cli
from supportdesk_dev.deadletters import lambda_invoker, redrive
from supportdesk_dev.provision import load_template
from supportdesk_dev.stack import LocalStack

FUNCTIONS = ("WebFunction", "InboundFunction", "NotifierFunction")


def ses_event(message_id: str) -> dict[str, Any]:
    """The shape of SES's Lambda action event (what the intake's dead letters hold)."""
    return {"Records": [{"eventSource": "aws:ses", "eventVersion": "1.0", "ses": {
        "mail": {"messageId": message_id, "source": "ana@example.org", "destination": ["support@example.com"]},
        "receipt": {"recipients": ["support@example.com"], "spfVerdict": {"status": "PASS"}}}}]}


def new_queue(stack: LocalStack) -> str:
    return str(stack.client("sqs").create_queue(QueueName=f"dlq-{uuid.uuid4().hex[:8]}")["QueueUrl"])


def messages_in(stack: LocalStack, queue_url: str) -> int:
    attributes = stack.client("sqs").get_queue_attributes(
        QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages",
                                            "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])


# --- re-drive: the mail intake's queue (its messages are the original events) -----------

def test_each_dead_mail_event_is_invoked_again_and_deleted_only_when_taken(stack: LocalStack) -> None:
    sqs, queue_url = stack.client("sqs"), new_queue(stack)
    events = [ses_event(f"mail-{n}") for n in range(3)]
    for event in events:
        sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps(event))
    given: list[dict[str, Any]] = []

    def invoke(payload: dict[str, Any]) -> bool:
        given.append(payload)
        return payload["Records"][0]["ses"]["mail"]["messageId"] != "mail-1"  # fails again

    outcome = redrive(sqs, queue_url, invoke, queue="inbound")
    assert sorted(e["Records"][0]["ses"]["mail"]["messageId"] for e in given) == ["mail-0", "mail-1", "mail-2"]
    assert given[0] in events  # the body as it was: the event SES gave the function
    assert outcome.redriven == 2 and len(outcome.kept) == 1
    assert "failed on it again" in outcome.kept[0]
    assert messages_in(stack, queue_url) == 1  # the one that failed waits for the next try


def test_a_failed_invocation_keeps_the_message(stack: LocalStack) -> None:
    sqs, queue_url = stack.client("sqs"), new_queue(stack)
    sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps(ses_event("mail-x")))

    def unreachable(payload: dict[str, Any]) -> bool:
        raise ConnectionError("Lambda does not answer")

    outcome = redrive(sqs, queue_url, unreachable, queue="inbound", visibility_seconds=0)
    assert outcome.redriven == 0 and "could not be invoked" in outcome.kept[0]
    assert messages_in(stack, queue_url) == 1


def test_max_limits_how_many_are_taken(stack: LocalStack) -> None:
    sqs, queue_url = stack.client("sqs"), new_queue(stack)
    for n in range(5):
        sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps(ses_event(f"mail-{n}")))
    outcome = redrive(sqs, queue_url, lambda payload: True, queue="inbound", limit=2)
    assert outcome.redriven == 2
    assert messages_in(stack, queue_url) == 3


def test_a_message_that_is_no_event_is_kept_with_the_reason(stack: LocalStack) -> None:
    sqs, queue_url = stack.client("sqs"), new_queue(stack)
    sqs.send_message(QueueUrl=queue_url, MessageBody="not json")
    outcome = redrive(sqs, queue_url, lambda payload: True, queue="inbound", visibility_seconds=0)
    assert outcome.redriven == 0 and "not JSON" in outcome.kept[0]
    assert messages_in(stack, queue_url) == 1


class AnsweringLambda:
    """Lambda's Invoke answers, as botocore returns them (the payload a readable stream)."""

    def __init__(self, answer: bytes, function_error: str | None = None) -> None:
        self.answer, self.function_error = answer, function_error
        self.calls: list[dict[str, Any]] = []

    def invoke(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        response: dict[str, Any] = {"StatusCode": 200, "Payload": io.BytesIO(self.answer)}
        if self.function_error:
            response["FunctionError"] = self.function_error
        return response


def test_the_invocation_counts_as_taken_only_without_error_or_failed_records() -> None:
    event = ses_event("mail-y")
    ok = AnsweringLambda(b"null")
    assert lambda_invoker(ok, "intake")(event) is True
    assert ok.calls == [{"FunctionName": "intake", "InvocationType": "RequestResponse",
                         "Payload": json.dumps(event).encode()}]
    assert lambda_invoker(AnsweringLambda(b'{"errorMessage": "boom"}', "Unhandled"), "intake")(event) is False
    failed_record = b'{"batchItemFailures": [{"itemIdentifier": "12"}]}'
    assert lambda_invoker(AnsweringLambda(failed_record), "notifier")(event) is False
    assert lambda_invoker(AnsweringLambda(b'{"batchItemFailures": []}'), "notifier")(event) is True


# --- re-drive: the notifier's queue (its messages name a batch of the table's stream) --

def failed_batch(stream_arn: str, shard: str, first: str, last: str) -> dict[str, Any]:
    """What Lambda's on-failure destination keeps for a stream batch: where it was, not it."""
    return {"requestContext": {"condition": "RecordAgeExceeded", "approximateInvokeCount": 51},
            "responseContext": {"statusCode": 200, "functionError": "Unhandled"}, "version": "1.0",
            "DDBStreamBatchInfo": {"shardId": shard, "startSequenceNumber": first, "endSequenceNumber": last,
                                   "batchSize": 1, "streamArn": stream_arn}}


@pytest.fixture
def streamed_table(stack: LocalStack) -> str:
    """A table of its own with a stream no local notifier reads (records stay in it)."""
    name = f"redrive-{uuid.uuid4().hex[:8]}"
    dynamodb = stack.client("dynamodb")
    dynamodb.create_table(TableName=name, BillingMode="PAY_PER_REQUEST",
                          AttributeDefinitions=[{"AttributeName": k, "AttributeType": "S"} for k in ("PK", "SK")],
                          KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"},
                                     {"AttributeName": "SK", "KeyType": "RANGE"}],
                          StreamSpecification={"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"})
    return name


def stream_records(stack: LocalStack, table_name: str) -> tuple[str, str, list[dict[str, Any]]]:
    streams = stack.client("dynamodbstreams")
    arn = stack.client("dynamodb").describe_table(TableName=table_name)["Table"]["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    records = streams.get_records(ShardIterator=iterator["ShardIterator"])["Records"]
    return arn, shard, records


def test_a_failed_stream_batch_is_read_again_from_the_stream_and_given_to_the_notifier(
        stack: LocalStack, streamed_table: str) -> None:
    dynamodb = stack.client("dynamodb")
    for n in range(4):
        dynamodb.put_item(TableName=streamed_table, Item={"PK": {"S": f"OUTBOX#KXR-{n}"},
                                                          "SK": {"S": f"2026-01-01T00:00:0{n}#opened#ab"}})
    arn, shard, records = stream_records(stack, streamed_table)
    # The batch that failed: the second and third event items.
    first, last = (records[i]["dynamodb"]["SequenceNumber"] for i in (1, 2))
    sqs, queue_url = stack.client("sqs"), new_queue(stack)
    sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps(failed_batch(arn, shard, first, last)))
    given: list[dict[str, Any]] = []

    def invoke(payload: dict[str, Any]) -> bool:
        given.append(payload)
        return True

    outcome = redrive(sqs, queue_url, invoke, queue="notifier", streams=stack.client("dynamodbstreams"))
    assert outcome.redriven == 1, outcome.kept
    (event,) = given
    assert [r["dynamodb"]["Keys"]["PK"]["S"] for r in event["Records"]] == ["OUTBOX#KXR-1", "OUTBOX#KXR-2"]
    assert all(r["eventName"] == "INSERT" and r["eventSourceARN"] == arn for r in event["Records"])
    assert messages_in(stack, queue_url) == 0


def test_a_batch_whose_records_left_the_stream_stays_in_the_queue(stack: LocalStack, table: Any) -> None:
    """The local notifier drops records once read, as the stream does after 24 hours."""
    from supportdesk.tickets import Requester, create_ticket

    create_ticket(table, department="support", subject="Ya entregado", body="b",
                  requester=Requester("N", f"n-{uuid.uuid4().hex[:6]}@example.org", "acc-n"))
    stack.deliver_events()
    arn = stack.client("dynamodb").describe_table(TableName=table.name)["Table"]["LatestStreamArn"]
    shard = stack.client("dynamodbstreams").describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]
    sqs, queue_url = stack.client("sqs"), new_queue(stack)
    sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps(
        failed_batch(arn, shard["ShardId"], "1", "2")))
    invoked: list[dict[str, Any]] = []
    outcome = redrive(sqs, queue_url, lambda payload: invoked.append(payload) is None, queue="notifier",
                      streams=stack.client("dynamodbstreams"), visibility_seconds=0)
    assert invoked == [] and outcome.redriven == 0
    assert "stream records are gone" in outcome.kept[0]
    assert messages_in(stack, queue_url) == 1


# --- the command -------------------------------------------------------------------------

OUTPUTS_ONLY_STACK = {
    "Resources": {"InboundDeadLetterQueue": {"Type": "AWS::SQS::Queue"},
                  "NotifierDeadLetterQueue": {"Type": "AWS::SQS::Queue"}},
    "Outputs": {"InboundDeadLetterQueueUrl": {"Value": {"Ref": "InboundDeadLetterQueue"}},
                "NotifierDeadLetterQueueUrl": {"Value": {"Ref": "NotifierDeadLetterQueue"}},
                "InboundFunctionName": {"Value": "supportdesk-InboundFunction-missing"},
                "NotifierFunctionName": {"Value": "supportdesk-NotifierFunction-missing"},
                "TableName": {"Value": "supportdesk-Table-unused"},
                "UserPoolId": {"Value": "us-east-1_unused"}},
}


def test_the_command_keeps_every_message_when_the_function_cannot_be_invoked(
        stack: LocalStack, capsys: pytest.CaptureFixture[str]) -> None:
    """`supportdesk --stack NAME dlq redrive --queue inbound` against moto's CloudFormation,
    SQS and Lambda APIs: the queue and function come from the stack's outputs; Lambda
    answers that the function does not exist, so nothing may be deleted."""
    name = f"ops-{uuid.uuid4().hex[:6]}"
    cloudformation = stack.client("cloudformation")
    cloudformation.create_stack(StackName=name, TemplateBody=json.dumps(OUTPUTS_ONLY_STACK))
    outputs = {o["OutputKey"]: o["OutputValue"]
               for o in cloudformation.describe_stacks(StackName=name)["Stacks"][0]["Outputs"]}
    queue_url = outputs["InboundDeadLetterQueueUrl"]
    stack.client("sqs").send_message(QueueUrl=queue_url, MessageBody=json.dumps(ses_event("mail-cli")))
    code = cli.main(["--stack", name, "--region", "us-east-1", "dlq", "redrive", "--queue", "inbound"])
    out = capsys.readouterr().out
    assert code == 1
    assert "0 of 1 messages of the inbound dead-letter queue re-driven; 1 kept" in out
    assert "could not be invoked (ResourceNotFoundException" in out
    assert messages_in(stack, queue_url) == 1


def test_the_command_wants_a_stack_and_a_sane_max(stack: LocalStack, capsys: pytest.CaptureFixture[str],
                                                  monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    with pytest.raises(SystemExit):
        cli.main(["--stack", "x", "dlq", "redrive", "--max", "0"])
    assert "is not a whole number of 1 or more" in capsys.readouterr().err
    target = cli.Target(stack.client, stack.environment["TABLE_NAME"], stack.environment["USER_POOL_ID"])
    args = cli.parser().parse_args(["dlq", "redrive"])
    assert cli.redrive_dead_letters(target, args) == 2
    assert "pass --stack NAME" in capsys.readouterr().err


# --- the template's operations --------------------------------------------------------

def resources_of(kind: str) -> dict[str, Any]:
    return {k: v for k, v in load_template()["Resources"].items() if v["Type"] == kind}


def test_every_alarm_notifies_the_alarm_topic_which_may_mail_an_operator() -> None:
    template = load_template()
    alarms = resources_of("AWS::CloudWatch::Alarm")
    assert alarms and all(a["Properties"]["AlarmActions"] == [{"Ref": "AlarmTopic"}] for a in alarms.values())
    watched = {(a["Properties"]["Namespace"], a["Properties"]["MetricName"],
                json.dumps(a["Properties"].get("Dimensions", []), sort_keys=True)) for a in alarms.values()}
    for function in FUNCTIONS:
        for metric in ("Errors", "Throttles"):
            dims = json.dumps([{"Name": "FunctionName", "Value": {"Ref": function}}], sort_keys=True)
            assert ("AWS/Lambda", metric, dims) in watched
    for queue in ("InboundDeadLetterQueue", "NotifierDeadLetterQueue"):
        dims = json.dumps([{"Name": "QueueName", "Value": {"Fn::GetAtt": [queue, "QueueName"]}}], sort_keys=True)
        assert ("AWS/SQS", "ApproximateNumberOfMessagesVisible", dims) in watched
    assert {("AWS/SES", "Reputation.BounceRate"), ("AWS/SES", "Reputation.ComplaintRate"),
            ("AWS/ApiGateway", "5xx")} <= {(n, m) for n, m, _ in watched}
    subscription = template["Resources"]["AlarmEmailSubscription"]
    assert subscription["Condition"] == "HasAlarmEmail"
    assert subscription["Properties"]["Endpoint"] == {"Ref": "AlarmEmail"}
    assert template["Conditions"]["HasAlarmEmail"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmEmail"}, ""]}]}


def test_logs_are_kept_for_the_retention_chosen_not_forever() -> None:
    groups = resources_of("AWS::Logs::LogGroup")
    functions = resources_of("AWS::Serverless::Function")
    for name, function in functions.items():
        # Every function writes to a group of the stack's, made before it (it names the group),
        # named where no group Lambda made by itself can be (a function's name has no slash).
        group = function["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
        assert groups[group]["Properties"]["LogGroupName"] == {"Fn::Sub": f"/aws/lambda/${{AWS::StackName}}/{name}"}
    assert all(g["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"} for g in groups.values())
    logs_bucket = load_template()["Resources"]["LogsBucket"]["Properties"]
    assert logs_bucket["LifecycleConfiguration"]["Rules"][0]["ExpirationInDays"] == {"Ref": "LogRetentionDays"}


def test_access_is_logged_at_the_api_cloudfront_and_every_bucket() -> None:
    template = load_template()
    resources = template["Resources"]
    stage = resources["HttpApiApiGatewayDefaultStage"]["Properties"]["AccessLogSettings"]
    assert stage["DestinationArn"] == {"Fn::GetAtt": ["ApiAccessLogGroup", "Arn"]}
    assert json.loads(stage["Format"])["status"] == "$context.status"
    logging = resources["Distribution"]["Properties"]["DistributionConfig"]["Logging"]["Fn::If"]
    assert logging[0] == "CloudFrontCanLog" and logging[1]["Bucket"] == {"Fn::GetAtt": ["LogsBucket", "DomainName"]}
    # CloudFront's standard logs are written with an ACL grant: the bucket must keep ACLs.
    ownership = resources["LogsBucket"]["Properties"]["OwnershipControls"]["Rules"][0]["ObjectOwnership"]
    assert ownership == "BucketOwnerPreferred"
    for bucket in ("AttachmentsBucket", "InboundMailBucket", "SiteBucket"):
        config = resources[bucket]["Properties"]["LoggingConfiguration"]
        assert config["DestinationBucketName"] == {"Ref": "LogsBucket"}
        statement = resources["LogsBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"][0]
        prefix = statement["Resource"]["Fn::Sub"].removeprefix("${LogsBucket.Arn}/").rstrip("*")
        assert config["LogFilePrefix"].startswith(prefix)  # the policy lets S3 write there


def test_the_outputs_say_what_to_put_in_dns_and_what_to_run() -> None:
    outputs = load_template()["Outputs"]
    for n in (1, 2, 3):
        assert outputs[f"DkimRecord{n}"]["Value"] == {
            "Fn::Sub": f"${{MailIdentity.DkimDNSTokenName{n}}} CNAME ${{MailIdentity.DkimDNSTokenValue{n}}}"}
    assert outputs["MailExchangerRecord"]["Value"] == {
        "Fn::Sub": "${MailDomain} MX 10 inbound-smtp.${AWS::Region}.amazonaws.com"}
    assert "set-active-receipt-rule-set --rule-set-name ${InboundRuleSet}" in outputs["ActivateRuleSetCommand"]["Value"]["Fn::Sub"]
    assert "--rule-set-name" not in outputs["DeactivateRuleSetCommand"]["Value"]["Fn::Sub"]
    assert outputs["DistributionId"]["Value"] == {"Ref": "Distribution"}
    assert outputs["AlarmTopicArn"]["Value"] == {"Ref": "AlarmTopic"}
    assert "#dashboards:name=${Dashboard}" in outputs["DashboardUrl"]["Value"]["Fn::Sub"]


def test_every_receipt_rule_requires_tls() -> None:
    rules = resources_of("AWS::SES::ReceiptRule")
    assert rules and all(r["Properties"]["Rule"]["TlsPolicy"] == "Require" for r in rules.values())


def test_the_dashboard_body_is_json_with_every_function() -> None:
    (dashboard,) = resources_of("AWS::CloudWatch::Dashboard").values()
    body, names = dashboard["Properties"]["DashboardBody"]["Fn::Sub"]
    widgets = json.loads(body)["widgets"]
    text = json.dumps(widgets)
    assert all(f"${{{f}}}" in text for f in FUNCTIONS)
    assert "Reputation.BounceRate" in text and "${HttpApi}" in text
    assert set(names) == {"InboundDeadLetter", "NotifierDeadLetter"}
