"""The recorder: real botocore calls (against moto) become the IAM actions and resources they need."""

from __future__ import annotations

import ast
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import botocore.client
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from devtools.grants import recorder
from tests.support.aws import create_state_table

TABLE = "grants-test-table"
BUCKET = "grants-test-bucket"
WORKER_ARN = "arn:aws:lambda:eu-central-1:123456789012:function:worker"


class Recording:
    def __init__(self, sink: Path) -> None:
        self.sink = sink
        self.function: str | None = None  # None while setting up: nothing recorded

    def lines(self) -> list[dict[str, Any]]:
        return [
            json.loads(line)
            for path in self.sink.glob("calls-*.jsonl")
            for line in path.read_text().splitlines()
        ]

    def needs(self) -> list[dict[str, Any]]:
        return [need for line in self.lines() for need in line["needs"]]


@pytest.fixture
def recording(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Recording]:
    monkeypatch.setenv("TABLE_NAME", TABLE)
    monkeypatch.setenv("EXPORT_BUCKET", BUCKET)
    rec = Recording(tmp_path / "calls")
    with mock_aws(), recorder.recording(rec.sink, lambda: rec.function):
        create_state_table(TABLE)
        boto3.client("s3").create_bucket(
            Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-central-1"}
        )
        rec.function = "SomeFunction"
        yield rec


def test_a_call_is_recorded_with_its_function_action_and_the_variable_naming_its_resource(
    recording: Recording,
) -> None:
    boto3.resource("dynamodb").Table(TABLE).put_item(Item={"pk": "a", "sk": "b"})

    assert recording.lines() == [
        {
            "function": "SomeFunction",
            "service": "dynamodb",
            "operation": "PutItem",
            "needs": [
                {
                    "action": "dynamodb:PutItem",
                    "resource": {"kind": "table", "id": TABLE, "env": ["TABLE_NAME"]},
                }
            ],
        }
    ]


