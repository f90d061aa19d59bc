"""Cancel an invoice in sevDesk: a finalized one gets a cancellation invoice (SR) from
`cancelInvoice`; one that exists there only as a draft is deleted instead.

Both are write-once "retry" writes: a cancel whose answer was lost is settled by looking for the
SR by our marker (sevDesk copies `customerInternalNote` onto it), a lost delete by reading the
draft; repeating either cannot duplicate anything (a second cancelInvoice is refused with 421,
which is then settled the same way).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sevdesk_common.clients import sevdesk_client
from sevdesk_common.errors import AppError, Conflict
from sevdesk_common.models.config import SevdeskConfig
from sevdesk_common.models.invoice import Cancellation, HandoffState
from sevdesk_common.models.record import InvoiceRecord, Operation, PendingWrite
from sevdesk_common.repository import get_config_item
from sevdesk_common.services.lease import (
    InvoiceLease,
    Ride,
    acquire,
    failure_details,
    load_or_404,
    record_failure,
    refuse_foreign_pending,
    release_quietly,
    stale_is_busy,
)
from sevdesk_common.services.templates import cancellation_template
from sevdesk_common.sevdesk.errors import SevdeskError, SevdeskNotFound, SevdeskRefused
from sevdesk_common.sevdesk.markers import invoice_marker
from sevdesk_common.writes import WriteOnce

if TYPE_CHECKING:  # the client (and httpx) load at first use: see clients.client_for
    from sevdesk_common.sevdesk.client import SevdeskClient
    from sevdesk_common.sevdesk.models import Invoice


# sevDesk's refusals of cancelInvoice -> (our code, why), all left for a human to resolve.
REFUSALS = {
    421: ("already_cancelled_in_sevdesk", "it is already cancelled in sevDesk"),
    170: ("credit_note_exists", "a credit note exists for it in sevDesk; correct it there instead"),
    390: (
        "partially_paid",
        "it is partially paid; sevDesk only allows a credit note (book it manually in sevDesk)",
    ),
}


def cancel_invoice(invoice_id: str, actor: str) -> HandoffState:
    _check(load_or_404(invoice_id))
    client = sevdesk_client()
    announced = False

    def ride(current: InvoiceRecord, attempt: int) -> Ride:
        nonlocal announced
        announced = False
        if current.pending_write is not None or current.is_cancelled or not current.external_id:
            return Ride()

        def stored() -> None:
            nonlocal announced
            announced = True

        return Ride(changes={"pending_write": _intent(current)}, stored=stored)

    lease = acquire(load_or_404(invoice_id), "cancel", actor, prepare=ride)
    with stale_is_busy(invoice_id):
        writes = WriteOnce(lease, announced_unsent=announced)
        try:
            external_id = _check(lease.record)  # a concurrent cancel may have finished meanwhile
            if lease.record.external_invoice_number:
                _cancel_finalized(lease, writes, client, external_id, announced)
            else:
                _delete_draft(lease, writes, client, external_id, announced)
        except AppError as error:
            _record_failure(lease, writes, error)
            raise
        finally:
            release_quietly(lease)
    return lease.record.handoff()  # as stored after the lease was released


def _check(record: InvoiceRecord) -> str:
    if record.is_cancelled:
        raise Conflict(f"Invoice {record.invoice_id} is already cancelled.", code="already_cancelled")
    if not record.external_id:
        raise Conflict(
            f"Invoice {record.invoice_id} has never been published to sevDesk; there is nothing to cancel.",
            code="invoice_not_published",
        )
    refuse_foreign_pending(record, "cancel")
    return record.external_id


def _intent(record: InvoiceRecord) -> PendingWrite:
    operation: Operation = "cancelInvoice" if record.external_invoice_number else "deleteInvoice"
    return PendingWrite(
        action="cancel", operation=operation, at=datetime.now(UTC), target_id=record.external_id
    )


def _cancel_finalized(
    lease: InvoiceLease, writes: WriteOnce, client: SevdeskClient, external_id: str, announced: bool
) -> None:
    invoice_id = lease.record.invoice_id
    earlier = lease.pending()
    try:
        written = writes.run(
            _intent(lease.record),
            send=lambda: client.cancel_invoice(external_id),
            find=lambda: _find_cancellation(client, invoice_id, external_id),
            policy="retry",
            describe=f"the cancellation of invoice {invoice_id} in sevDesk",
            announced=announced,
        )
        sr = written.value
    except SevdeskRefused as error:
        # 421 after an earlier unconfirmed attempt: that attempt did cancel it.
        found = (
            _find_cancellation(client, invoice_id, external_id)
            if error.sevdesk_code == 421 and earlier
            else None
        )
        if found is None:
            raise _refusal(invoice_id, error) from error
        sr = found
    _finish(lease, client, sr)


def _delete_draft(
    lease: InvoiceLease, writes: WriteOnce, client: SevdeskClient, external_id: str, announced: bool
) -> None:
    try:
        if not client.get_invoice(external_id).is_draft:
            raise Conflict(
                f"Invoice {lease.record.invoice_id} is finalized in sevDesk but its publication was not "
                "completed here; publish it again, then cancel it.",
                code="invoice_publish_incomplete",
            )
        writes.run(
            _intent(lease.record),
            send=lambda: _delete(client, external_id),
            find=lambda: _gone(client, external_id),
            policy="retry",
            describe=f"deleting the draft of invoice {lease.record.invoice_id} in sevDesk",
            announced=announced,
        )
    except SevdeskNotFound:
        pass  # already gone: an earlier delete whose answer was lost
    lease.finish(
        "cancelled",
        {"draftDeleted": True, "externalId": external_id},
        claim_status="cancelled",
        document_status="cancelled",
        pending_write=None,
        last_error=None,
    )


def _delete(client: SevdeskClient, external_id: str) -> bool:
    client.delete_invoice(external_id)
    return True


def _gone(client: SevdeskClient, external_id: str) -> bool | None:
    try:
        client.get_invoice(external_id)
    except SevdeskNotFound:
        return True
    return None


def _find_cancellation(client: SevdeskClient, invoice_id: str, external_id: str) -> Invoice | None:
    """The SR sevDesk made for our invoice, if any (it copies our marker)."""
    for invoice in client.find_invoices_by_marker(invoice_marker(invoice_id)):
        if invoice.is_cancellation and invoice.origin is not None and invoice.origin.id == external_id:
            return invoice
    return None


def _finish(lease: InvoiceLease, client: SevdeskClient, sr: Invoice) -> None:
    config = SevdeskConfig.model_validate(get_config_item() or {})
    template = cancellation_template(config, lease.record.invoice.deal_type)
    details: dict[str, Any] = {
        "cancellationId": sr.id,
        "cancellationNumber": sr.invoice_number,
        "template": template,
    }
    if template:
        # The SR is enshrined (status 1000) on arrival; if sevDesk refuses a new layout there,
        # the cancellation itself still stands, so it is recorded and not fatal.
        try:
            client.change_parameter(sr.id, "template", template)
        except SevdeskError as error:
            details["templateError"] = failure_details(error)
    lease.finish(
        "cancelled",
        details,
        cancellation=Cancellation(
            external_id=sr.id,
            external_invoice_number=sr.invoice_number,
            template_id=template if template and "templateError" not in details else None,
        ),
        claim_status="cancelled",
        document_status="cancelled",
        pending_write=None,
        last_error=None,
    )


class _Refused(Conflict):
    """sevDesk said no to the cancellation; the invoice stays as it was."""


def _refusal(invoice_id: str, error: SevdeskRefused) -> AppError:
    known = REFUSALS.get(error.sevdesk_code or 0)
    if known is None:
        return error  # some other refusal: sevDesk's own message, 422
    code, why = known
    return _Refused(
        f"Invoice {invoice_id} cannot be cancelled: {why} (sevDesk: {error.message}).",
        code=code,
        details={"sevdeskCode": error.sevdesk_code},
    )


def _record_failure(lease: InvoiceLease, writes: WriteOnce, error: AppError) -> None:
    refused = isinstance(error, _Refused | SevdeskRefused)
    details: dict[str, Any] = {}
    if isinstance(error, _Refused) and isinstance(error.__cause__, SevdeskError):
        details = {**failure_details(error.__cause__), "reason": error.code}
    record_failure(lease, error, keep_pending=not writes.settled, details=details, remember=not refused)
