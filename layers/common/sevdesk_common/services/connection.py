"""Verify the token against sevDesk and remember which account it belongs to."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sevdesk_common.clients import sevdesk_client
from sevdesk_common.errors import AppError
from sevdesk_common.models.config import ConnectionFailure, ConnectionResult
from sevdesk_common.models.einvoice import SellerCheck
from sevdesk_common.observability import logger, metrics
from sevdesk_common.services.config import modify_config

if TYPE_CHECKING:
    from sevdesk_common.auth import Caller

SUPPORTED_BOOKKEEPING_VERSION = "2.0"


def verify_connection(caller: Caller) -> ConnectionResult:
    client = sevdesk_client()
    now = datetime.now(UTC)
    try:
        version = client.bookkeeping_system_version()
        users = client.list_sev_users()
    except AppError as error:
        # A refused token or an unreachable sevDesk is the test's answer, not a server fault.
        logger.warning("sevDesk connection test failed", extra={"code": error.code})
        metrics.add_metric(name="ConnectionTestFailed", unit="Count", value=1)
        refused = ConnectionFailure(code=error.code, message=error.message)
        modify_config(
            lambda c: c.model_copy(update={"is_connected": False, "last_connection_error": refused.message})
        )
        return ConnectionResult(is_connected=False, error=refused)

    user = users[0] if users else None
    account = user.sev_client if user else None
    account_id = account.id if account else None
    # sevDesk expands sevClient (with the company name) on SevUser; fall back to the user's name.
    account_name = (getattr(account, "name", None) or user.fullname or user.username) if user else None
    failure: ConnectionFailure | None = None
    if version != SUPPORTED_BOOKKEEPING_VERSION:
        failure = ConnectionFailure(
            code="unsupported_bookkeeping_version",
            message=f"sevDesk bookkeeping system version is {version}; this integration needs "
            f"{SUPPORTED_BOOKKEEPING_VERSION} (taxRule-based invoices).",
        )
    connected = failure is None
    saved = modify_config(
        lambda c: c.model_copy(
            update={
                "account_name": account_name,
                "account_id": account_id,
                "bookkeeping_system_version": version,
                "is_connected": connected,
                "connected_by": caller.user_id if connected else c.connected_by,
                "connected_at": now if connected else c.connected_at,
                "last_connection_error": None if connected else failure.message if failure else None,
                # Master data may have been fixed in sevDesk: the next e-invoice is the canary again.
                "e_invoice_seller": SellerCheck(),
                "updated_at": now,
                "updated_by": caller.user_id,
            }
        )
    )
    return ConnectionResult(
        is_connected=connected,
        account_name=account_name,
        account_id=account_id,
        bookkeeping_system_version=version,
        connected_by=saved.connected_by,
        connected_at=saved.connected_at,
        error=failure,
    )
