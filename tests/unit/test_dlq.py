"""devtools.dlq reads each kind of dead letter an asynchronous path leaves."""

from __future__ import annotations

import json

from devtools.dlq import parse

EVENT = {"source": "r1.billing", "detail-type": "PurchaseCompleted", "detail": {"purchaseId": "P-1"}}
FUNCTION = "arn:aws:lambda:eu-central-1:123456789012:function:PurchaseCompletedFunction"


def message(body: object, **attributes: str) -> dict[str, object]:
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

    letter = parse(message(record))

    assert (letter.event, letter.function, letter.sent_ms) == (EVENT, FUNCTION + ":$LATEST", 1796000000000)
    assert letter.reason == "OutcomeUnknown: sevDesk did not confirm"


def test_a_refusal_of_the_bundle_names_its_reason() -> None:
    record = {
        "requestContext": {"functionArn": FUNCTION, "condition": "RejectedByFunction"},
        "requestPayload": EVENT,
        "responsePayload": {"errorType": "malformed_event", "errorMessage": "detail.items: Field required"},
    }

    assert parse(message(record, reason="malformed_event")).reason.startswith("malformed_event: detail.items")


def test_eventbridge_and_lambda_dead_letters_carry_the_event_itself() -> None:
    from_rule = parse(message(EVENT, ERROR_CODE="SDK_CLIENT_ERROR", TARGET_ARN=FUNCTION))
    from_lambda = parse(message(EVENT, ErrorMessage="Task timed out"))

    assert from_rule.event == from_lambda.event == EVENT
    assert from_rule.function == FUNCTION and from_lambda.function is None  # --function names it
    assert from_lambda.reason == "Task timed out"
