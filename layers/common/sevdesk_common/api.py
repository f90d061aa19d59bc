"""The HTTP API plumbing every route Lambda shares: one resolver per Lambda (one route each),
auth and RBAC from the verified JWT claims, the per-user limiter, and the one error shape.

Auth and the limiter run before Powertools' request validation, so an anonymous or throttled
caller learns nothing about the body it sent and a rejected request changes nothing. Then the
guard checks the body's media type and decodes it (API Gateway base64-encodes bodies it deems
binary), so Powertools only ever sees a JSON text body.
"""

from __future__ import annotations

import base64
import binascii
import json
from contextvars import ContextVar
from functools import lru_cache
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from sevdesk_common import deadline
from sevdesk_common.auth import Caller, Role, caller_from_event, require_role
from sevdesk_common.errors import AppError, BadRequest, NotFound, RateLimited, UnsupportedMediaType
from sevdesk_common.observability import logger, metrics
from sevdesk_common.ratelimit import TokenBucket
from sevdesk_common.repository import get_table
from sevdesk_common.settings import get_settings

# The caller of the invocation in progress (one at a time per Lambda instance).
_caller: ContextVar[Caller] = ContextVar("caller")
JSON_MEDIA_TYPE = content_types.APPLICATION_JSON
# Path parameter rules shared by the invoice routes (R1 ids: letters, digits, - _ .).
INVOICE_ID = {"min_length": 1, "max_length": 64, "pattern": r"^[A-Za-z0-9._-]+$"}


# A 503 is always worth retrying; without a better figure, after this long.
DEFAULT_RETRY_AFTER_SECONDS = 5


def error_response(error: AppError) -> Response[Any]:
    headers: dict[str, str] = {}
    retry_after = error.retry_after
    if retry_after is None and error.status == 503:
        retry_after = DEFAULT_RETRY_AFTER_SECONDS
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    return Response(
        status_code=error.status,
        content_type=content_types.APPLICATION_JSON,
        body=json.dumps(error.body(), default=str),
        headers=headers,
    )


def _field_name(location: tuple[Any, ...]) -> str:
    # Powertools prefixes the source ("body", "query", "path"); the frontend wants the field.
    parts = [str(part) for part in location]
    return ".".join(parts[1:] if len(parts) > 1 and parts[0] in {"body", "query", "path"} else parts)


def validation_error(error: RequestValidationError) -> BadRequest:
    details = []
    for issue in error.errors():
        field = _field_name(tuple(issue.get("loc", ())))
        kind = issue.get("type", "")
        if kind == "extra_forbidden":
            message = "unknown or read-only field"
        elif kind == "json_invalid":
            field, message = "body", "the body is not valid JSON"
        else:
            message = str(issue.get("msg", "invalid value"))
        details.append({"field": field or "body", "message": message})
    summary = "; ".join(f"{d['field']}: {d['message']}" for d in details) or "invalid request"
    return BadRequest(f"Invalid request: {summary}", details=details)


def unsupported_media_type(media_type: str) -> UnsupportedMediaType:
    return UnsupportedMediaType(
        f"Unsupported content type {media_type!r}: send the body as {JSON_MEDIA_TYPE}.",
        details=[{"field": "body", "message": f"content type must be {JSON_MEDIA_TYPE}"}],
    )


def _header(event: dict[str, Any], name: str) -> str:
    # HTTP APIs lower-case header names; hand-written events (and REST APIs) may not.
    for key, value in (event.get("headers") or {}).items():
        if key.lower() == name:
            return str(value)
    return ""


def json_text_body(event: dict[str, Any]) -> dict[str, Any]:
    """The event with its body as JSON text: a media type other than JSON is a 415; a body that
    is not UTF-8 (plain, or base64 as API Gateway sends what it deems binary) is a 400."""
    media_type = _header(event, "content-type").split(";", 1)[0].strip().lower()
    if media_type and media_type != JSON_MEDIA_TYPE:
        raise unsupported_media_type(media_type)
    body = event.get("body")
    if not body or not event.get("isBase64Encoded"):
        return event
    try:
        text = base64.b64decode(body, validate=True).decode("utf-8")
    except (binascii.Error, ValueError):  # UnicodeDecodeError is a ValueError
        raise BadRequest(
            "Invalid request: the body is not valid UTF-8 JSON.",
            details=[{"field": "body", "message": "the body is not valid UTF-8"}],
        ) from None
    return {**event, "body": text, "isBase64Encoded": False}


