"""`python -m devtools.dlq list | replay [QUEUE ...]`: re-drive the template's dead-letter queues
to their targets once the cause is fixed, against the running local stack or a deployed stack
(`--stack-name`).

Which queue feeds what is read from template.yaml, so a new asynchronous path needs no code here:

- a function's `EventInvokeConfig` OnFailure destination, or an event's `DeadLetterConfig`
  -> the message goes back to a function: Lambda's failure record (and the bundle's own
  refusals, `sevdesk_common.dead_letters`, same shape) carries the event and names the function;
  an EventBridge or Lambda dead letter is the event itself (EventBridge names its target in the
  TARGET_ARN attribute), else the template's function;
- an SQS queue's `RedrivePolicy` -> the message goes back to the queue it came from;
- an `AWS::Events::Rule` on a state machine's failed executions with the queue as target
  -> a new execution with the failed one's input.

Nothing lost: a message is deleted only after its target accepted it (a function answered
without error, the queue took it, the execution started); what fails again stays and is
reported. A function that refuses the event again and dead-letters it itself (a fresh message
with the new reason) counts as refused again. Messages that arrive while a run goes on (such
fresh copies) are left for the next run, so a run always ends. Nothing doubled: each message is
re-driven at most once per run; a re-started execution is named after the message; the
functions behind the queues are idempotent (publish finishes what was started, never twice).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

import boto3
from botocore.exceptions import ClientError
from samtranslator.yaml_helper import yaml_parse

Kind = Literal["function", "queue", "state_machine"]
# While a run handles a message, nobody else gets it (longer than any function's timeout).
_IN_FLIGHT_SECONDS = 900


@dataclass(frozen=True)
class Relation:
    queue: str  # the dead-letter queue's logical id
    kind: Kind
    target: str  # logical id of what its messages go back to
    via: str  # where the template says so


def _ref(value: Any) -> str | None:
    """The logical id an intrinsic names (!Ref X, !GetAtt X.Arn)."""
    if isinstance(value, dict) and len(value) == 1:
        ((key, argument),) = value.items()
        if key == "Ref" and isinstance(argument, str):
            return argument
        if key == "Fn::GetAtt":
            return str(argument[0] if isinstance(argument, list) else argument.split(".")[0])
    return None


def relations(template: dict[str, Any]) -> list[Relation]:
    resources: dict[str, dict[str, Any]] = template.get("Resources", {})
    found: list[Relation] = []
    for lid, res in resources.items():
        props = res.get("Properties") or {}
        kind = res.get("Type")
        if kind in ("AWS::Serverless::Function", "AWS::Lambda::Function"):
            on_failure = ((props.get("EventInvokeConfig") or {}).get("DestinationConfig") or {}).get(
                "OnFailure"
            )
            queue = _ref((on_failure or {}).get("Destination"))
            if queue:
                found.append(Relation(queue, "function", lid, f"{lid} OnFailure"))
            for name, event in (props.get("Events") or {}).items():
                queue = _ref(((event.get("Properties") or {}).get("DeadLetterConfig") or {}).get("Arn"))
                if queue:
                    found.append(Relation(queue, "function", lid, f"{lid}.Events.{name} DeadLetterConfig"))
        elif kind == "AWS::SQS::Queue":
            queue = _ref((props.get("RedrivePolicy") or {}).get("deadLetterTargetArn"))
            if queue:
                found.append(Relation(queue, "queue", lid, f"{lid} RedrivePolicy"))
        elif kind == "AWS::Events::Rule":
            machines = ((props.get("EventPattern") or {}).get("detail") or {}).get("stateMachineArn") or []
            for target in props.get("Targets") or []:
                queue = _ref(target.get("Arn"))
                for machine in filter(None, (_ref(m) for m in machines)):
                    if queue and resources.get(queue, {}).get("Type") == "AWS::SQS::Queue":
                        found.append(Relation(queue, "state_machine", machine, f"{lid} (failed executions)"))
    unique: dict[tuple[str, str], Relation] = {}
    for relation in found:
        unique.setdefault((relation.queue, relation.target), relation)
    return sorted(unique.values(), key=lambda r: (r.queue, r.target))


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
    """What one run did with one queue."""

    queue: str = ""
    replayed: list[str] = field(default_factory=list)
    refused_again: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # left in the queue (failed again, or a dry run)
    unreadable: list[str] = field(default_factory=list)
    failed: list[dict[str, Any]] = field(default_factory=list)  # why each kept one failed
    seen: list[dict[str, Any]] = field(default_factory=list)  # dry run: what would be re-driven

    @property
    def ok(self) -> bool:
        return not self.failed and not self.unreadable and len(self.kept) == len(self.seen)

    @property
    def redriven(self) -> int:
        return len(self.replayed)

    def summary(self, dry_run: bool = False) -> dict[str, Any]:
        answer: dict[str, Any] = {"queue": self.queue, "redriven": self.redriven, "failed": self.failed}
        if self.refused_again:
            answer["refusedAgain"] = len(self.refused_again)
        if dry_run:
            answer["wouldRedrive"] = self.seen
        return answer


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
    say: Callable[[str], None] = lambda line: print(line, file=sys.stderr),
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
            target = letter.function or function  # a record names its own function
            if target is None:
                report.kept.append(letter.message_id)
                held.append(letter.receipt)
                say(f"kept {letter.message_id}: it names no function; pass --function")
                continue
            if dry_run:
                held.append(letter.receipt)
                report.kept.append(letter.message_id)
                report.seen.append({"messageId": letter.message_id, "target": target, "kind": "function"})
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
        report.failed.append({"messageId": letter.message_id, "target": target, "error": str(error)[:500]})
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


# ---------------------------------------------------------------- where things are


class Place(Protocol):
    def client(self, service: str) -> Any: ...

    def physical(self, logical_id: str) -> str: ...

    def invoke(self, function: str, event: Any) -> tuple[bool, Any]: ...


@dataclass
class LocalStackPlace:
    """The running local stack (its state dir's stack.json)."""

    moto_url: str
    template_path: Path

    def client(self, service: str) -> Any:
        from devtools.local.moto_server import client

        return client(service, self.moto_url)

    def invoke(self, function: str, event: Any) -> tuple[bool, Any]:
        return lambda_invoker(self.client("lambda"))(function, event)

    def physical(self, logical_id: str) -> str:
        from devtools.local.template import LocalTemplate

        template = LocalTemplate.load(self.template_path)
        name = template.physical_name(logical_id)
        kind = template.resources[logical_id]["Type"]
        if kind == "AWS::SQS::Queue":
            return str(self.client("sqs").get_queue_url(QueueName=name)["QueueUrl"])
        if kind in ("AWS::Serverless::StateMachine", "AWS::StepFunctions::StateMachine"):
            return template.get_att(logical_id, "Arn")
        return name


@dataclass
class DeployedPlace:
    """A deployed stack: physical ids from CloudFormation (queue URLs, function names, ARNs)."""

    stack_name: str
    region: str | None = None
    _ids: dict[str, str] = field(default_factory=dict)

    def client(self, service: str) -> Any:
        return boto3.client(service, region_name=self.region)

    def invoke(self, function: str, event: Any) -> tuple[bool, Any]:
        return lambda_invoker(self.client("lambda"))(function, event)

    def physical(self, logical_id: str) -> str:
        if not self._ids:
            pages = self.client("cloudformation").get_paginator("list_stack_resources")
            for page in pages.paginate(StackName=self.stack_name):
                for summary in page["StackResourceSummaries"]:
                    self._ids[summary["LogicalResourceId"]] = summary["PhysicalResourceId"]
        return self._ids[logical_id]


# ---------------------------------------------------------------- re-driving


def _messages(sqs: Any, url: str, visibility: int) -> Iterator[dict[str, Any]]:
    """Every message once, each hidden from others while this run has it."""
    seen: set[str] = set()
    while True:
        batch = sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=10,
            VisibilityTimeout=visibility,
            WaitTimeSeconds=0,
            MessageAttributeNames=["All"],
            AttributeNames=["SentTimestamp"],
        ).get("Messages", [])
        fresh = [m for m in batch if m["MessageId"] not in seen]
        if not fresh:
            return
        for message in fresh:
            seen.add(message["MessageId"])
            yield message


