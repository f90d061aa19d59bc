"""Load every function's handler into this one process and invoke it like Lambda would."""

from __future__ import annotations

import importlib.util
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devtools.grants.context import acting_as
from devtools.local.template import FunctionSpec

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
    return {
        "errorMessage": str(exc),
        "errorType": type(exc).__name__,
        "stackTrace": traceback.format_tb(exc.__traceback__),
    }


class FunctionRegistry:
    """Functions by logical id, physical name, ARN or snake name (the functions/<dir>)."""

    def __init__(self, functions: dict[str, FunctionSpec], layer_dirs: list[Path]) -> None:
        self.specs = functions
        self._aliases = {alias: s.logical_id for s in functions.values() for alias in (s.name, s.snake)}
        self._handlers: dict[str, Handler] = {}
        self._overrides: dict[str, Handler] = {}
        self._lock = threading.Lock()
        for path in layer_dirs:
            if str(path) not in sys.path:
                sys.path.insert(0, str(path))

    def spec(self, name: str) -> FunctionSpec:
        if name.startswith("arn:"):  # arn:aws:lambda:region:acct:function:name[:qualifier]
            name = name.split(":")[6]
        logical_id = name if name in self.specs else self._aliases.get(name)
        if logical_id is None:
            raise UnknownFunction(name)
        return self.specs[logical_id]

    def handler(self, name: str) -> Handler:
        spec = self.spec(name)
        if spec.logical_id in self._overrides:
            return self._overrides[spec.logical_id]
        with self._lock:  # first invokes may race from several server threads
            if spec.logical_id not in self._handlers:
                self._handlers[spec.logical_id] = _load(spec)
            return self._handlers[spec.logical_id]

    def preload(self) -> dict[str, str]:
        """Import every handler now; returns logical id -> error for the ones that failed."""
        errors = {}
        for logical_id in self.specs:
            try:
                self.handler(logical_id)
            except Exception as exc:
                errors[logical_id] = f"{type(exc).__name__}: {exc}"
        return errors

    def invoke(self, name: str, event: Any) -> Any:
        spec = self.spec(name)
        ctx = LambdaContext(spec.name, spec.arn, spec.memory, spec.timeout)
        with acting_as(spec.logical_id):  # the grants recorder charges its AWS calls to this function
            return self.handler(name)(event, ctx)

    @contextmanager
    def override(self, name: str, handler: Handler) -> Iterator[None]:
        """Swap a handler (tests); the real one comes back afterwards."""
        logical_id = self.spec(name).logical_id
        self._overrides[logical_id] = handler
        try:
            yield
        finally:
            self._overrides.pop(logical_id, None)


def _load(spec: FunctionSpec) -> Handler:
    module_file, _, attr = spec.handler.rpartition(".")
    path = spec.code_dir / f"{module_file.replace('.', '/')}.py"
    # Every function has an app.py: a plain import would hand all of them the first one.
    module_name = f"_local_fn_{spec.snake}_{module_file.replace('.', '_')}"
    module_spec = importlib.util.spec_from_file_location(module_name, path)
    if module_spec is None or module_spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[module_name] = module
    try:
        module_spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(module_name, None)
        raise
    return getattr(module, attr)
