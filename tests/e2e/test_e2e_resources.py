"""moto holds what template.yaml declares (the template is the only source of these definitions)."""

from __future__ import annotations

import json

import pytest

from devtools.local.stack import LocalStack
from tests.e2e.e2e_support import aws

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


def test_tables_match_the_template(stack: LocalStack) -> None:
    ddb = aws(stack, "dynamodb")
    tables = stack.template.of_type("AWS::DynamoDB::Table")
    assert tables
    for logical_id, res in tables.items():
        props = res["Properties"]
        name = stack.template.physical_name(logical_id)
        table = ddb.describe_table(TableName=name)["Table"]
        assert table["KeySchema"] == props["KeySchema"]
        assert {a["AttributeName"] for a in table["AttributeDefinitions"]} == {
            a["AttributeName"] for a in props["AttributeDefinitions"]
        }
        assert table["BillingModeSummary"]["BillingMode"] == props["BillingMode"]
        declared = {g["IndexName"]: g["KeySchema"] for g in props.get("GlobalSecondaryIndexes", [])}
        assert {g["IndexName"]: g["KeySchema"] for g in table.get("GlobalSecondaryIndexes", [])} == declared
        ttl = ddb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
        assert ttl["AttributeName"] == props["TimeToLiveSpecification"]["AttributeName"]
        assert ttl["TimeToLiveStatus"] == "ENABLED"


def test_functions_get_the_resolved_environment(stack: LocalStack) -> None:
    env = stack.describe()["environment"]["config_get"]
    assert env["TABLE_NAME"] == stack.template.physical_name("StateTable")
    assert env["SEVDESK_SECRET_ID"] == stack.template.physical_name("SevdeskTokenSecret")
    assert env["STAGE"] == "dev"
    if stack.emulator_url:
        assert env["SEVDESK_BASE_URL"] == stack.emulator_url
    # Only the hand-over function may start the auto-publish worker.
    assert "AUTO_PUBLISH_FUNCTION_NAME" not in env
    assert stack.describe()["environment"]["billing_invoice_put"]["AUTO_PUBLISH_FUNCTION_NAME"]


def test_secret_holds_the_local_token(stack: LocalStack) -> None:
    sm = aws(stack, "secretsmanager")
    for logical_id in stack.template.of_type("AWS::SecretsManager::Secret"):
        value = json.loads(
            sm.get_secret_value(SecretId=stack.template.physical_name(logical_id))["SecretString"]
        )
        assert len(value["apiToken"]) == 32


def test_buckets_exist(stack: LocalStack) -> None:
    names = {b["Name"] for b in aws(stack, "s3").list_buckets()["Buckets"]}
    for logical_id in stack.template.of_type("AWS::S3::Bucket"):
        assert stack.template.physical_name(logical_id) in names


def test_lambda_invoke_through_moto_reaches_the_handler(stack: LocalStack) -> None:
    lam = aws(stack, "lambda")
    with stack.functions.override("ConfigGetFunction", lambda e, c: {"echo": e, "fn": c.function_name}):
        by_name = lam.invoke(FunctionName="ConfigGetFunction", Payload=b'{"x": 1}')
        by_arn = lam.invoke(FunctionName=stack.functions.spec("config_get").arn, Payload=b"{}")
    assert json.loads(by_name["Payload"].read()) == {"echo": {"x": 1}, "fn": "ConfigGetFunction"}
    assert by_arn["StatusCode"] == 200


def test_lambda_invoke_errors_look_like_lambda(stack: LocalStack) -> None:
    def boom(event: object, context: object) -> None:
        raise KeyError("missing")

    lam = aws(stack, "lambda")
    with stack.functions.override("ConfigGetFunction", boom):
        resp = lam.invoke(FunctionName="config_get", Payload=b"{}")
        queued = lam.invoke(FunctionName="config_get", Payload=b"{}", InvocationType="Event")
    assert resp["FunctionError"] == "Unhandled"
    error = json.loads(resp["Payload"].read())
    assert error["errorType"] == "KeyError"
    assert set(error) == {"errorMessage", "errorType", "stackTrace"}
    assert queued["StatusCode"] == 202
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.invoke(FunctionName="NoSuchFunction", Payload=b"{}")