class Api:
    """One route's resolver plus the guard in front of it."""

    def __init__(self, role: Role) -> None:
        self.role = role
        self.resolver = APIGatewayHttpResolver(enable_validation=True)
        self.resolver.exception_handler(AppError)(error_response)
        self.resolver.exception_handler(RequestValidationError)(self._invalid)
        # Powertools raises these outside any route; without their own handlers they would
        # reach the catch-all below and become 500s.
        self.resolver.exception_handler(NotFoundError)(self._no_route)
        self.resolver.exception_handler(RequestUnsupportedContentType)(self._unsupported)
        self.resolver.exception_handler(Exception)(self._unexpected)
        self._takes_body: bool | None = None

    def _invalid(self, error: RequestValidationError) -> Response[Any]:
        # Powertools reports a response that fails its own model the same way: that is our bug.
        if any(tuple(issue.get("loc", ()))[:1] == ("response",) for issue in error.errors()):
            return self._unexpected(error)
        return error_response(validation_error(error))

    @staticmethod
    def _no_route(error: NotFoundError) -> Response[Any]:
        # API Gateway matched the route, Powertools did not: the path parameter holds characters
        # no id has (control characters, emoji, NUL). Nothing by that id exists.
        return error_response(NotFound("Not found: ids consist of letters, digits, '.', '_' and '-'."))

    def _unsupported(self, error: RequestUnsupportedContentType) -> Response[Any]:
        media_type = _header(self.resolver.current_event.raw_event, "content-type")
        return error_response(unsupported_media_type(media_type.split(";", 1)[0].strip()))

    @staticmethod
    def _unexpected(error: Exception) -> Response[Any]:
        # exc_info from the error itself: Powertools calls some handlers outside an except block.
        logger.error(
            f"unhandled error: {type(error).__name__}",
            exc_info=(type(error), error, error.__traceback__),
            extra={"error_type": f"{type(error).__module__}.{type(error).__qualname__}"},
        )
        metrics.add_metric(name="UnhandledErrors", unit="Count", value=1)
        return error_response(AppError("Internal error; the request id is in the logs."))

    def handle(self, event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        deadline.start(get_settings().route_budget_seconds, context)
        try:
            return self._handle(event, context)
        finally:
            deadline.clear()

    def _handle(self, event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        try:
            caller = self._admit(event)
            if self.takes_body:
                event = json_text_body(event)
        except AppError as error:
            logger.info("request refused", extra={"status": error.status, "code": error.code})
            response = error_response(error)
            return {
                "statusCode": response.status_code,
                "headers": {"Content-Type": content_types.APPLICATION_JSON, **response.headers},
                "body": response.body,
                "isBase64Encoded": False,
            }
        token = _caller.set(caller)
        try:
            return self.resolver.resolve(event, context)
        finally:
            _caller.reset(token)

    def _admit(self, event: dict[str, Any]) -> Caller:
        settings = get_settings()
        caller = caller_from_event(event, settings)
        require_role(caller, self.role)
        logger.append_keys(user_id=caller.user_id)
        _enforce_rate_limit(caller)
        return caller

    def caller(self) -> Caller:
        return _caller.get()

    @property
    def takes_body(self) -> bool:
        """Whether this Lambda's route reads a body (only then does Powertools parse one)."""
        if self._takes_body is None:
            # Powertools keeps the registered routes in these two lists; each knows its body field.
            routes = [*self.resolver._static_routes, *self.resolver._dynamic_routes]
            self._takes_body = any(route.body_field is not None for route in routes)
        return self._takes_body


@lru_cache(maxsize=256)
def user_bucket(user_id: str) -> TokenBucket:
    # Kept per warm container: the bucket remembers what it last saw (one DynamoDB call per take).
    settings = get_settings()
    return TokenBucket(
        get_table(),
        f"user#{user_id}",
        capacity=settings.rate_limit_requests,
        refill_per_second=settings.rate_limit_requests / settings.rate_limit_window_seconds,
    )


def _enforce_rate_limit(caller: Caller) -> None:
    settings = get_settings()
    wait = user_bucket(caller.user_id).try_take()
    if wait > 0:
        metrics.add_metric(name="RequestsThrottled", unit="Count", value=1)
        raise RateLimited(
            f"Too many requests: at most {settings.rate_limit_requests} per "
            f"{settings.rate_limit_window_seconds} s per user.",
            retry_after=wait,
        )


def make_api(role: Role) -> Api:
    return Api(role)
