"""The HTTP API plumbing every route Lambda shares: one resolver per Lambda (one route each),
auth and RBAC from the verified JWT claims, the per-user limiter, and the one error shape.

Auth and the limiter run before Powertools' request validation, so an anonymous or throttled
caller learns nothing about the body it sent and a rejected request changes nothing.
"""

from __future__ import annotations

import json
import math
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.utilities.typing import LambdaContext

from sevdesk_common.auth import Caller, Role, caller_from_event, require_role
from sevdesk_common.errors import AppError, BadRequest, RateLimited
from sevdesk_common.observability import logger, metrics
from sevdesk_common.settings import get_settings

CALLER_KEY = "caller"
# Path parameter rules shared by the invoice routes (R1 ids: letters, digits, - _ .).
INVOICE_ID = {"min_length": 1, "max_length": 64, "pattern": r"^[A-Za-z0-9._-]+$"}


def error_response(error: AppError) -> Response:
    headers: dict[str, str] = {}
    retry_after = getattr(error, "retry_after", None)
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


class Api:
    """One route's resolver plus the guard in front of it."""

    def __init__(self, role: Role) -> None:
        self.role = role
        self.resolver = APIGatewayHttpResolver(enable_validation=True)
        self.resolver.exception_handler(AppError)(error_response)
        self.resolver.exception_handler(RequestValidationError)(self._invalid)
        self.resolver.exception_handler(Exception)(self._unexpected)

    def _invalid(self, error: RequestValidationError) -> Response:
        # Powertools reports a response that fails its own model the same way: that is our bug.
        if any(tuple(issue.get("loc", ()))[:1] == ("response",) for issue in error.errors()):
            return self._unexpected(error)
        return error_response(validation_error(error))

    @staticmethod
    def _unexpected(error: Exception) -> Response:
        logger.exception("unhandled error")
        metrics.add_metric(name="UnhandledErrors", unit="Count", value=1)
        return error_response(AppError("Internal error; the request id is in the logs."))

    def handle(self, event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        try:
            caller = self._admit(event)
        except AppError as error:
            logger.info("request refused", extra={"status": error.status, "code": error.code})
            response = error_response(error)
            return {
                "statusCode": response.status_code,
                "headers": {"Content-Type": content_types.APPLICATION_JSON, **response.headers},
                "body": response.body,
                "isBase64Encoded": False,
            }
        self.resolver.append_context(**{CALLER_KEY: caller})
        try:
            return self.resolver.resolve(event, context)
        finally:
            self.resolver.clear_context()

    def _admit(self, event: dict[str, Any]) -> Caller:
        settings = get_settings()
        caller = caller_from_event(event, settings)
        require_role(caller, self.role)
        logger.append_keys(user_id=caller.user_id)
        _enforce_rate_limit(caller)
        return caller

    def caller(self) -> Caller:
        return self.resolver.context[CALLER_KEY]


def _enforce_rate_limit(caller: Caller) -> None:
    from sevdesk_common.ratelimit import TokenBucket
    from sevdesk_common.repository import get_table

    settings = get_settings()
    bucket = TokenBucket(
        get_table(),
        f"user#{caller.user_id}",
        capacity=settings.rate_limit_requests,
        refill_per_second=settings.rate_limit_requests / settings.rate_limit_window_seconds,
    )
    wait = bucket.try_take()
    if wait > 0:
        metrics.add_metric(name="RequestsThrottled", unit="Count", value=1)
        raise RateLimited(
            f"Too many requests: at most {settings.rate_limit_requests} per "
            f"{settings.rate_limit_window_seconds} s per user.",
            retry_after=math.ceil(wait),
        )


def make_api(role: Role) -> Api:
    return Api(role)
