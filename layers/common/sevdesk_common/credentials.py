"""The sevDesk API token: SEVDESK_API_TOKEN when set (local runs), else the Secrets Manager
secret (Powertools parameters, cached for `sevdesk_secret_max_age_seconds`). It is returned to
the caller only; never logged, stored or put in an error."""

from __future__ import annotations

from sevdesk_common.errors import TokenNotConfigured
from sevdesk_common.settings import get_settings


def get_token(*, refresh: bool = False) -> str | None:
    """The current token; `refresh` reads the secret again (after sevDesk refused the cached one,
    e.g. because it was rotated)."""
    settings = get_settings()
    if settings.sevdesk_api_token is not None:
        token = settings.sevdesk_api_token.get_secret_value().strip()
        return token or None
    if not settings.sevdesk_secret_id:
        return None
    # Imported here: parameters creates a boto3 session, which routes that never need the
    # token (hand-over, event log) should not pay for on a cold start.
    from aws_lambda_powertools.utilities import parameters

    value = parameters.get_secret(
        settings.sevdesk_secret_id,
        transform="json",
        max_age=settings.sevdesk_secret_max_age_seconds,
        force_fetch=refresh,
    )
    token = str(value.get("apiToken") or "").strip() if isinstance(value, dict) else ""
    return token or None


def require_token() -> str:
    token = get_token()
    if token is None:
        raise TokenNotConfigured()
    return token
