"""Application errors. Each carries its HTTP status and a stable machine code; the API factory
turns any of them into the one error body `{"error": {"code", "message", "details"}}`.
Class names double as Step Functions error names, so keep them stable."""

from __future__ import annotations

from typing import Any


class AppError(Exception):
    status = 500
    code = "internal_error"

    def __init__(self, message: str, *, code: str | None = None, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.details = details

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

    def __init__(self, message: str, *, retry_after: int, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = max(1, int(retry_after))


class UpstreamError(AppError):
    status = 502
    code = "upstream_error"


class ServiceUnavailable(AppError):
    status = 503
    code = "service_unavailable"


class OutcomePending(ServiceUnavailable):
    """A write whose outcome is unknown may still be applied by sevDesk: wait before retrying."""

    code = "sevdesk_outcome_pending"

    def __init__(self, message: str, *, retry_after: int, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = max(1, int(retry_after))


class TokenNotConfigured(Conflict):
    code = "sevdesk_token_not_configured"

    def __init__(self) -> None:
        super().__init__(
            "No sevDesk API token is configured: store it in the Secrets Manager secret "
            "(key apiToken) or set SEVDESK_API_TOKEN locally."
        )
