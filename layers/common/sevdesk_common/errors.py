"""Application errors. Each carries its HTTP status and a stable machine code; the API factory
turns any of them into the one error body `{"error": {"code", "message", "details"}}`.
Class names double as Step Functions error names, so keep them stable."""

from __future__ import annotations

import math
from typing import Any


class AppError(Exception):
    status = 500
    code = "internal_error"
    # Seconds after which repeating the request may succeed (sent as Retry-After); None: waiting
    # does not help, the caller has to change something.
    retry_after: int | None = None

    def __init__(
        self, message: str, *, code: str | None = None, details: Any = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.details = details
        if retry_after is not None:
            self.retry_after = max(1, math.ceil(retry_after))

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details is not None:
            error["details"] = self.details
        return {"error": error}


class BadRequest(AppError):
    status = 400
    code = "validation_error"


class Unauthorized(AppError):
    status = 401
    code = "unauthorized"


class Forbidden(AppError):
    status = 403
    code = "forbidden"


class NotFound(AppError):
    status = 404
    code = "not_found"


class Conflict(AppError):
    status = 409
    code = "conflict"


class UnsupportedMediaType(AppError):
    status = 415
    code = "unsupported_media_type"


class Unprocessable(AppError):
    status = 422
    code = "unprocessable"


class RateLimited(AppError):
    status = 429
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: float, **kwargs: Any) -> None:
        super().__init__(message, retry_after=retry_after, **kwargs)


class UpstreamError(AppError):
    status = 502
    code = "upstream_error"


class ServiceUnavailable(AppError):
    status = 503
    code = "service_unavailable"


class InvoiceBusy(Conflict):
    """Another action holds the invoice right now: retryable, it is usually done in seconds."""

    code = "invoice_busy"

    def __init__(self, message: str, *, retry_after: float, **kwargs: Any) -> None:
        super().__init__(message, retry_after=retry_after, **kwargs)


class OutcomeUnknown(ServiceUnavailable):
    """sevDesk did not confirm a write. It is never repeated blindly: a retry after Retry-After
    looks it up in sevDesk first and finishes the job either way."""

    code = "sevdesk_outcome_unknown"

    def __init__(self, message: str, *, retry_after: float, **kwargs: Any) -> None:
        super().__init__(message, retry_after=retry_after, **kwargs)


class TimeBudgetExceeded(ServiceUnavailable):
    """The invocation ran out of time before it could send the next sevDesk request."""

    code = "time_budget_exceeded"

    def __init__(self, what: str) -> None:
        super().__init__(
            f"sevDesk is answering slowly; {what} was not sent. Nothing is lost: try again shortly.",
            retry_after=5,
        )


class TokenNotConfigured(Conflict):
    code = "sevdesk_token_not_configured"

    def __init__(self) -> None:
        super().__init__(
            "No sevDesk API token is configured: store it in the Secrets Manager secret "
            "(key apiToken) or set SEVDESK_API_TOKEN locally."
        )
