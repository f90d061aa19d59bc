"""Run functions the way Lambda does: each instance is its own process with its own module state,
one invocation at a time; a concurrent invocation gets another instance (up to a limit, then it
waits); an invocation over the function's timeout kills its instance; idle instances are retired.

The instance process is `lambda_worker.py`, run by any Python: the dev venv's (source mode) or a
bare runtime environment with only boto3 and the built artifacts on its path (built mode).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import queue
import select
import struct
import subprocess
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

log = logging.getLogger("devtools.local")

WORKER = Path(__file__).resolve().with_name("lambda_worker.py")
# Loaded by path inside instances when GRANTS_CALLS_DIR is set (the grants check's recordings).
GRANTS_RECORDER = Path(__file__).resolve().parent.parent / "grants" / "recorder.py"
_HEADER = struct.Struct(">I")
# Lambda's init phase (loading the handler) has a limit of its own, apart from the function's.
INIT_TIMEOUT_SECONDS = 10.0
# Variables the parent environment may not pass on: they would change how the worker's Python
# starts or which code it finds.
_NOT_INHERITED = ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "VIRTUAL_ENV")


class FunctionError(Exception):
    """An invocation that ended in an error; `payload` is Lambda's error document."""

    def __init__(self, payload: dict[str, Any]) -> None:
        super().__init__(payload.get("errorMessage", "function error"))
        self.payload = payload


@dataclass(frozen=True)
class Launch:
    """How to start one function's instances."""

    logical_id: str
    name: str
    arn: str
    handler: str
    code_dir: Path
    path: tuple[Path, ...]  # sys.path entries after the code dir (the layers)
    environment: dict[str, str]
    timeout: int
    memory: int
    python: str
    async_retries: int = 2  # EventInvokeConfig.MaximumRetryAttempts


class _Instance:
    def __init__(self, launch: Launch, env: dict[str, str], output: IO[bytes] | None) -> None:
        read_fd, write_fd = os.pipe()
        self.launch = launch
        self.proc = subprocess.Popen(
            [launch.python, "-I", str(WORKER)],
            stdin=subprocess.PIPE,
            stdout=output,
            stderr=output,
            cwd=launch.code_dir,
            env={**env, "LOCAL_LAMBDA_RESPONSE_FD": str(write_fd)},
            pass_fds=(write_fd,),
            start_new_session=True,  # Ctrl-C in the terminal goes to the stack, which stops these
        )
        os.close(write_fd)
        self._responses = read_fd
        self._pipe_lock = threading.Lock()
        self.last_used = time.monotonic()
        self.invocations = 0
        self._ready = False

    def _receive(self, timeout: float) -> dict[str, Any]:
        header = self._read(_HEADER.size, time.monotonic() + timeout)
        (size,) = _HEADER.unpack(header)
        message: dict[str, Any] = json.loads(self._read(size, time.monotonic() + 10))
        return message

    def invoke(self, event: Any, context: dict[str, Any], timeout: float) -> dict[str, Any]:
        if not self._ready:
            started = self._receive(INIT_TIMEOUT_SECONDS)
            if "initError" in started:
                return {"error": started["initError"], "exiting": True}
            self._ready = True
        # The invocation's own time starts now, after the instance's init.
        context = {**context, "deadline_ms": int(time.time() * 1000) + int(timeout * 1000)}
        data = json.dumps({"event": event, "context": context}).encode()
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(_HEADER.pack(len(data)) + data)
            self.proc.stdin.flush()
            message = self._receive(timeout)
        finally:
            self.invocations += 1
            self.last_used = time.monotonic()
        return message

    def _read(self, size: int, deadline: float) -> bytes:
        chunks: list[bytes] = []
        while size:
            remaining = deadline - time.monotonic()
            ready, _, _ = select.select([self._responses], [], [], max(0.0, remaining))
            if not ready:
                raise TimeoutError
            chunk = os.read(self._responses, size)
            if not chunk:
                raise EOFError
            chunks.append(chunk)
            size -= len(chunk)
        return b"".join(chunks)

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self, grace: float = 1.0) -> None:
        """Close stdin (the worker leaves its loop); kill it if it does not go in time."""
        try:
            if self.proc.stdin:
                self.proc.stdin.close()
            self.proc.wait(timeout=grace)
        except (OSError, subprocess.TimeoutExpired):
            self.kill()
        finally:
            self._close_pipe()

    def signal_kill(self) -> None:
        if self.alive:
            self.proc.kill()

    def kill(self) -> None:
        self.signal_kill()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:  # pragma: no cover - a kernel that does not reap
            log.warning("instance of %s did not die", self.launch.logical_id)
        if self.proc.stdin:
            with contextlib.suppress(OSError):
                self.proc.stdin.close()
        self._close_pipe()

    def _close_pipe(self) -> None:
        # The invoking thread (after its worker died) and the stack's close() may both get here:
        # take the descriptor atomically, so it is closed once, never a number reused meanwhile.
        with self._pipe_lock:
            responses, self._responses = self._responses, -1
        if responses >= 0:
            os.close(responses)