def test_a_transaction_needs_the_action_of_each_item(recording: Recording) -> None:
    client = boto3.client("dynamodb")
    key = {"pk": {"S": "a"}, "sk": {"S": "b"}}
    other = {"pk": {"S": "c"}, "sk": {"S": "d"}}
    update = {"UpdateExpression": "SET n = :n", "ExpressionAttributeValues": {":n": {"N": "1"}}}
    client.transact_write_items(
        TransactItems=[
            {"Put": {"TableName": TABLE, "Item": {"pk": {"S": "x"}, "sk": {"S": "y"}}}},
            {"Update": {"TableName": TABLE, "Key": key, **update}},
            {
                "ConditionCheck": {
                    "TableName": TABLE,
                    "Key": other,
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
        ]
    )
    client.transact_write_items(TransactItems=[{"Delete": {"TableName": TABLE, "Key": key}}])

    assert [n["action"] for n in recording.needs()] == [
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:ConditionCheckItem",
        "dynamodb:DeleteItem",
    ]
    assert {n["resource"]["id"] for n in recording.needs()} == {TABLE}


def test_a_query_on_an_index_targets_the_index(recording: Recording) -> None:
    boto3.resource("dynamodb").Table(TABLE).query(
        IndexName="gsi1",
        KeyConditionExpression="gsi1pk = :pk",
        ExpressionAttributeValues={":pk": "PAYSYNC#sevdesk"},
    )

    assert recording.needs() == [
        {
            "action": "dynamodb:Query",
            "resource": {"kind": "index", "id": TABLE, "sub": "gsi1", "env": ["TABLE_NAME"]},
        }
    ]


def test_batch_operations_need_their_own_action_on_every_table(recording: Recording) -> None:
    boto3.client("dynamodb").batch_get_item(
        RequestItems={TABLE: {"Keys": [{"pk": {"S": "a"}, "sk": {"S": "b"}}]}}
    )

    assert [(n["action"], n["resource"]["id"]) for n in recording.needs()] == [
        ("dynamodb:BatchGetItem", TABLE)
    ]


def test_a_failing_call_still_counts(recording: Recording) -> None:
    with pytest.raises(ClientError):
        boto3.client("dynamodb").get_item(TableName="no-such-table", Key={"pk": {"S": "a"}})

    assert recording.needs() == [
        {"action": "dynamodb:GetItem", "resource": {"kind": "table", "id": "no-such-table", "env": []}}
    ]


def test_s3_operations_map_to_their_iam_actions_and_presigning_counts(recording: Recording) -> None:
    s3 = boto3.client("s3")
    s3.put_object(Bucket=BUCKET, Key="exports/a.csv", Body=b"x")
    s3.head_object(Bucket=BUCKET, Key="exports/a.csv")
    s3.list_objects_v2(Bucket=BUCKET, Prefix="exports/")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": "exports/a.csv"})

    assert url.startswith("https://")
    assert [(n["action"], n["resource"]["kind"], n["resource"].get("sub")) for n in recording.needs()] == [
        ("s3:PutObject", "object", "exports/a.csv"),
        ("s3:GetObject", "object", "exports/a.csv"),
        ("s3:ListBucket", "bucket", None),
        ("s3:GetObject", "object", "exports/a.csv"),
    ]
    assert recording.lines()[-1]["presigned"] is True
    assert {tuple(n["resource"]["env"]) for n in recording.needs()} == {("EXPORT_BUCKET",)}


def test_calls_of_no_function_are_not_recorded(recording: Recording) -> None:
    recording.function = None

    boto3.client("dynamodb").describe_table(TableName=TABLE)

    assert recording.lines() == []


def test_install_is_idempotent_and_recording_restores_what_was_there(tmp_path: Path) -> None:
    before = botocore.client.BaseClient._make_api_call
    with mock_aws(), recorder.recording(tmp_path, "A"):
        wrapped = botocore.client.BaseClient._make_api_call
        recorder.install(tmp_path, "A")
        assert botocore.client.BaseClient._make_api_call is wrapped
        boto3.client("sqs").list_queues()

    assert botocore.client.BaseClient._make_api_call is before
    assert len((tmp_path / next(p.name for p in tmp_path.iterdir())).read_text().splitlines()) == 1


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"FunctionName": "worker"}, ("worker", None)),
        ({"FunctionName": "worker:live"}, ("worker", "live")),
        ({"FunctionName": f"{WORKER_ARN}:3"}, (WORKER_ARN, "3")),
        ({"FunctionName": "worker", "Qualifier": "live"}, ("worker", "live")),
    ],
)  # fmt: skip
def test_lambda_function_names_in_every_form(params: dict[str, Any], expected: tuple[str, Any]) -> None:
    (need,) = recorder.needs("lambda", "Invoke", params, {"WORKER": "worker"})

    assert need["action"] == "lambda:InvokeFunction"
    assert (need["resource"]["id"], need["resource"].get("sub")) == expected
    assert need["resource"]["env"] == ["WORKER"]


def test_an_object_lock_retention_on_a_put_needs_its_own_action() -> None:
    params = {
        "Bucket": "docs",
        "Key": "a.xml",
        "ObjectLockMode": "GOVERNANCE",
        "ObjectLockRetainUntilDate": 1,
    }

    needs = recorder.needs("s3", "PutObject", params, {"EXPORT_BUCKET": "docs"})

    assert [n["action"] for n in needs] == ["s3:PutObject", "s3:PutObjectRetention"]
    assert {n["resource"]["sub"] for n in needs} == {"a.xml"}


def test_an_execution_is_named_through_its_state_machine() -> None:
    machine = "arn:aws:states:eu-central-1:1:stateMachine:export"
    execution = "arn:aws:states:eu-central-1:1:execution:export:run-1"

    (need,) = recorder.needs("states", "DescribeExecution", {"executionArn": execution}, {"MACHINE": machine})

    assert need == {
        "action": "states:DescribeExecution",
        "resource": {"kind": "execution", "id": machine, "sub": "run-1", "env": ["MACHINE"]},
    }


def test_the_recorder_imports_only_the_standard_library_and_botocore() -> None:
    # Worker processes load it by path with nothing but boto3 installed.
    tree = ast.parse(Path(recorder.__file__).read_text())
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    imported |= {
        node.module.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module
    }

    assert imported - {"botocore"} <= set(sys.stdlib_module_names) | {"__future__"}
