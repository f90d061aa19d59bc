"""The drift report: the bundle's invoices and customers compared with sevDesk's, each difference
with the action to take. Read-only on both sides: the bundle's invoices from the all-invoices
index, sevDesk's from list reads (1000 a page, the bulk budget), never one request per invoice.
The nightly run (a Schedule) archives its report in the export bucket."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sevdesk_common import document_store, invoice_store
from sevdesk_common.clients import sevdesk_client
from sevdesk_common.models.drift import ACTIONS, DriftItem, DriftKind, DriftReport, SevdeskRequests
from sevdesk_common.observability import logger, metrics
from sevdesk_common.sevdesk.markers import MARKER_PREFIX
from sevdesk_common.sevdesk.payloads import MAX_PAGE

if TYPE_CHECKING:  # the client (and httpx) load at first use: see clients.client_for
    from sevdesk_common.models.record import InvoiceSummary
    from sevdesk_common.sevdesk.client import SevdeskClient
    from sevdesk_common.sevdesk.models import Contact, Invoice


# sevDesk statuses: draft, open, partially paid, paid (a cancelled original also reads 1000).
_DRAFT, _OPEN = 100, 200


def drift_report(trigger: str = "request") -> DriftReport:
    started = time.monotonic()
    client = sevdesk_client()
    sent_before = Counter(client.sent)
    records = list(_bundle_invoices())
    ours = {r.external_id: r for r in records if r.external_id}
    by_invoice_id = {r.invoice_id: r for r in records}
    invoices, cancellations, marked = _sevdesk_invoices(client, set(ours))
    contacts, contacts_checked = _contact_drift(client, records)

    items: list[DriftItem] = []
    for external_id, record in ours.items():
        items += _invoice_drift(record, invoices.get(external_id), cancellations.get(external_id))
    for marker_id, invoice in marked.items():
        known = by_invoice_id.get(marker_id)
        if known is None or known.external_id != invoice.id:
            items.append(_missing_in_bundle(marker_id, known, invoice))
    items += contacts

    sent = Counter(client.sent)
    sent.subtract(sent_before)
    by_operation = {operation: count for operation, count in sorted(sent.items()) if count}
    counts = Counter(item.kind for item in items)
    for kind, count in counts.items():
        metrics.add_metric(name="DriftItems", unit="Count", value=count)
        logger.info("drift found", extra={"kind": kind, "count": count})
    return DriftReport(
        generated_at=datetime.now(UTC),
        trigger="schedule" if trigger == "schedule" else "request",
        bundle_invoices=len(ours),
        sevdesk_invoices=len(marked),
        contacts_checked=contacts_checked,
        sevdesk_requests=SevdeskRequests(total=sum(by_operation.values()), by_operation=by_operation),
        duration_ms=round((time.monotonic() - started) * 1000),
        counts=dict(sorted(counts.items())),
        items=items,
    )


def nightly() -> DriftReport:
    """The scheduled run: the report, archived as JSON (the bucket's default retention applies)."""
    report = drift_report("schedule")
    key = f"reports/reconciliation/{report.generated_at:%Y/%m/%d/%H%M%S}.json"
    body = json.dumps(report.model_dump(mode="json", by_alias=True), indent=1).encode()
    document_store.put_report(key, body)
    logger.info("drift report archived", extra={"key": key, "items": len(report.items)})
    return report.model_copy(update={"stored_as": key})


# ---------------------------------------------------------------- reading both sides


def _bundle_invoices() -> Iterator[InvoiceSummary]:
    cursor: str | None = None
    while True:
        records, cursor = invoice_store.all_invoice_summaries(cursor=cursor)  # DynamoDB's 1 MB pages
        yield from records
        if cursor is None:
            return


def _pages(client: SevdeskClient, **filters: Any) -> Iterator[Invoice]:
    offset = 0
    while True:
        page = client.list_invoices(limit=MAX_PAGE, offset=offset, budget_class="bulk", **filters)
        yield from page.items
        if page.fetched < MAX_PAGE:
            return
        offset += page.fetched


def _sevdesk_invoices(
    client: SevdeskClient, ours: set[str]
) -> tuple[dict[str, Invoice], dict[str, Invoice], dict[str, Invoice]]:
    """(ours by id, cancellations by the id they cancel, RE invoices carrying an R1 marker by R1 id)."""
    invoices: dict[str, Invoice] = {}
    cancellations: dict[str, Invoice] = {}
    marked: dict[str, Invoice] = {}
    for invoice in _pages(client):
        if invoice.id in ours:
            invoices[invoice.id] = invoice
        if invoice.is_cancellation and invoice.origin is not None and invoice.origin.id in ours:
            cancellations[invoice.origin.id] = invoice
        note = invoice.customer_internal_note or ""
        if not invoice.is_cancellation and note.startswith(MARKER_PREFIX):
            marked[note.removeprefix(MARKER_PREFIX)] = invoice
    return invoices, cancellations, marked


def _contacts(client: SevdeskClient) -> Iterator[Contact]:
    offset = 0
    while True:
        page = client.contacts_page(limit=MAX_PAGE, offset=offset, budget_class="bulk")
        yield from page
        if len(page) < MAX_PAGE:
            return
        offset += len(page)


# ---------------------------------------------------------------- comparing


def _item(kind: DriftKind, record: InvoiceSummary | None, invoice: Invoice | None, **sides: Any) -> DriftItem:
    return DriftItem(
        kind=kind,
        invoice_id=record.invoice_id if record else None,
        external_id=invoice.id if invoice else record.external_id if record else None,
        ours=sides.get("ours", {}),
        sevdesk=sides.get("sevdesk", {}),
        action=ACTIONS[kind],
    )


def _invoice_drift(
    record: InvoiceSummary, invoice: Invoice | None, cancellation: Invoice | None
) -> list[DriftItem]:
    if invoice is None:
        if record.is_cancelled and record.external_invoice_number is None:
            return []  # a draft deleted by our own cancel
        return [_item("missing_in_sevdesk", record, None, ours={"documentStatus": record.document_status})]
    found = (check(record, invoice, cancellation) for check in _INVOICE_CHECKS)
    return [item for item in found if item is not None]


def _number_drift(record: InvoiceSummary, invoice: Invoice, _: Invoice | None) -> DriftItem | None:
    if not record.external_invoice_number or invoice.invoice_number == record.external_invoice_number:
        return None
    return _item(
        "number_differs",
        record,
        invoice,
        ours={"number": record.external_invoice_number},
        sevdesk={"number": invoice.invoice_number},
    )


def _sums_drift(record: InvoiceSummary, invoice: Invoice, _: Invoice | None) -> DriftItem | None:
    if invoice.sum_gross is None:
        return None
    net_differs = invoice.sum_net is not None and invoice.sum_net != record.net_amount
    if invoice.sum_gross == record.gross_amount and not net_differs:
        return None
    return _item(
        "sums_differ",
        record,
        invoice,
        ours={"net": record.net_amount, "gross": record.gross_amount},
        sevdesk={"net": invoice.sum_net, "gross": invoice.sum_gross},
    )


def _status_drift(record: InvoiceSummary, invoice: Invoice, _: Invoice | None) -> DriftItem | None:
    ours_draft = record.document_status == "draft"
    if ours_draft == (invoice.status == _DRAFT) or record.is_cancelled:
        return None
    return _item(
        "status_differs",
        record,
        invoice,
        ours={"documentStatus": record.document_status},
        sevdesk={"status": invoice.status},
    )


def _cancellation_drift(
    record: InvoiceSummary, invoice: Invoice, cancellation: Invoice | None
) -> DriftItem | None:
    if cancellation is None or record.is_cancelled:
        return None
    return _item(
        "cancellation_unseen",
        record,
        invoice,
        ours={"claimStatus": record.claim_status},
        sevdesk={"cancellationId": cancellation.id, "cancellationNumber": cancellation.invoice_number},
    )


def _payment_drift(
    record: InvoiceSummary, invoice: Invoice, cancellation: Invoice | None
) -> DriftItem | None:
    paid = invoice.paid_amount or Decimal(0)
    if cancellation is not None or record.is_cancelled or paid <= record.paid_amount:
        return None
    return _item(
        "payment_unseen",
        record,
        invoice,
        ours={"paidAmount": record.paid_amount, "claimStatus": record.claim_status},
        sevdesk={"paidAmount": paid, "status": invoice.status, "payDate": invoice.pay_date},
    )


def _einvoice_drift(record: InvoiceSummary, invoice: Invoice, _: Invoice | None) -> DriftItem | None:
    if not record.e_invoice or invoice.property_is_e_invoice is not False:  # a missing flag proves nothing
        return None
    return _item("einvoice_differs", record, invoice, ours={"eInvoice": True}, sevdesk={"eInvoice": False})


# Each compares one aspect of an invoice found on both sides (the cancellation, if sevDesk has one).
_INVOICE_CHECKS: tuple[Callable[[InvoiceSummary, Invoice, Invoice | None], DriftItem | None], ...] = (
    _number_drift,
    _sums_drift,
    _status_drift,
    _cancellation_drift,
    _payment_drift,
    _einvoice_drift,
)


def _missing_in_bundle(invoice_id: str, record: InvoiceSummary | None, invoice: Invoice) -> DriftItem:
    return DriftItem(
        kind="missing_in_bundle",
        invoice_id=invoice_id,
        external_id=invoice.id,
        ours={"handedOver": record is not None, "externalId": record.external_id if record else None},
        sevdesk={"number": invoice.invoice_number, "status": invoice.status, "gross": invoice.sum_gross},
        action=ACTIONS["missing_in_bundle"],
    )


def _contact_drift(client: SevdeskClient, records: list[InvoiceSummary]) -> tuple[list[DriftItem], int]:
    """Each linked customer against its sevDesk contact, by R1's latest hand-over."""
    latest: dict[str, InvoiceSummary] = {}
    for record in records:
        contact_id = record.sevdesk_contact_id
        if contact_id and (contact_id not in latest or record.created_at > latest[contact_id].created_at):
            latest[contact_id] = record
    if not latest:
        return [], 0
    found = {c.id: c for c in _contacts(client) if c.id in latest}
    items: list[DriftItem] = []
    for contact_id, record in latest.items():
        contact = found.get(contact_id)
        ours = {"customerNumber": record.recipient_key, "name": record.recipient_name}
        if contact is None:
            items.append(
                DriftItem(
                    kind="contact_missing_in_sevdesk",
                    invoice_id=record.invoice_id,
                    contact_id=contact_id,
                    ours=ours,
                    action=ACTIONS["contact_missing_in_sevdesk"],
                )
            )
            continue
        theirs = {
            "customerNumber": contact.customer_number,
            "name": contact.display_name,
            "vatId": contact.vat_number,
        }
        # Only a contactId was handed over: R1 sent no name to compare with.
        differs = {k for k in ("customerNumber", "name") if ours[k] is not None and ours[k] != theirs[k]}
        if record.recipient_vat_id and record.recipient_vat_id != contact.vat_number:
            ours["vatId"] = record.recipient_vat_id
            differs.add("vatId")
        if differs:
            items.append(
                DriftItem(
                    kind="contact_differs",
                    invoice_id=record.invoice_id,
                    contact_id=contact_id,
                    ours={k: ours[k] for k in sorted(differs)},
                    sevdesk={k: theirs[k] for k in sorted(differs)},
                    action=ACTIONS["contact_differs"],
                )
            )
    return items, len(latest)
