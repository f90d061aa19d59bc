"""`python -m devtools.dlq list | replay`: re-drive every dead-letter queue of the template to its
target once the cause is fixed, against the running local stack or a deployed stack.

Which queue feeds what is read from template.yaml, so a new asynchronous path needs no code here:

- a function's `EventInvokeConfig` OnFailure destination, or an event's `DeadLetterConfig`
  -> the message goes back to that function (Lambda's failure record carries the original event);
- an SQS queue's `RedrivePolicy` -> the message goes back to the queue it came from;
- an `AWS::Events::Rule` on a state machine's failed executions with the queue as target
  -> a new execution with the failed one's input.

Nothing lost: a message is deleted only after its target accepted it (a function answered
without error, the queue took it, the execution started); what fails again stays and is
reported. Nothing doubled: each message is re-driven at most once per run; a re-started
execution is named after the message, so re-driving it twice starts it once; the functions
behind the queues are idempotent (publish finishes what was started, never twice).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
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


# ---------------------------------------------------------------- where things are


class Place(Protocol):
    def client(self, service: str) -> Any: ...

    def physical(self, logical_id: str) -> str: ...


@dataclass
class LocalStackPlace:
    """The running local stack (its state dir's stack.json)."""

    moto_url: str
    template_path: Path

    def client(self, service: str) -> Any:
        from devtools.local.moto_server import client

        return client(service, self.moto_url)

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

    def physical(self, logical_id: str) -> str:
        if not self._ids:
            pages = self.client("cloudformation").get_paginator("list_stack_resources")
            for page in pages.paginate(StackName=self.stack_name):
                for summary in page["StackResourceSummaries"]:
                    self._ids[summary["LogicalResourceId"]] = summary["PhysicalResourceId"]
        return self._ids[logical_id]


# ---------------------------------------------------------------- re-driving


@dataclass
class Outcome:
    queue: str
    redriven: int = 0
    failed: list[dict[str, Any]] = field(default_factory=list)
    seen: list[dict[str, Any]] = field(default_factory=list)  # dry run: what would be re-driven


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
        ).get("Messages", [])
        fresh = [m for m in batch if m["MessageId"] not in seen]
        if not fresh:
            return
        for message in fresh:
            seen.add(message["MessageId"])
            yield message


def _function_of(arn: str) -> str:
    """arn:aws:lambda:region:account:function:name[:qualifier] -> name."""
    return arn.split(":")[6]


def _plan(message: dict[str, Any], relation: Relation, place: Place) -> tuple[Kind, str, Any]:
    """(kind, physical target, what to send) for one message."""
    body = json.loads(message["Body"]) if message["Body"].lstrip().startswith(("{", "[")) else message["Body"]
    if (
        isinstance(body, dict)
        and "requestPayload" in body
        and "functionArn" in body.get("requestContext", {})
    ):
        return "function", _function_of(body["requestContext"]["functionArn"]), body["requestPayload"]
    target = place.physical(relation.target)
    if relation.kind == "state_machine":
        return "state_machine", target, body
    return relation.kind, target, body if relation.kind == "function" else message["Body"]


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


def replay(relation: Relation, place: Place, *, dry_run: bool = False) -> Outcome:
    sqs = place.client("sqs")
    url = place.physical(relation.queue)
    outcome = Outcome(relation.queue)
    held: list[dict[str, Any]] = []
    for message in _messages(sqs, url, 30 if dry_run else _IN_FLIGHT_SECONDS):
        kind, target, payload = _plan(message, relation, place)
        if dry_run:
            outcome.seen.append({"messageId": message["MessageId"], "target": target, "kind": kind})
            held.append(message)
            continue
        try:
            _send(kind, target, payload, message, place)
        except Exception as error:
            outcome.failed.append({"messageId": message["MessageId"], "target": target, "error": str(error)})
            held.append(message)
            continue
        sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        outcome.redriven += 1
    for message in held:  # back in the queue at once, for the next run
        sqs.change_message_visibility(
            QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
        )
    return outcome


# ---------------------------------------------------------------- command line


def _place(args: argparse.Namespace) -> Place:
    if args.stack_name:
        return DeployedPlace(args.stack_name, args.region)
    state = args.state_dir / "stack.json"
    if not state.exists():
        raise SystemExit(f"no local stack ({state} missing): start it with make local, or pass --stack-name")
    return LocalStackPlace(json.loads(state.read_text())["moto_url"], args.template)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.dlq", description=__doc__)
    parser.add_argument("command", choices=["list", "replay"])
    parser.add_argument("--template", type=Path, default=Path("template.yaml"))
    parser.add_argument("--state-dir", type=Path, default=Path(".local"), help="the local stack's")
    parser.add_argument("--stack-name", help="a deployed stack (credentials from the environment)")
    parser.add_argument("--region")
    parser.add_argument("--queue", action="append", help="only these dead-letter queues (logical ids)")
    parser.add_argument("--dry-run", action="store_true", help="show what would be re-driven, change nothing")
    args = parser.parse_args(argv)
    wanted = [
        r for r in relations(yaml_parse(args.template.read_text())) if not args.queue or r.queue in args.queue
    ]
    if args.command == "list":
        for relation in wanted:
            print(f"{relation.queue} -> {relation.kind} {relation.target}   ({relation.via})")
        return 0
    place = _place(args)
    failed = False
    done: set[str] = set()
    for relation in wanted:
        if relation.queue in done:  # one pass per queue: messages name their own function
            continue
        done.add(relation.queue)
        outcome = replay(relation, place, dry_run=args.dry_run)
        failed = failed or bool(outcome.failed)
        print(json.dumps({"queue": outcome.queue, "redriven": outcome.redriven, "failed": outcome.failed,
                          **({"wouldRedrive": outcome.seen} if args.dry_run else {})}))  # fmt: skip
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
