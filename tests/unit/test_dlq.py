"""`devtools.dlq`: each kind of dead letter an asynchronous path leaves is read; which dead-letter
queue feeds what, read from a template; re-driving to a queue and to a state machine (moto)
without losing or doubling a message (re-driving to functions: tests/integration/test_purchase_events.py
and tests/e2e/test_e2e_dead_letters.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from moto import mock_aws

from devtools.dlq import Relation, _send, parse, relations, replay

TEMPLATE: dict[str, Any] = {
    "Resources": {
        "WorkerFunction": {
            "Type": "AWS::Serverless::Function",
            "Properties": {
                "EventInvokeConfig": {
                    "DestinationConfig": {
                        "OnFailure": {
                            "Type": "SQS",
                            "Destination": {"Fn::GetAtt": "WorkerDeadLetterQueue.Arn"},
                        }
                    }
                },
                "Events": {
                    "Nightly": {
                        "Type": "Schedule",
                        "Properties": {
                            "DeadLetterConfig": {"Arn": {"Fn::GetAtt": ["WorkerDeadLetterQueue", "Arn"]}}
                        },
                    }
                },
            },
        },
        "WorkerDeadLetterQueue": {"Type": "AWS::SQS::Queue"},
        "PurchasesQueue": {
            "Type": "AWS::SQS::Queue",
            "Properties": {
                "RedrivePolicy": {"deadLetterTargetArn": {"Fn::GetAtt": "PurchasesDeadLetterQueue.Arn"}}
            },
        },
        "PurchasesDeadLetterQueue": {"Type": "AWS::SQS::Queue"},
        "ExportStateMachine": {"Type": "AWS::Serverless::StateMachine"},
        "ExportDeadLetterQueue": {"Type": "AWS::SQS::Queue"},
        "ExportFailedRule": {
            "Type": "AWS::Events::Rule",
            "Properties": {
                "EventPattern": {
                    "source": ["aws.states"],
                    "detail": {"stateMachineArn": [{"Ref": "ExportStateMachine"}], "status": ["FAILED"]},
                },
                "Targets": [{"Id": "dlq", "Arn": {"Fn::GetAtt": "ExportDeadLetterQueue.Arn"}}],
            },
        },
    }
}


def test_each_queue_is_traced_to_its_target() -> None:
    assert [(r.queue, r.kind, r.target) for r in relations(TEMPLATE)] == [
        ("ExportDeadLetterQueue", "state_machine", "ExportStateMachine"),
        ("PurchasesDeadLetterQueue", "queue", "PurchasesQueue"),
        ("WorkerDeadLetterQueue", "function", "WorkerFunction"),  # OnFailure and the schedule's: one
    ]


@dataclass
class MotoPlace:
    ids: dict[str, str]

    def client(self, service: str) -> Any:
        return boto3.client(service, region_name="eu-central-1")

    def physical(self, logical_id: str) -> str:
        return self.ids[logical_id]


@pytest.fixture
def place() -> Iterator[MotoPlace]:
    with mock_aws():
        sqs = boto3.client("sqs", region_name="eu-central-1")
        ids = {
            name: sqs.create_queue(QueueName=name)["QueueUrl"]
            for name in ("PurchasesQueue", "PurchasesDeadLetterQueue", "ExportDeadLetterQueue")
        }
        machine = boto3.client("stepfunctions", region_name="eu-central-1").create_state_machine(
            name="export",
            definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}),
            roleArn="arn:aws:iam::123456789012:role/export",
        )
        ids["ExportStateMachine"] = machine["stateMachineArn"]
        yield MotoPlace(ids)


def visible(place: MotoPlace, queue: str) -> list[dict[str, Any]]:
    sqs = place.client("sqs")
    return sqs.receive_message(
        QueueUrl=place.ids[queue], MaxNumberOfMessages=10, MessageAttributeNames=["All"]
    ).get("Messages", [])


def test_a_queues_dead_letters_go_back_to_it_with_their_attributes(place: MotoPlace) -> None:
    sqs = place.client("sqs")
    attributes = {"source": {"DataType": "String", "StringValue": "r1"}}
    sqs.send_message(
        QueueUrl=place.ids["PurchasesDeadLetterQueue"],
        MessageBody='{"order": 7}',
        MessageAttributes=attributes,
    )

    outcome = replay(Relation("PurchasesDeadLetterQueue", "queue", "PurchasesQueue", "test"), place)

    assert (outcome.redriven, outcome.failed) == (1, [])
    [back] = visible(place, "PurchasesQueue")
    assert back["Body"] == '{"order": 7}' and back["MessageAttributes"] == attributes
    assert visible(place, "PurchasesDeadLetterQueue") == []


def test_a_failed_execution_starts_again_once_with_its_input(place: MotoPlace) -> None:
    sqs, sfn = place.client("sqs"), place.client("stepfunctions")
    event = {
        "detail-type": "Step Functions Execution Status Change",
        "detail": {"name": "job-1", "input": '{"jobId": "job-1"}', "status": "FAILED"},
    }
    sqs.send_message(QueueUrl=place.ids["ExportDeadLetterQueue"], MessageBody=json.dumps(event))
    relation = Relation("ExportDeadLetterQueue", "state_machine", "ExportStateMachine", "test")
    [message] = visible(place, "ExportDeadLetterQueue")
    sqs.change_message_visibility(
        QueueUrl=place.ids["ExportDeadLetterQueue"],
        ReceiptHandle=message["ReceiptHandle"],
        VisibilityTimeout=0,
    )
    # an earlier run started it and died before deleting the message: not started twice
    _send("state_machine", place.ids["ExportStateMachine"], event, message, place)

    outcome = replay(relation, place)

    assert outcome.redriven == 1
    [execution] = sfn.list_executions(stateMachineArn=place.ids["ExportStateMachine"])["executions"]
    assert execution["name"].startswith("job-1-replay-")
    started = sfn.describe_execution(executionArn=execution["executionArn"])
    assert json.loads(started["input"]) == {"jobId": "job-1"}
    assert visible(place, "ExportDeadLetterQueue") == []


# ---------------------------------------------------------------- reading dead letters

EVENT = {"source": "r1.billing", "detail-type": "PurchaseCompleted", "detail": {"purchaseId": "P-1"}}
FUNCTION = "arn:aws:lambda:eu-central-1:123456789012:function:PurchaseCompletedFunction"


def dead_letter_message(body: object, **attributes: str) -> dict[str, object]:
    return {
        "MessageId": "m-1",
        "ReceiptHandle": "r-1",
        "Body": json.dumps(body),
        "Attributes": {"SentTimestamp": "1796000000000"},
        "MessageAttributes": {k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()},
    }


def test_lambdas_on_failure_destination_record() -> None:
    record = {
        "requestContext": {"functionArn": FUNCTION + ":$LATEST", "condition": "RetriesExhausted"},
        "requestPayload": EVENT,
        "responsePayload": {"errorType": "OutcomeUnknown", "errorMessage": "sevDesk did not confirm"},
    }

    letter = parse(dead_letter_message(record))

    assert (letter.event, letter.function, letter.sent_ms) == (EVENT, FUNCTION + ":$LATEST", 1796000000000)
    assert letter.reason == "OutcomeUnknown: sevDesk did not confirm"


def test_a_refusal_of_the_bundle_names_its_reason() -> None:
    record = {
        "requestContext": {"functionArn": FUNCTION, "condition": "RejectedByFunction"},
        "requestPayload": EVENT,
        "responsePayload": {"errorType": "malformed_event", "errorMessage": "detail.items: Field required"},
    }

    assert parse(dead_letter_message(record, reason="malformed_event")).reason.startswith(
        "malformed_event: detail.items"
    )


def test_eventbridge_and_lambda_dead_letters_carry_the_event_itself() -> None:
    from_rule = parse(dead_letter_message(EVENT, ERROR_CODE="SDK_CLIENT_ERROR", TARGET_ARN=FUNCTION))
    from_lambda = parse(dead_letter_message(EVENT, ErrorMessage="Task timed out"))

    assert from_rule.event == from_lambda.event == EVENT
    assert from_rule.function == FUNCTION and from_lambda.function is None  # --function names it
    assert from_lambda.reason == "Task timed out"
