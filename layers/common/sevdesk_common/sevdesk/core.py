"""HTTP plumbing of the sevDesk client: pooled httpx client, outbound budget, retries and the
mapping of every failure to a SevdeskError.

Retry rule: a call is repeated only when repeating cannot apply a write twice: safe calls
(GETs, idempotent PUTs) on 5xx/transport failures, any call on a 429 (sevDesk did not apply it)
or on a connect failure (nothing was sent). A write whose outcome is unknown raises
SevdeskAmbiguousWrite after exactly one request.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt, wait_exponential_jitter
from tenacity.stop import stop_base

from sevdesk_common import deadline
from sevdesk_common.errors import TimeBudgetExceeded
from sevdesk_common.observability import logger, metrics, redact, tracer
from sevdesk_common.settings import Settings, get_settings
from sevdesk_common.sevdesk.errors import (
    SevdeskAmbiguousWrite,
    SevdeskError,
    SevdeskNotFound,
    SevdeskProtocolError,
    SevdeskRateLimited,
    SevdeskRefused,
    SevdeskUnauthorized,
    SevdeskUnavailable,
)
from sevdesk_common.sevdesk.models import ErrorBody

if TYPE_CHECKING:
    from sevdesk_common.sevdesk.budget import BudgetClass, OutboundBudget

USER_AGENT = "sevdesk-integration/0.1.0"
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
# An attempt needs at least this long to be worth starting within the invocation's budget.
MIN_ATTEMPT_SECONDS = 1.0
# Pools reused across warm invocations, keyed by a hash so the token is never a dict key.
_POOLS: dict[str, httpx.Client] = {}


def token_key(base_url: str, token: str) -> str:
    return hashlib.sha256(f"{base_url}\0{token}".encode()).hexdigest()


def _new_http(
    base_url: str, token: str, settings: Settings, transport: httpx.BaseTransport | None
) -> httpx.Client:
    return httpx.Client(
        base_url=base_url.rstrip("/"),
        headers={"Authorization": token, "Accept": "application/json", "User-Agent": USER_AGENT},
        timeout=httpx.Timeout(
            settings.sevdesk_timeout_seconds, connect=settings.sevdesk_connect_timeout_seconds
        ),
        transport=transport,
    )


def _pooled_http(base_url: str, token: str, settings: Settings) -> httpx.Client:
    key = token_key(base_url, token)
    client = _POOLS.get(key)
    if client is None or client.is_closed:
        client = _POOLS[key] = _new_http(base_url, token, settings, None)
    return client


def close_pools() -> None:
    for client in _POOLS.values():
        client.close()
    _POOLS.clear()


def _retry_after(response: httpx.Response) -> float | None:
    raw = response.headers.get("Retry-After")
    if not raw:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        return max(0.0, (parsedate_to_datetime(raw) - datetime.now(UTC)).total_seconds())
    except (TypeError, ValueError):
        return None


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    operation: str
    safe: bool
    params: dict[str, Any] | None = None
    json: Any = None
    files: Any = None
    budget_class: BudgetClass = "default"
    allow_raw: bool = False


@dataclass(frozen=True)
class Reply:
    request: Request
    response: httpx.Response
    body: Any = field(default=None)  # parsed JSON; None when the body is not JSON (allow_raw)


class SevdeskHttp:
    def __init__(
        self,
        token: str,
        *,
        settings: Settings | None = None,
        base_url: str | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        budget: OutboundBudget | None = None,
        refresh_token: Callable[[], str | None] | None = None,
    ) -> None:
        self._settings = settings or get_settings()
        self.base_url = (base_url or self._settings.sevdesk_base_url).rstrip("/")
        self._http = (
            _new_http(self.base_url, token, self._settings, transport)
            if transport is not None
            else _pooled_http(self.base_url, token, self._settings)
        )
        self._sleep = sleep
        self._budget = budget
        self._refresh_token = refresh_token
        # Requests sent by this client, per operation (retries included): what a caller reports.
        self.sent: Counter[str] = Counter()
        low, high = self._settings.sevdesk_retry_min_seconds, self._settings.sevdesk_retry_max_seconds
        self._backoff = wait_exponential_jitter(multiplier=low, max=high, jitter=low, min=low)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.base_url!r})"

    def call(self, request: Request) -> Reply:
        """Send `request` under the retry rules; one span per call in the trace."""
        with tracer.provider.in_subsegment(f"## sevdesk {request.operation}") as span:
            span.put_annotation("sevdesk_operation", request.operation)
            try:
                reply = self._call_refreshing(request)
            except SevdeskError as error:
                span.put_annotation("sevdesk_outcome", error.code)
                if error.http_status is not None:
                    span.put_annotation("sevdesk_status", str(error.http_status))
                raise
            span.put_annotation("sevdesk_outcome", "ok")
            span.put_annotation("sevdesk_status", str(reply.response.status_code))
            return reply

    def _call_refreshing(self, request: Request) -> Reply:
        try:
            return self._call_with_retries(request)
        except SevdeskUnauthorized:
            # The token may have been rotated since it was cached: read the secret once more.
            # A 401 was not applied, so repeating even a write is safe.
            fresh = self._refresh_token() if self._refresh_token else None
            if not fresh or fresh == self._http.headers.get("Authorization"):
                raise
            logger.info("sevDesk refused the cached token; retrying with the current secret")
            self._http.headers["Authorization"] = fresh
            return self._call_with_retries(request)

    def _call_with_retries(self, request: Request) -> Reply:
        retrying = Retrying(
            stop=stop_after_attempt(max(1, self._settings.sevdesk_max_attempts)) | _OutOfTime(),
            wait=self._wait,
            retry=retry_if_exception(lambda exc: isinstance(exc, SevdeskError) and exc.retryable),
            sleep=self._sleep,
            reraise=True,
        )
        return retrying(self._send_once, request)

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        hint = getattr(exc, "wait_hint", None)
        return float(hint) if hint is not None else float(self._backoff(state))

    def _send_once(self, request: Request) -> Reply:
        left = deadline.remaining()
        if left is not None and left < MIN_ATTEMPT_SECONDS:
            # Not sent, so not ambiguous: the caller's next try starts with a fresh budget.
            raise TimeBudgetExceeded(f"sevDesk {request.operation}")
        if self._budget is not None:
            self._budget.acquire(request.budget_class)
        started = time.monotonic()
        try:
            response = self._http.request(
                request.method,
                request.path,
                params=request.params,
                json=request.json,
                files=request.files,
                timeout=self._timeout(),
            )
        except httpx.TransportError as exc:
            error = self._transport_error(exc, request)
            self._record(request, None, started, error)
            raise error from exc
        body, refusal = self._inspect(request, response)
        self._record(request, response, started, refusal)
        if refusal is not None:
            raise refusal
        return Reply(request, response, body)

    def _timeout(self) -> httpx.Timeout:
        settings = self._settings
        read = deadline.within(settings.sevdesk_timeout_seconds)
        return httpx.Timeout(read, connect=min(read, settings.sevdesk_connect_timeout_seconds))

    def _transport_error(self, exc: httpx.TransportError, request: Request) -> SevdeskError:
        kind = type(exc).__name__
        if isinstance(exc, _NOT_SENT) or request.safe:
            what = "could not be reached" if isinstance(exc, _NOT_SENT) else "did not answer"
            return SevdeskUnavailable(
                f"sevDesk {what} ({request.operation}: {kind}).",
                unreachable=True,
                retryable=True,
            )
        return self.ambiguous(request, f"the connection failed after sending ({kind})")

    def _inspect(self, request: Request, response: httpx.Response) -> tuple[Any, SevdeskError | None]:
        status = response.status_code
        if status == 429:
            hint = _retry_after(response)
            error = SevdeskRateLimited(
                f"sevDesk is rate limiting requests ({request.operation}).",
                retry_after=hint if hint is not None else self._settings.sevdesk_retry_min_seconds,
                http_status=429,
                retryable=hint is None or hint <= self._settings.sevdesk_retry_max_seconds,
            )
            error.wait_hint = hint
            return None, error
        body, readable = _decode(response)
        if status >= 500 or status == 408:
            if not request.safe:
                return body, self.ambiguous(request, f"sevDesk answered HTTP {status}")
            err = _error_body(body)
            said = f": {self._scrub(err.message)}" if err.message else ""
            return body, SevdeskUnavailable(
                f"sevDesk failed ({request.operation}, HTTP {status}){said}",
                sevdesk_code=err.code,
                http_status=status,
                exception_uuid=err.exception_uuid,
                retryable=True,
            )
        if status >= 400 or (isinstance(body, dict) and body.get("error")):
            return body, self._refusal(status, body)
        if not readable and not request.allow_raw:
            if not request.safe:
                return None, self.ambiguous(request, "sevDesk's answer was not JSON")
            return None, SevdeskProtocolError(
                f"sevDesk answered with a body that is not JSON ({request.operation})."
            )
        return body, None

    def _refusal(self, status: int, body: Any) -> SevdeskError:
        err = _error_body(body)
        message = self._scrub(err.message or f"HTTP {status}")
        details: dict[str, Any] | None = {"sevdeskCode": err.code} if err.code is not None else None
        if err.data and isinstance(err.data, dict):
            details = {**(details or {}), "data": err.data}
        kwargs: dict[str, Any] = {
            "sevdesk_code": err.code,
            "http_status": status,
            "exception_uuid": err.exception_uuid,
            "details": details,
        }
        if status in (401, 403):
            return SevdeskUnauthorized(f"sevDesk rejected the API token (HTTP {status}): {message}", **kwargs)
        if status == 404 or err.code == 151:
            return SevdeskNotFound(f"sevDesk: {message}", **kwargs)
        reason = f"code {err.code}" if err.code is not None else f"HTTP {status}"
        return SevdeskRefused(f"sevDesk refused: {message} ({reason})", **kwargs)

    def ambiguous(self, request: Request, why: str) -> SevdeskAmbiguousWrite:
        return SevdeskAmbiguousWrite(
            f"The outcome of sevDesk {request.operation} is unknown ({why}); "
            "it was not repeated: read the current state before writing again.",
            operation=request.operation,
        )

    def _scrub(self, text: str) -> str:
        token = self._http.headers.get("Authorization")
        if token:
            text = text.replace(token, "***")
        return redact(text)

    def _record(
        self, request: Request, response: httpx.Response | None, started: float, error: SevdeskError | None
    ) -> None:
        logger.info(
            "sevdesk request",
            extra={
                "sevdesk_operation": request.operation,
                "method": request.method,
                "path": request.path,
                "status": response.status_code if response is not None else None,
                "duration_ms": round((time.monotonic() - started) * 1000, 1),
                "exception_uuid": error.exception_uuid if error else None,
                "error": error.code if error else None,
            },
        )
        self.sent[request.operation] += 1
        _count("SevdeskRequests")
        _count("SevdeskLatency", (time.monotonic() - started) * 1000, "Milliseconds")
        if error is not None:
            _count("SevdeskErrors")
        # What the alarms watch (template.yaml): sevDesk failing or unreachable, the token refused.
        status = response.status_code if response is not None else None
        if error is not None and (status is None or status >= 500 or status == 408):
            _count("SevdeskServerErrors")
        if isinstance(error, SevdeskUnauthorized):
            _count("SevdeskUnauthorized")
        if isinstance(error, SevdeskRateLimited):
            _count("SevdeskRateLimited")
        if isinstance(error, SevdeskAmbiguousWrite):
            _count("SevdeskAmbiguousWrites")


class _OutOfTime(stop_base):
    """Stop retrying when the pause before the next attempt would use up the budget."""

    def __call__(self, retry_state: RetryCallState) -> bool:
        left = deadline.remaining()
        return left is not None and (retry_state.upcoming_sleep or 0.0) + MIN_ATTEMPT_SECONDS > left


def _decode(response: httpx.Response) -> tuple[Any, bool]:
    """(parsed JSON, readable). An empty body is readable (None); callers that need an
    answer find out when they parse `objects`."""
    if not response.content:
        return None, True
    try:
        return response.json(), True
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None, False


def _error_body(body: Any) -> ErrorBody:
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict):
            try:
                return ErrorBody.model_validate(error)
            except ValueError:
                return ErrorBody(message=str(error.get("message") or ""))
        if isinstance(error, str):
            return ErrorBody(message=error)
        if isinstance(body.get("message"), str):
            return ErrorBody(message=body["message"])
    return ErrorBody()


def _count(name: str, value: float = 1, unit: str = "Count") -> None:
    # Metrics must never break a call (e.g. a flush without a namespace outside a handler).
    try:
        metrics.add_metric(name=name, unit=unit, value=value)
    except Exception:
        logger.debug("metric not recorded", extra={"metric": name})
