"""`python -m devtools.dlq replay QUEUE`: re-drive a dead-letter queue to its function once the
cause is fixed. Works against AWS (QUEUE is the queue URL, e.g. the stack output
PurchaseEventsDeadLetterQueueUrl) and against the local stack (QUEUE is the template's logical id).

It reads the kinds of message the asynchronous paths leave:
- Lambda's OnFailure destination record, and the bundle's own refusals (sevdesk_common.dead_letters,
  same shape): the event is `requestPayload`, the function `requestContext.functionArn`;
- a Lambda DeadLetterQueue message or an EventBridge rule's dead letter: the body is the event
  itself (EventBridge names its target in the TARGET_ARN attribute), else --function names it.

Each event is invoked synchronously, one at a time. The message is deleted when the function
succeeded, or when it refused the event again and said it dead-lettered it itself (a fresh
message with the new reason is then in the queue); otherwise it stays. Messages that arrive while
the run goes on (such fresh copies) are left for the next run, so a run always ends; nothing is
lost and, the functions being idempotent, nothing is done twice.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# (function, event) -> (the invocation succeeded, its result or error payload)
Invoker = Callable[[str, Any], tuple[bool, Any]]
VISIBILITY_SECONDS = 300  # longer than any async function's timeout


@dataclass(frozen=True)
class DeadLetter:
    message_id: str
    receipt: str
    sent_ms: int
    event: Any
    function: str | None
    reason: str


@dataclass
class Report:
    replayed: list[str] = field(default_factory=list)
    refused_again: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.kept and not self.unreadable


def parse(message: dict[str, Any]) -> DeadLetter:
    """One SQS message as a dead letter; ValueError when its body is no JSON event."""
    body = json.loads(message["Body"])
    attributes = {k: v.get("StringValue") for k, v in (message.get("MessageAttributes") or {}).items()}
    sent = int((message.get("Attributes") or {}).get("SentTimestamp", "0"))
    if isinstance(body, dict) and "requestPayload" in body and "requestContext" in body:
        response = body.get("responsePayload") or {}
        reason = (
            attributes.get("reason")
            or (response.get("errorType") if isinstance(response, dict) else None)
            or body["requestContext"].get("condition", "")
        )
        message_text = response.get("errorMessage", "") if isinstance(response, dict) else str(response)
        return DeadLetter(
            message["MessageId"],
            message["ReceiptHandle"],
            sent,
            body["requestPayload"],
            body["requestContext"].get("functionArn"),
            f"{reason}: {message_text}".strip(": "),
        )
    reason = (
        attributes.get("ERROR_MESSAGE")
        or attributes.get("ErrorMessage")
        or attributes.get("ERROR_CODE")
        or ""
    )
    return DeadLetter(
        message["MessageId"], message["ReceiptHandle"], sent, body, attributes.get("TARGET_ARN"), reason
    )


def redrive(
    sqs: Any,
    queue_url: str,
    invoke: Invoker,
    *,
    function: str | None = None,
    dry_run: bool = False,
    limit: int | None = None,
    say: Callable[[str], None] = print,
) -> Report:
    """Replay what is in the queue now (see the module's docstring)."""
    started_ms = int(time.time() * 1000)
    report = Report()
    held: list[str] = []  # receipts of messages left in the queue, made visible again at the end
    try:
        while limit is None or len(report.replayed) + len(report.refused_again) + len(report.kept) < limit:
            answer = sqs.receive_message(
                QueueUrl=queue_url,
                MaxNumberOfMessages=1,
                WaitTimeSeconds=0,
                VisibilityTimeout=VISIBILITY_SECONDS,
                AttributeNames=["SentTimestamp"],
                MessageAttributeNames=["All"],
            )
            messages = answer.get("Messages") or []
            if not messages:
                break
            message = messages[0]
            try:
                letter = parse(message)
            except (ValueError, KeyError) as error:
                report.unreadable.append(message["MessageId"])
                held.append(message["ReceiptHandle"])
                say(f"kept {message['MessageId']}: not a readable dead letter ({error})")
                continue
            if letter.sent_ms > started_ms:  # arrived during this run: the next run's
                held.append(letter.receipt)
                continue
            target = function or letter.function
            if target is None:
                report.kept.append(letter.message_id)
                held.append(letter.receipt)
                say(f"kept {letter.message_id}: it names no function; pass --function")
                continue
            if dry_run:
                held.append(letter.receipt)
                report.kept.append(letter.message_id)
                say(f"would replay {letter.message_id} to {target} ({letter.reason})")
                continue
            _replay(sqs, queue_url, invoke, letter, target, report, held, say)
    finally:
        for receipt in held:
            sqs.change_message_visibility(QueueUrl=queue_url, ReceiptHandle=receipt, VisibilityTimeout=0)
    say(
        f"replayed {len(report.replayed)}, refused again {len(report.refused_again)}, "
        f"kept {len(report.kept) + len(report.unreadable)}"
    )
    return report


def _replay(
    sqs: Any,
    queue_url: str,
    invoke: Invoker,
    letter: DeadLetter,
    target: str,
    report: Report,
    held: list[str],
    say: Callable[[str], None],
) -> None:
    succeeded, result = invoke(target, letter.event)
    outcome = result if isinstance(result, dict) else {}
    if succeeded and outcome.get("deadLettered"):
        report.refused_again.append(letter.message_id)
        why = outcome.get("reason") or outcome.get("error")
        say(f"refused again {letter.message_id}: {why} (the function queued it anew)")
    elif succeeded and outcome.get("status") != "failed":
        report.replayed.append(letter.message_id)
        say(f"replayed {letter.message_id}: {outcome.get('status', 'ok')}")
    else:
        report.kept.append(letter.message_id)
        held.append(letter.receipt)
        error = outcome.get("errorMessage") or outcome.get("error") or result
        say(f"kept {letter.message_id}: {error}")
        return
    sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=letter.receipt)


