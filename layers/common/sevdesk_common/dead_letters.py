"""Events a function refuses go to its dead-letter queue (SQS) with the reason, never nowhere.

The message has the shape of Lambda's own OnFailure destination record (requestContext,
requestPayload, responsePayload), which is what the same queue receives when Lambda gives up
after its retries, so one replay tool (`python -m devtools.dlq`) re-drives both kinds; the
condition `RejectedByFunction` and the `reason` attribute tell them apart.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, Protocol

import boto3

from sevdesk_common.observability import logger, metrics
from sevdesk_common.settings import get_settings

REJECTED = "RejectedByFunction"


class InvocationContext(Protocol):
    @property
    def aws_request_id(self) -> str: ...

    @property
    def invoked_function_arn(self) -> str: ...


@lru_cache(maxsize=1)
def _sqs() -> Any:
    return boto3.client("sqs", region_name=get_settings().aws_region)


def reject(
    event: Any, *, reason: str, message: str, details: Any = None, context: InvocationContext | None = None
) -> None:
    """Put `event` into the dead-letter queue with why it was refused. Raises when that is not
    possible (no queue configured, SQS failing): the invocation then fails, and Lambda's retries
    and its own OnFailure destination take over; the event is never dropped."""
    queue_url = get_settings().dead_letter_queue_url
    if not queue_url:
        raise RuntimeError(f"event refused ({reason}) but no DEAD_LETTER_QUEUE_URL is configured")
    record = {
        "version": "1.0",
        "timestamp": datetime.now(UTC).isoformat(),
        "requestContext": {
            "requestId": getattr(context, "aws_request_id", None),
            "functionArn": getattr(context, "invoked_function_arn", None),
            "condition": REJECTED,
            "approximateInvokeCount": 1,
        },
        "requestPayload": event,
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Rejected"},
        "responsePayload": {"errorType": reason, "errorMessage": message, "details": details},
    }
    _sqs().send_message(
        QueueUrl=queue_url,
        MessageBody=json.dumps(record, default=str),
        MessageAttributes={"reason": {"DataType": "String", "StringValue": reason}},
    )
    metrics.add_metric(name="EventsDeadLettered", unit="Count", value=1)
    logger.warning("event refused: sent to the dead-letter queue", extra={"reason": reason, "why": message})
