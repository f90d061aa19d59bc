"""One Lambda instance: a process that loads a handler once and runs one invocation at a time.

Started by `devtools.local.runtime` with `python -I lambda_worker.py`. It imports only the standard
library, so it also runs in an environment that holds nothing but what the Lambda runtime provides
(the built-artifact tests use exactly that). Like a Lambda sandbox, the module state (clients,
caches, Powertools objects) lives as long as the instance and is never shared with another one.

Protocol: the parent writes invocations to stdin and reads answers from the file descriptor named
by LOCAL_LAMBDA_RESPONSE_FD; each message is a 4-byte big-endian length and UTF-8 JSON. The first
answer is `{"ready": true}` once the handler is loaded (or `{"initError": ...}`): like Lambda's
init phase, loading does not count against an invocation's timeout. stdout and stderr stay free
for the function's own log lines.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import struct
import sys
import time
import traceback
from typing import Any, BinaryIO

_HEADER = struct.Struct(">I")


class Context:
    """The attributes handlers and Powertools read from Lambda's context object."""

    def __init__(self, fields: dict[str, Any]) -> None:
        self.function_name: str = fields["function_name"]
        self.function_version: str = fields.get("function_version", "$LATEST")
        self.invoked_function_arn: str = fields["invoked_function_arn"]
        self.memory_limit_in_mb: int = int(fields["memory_limit_in_mb"])
        self.aws_request_id: str = fields["aws_request_id"]
        self.log_group_name: str = f"/aws/lambda/{self.function_name}"
        self.log_stream_name: str = fields.get("log_stream_name", "local")
        self._deadline_ms: int = int(fields["deadline_ms"])

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self._deadline_ms - int(time.time() * 1000))


def _read(stream: BinaryIO) -> dict[str, Any] | None:
    header = stream.read(_HEADER.size)
    if len(header) < _HEADER.size:
        return None  # the parent closed stdin: the instance is being shut down
    (size,) = _HEADER.unpack(header)
    return json.loads(stream.read(size))


def _write(fd: int, message: dict[str, Any]) -> None:
    data = json.dumps(message, default=str).encode()
    payload = _HEADER.pack(len(data)) + data
    while payload:
        payload = payload[os.write(fd, payload) :]


def _error(exc: BaseException, error_type: str | None = None) -> dict[str, Any]:
    return {
        "errorMessage": str(exc),
        "errorType": error_type or type(exc).__name__,
        "stackTrace": traceback.format_tb(exc.__traceback__),
    }


def _load_handler() -> Any:
    for entry in reversed(os.environ.get("LOCAL_LAMBDA_PATH", "").split(os.pathsep)):
        if entry and entry not in sys.path:
            sys.path.insert(0, entry)
    module_name, _, attr = os.environ["_HANDLER"].rpartition(".")
    return getattr(importlib.import_module(module_name), attr)


def _install_call_recorder() -> None:
    """Optional: record every AWS call of this function for the grants check."""
    recorder_file, sink = os.environ.get("LOCAL_GRANTS_RECORDER"), os.environ.get("GRANTS_CALLS_DIR")
    if not (recorder_file and sink):
        return
    spec = importlib.util.spec_from_file_location("_grants_recorder", recorder_file)
    if spec is None or spec.loader is None:
        return
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.install(sink, os.environ["AWS_LAMBDA_FUNCTION_NAME"])


def main() -> int:
    response_fd = int(os.environ["LOCAL_LAMBDA_RESPONSE_FD"])
    stdin = sys.stdin.buffer
    try:
        _install_call_recorder()
        handler = _load_handler()
    except BaseException as exc:  # Lambda reports init failures on the first invocation
        _write(response_fd, {"initError": _error(exc, "Runtime.ImportModuleError")})
        return 1
    _write(response_fd, {"ready": True})
    while (message := _read(stdin)) is not None:
        try:
            result = handler(message["event"], Context(message["context"]))
            answer: dict[str, Any] = {"result": result}
            json.dumps(answer)  # a result Lambda cannot serialise is the function's error
        except Exception as exc:
            answer = {"error": _error(exc)}
        except SystemExit as exc:  # the instance ends with this invocation
            _write(response_fd, {"error": _error(exc, "Runtime.ExitError"), "exiting": True})
            return 1
        _write(response_fd, answer)
        sys.stdout.flush()
        sys.stderr.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
