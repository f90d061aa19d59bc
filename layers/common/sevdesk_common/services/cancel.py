"""Cancel an invoice in sevDesk: a finalized one gets a cancellation invoice (SR) from
`cancelInvoice`; one that exists there only as a draft is deleted instead.

Never two cancellation invoices: a cancel whose answer was lost is settled by looking for the
SR by our marker (sevDesk copies `customerInternalNote` onto it) before anything is re-sent,
and a repeated `cancelInvoice` is refused by sevDesk itself (code 421) and then reconciled too.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sevdesk_common.credentials import require_token
from sevdesk_common.errors import AppError, Conflict, ServiceUnavailable
from sevdesk_common.invoice_store import InvoiceRecord
from sevdesk_common.models.invoice import Cancellation, HandoffState
from sevdesk_common.services.invoice_ops import (
    InvoiceLock,
    busy_if_stale,
    failure_details,
    invoice_lock,
    load_or_404,
    refuse_foreign_pending,
)

CANCEL_OP = "cancelInvoice"
# sevDesk's refusals of cancelInvoice -> (our code, why), all left for a human to resolve.
REFUSALS = {
    421: ("already_cancelled_in_sevdesk", "it is already cancelled in sevDesk"),
    170: ("credit_note_exists", "a credit note exists for it in sevDesk; correct it there instead"),
    390: (
        "partially_paid",
        "it is partially paid; sevDesk only allows a credit note (book it manually in sevDesk)",
    ),
}


def _check(record: InvoiceRecord) -> str:
    if record.claim_status == "cancelled" or record.document_status == "cancelled":
        raise Conflict(f"Invoice {record.invoice_id} is already cancelled.", code="already_cancelled")
    if not record.external_id:
        raise Conflict(
            f"Invoice {record.invoice_id} has never been published to sevDesk; there is nothing to cancel.",
            code="invoice_not_published",
        )
    refuse_foreign_pending(record, CANCEL_OP)
    return record.external_id


def cancel_invoice(invoice_id: str, actor: str) -> HandoffState:
    _check(load_or_404(invoice_id))

    from sevdesk_common.sevdesk import client_for

    client = client_for(require_token())
    with invoice_lock(invoice_id, "cancel") as lock, busy_if_stale(invoice_id):
        external_id = _check(lock.record)  # a concurrent cancel may have finished meanwhile
        if lock.record.external_invoice_number:
            _cancel_finalized(lock, client, external_id, actor)
        else:
            _delete_draft(lock, client, external_id, actor)
    return lock.record.handoff()  # as stored after the lease was released


def _delete_draft(lock: InvoiceLock, client: Any, external_id: str, actor: str) -> None:
    from sevdesk_common.sevdesk import SevdeskAmbiguousWrite, SevdeskError, SevdeskNotFound

    try:
        invoice = client.get_invoice(external_id)
        if not invoice.is_draft:
            raise Conflict(
                f"Invoice {lock.record.invoice_id} is finalized in sevDesk but its publication was not "
                "completed here; publish it again, then cancel it.",
                code="invoice_publish_incomplete",
            )
        client.delete_invoice(external_id)
    except SevdeskNotFound:
        pass  # already gone: an earlier delete whose answer was lost
    except SevdeskAmbiguousWrite as error:
        if not _gone(client, external_id):
            _record_failure(lock, actor, error, outcome="unknown")
            raise
    except SevdeskError as error:
        _record_failure(lock, actor, error)
        raise
    lock.save(
        event="cancelled",
        actor=actor,
        details={"draftDeleted": True, "externalId": external_id},
        claim_status="cancelled",
        document_status="cancelled",
        last_error=None,
    )


def _gone(client: Any, external_id: str) -> bool:
    from sevdesk_common.sevdesk import SevdeskError, SevdeskNotFound

    try:
        client.get_invoice(external_id)
    except SevdeskNotFound:
        return True
    except SevdeskError:
        return False
    return False


def _cancel_finalized(lock: InvoiceLock, client: Any, external_id: str, actor: str) -> None:
    from sevdesk_common.sevdesk import SevdeskAmbiguousWrite, SevdeskError, SevdeskRefused

    invoice_id = lock.record.invoice_id
    # An earlier attempt's answer was lost: look before cancelling again.
    sr = _find_cancellation(client, invoice_id, external_id) if lock.record.pending_write else None
    if sr is None:
        lock.save(pending_write={"op": CANCEL_OP, "at": datetime.now(UTC).isoformat()})
        try:
            sr = client.cancel_invoice(external_id)
        except SevdeskAmbiguousWrite as error:
            try:
                sr = _find_cancellation(client, invoice_id, external_id)
            except SevdeskError:
                sr = None  # cannot tell now; the pending write makes the next call look again
            if sr is None:
                _record_failure(lock, actor, error, outcome="unknown", keep_pending=True)
                raise ServiceUnavailable(
                    f"sevDesk did not confirm the cancellation of invoice {invoice_id}. Repeat the "
                    "request: it checks sevDesk first and never creates a second cancellation invoice.",
                    code="cancel_outcome_unknown",
                ) from error
        except SevdeskRefused as error:
            if error.sevdesk_code == 421 and lock.record.pending_write:
                sr = _find_cancellation(client, invoice_id, external_id)
            if sr is None:
                refusal = _refused(lock, actor, error)
                if refusal is error:
                    raise
                raise refusal from error
        except SevdeskError as error:
            _record_failure(lock, actor, error)
            raise
    _finish(lock, client, sr, actor)


def _find_cancellation(client: Any, invoice_id: str, external_id: str) -> Any:
    """The SR sevDesk made for our invoice, if any (it copies our marker)."""
    from sevdesk_common.services.publish import marker

    for invoice in client.find_invoices_by_marker(marker(invoice_id)):
        if invoice.is_cancellation and invoice.origin is not None and invoice.origin.id == external_id:
            return invoice
    return None


def _finish(lock: InvoiceLock, client: Any, sr: Any, actor: str) -> None:
    from sevdesk_common.services.config import load_config
    from sevdesk_common.sevdesk import SevdeskError

    config = load_config()
    deal_type = lock.record.invoice.deal_type
    template = config.template_eb_sr if deal_type == "EB" else config.template_kop_sr
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
    lock.save(
        event="cancelled",
        actor=actor,
        details=details,
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


def _refused(lock: InvoiceLock, actor: str, error: Any) -> AppError:
    """sevDesk said no: log it, change nothing else, and say why."""
    known = REFUSALS.get(error.sevdesk_code)
    details = {**failure_details(error), "reason": known[0] if known else error.code}
    lock.save(event="cancel_failed", actor=actor, details=details, pending_write=None)
    if known is None:
        return error  # some other refusal: sevDesk's own message, 422
    code, why = known
    return Conflict(
        f"Invoice {lock.record.invoice_id} cannot be cancelled: {why} (sevDesk: {error.message}).",
        code=code,
        details={"sevdeskCode": error.sevdesk_code},
    )


def _record_failure(
    lock: InvoiceLock, actor: str, error: AppError, *, outcome: str | None = None, keep_pending: bool = False
) -> None:
    details = failure_details(error)
    if outcome:
        details["outcome"] = outcome
    changes: dict[str, Any] = {"last_error": details}
    if not keep_pending:
        changes["pending_write"] = None
    lock.save(event="cancel_failed", actor=actor, details=details, **changes)
