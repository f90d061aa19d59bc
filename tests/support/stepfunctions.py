"""The template's state machines run by moto's own ASL interpreter, in this process, with the
real step handlers (research/local-aws.md): no hand-written interpreter.

Two changes to moto's internals (pinned moto 5.2.5), kept here only:
- its Wait states and Retry pauses really sleep: made instant, so a loop of polls, a deadline
  and retries with backoff take milliseconds (the ASL's lengths still come from parameters);
- a Lambda task runs `functions/<name>/app.py`'s handler in this process, as that function
  (the grants recorder charges its calls to it; it gets its own container, like Lambda).
"""

from __future__ import annotations

import importlib
import json
import time
import traceback
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import boto3

from devtools.local.template import ACCOUNT, REGION, LocalTemplate, function_arn
from tests.support.invoke import REPO_ROOT, logical_ids, running_as
from tests.support.lambda_context import FakeLambdaContext

STATE_MACHINE_CONFIG = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}


@dataclass
class Invocation:
    function: str  # functions/<name>
    event: dict[str, Any]
    seconds: float
    error: str | None = None


@dataclass
class Dispatch:
    """What the state machine invoked, in order; `before` may raise to fail an invocation."""

    invocations: list[Invocation] = field(default_factory=list)

    def of(self, function: str) -> list[Invocation]:
        return [i for i in self.invocations if i.function == function]


@contextmanager
def state_machines_in_process() -> Iterator[Dispatch]:
    """Instant waits and retries, and Lambda tasks dispatched to the real handlers."""
    from moto.awslambda_simple.models import LambdaSimpleBackend
    from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
    from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import WaitFunction

    dispatch = Dispatch()
    snake = {logical_id: name for name, logical_id in logical_ids().items()}

    def invoke(
        backend: Any, function_name: str, qualifier: Any, body: Any, headers: Any, response_headers: Any
    ) -> bytes:
        name = snake[function_name.rsplit(":", 1)[-1]]
        event = json.loads(body or "{}")
        started = time.perf_counter()
        try:
            with running_as(name):
                module = importlib.import_module(f"functions.{name}.app")
                result = module.lambda_handler(event, FakeLambdaContext(function_name=name))
        except Exception as error:  # what Lambda reports for an unhandled error
            dispatch.invocations.append(
                Invocation(name, event, time.perf_counter() - started, type(error).__name__)
            )
            response_headers["x-amz-function-error"] = "Unhandled"
            payload = {
                "errorMessage": str(error),
                "errorType": type(error).__name__,
                "stackTrace": traceback.format_tb(error.__traceback__),
            }
            return json.dumps(payload).encode()
        dispatch.invocations.append(Invocation(name, event, time.perf_counter() - started))
        return json.dumps(result).encode()

    saved = (WaitFunction._wait_interval, retrier_decl.time, LambdaSimpleBackend.invoke)
    WaitFunction._wait_interval = lambda self, env, wait_seconds: None
    retrier_decl.time = SimpleNamespace(sleep=lambda seconds: None)
    LambdaSimpleBackend.invoke = invoke
    try:
        yield dispatch
    finally:
        WaitFunction._wait_interval, retrier_decl.time, LambdaSimpleBackend.invoke = saved


def definition(logical_id: str, **overrides: Any) -> str:
    """The template's ASL for `logical_id`, its substitutions resolved the way the local stack
    does (functions by logical id, the table as TABLE_NAME says), `overrides` on top."""
    import os

    template = LocalTemplate.load(REPO_ROOT / "template.yaml")
    props = template.resources[logical_id]["Properties"]
    subs: dict[str, Any] = {}
    for key, value in props["DefinitionSubstitutions"].items():
        if isinstance(value, dict) and "Fn::GetAtt" in value:
            target = value["Fn::GetAtt"]
            target = target.split(".")[0] if isinstance(target, str) else target[0]
            subs[key] = function_arn(target)
        elif value == {"Ref": "StateTable"}:
            subs[key] = os.environ["TABLE_NAME"]
        else:
            subs[key] = template.resolve(value)
    subs.update(overrides)
    return template.sub_definition((REPO_ROOT / props["DefinitionUri"]).read_text(), subs)


def create(logical_id: str, **overrides: Any) -> str:
    """Create the machine in moto (inside mock_aws with STATE_MACHINE_CONFIG); returns its ARN."""
    sfn = boto3.client("stepfunctions", region_name=REGION)
    name = f"{logical_id}-{uuid.uuid4().hex[:6]}"
    role = f"arn:aws:iam::{ACCOUNT}:role/{name}"
    return str(
        sfn.create_state_machine(name=name, definition=definition(logical_id, **overrides), roleArn=role)[
            "stateMachineArn"
        ]
    )


def wait_for(execution_arn: str, timeout: float = 30) -> dict[str, Any]:
    """The execution once it has ended."""
    sfn = boto3.client("stepfunctions", region_name=REGION)
    give_up = time.monotonic() + timeout
    while True:
        described: dict[str, Any] = sfn.describe_execution(executionArn=execution_arn)
        if described["status"] != "RUNNING":
            return described
        if time.monotonic() > give_up:
            raise TimeoutError(f"{execution_arn} still running after {timeout} s")
        time.sleep(0.02)


def history(execution_arn: str) -> list[dict[str, Any]]:
    sfn = boto3.client("stepfunctions", region_name=REGION)
    return list(sfn.get_execution_history(executionArn=execution_arn, maxResults=1000)["events"])


def states_entered(execution_arn: str) -> list[str]:
    return [
        event["stateEnteredEventDetails"]["name"]
        for event in history(execution_arn)
        if "stateEnteredEventDetails" in event
    ]