def lambda_invoker(lambda_client: Any) -> Invoker:
    """Invoke a function synchronously through the Lambda API (AWS, or the local stack's moto)."""

    def invoke(function: str, event: Any) -> tuple[bool, Any]:
        answer = lambda_client.invoke(FunctionName=function, Payload=json.dumps(event).encode())
        payload = json.loads(answer["Payload"].read() or b"null")
        return not answer.get("FunctionError"), payload

    return invoke


def _local_queue(state_dir: Path, queue: str) -> tuple[str, str]:
    """(moto endpoint, queue URL) of a queue of the running local stack, by its logical id."""
    stack = state_dir / "stack.json"
    if not stack.exists():
        raise SystemExit(f"no local stack running ({stack} missing): `make local`, or give the queue's URL")
    state = json.loads(stack.read_text())
    queues: dict[str, str] = state["resources"].get("queues", {})
    if queue not in queues:
        raise SystemExit(f"unknown queue {queue!r}; the local stack has: {', '.join(queues) or 'none'}")
    return state["moto_url"], queues[queue]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.dlq", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    replay = sub.add_parser("replay", help="re-drive a dead-letter queue to its function")
    replay.add_argument("queue", help="queue URL (AWS), or the template's logical id (local stack)")
    replay.add_argument("--function", help="function for messages that name none (name or ARN)")
    replay.add_argument("--state-dir", type=Path, default=Path(".local"), help="the local stack's state dir")
    replay.add_argument("--dry-run", action="store_true", help="list what would be replayed")
    replay.add_argument("--limit", type=int, help="replay at most this many messages")
    args = parser.parse_args(argv)

    import boto3

    if args.queue.startswith(("https://", "http://")):
        endpoint, queue_url = None, args.queue
    else:
        endpoint, queue_url = _local_queue(args.state_dir, args.queue)
    options: dict[str, Any] = {"endpoint_url": endpoint} if endpoint else {}
    if endpoint:
        options.update(
            region_name="eu-central-1", aws_access_key_id="testing", aws_secret_access_key="testing"
        )
    sqs = boto3.client("sqs", **options)
    invoker = lambda_invoker(boto3.client("lambda", **options))
    report = redrive(sqs, queue_url, invoker, function=args.function, dry_run=args.dry_run, limit=args.limit)
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