def _send(kind: Kind, target: str, payload: Any, message: dict[str, Any], place: Place) -> None:
    """Hand one message to its target; raises when the target did not accept it."""
    if kind == "function":
        answer = place.client("lambda").invoke(
            FunctionName=target, InvocationType="RequestResponse", Payload=json.dumps(payload).encode()
        )
        result = answer["Payload"].read()
        if answer.get("FunctionError"):
            raise RuntimeError(f"{target} failed again: {result.decode(errors='replace')[:500]}")
    elif kind == "queue":
        attributes = message.get("MessageAttributes") or {}
        place.client("sqs").send_message(QueueUrl=target, MessageBody=payload, MessageAttributes=attributes)
    else:
        detail = payload.get("detail", {}) if isinstance(payload, dict) else {}
        name = f"{detail.get('name', 'replay')}-replay-{message['MessageId'][:8]}"[:80]
        try:
            place.client("stepfunctions").start_execution(
                stateMachineArn=target, name=name, input=detail.get("input") or "{}"
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ExecutionAlreadyExists":  # re-driven before
                raise


def replay(
    relation: Relation,
    place: Place,
    *,
    dry_run: bool = False,
    limit: int | None = None,
    say: Callable[[str], None] = lambda line: print(line, file=sys.stderr),
) -> Report:
    """Re-drive one queue to what the template says it feeds."""
    url = place.physical(relation.queue)
    if relation.kind == "function":
        report = redrive(
            place.client("sqs"),
            url,
            place.invoke,
            function=place.physical(relation.target),
            dry_run=dry_run,
            limit=limit,
            say=say,
        )
    else:
        report = _replay_elsewhere(relation, place, url, dry_run=dry_run)
    report.queue = relation.queue
    return report


def _replay_elsewhere(relation: Relation, place: Place, url: str, *, dry_run: bool) -> Report:
    """A queue's messages back to their queue, or failed executions started again."""
    sqs = place.client("sqs")
    target = place.physical(relation.target)
    report = Report(relation.queue)
    started_ms = int(time.time() * 1000)
    held: list[dict[str, Any]] = []
    for message in _messages(sqs, url, 30 if dry_run else VISIBILITY_SECONDS):
        if int((message.get("Attributes") or {}).get("SentTimestamp", "0")) > started_ms:
            held.append(message)  # arrived during this run: the next run's
            continue
        text = message["Body"]
        payload = json.loads(text) if relation.kind == "state_machine" else text
        if dry_run:
            report.seen.append({"messageId": message["MessageId"], "target": target, "kind": relation.kind})
            report.kept.append(message["MessageId"])
            held.append(message)
            continue
        try:
            _send(relation.kind, target, payload, message, place)
        except Exception as error:
            report.failed.append({"messageId": message["MessageId"], "target": target, "error": str(error)})
            report.kept.append(message["MessageId"])
            held.append(message)
            continue
        sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        report.replayed.append(message["MessageId"])
    for message in held:  # back in the queue at once, for the next run
        sqs.change_message_visibility(
            QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
        )
    return report


# ---------------------------------------------------------------- command line


def _place(args: argparse.Namespace) -> Place:
    if args.stack_name:
        return DeployedPlace(args.stack_name, args.region)
    state = args.state_dir / "stack.json"
    if not state.exists():
        raise SystemExit(f"no local stack ({state} missing): start it with make local, or pass --stack-name")
    return LocalStackPlace(json.loads(state.read_text())["moto_url"], args.template)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.dlq", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["list", "replay"])
    parser.add_argument(
        "queues", nargs="*", metavar="QUEUE", help="only these dead-letter queues (logical ids)"
    )
    parser.add_argument("--queue", action="append", default=[], help="same as QUEUE")
    parser.add_argument("--template", type=Path, default=Path("template.yaml"))
    parser.add_argument("--state-dir", type=Path, default=Path(".local"), help="the local stack's")
    parser.add_argument("--stack-name", help="a deployed stack (credentials from the environment)")
    parser.add_argument("--region")
    parser.add_argument("--dry-run", action="store_true", help="show what would be re-driven, change nothing")
    parser.add_argument("--limit", type=int, help="re-drive at most this many messages per queue")
    args = parser.parse_args(argv)
    only = set(args.queues) | set(args.queue)
    wanted = [r for r in relations(yaml_parse(args.template.read_text())) if not only or r.queue in only]
    unknown = only - {r.queue for r in wanted}
    if unknown:
        parser.error(f"not a dead-letter queue of the template: {', '.join(sorted(unknown))}")
    if args.command == "list":
        for relation in wanted:
            print(f"{relation.queue} -> {relation.kind} {relation.target}   ({relation.via})")
        return 0
    place = _place(args)
    ok = True
    done: set[str] = set()
    for relation in wanted:
        if relation.queue in done:  # one pass per queue: messages name their own function
            continue
        done.add(relation.queue)
        report = replay(relation, place, dry_run=args.dry_run, limit=args.limit)
        ok = ok and report.ok
        print(json.dumps(report.summary(args.dry_run)))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
