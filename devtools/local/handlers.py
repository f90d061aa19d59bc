"""The functions of the template, by any of their names: invoked like Lambda, in instances of their
own (devtools.local.runtime), or by an in-process stand-in a test installs."""

from __future__ import annotations

import json
import logging
import time
import traceback
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from devtools.grants.context import acting_as
from devtools.local.runtime import FunctionError, Launch, Runtime
from devtools.local.template import REGION, FunctionSpec, queue_url

log = logging.getLogger("devtools.local")

Handler = Callable[[Any, Any], Any]


@dataclass
class LambdaContext:
    """The attributes Powertools and handlers read from the real context object."""

    function_name: str
    invoked_function_arn: str
    memory_limit_in_mb: int
    timeout: int
    function_version: str = "$LATEST"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    started: float = field(default_factory=time.monotonic)

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    @property
    def log_stream_name(self) -> str:
        return f"local/[$LATEST]{self.aws_request_id[:8]}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.timeout - (time.monotonic() - self.started)) * 1000))


class UnknownFunction(KeyError):
    pass


def invocation_error(exc: BaseException) -> dict[str, Any]:
    """Lambda's payload for an unhandled exception."""
    if isinstance(exc, FunctionError):
        return exc.payload
    return {
        "errorMessage": str(exc),
        "errorType": type(exc).__name__,
        "stackTrace": traceback.format_tb(exc.__traceback__),
    }


class FunctionRegistry:
    """Functions by logical id, physical name, ARN or snake name (the functions/<dir>)."""

    def __init__(
        self,
        functions: dict[str, FunctionSpec],
        layer_dirs: list[Path],
        *,
        python: str,
        code_dirs: dict[str, Path] | None = None,
        **runtime_options: Any,
    ) -> None:
        self.specs = functions
        self._aliases = {alias: s.logical_id for s in functions.values() for alias in (s.name, s.snake)}
        self._overrides: dict[str, Handler] = {}
        launches = {
            s.logical_id: Launch(
                logical_id=s.logical_id,
                name=s.name,
                arn=s.arn,
                handler=s.handler,
                code_dir=(code_dirs or {}).get(s.logical_id, s.code_dir),
                path=tuple(layer_dirs),
                environment=s.environment,
                timeout=s.timeout,
                memory=s.memory,
                python=python,
                async_retries=s.async_retries,
            )
            for s in functions.values()
        }
        self.runtime = Runtime(launches, on_async_failure=self._failed_for_good, **runtime_options)

    def spec(self, name: str) -> FunctionSpec:
        if name.startswith("arn:"):  # arn:aws:lambda:region:acct:function:name[:qualifier]
            name = name.split(":")[6]
        logical_id = name if name in self.specs else self._aliases.get(name)
        if logical_id is None:
            raise UnknownFunction(name)
        return self.specs[logical_id]

    def invoke(self, name: str, event: Any) -> Any:
        """Run the function once and return its result; its errors raise FunctionError."""
        spec = self.spec(name)
        override = self._overrides.get(spec.logical_id)
        if override is None:
            return self.runtime.invoke(spec.logical_id, event)
        try:
            with acting_as(spec.logical_id):  # the grants recorder charges its AWS calls to it
                return override(event, LambdaContext(spec.name, spec.arn, spec.memory, spec.timeout))
        except Exception as exc:
            raise FunctionError(invocation_error(exc)) from exc

    def invoke_async(self, name: str, event: Any) -> None:
        spec = self.spec(name)
        if spec.logical_id in self._overrides:
            with suppress(FunctionError):
                self.invoke(name, event)
            return
        self.runtime.invoke_async(spec.logical_id, event)

    def _failed_for_good(self, logical_id: str, event: Any, error: dict[str, Any], attempts: int) -> None:
        """What Lambda does once an asynchronous event's retries are used up: a destination
        record to the OnFailure queue, or the event itself to the function's DeadLetterQueue."""
        import boto3  # the stack's environment points it at moto

        spec = self.specs[logical_id]
        sqs = boto3.client("sqs", region_name=REGION)
        if spec.on_failure_queue:
            record = {
                "version": "1.0",
                "timestamp": datetime.now(UTC).isoformat(),
                "requestContext": {
                    "requestId": str(uuid.uuid4()),
                    "functionArn": f"{spec.arn}:$LATEST",
                    "condition": "RetriesExhausted",
                    "approximateInvokeCount": attempts,
                },
                "requestPayload": event,
                "responseContext": {
                    "statusCode": 200,
                    "executedVersion": "$LATEST",
                    "functionError": "Unhandled",
                },
                "responsePayload": error,
            }
            sqs.send_message(QueueUrl=queue_url(spec.on_failure_queue), MessageBody=json.dumps(record))
        elif spec.dead_letter_queue:
            attributes = {
                "ErrorCode": {"DataType": "Number", "StringValue": "200"},
                "ErrorMessage": {
                    "DataType": "String",
                    "StringValue": str(error.get("errorMessage", ""))[:256],
                },
                "RequestID": {"DataType": "String", "StringValue": str(uuid.uuid4())},
            }
            sqs.send_message(
                QueueUrl=queue_url(spec.dead_letter_queue),
                MessageBody=json.dumps(event),
                MessageAttributes=attributes,
            )
        else:
            return
        log.warning("async %s: event put into its dead-letter queue after %d attempts", logical_id, attempts)

    def warm(self) -> None:
        """Start one instance of every function in the background (a warm `make local`)."""
        for logical_id in self.specs:
            self.runtime.prewarm(logical_id)

    def close(self) -> None:
        self.runtime.close()

    @contextmanager
    def override(self, name: str, handler: Handler) -> Iterator[None]:
        """Swap a function for an in-process stand-in (tests); the real one comes back afterwards."""
        logical_id = self.spec(name).logical_id
        self._overrides[logical_id] = handler
        try:
            yield
        finally:
            self._overrides.pop(logical_id, None)
