"""GoBD: every invoice's event log checked against its hash chain, page by page through the
all-invoices index (a Query per invoice, never a Scan)."""

from __future__ import annotations

from sevdesk_common import deadline, invoice_store
from sevdesk_common.errors import BadRequest
from sevdesk_common.invoice_store import InvalidCursor
from sevdesk_common.models.event_chain import BrokenChain, ChainReport, only_ahead_of_head, verify
from sevdesk_common.observability import logger, metrics

# Time kept for the answer once the budget runs low: the rest continues from the cursor.
_STOP_WITH_SECONDS_LEFT = 3.0


def verify_chains(*, limit: int, cursor: str | None) -> ChainReport:
    try:
        records, next_cursor = invoice_store.all_invoice_summaries(limit=limit, cursor=cursor)
    except InvalidCursor:
        raise BadRequest("cursor: not a cursor this API returned", details=[{"field": "cursor"}]) from None
    broken: list[BrokenChain] = []
    checked = 0
    for record in records:
        left = deadline.remaining()
        if left is not None and left < _STOP_WITH_SECONDS_LEFT and checked:
            next_cursor = invoice_store.invoice_cursor(records[checked - 1])
            break
        items = invoice_store.event_items(record.invoice_id)
        chain = verify(items, record.event_seq, record.event_head)
        if only_ahead_of_head(chain):  # the index lags the invoice (or an event came meanwhile)
            current = invoice_store.load(record.invoice_id)
            if current is not None:
                chain = verify(items, current.event_seq, current.event_head)
        checked += 1
        if not chain.verified:
            broken.append(BrokenChain(invoice_id=record.invoice_id, chain=chain))
    if broken:
        metrics.add_metric(name="EventChainBreaks", unit="Count", value=len(broken))
        logger.error("event log chain broken", extra={"invoice_ids": [b.invoice_id for b in broken]})
    return ChainReport(checked=checked, intact=checked - len(broken), broken=broken, next_cursor=next_cursor)