@dataclass
class _Pool:
    launch: Launch
    max_instances: int
    idle: list[_Instance] = field(default_factory=list)
    busy: int = 0
    started: int = 0  # cold starts, for tests and the banner
    cond: threading.Condition = field(default_factory=threading.Condition)


class Runtime:
    """All functions' instance pools, and the queue for asynchronous invocations."""

    def __init__(
        self,
        launches: dict[str, Launch],
        *,
        base_env: Callable[[], dict[str, str]] = lambda: dict(os.environ),
        max_instances: int = 6,
        idle_seconds: float = 60.0,
        output: IO[bytes] | None = None,
        async_workers: int = 4,
        async_retry_delays: tuple[float, ...] = (1.0, 2.0),
        on_async_failure: Callable[[str, Any, dict[str, Any], int], None] | None = None,
    ) -> None:
        self.launches = launches
        self._pools = {lid: _Pool(launch, max_instances) for lid, launch in launches.items()}
        self._base_env = base_env
        self._idle_seconds = idle_seconds
        self._output = output
        self._template_keys = {key for launch in launches.values() for key in launch.environment}
        self._closed = threading.Event()
        self._live: set[_Instance] = set()
        self._live_lock = threading.Lock()
        self._async: queue.Queue[tuple[str, Any, int] | None] = queue.Queue(maxsize=10_000)
        self._async_retry_delays = async_retry_delays
        # (function, event, error payload, attempts) once an async invocation failed for good
        self._on_async_failure = on_async_failure
        self._threads = [
            threading.Thread(target=self._async_loop, name=f"lambda-async-{n}", daemon=True)
            for n in range(async_workers)
        ]
        self._threads.append(threading.Thread(target=self._reap_loop, name="lambda-reaper", daemon=True))
        for thread in self._threads:
            thread.start()

    # ------------------------------------------------------------------ invocations
    def invoke(self, logical_id: str, event: Any) -> Any:
        """A synchronous invocation: the function's result, or FunctionError."""
        pool = self._pools[logical_id]
        launch = pool.launch
        instance = self._acquire(pool)
        request_id = str(uuid.uuid4())
        context = {
            "function_name": launch.name,
            "invoked_function_arn": launch.arn,
            "memory_limit_in_mb": launch.memory,
            "aws_request_id": request_id,
            "log_stream_name": f"local/[$LATEST]{id(instance):x}",
        }
        try:
            message = instance.invoke(event, context, launch.timeout)
        except TimeoutError:
            self._retire(instance, kill=True)  # Lambda ends the sandbox of a timed-out invocation
            self._release(pool, None)
            stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")[:-4] + "Z"
            raise FunctionError(
                {
                    "errorMessage": f"{stamp} {request_id} Task timed out after {launch.timeout:.2f} seconds",
                    "errorType": "Sandbox.Timedout",
                }
            ) from None
        except (EOFError, OSError, ValueError) as exc:
            self._retire(instance, kill=True)
            self._release(pool, None)
            raise FunctionError(
                {
                    "errorMessage": f"RequestId: {request_id} Error: Runtime exited ({type(exc).__name__})",
                    "errorType": "Runtime.ExitError",
                }
            ) from None
        if message.get("exiting") or not instance.alive:
            self._retire(instance, kill=True)
            self._release(pool, None)
        else:
            self._release(pool, instance)
        if "error" in message:
            raise FunctionError(message["error"])
        return message.get("result")

    def invoke_async(self, logical_id: str, event: Any) -> None:
        """InvocationType Event: queued, retried on error like Lambda's async invocations."""
        if logical_id not in self._pools:
            raise KeyError(logical_id)
        self._async.put_nowait((logical_id, event, 0))

    def prewarm(self, logical_id: str) -> None:
        """Start an instance now (it imports its handler in the background) and keep it idle."""
        pool = self._pools[logical_id]
        self._release(pool, self._acquire(pool))

    def cold_starts(self, logical_id: str) -> int:
        return self._pools[logical_id].started

    def instances(self) -> dict[str, int]:
        """Live instances per function (idle and busy)."""
        return {lid: len(p.idle) + p.busy for lid, p in self._pools.items()}

    # ------------------------------------------------------------------ pool management
    def _acquire(self, pool: _Pool) -> _Instance:
        with pool.cond:
            while True:
                if self._closed.is_set():
                    raise FunctionError({"errorMessage": "the stack is stopping", "errorType": "Stopped"})
                while pool.idle:
                    instance = pool.idle.pop()  # most recently used: warm
                    if instance.alive:
                        pool.busy += 1
                        return instance
                    self._retire(instance, kill=True)
                if pool.busy < pool.max_instances:
                    pool.busy += 1
                    pool.started += 1
                    break
                pool.cond.wait(0.5)  # all instances busy: wait, like reserved concurrency
        try:
            instance = _Instance(pool.launch, self._environment(pool.launch), self._output)
        except BaseException:
            with pool.cond:
                pool.busy -= 1
                pool.cond.notify()
            raise
        with self._live_lock:
            self._live.add(instance)
        if self._closed.is_set():  # stopped while it started
            self._retire(instance, kill=True)
        return instance

    def _release(self, pool: _Pool, instance: _Instance | None) -> None:
        with pool.cond:
            pool.busy -= 1
            if instance is not None and not self._closed.is_set():
                pool.idle.append(instance)
                instance = None
            pool.cond.notify()
        if instance is not None:
            self._retire(instance)

    def _retire(self, instance: _Instance, *, kill: bool = False) -> None:
        with self._live_lock:
            self._live.discard(instance)
        if kill:
            instance.kill()
        else:
            instance.stop()

    def _environment(self, launch: Launch) -> dict[str, str]:
        # Another function's template variables are not this function's (Lambda sets only its own).
        env = {
            k: v
            for k, v in self._base_env().items()
            if k not in self._template_keys and k not in _NOT_INHERITED
        }
        env.update(launch.environment)
        env.update(
            {
                "_HANDLER": launch.handler,
                "LAMBDA_TASK_ROOT": str(launch.code_dir),
                "LOCAL_LAMBDA_PATH": os.pathsep.join(str(p) for p in (launch.code_dir, *launch.path)),
                "AWS_LAMBDA_FUNCTION_NAME": launch.name,
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(launch.memory),
                "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
                "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{launch.name}",
                "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
                "PYTHONUNBUFFERED": "1",
            }
        )
        if env.get("GRANTS_CALLS_DIR"):
            env["LOCAL_GRANTS_RECORDER"] = str(GRANTS_RECORDER)
        return env

    def _reap_loop(self) -> None:
        while not self._closed.wait(min(5.0, self._idle_seconds / 2)):
            cutoff = time.monotonic() - self._idle_seconds
            for pool in self._pools.values():
                with pool.cond:
                    stale = [i for i in pool.idle if i.last_used < cutoff or not i.alive]
                    pool.idle = [i for i in pool.idle if i not in stale]
                for instance in stale:
                    self._retire(instance)

    def _async_loop(self) -> None:
        while (item := self._async.get()) is not None:
            logical_id, event, attempt = item
            try:
                self.invoke(logical_id, event)
            except FunctionError as exc:
                if self._closed.is_set():
                    continue
                retries = min(len(self._async_retry_delays), self.launches[logical_id].async_retries)
                if attempt < retries:
                    log.warning("async %s failed (%s); retrying", logical_id, exc.payload.get("errorType"))
                    self._retry_later(logical_id, event, attempt)
                    continue
                log.error("async %s failed for good: %s", logical_id, exc.payload.get("errorMessage"))
                if self._on_async_failure is not None:
                    try:
                        self._on_async_failure(logical_id, event, exc.payload, attempt + 1)
                    except Exception:
                        log.exception("the failed event of %s could not be put anywhere", logical_id)

    def _retry_later(self, logical_id: str, event: Any, attempt: int) -> None:
        delay = self._async_retry_delays[attempt]

        def requeue() -> None:
            if not self._closed.is_set():
                self._async.put_nowait((logical_id, event, attempt + 1))

        timer = threading.Timer(delay, requeue)
        timer.daemon = True
        timer.start()

    # ------------------------------------------------------------------ shutdown
    def close(self) -> None:
        """Stop every instance (busy ones are killed: their invocations end) and the async workers."""
        self._closed.set()
        for _ in self._threads:
            try:
                self._async.put_nowait(None)
            except queue.Full:
                break
        for pool in self._pools.values():
            with pool.cond:
                pool.idle = []
                pool.cond.notify_all()
        with self._live_lock:
            instances, self._live = list(self._live), set()
        for instance in instances:  # all at once, then reap: stopping must not take turns
            instance.signal_kill()
        for instance in instances:
            instance.kill()
