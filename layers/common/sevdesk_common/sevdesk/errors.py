"""What can go wrong when talking to sevDesk, as AppErrors the API layer already knows how to
render. Messages pass through `redact`, so an echoed token never reaches a caller or a log."""

from __future__ import annotations

from typing import Any

from sevdesk_common.errors import AppError
from sevdesk_common.observability import redact

# sevDesk codes that mean "the document is not in a state that allows this".
_CONFLICT_CODES = frozenset({159, 421})


class SevdeskError(AppError):
    status = 502
    code = "sevdesk_error"
    # Set per instance by the client: may tenacity try the call again?
    retryable = False

    def __init__(
        self,
        message: str,
        *,
        sevdesk_code: int | None = None,
        http_status: int | None = None,
        exception_uuid: str | None = None,
        details: Any = None,
        retryable: bool = False,
    ) -> None:
        super().__init__(redact(message), details=details)
        self.sevdesk_code = sevdesk_code
        self.http_status = http_status
        self.exception_uuid = exception_uuid
        self.retryable = retryable

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.message!r}, sevdesk_code={self.sevdesk_code!r}, "
            f"http_status={self.http_status!r})"
        )


class SevdeskUnauthorized(SevdeskError):
    # 502, not 401: our caller is authenticated; it is our sevDesk token that failed.
    status = 502
    code = "sevdesk_unauthorized"


class SevdeskNotFound(SevdeskError):
    status = 404
    code = "sevdesk_not_found"


class SevdeskRefused(SevdeskError):
    """sevDesk understood the request and said no (4xx, or an error body inside HTTP 200)."""

    status = 422
    code = "sevdesk_refused"

    def __init__(self, message: str, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        if self.sevdesk_code in _CONFLICT_CODES or self.http_status == 409:
            self.status = 409


class SevdeskRateLimited(SevdeskError):
    status = 503
    code = "sevdesk_rate_limited"

    def __init__(self, message: str, *, retry_after: float, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = max(1, int(-(-retry_after // 1)))  # whole seconds, rounded up
        # The exact Retry-After the server sent (None when it sent none).
        self.wait_hint: float | None = None


class SevdeskUnavailable(SevdeskError):
    """sevDesk failed (5xx: 502) or could not be reached (transport: 503) on a safe call."""

    status = 502
    code = "sevdesk_unavailable"

    def __init__(self, message: str, *, unreachable: bool = False, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        if unreachable:
            self.status = 503


class SevdeskAmbiguousWrite(SevdeskError):
    """A write may or may not have been applied. Never re-send it blindly: read first."""

    status = 503
    code = "sevdesk_outcome_unknown"

    def __init__(self, message: str, *, operation: str, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.operation = operation


class SevdeskProtocolError(SevdeskError):
    """sevDesk answered something we cannot read."""

    status = 502
    code = "sevdesk_protocol_error"
