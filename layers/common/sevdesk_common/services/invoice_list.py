"""GET /api/billing/invoices: the handed-over invoices, newest first, from the list index.

Every invoice sits in one partition of the index by its state (invoice_store.list_bucket). A
request reads only the partitions its status filters can match, found by trying every status
combination against the same function (so the planner cannot disagree with the keys), with the
filters as a FilterExpression inside them; the date range is a key condition. Never a Scan.
"""

from __future__ import annotations

import itertools
from datetime import date
from typing import get_args

from sevdesk_common import invoice_store
from sevdesk_common.errors import BadRequest
from sevdesk_common.invoice_store import InvalidCursor, ListQuery, list_bucket
from sevdesk_common.models.invoice import ClaimStatus, DocumentStatus, SyncStatus
from sevdesk_common.models.invoice_list import InvoiceList, InvoiceSummary

FIELDS = ("accountingSyncStatus", "claimStatus", "documentStatus")
_VALUES = (get_args(SyncStatus), get_args(ClaimStatus), get_args(DocumentStatus))


def list_invoices(
    *,
    statuses: dict[str, str],
    date_from: date | None,
    date_to: date | None,
    limit: int,
    cursor: str | None,
) -> InvoiceList:
    """`statuses`: field (accountingSyncStatus, claimStatus, documentStatus) -> wanted value."""
    if date_from and date_to and date_from > date_to:
        raise BadRequest(
            "invoiceDateFrom must not be after invoiceDateTo",
            details=[{"field": "invoiceDateFrom", "message": "after invoiceDateTo"}],
        )
    try:
        items, next_cursor = invoice_store.list_invoices(
            plan(statuses, date_from, date_to), limit=limit, cursor=cursor
        )
    except InvalidCursor:
        raise BadRequest(
            "cursor: not a cursor this list returned",
            details=[{"field": "cursor", "message": "use the nextCursor of an earlier page"}],
        ) from None
    return InvoiceList(invoices=[InvoiceSummary.model_validate(i) for i in items], next_cursor=next_cursor)


def plan(statuses: dict[str, str], date_from: date | None, date_to: date | None) -> ListQuery:
    """The partitions any invoice with these statuses can be in, and the filters within them."""
    partitions = sorted(
        {
            list_bucket(*combination)
            for combination in itertools.product(*_VALUES)
            if all(
                statuses.get(field) in (None, value) for field, value in zip(FIELDS, combination, strict=True)
            )
        }
    )
    filters = tuple((field, statuses[field]) for field in FIELDS if field in statuses)
    return ListQuery(tuple(partitions), date_from, date_to, filters)
