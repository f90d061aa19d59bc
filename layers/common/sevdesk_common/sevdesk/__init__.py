"""The typed sevDesk client. Names load on first use (PEP 562), so importing e.g. only the
errors does not pull httpx/tenacity/boto3 into a cold start that never calls sevDesk."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sevdesk_common.sevdesk.budget import BudgetClass, OutboundBudget
    from sevdesk_common.sevdesk.client import SevdeskClient
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
    from sevdesk_common.sevdesk.models import (
        CommunicationWay,
        Contact,
        ContactAddress,
        DocTemplate,
        DownloadInfo,
        EmailResult,
        Invoice,
        InvoiceLog,
        InvoicePage,
        InvoicePos,
        PdfDocument,
        Progress,
        Ref,
        SavedInvoice,
        SavedVoucher,
        SevClientRef,
        SevUser,
        TempFile,
        Voucher,
        VoucherPos,
    )
    from sevdesk_common.sevdesk.payloads import (
        InvoicePositionPayload,
        InvoiceSavePayload,
        VoucherPositionPayload,
        VoucherSavePayload,
    )

__all__ = [
    "BudgetClass",
    "CommunicationWay",
    "Contact",
    "ContactAddress",
    "DocTemplate",
    "DownloadInfo",
    "EmailResult",
    "Invoice",
    "InvoiceLog",
    "InvoicePage",
    "InvoicePos",
    "InvoicePositionPayload",
    "InvoiceSavePayload",
    "OutboundBudget",
    "PdfDocument",
    "Progress",
    "Ref",
    "SavedInvoice",
    "SavedVoucher",
    "SevClientRef",
    "SevUser",
    "SevdeskAmbiguousWrite",
    "SevdeskClient",
    "SevdeskError",
    "SevdeskNotFound",
    "SevdeskProtocolError",
    "SevdeskRateLimited",
    "SevdeskRefused",
    "SevdeskUnauthorized",
    "SevdeskUnavailable",
    "TempFile",
    "Voucher",
    "VoucherPos",
    "VoucherPositionPayload",
    "VoucherSavePayload",
    "clear_client_cache",
    "client_for",
]
# Cheapest first: a name from errors must not import httpx or botocore.
_SUBMODULES = ("errors", "models", "payloads", "budget", "client")

# One client per process and token: warm invocations reuse its connection pool.
_clients: dict[str, SevdeskClient] = {}


def __getattr__(name: str) -> Any:
    if name in __all__:
        for sub in _SUBMODULES:
            module = importlib.import_module(f"{__name__}.{sub}")
            if name in vars(module):
                globals()[name] = value = vars(module)[name]
                return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def client_for(token: str) -> SevdeskClient:
    """The process-wide client for `token`, drawing on the shared DynamoDB budget."""
    from sevdesk_common.repository import get_table
    from sevdesk_common.settings import get_settings
    from sevdesk_common.sevdesk.budget import OutboundBudget
    from sevdesk_common.sevdesk.client import SevdeskClient
    from sevdesk_common.sevdesk.core import token_key

    settings = get_settings()
    key = token_key(settings.sevdesk_base_url, token)
    client = _clients.get(key)
    if client is None:
        _clients.clear()  # a rotated token replaces the old client
        client = _clients[key] = SevdeskClient(
            token, settings=settings, budget=OutboundBudget(get_table(), settings)
        )
    return client


def clear_client_cache() -> None:
    """Forget cached clients and close their pools (tests; what a fresh container has)."""
    from sevdesk_common.sevdesk.core import close_pools

    _clients.clear()
    close_pools()
