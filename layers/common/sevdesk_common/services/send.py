"""E-mail a published invoice through sevDesk (`sendViaEmail`), never twice by a retry.

sevDesk has no idempotency key for e-mails, so a send whose answer was lost is reconciled by
reading the invoice (sendType VM with a sendDate at or after the attempt). When that cannot
prove the mail went out, the pending write stays and only an explicit `resend` sends again.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sevdesk_common.credentials import require_token
from sevdesk_common.errors import AppError, Conflict, ServiceUnavailable, Unprocessable
from sevdesk_common.invoice_store import InvoiceRecord
from sevdesk_common.models.invoice import HandoffState
from sevdesk_common.models.send import SendRequest
from sevdesk_common.services.invoice_ops import (
    InvoiceLock,
    busy_if_stale,
    failure_details,
    invoice_lock,
    load_or_404,
    refuse_foreign_pending,
    require_published,
)

SEND_OP = "sendViaEmail"
DEFAULT_TEXT = (
    "Guten Tag,\n\nanbei erhalten Sie unsere Rechnung {number}.\n"
    "Bei Fragen melden Sie sich gerne.\n\nMit freundlichen Grüßen"
)


def _require_not_cancelled(record: InvoiceRecord) -> None:
    if record.claim_status == "cancelled" or record.document_status == "cancelled":
        raise Conflict(
            f"Invoice {record.invoice_id} is cancelled; a cancelled invoice is not sent.",
            code="invoice_cancelled",
        )


def _unknown_outcome(record: InvoiceRecord) -> Conflict:
    pending = record.pending_write or {}
    return Conflict(
        f"The last e-mail of invoice {record.invoice_id} (to {pending.get('to')}, at {pending.get('at')}) "
        "may or may not have been sent. Check the recipient's inbox or the invoice in sevDesk; to send "
        "it again, repeat the request with resend: true.",
        code="send_outcome_unknown",
        details={"pendingWrite": pending},
    )


def _recipient(record: InvoiceRecord, request: SendRequest) -> str:
    if request.email:
        return request.email
    handover = record.invoice
    recipient = handover.company or handover.contact
    if recipient is None or not recipient.email:
        raise Unprocessable(
            f"Invoice {record.invoice_id} has no recipient e-mail from the handover; give one in email.",
            code="recipient_email_missing",
            details=[{"field": "email", "message": "required: the handover has no recipient e-mail"}],
        )
    return recipient.email


def send_invoice(invoice_id: str, request: SendRequest, actor: str) -> HandoffState:
    record = load_or_404(invoice_id)
    require_published(record, "send")
    _require_not_cancelled(record)
    if record.sent_at and not request.resend and not record.pending_write:
        return record.handoff()  # a retry of a finished send: never a second mail
    to = _recipient(record, request)

    from sevdesk_common.sevdesk import client_for

    client = client_for(require_token())
    with invoice_lock(invoice_id, "send") as lock, busy_if_stale(invoice_id):
        _send_locked(lock, client, request, to, actor)
    return lock.record.handoff()  # as stored after the lease was released


def _send_locked(lock: InvoiceLock, client: Any, request: SendRequest, to: str, actor: str) -> None:
    record = lock.record
    external_id = require_published(record, "send")
    _require_not_cancelled(record)
    refuse_foreign_pending(record, SEND_OP)
    pending = record.pending_write
    if pending and not request.resend:
        # An earlier attempt's answer was lost: settle it by reading, never by re-sending.
        if not _shows_sent(client, external_id, pending):
            raise _unknown_outcome(record)
        _record_sent(lock, actor, pending, email_id=None, reconciled=True)
    elif request.resend or not record.sent_at:  # else a concurrent send finished meanwhile
        _send(lock, client, request, to, actor)


def _send(lock: InvoiceLock, client: Any, request: SendRequest, to: str, actor: str) -> None:
    record = lock.record
    external_id = record.external_id
    assert external_id is not None and record.external_invoice_number is not None
    number = record.external_invoice_number
    subject = request.subject or f"Rechnung {number}"
    text = request.text or DEFAULT_TEXT.format(number=number)
    attempt = {
        "op": SEND_OP,
        "at": datetime.now(UTC).isoformat(),
        "to": to,
        "subject": subject,
        "cc": request.cc,
        "bcc": request.bcc,
        "resend": request.resend,
    }
    lock.save(pending_write=attempt)
    from sevdesk_common.sevdesk import SevdeskAmbiguousWrite, SevdeskError

    try:
        email = client.send_via_email(external_id, to, subject, text, cc=request.cc, bcc=request.bcc)
    except SevdeskAmbiguousWrite as error:
        if _shows_sent(client, external_id, attempt):
            _record_sent(lock, actor, attempt, email_id=None, reconciled=True)
            return
        details = {**failure_details(error), "outcome": "unknown", "to": to}
        lock.save(event="send_failed", actor=actor, details=details, last_error=details)
        raise ServiceUnavailable(
            f"sevDesk did not confirm the e-mail of invoice {record.invoice_id} to {to}, and it cannot "
            "be told whether it went out. It is not sent again automatically: check the recipient's "
            "inbox or sevDesk, then repeat the request with resend: true if it is missing.",
            code="send_outcome_unknown",
        ) from error
    except SevdeskError as error:
        # Not applied (refused, or failed before sevDesk took it): nothing is pending any more.
        _record_failure(lock, actor, error, to)
        raise
    _record_sent(lock, actor, attempt, email_id=email.id, reconciled=False)


def _record_failure(lock: InvoiceLock, actor: str, error: AppError, to: str) -> None:
    details = {**failure_details(error), "to": to}
    lock.save(event="send_failed", actor=actor, details=details, last_error=details, pending_write=None)


def _record_sent(
    lock: InvoiceLock, actor: str, attempt: dict[str, Any], *, email_id: str | None, reconciled: bool
) -> None:
    details = {
        "to": attempt.get("to"),
        "subject": attempt.get("subject"),
        "cc": attempt.get("cc") or None,
        "bcc": attempt.get("bcc") or None,
        "sevdeskEmailId": email_id,
        "resend": bool(attempt.get("resend")),
        "reconciled": reconciled,
    }
    lock.save(
        event="sent",
        actor=actor,
        details=details,
        document_status="sent",
        sent_at=datetime.now(UTC),
        sent_to=attempt.get("to"),
        pending_write=None,
        last_error=None,
    )


def _shows_sent(client: Any, external_id: str, attempt: dict[str, Any]) -> bool:
    """Whether sevDesk shows an e-mail send at or after the attempt (sendDate has whole seconds)."""
    from sevdesk_common.sevdesk import SevdeskError

    try:
        invoice = client.get_invoice(external_id)
        attempted = datetime.fromisoformat(attempt["at"]).replace(microsecond=0)
    except (SevdeskError, KeyError, ValueError):
        return False
    sent = invoice.send_date
    if sent is None or invoice.send_type != "VM":
        return False
    return (sent if sent.tzinfo else sent.replace(tzinfo=UTC)) >= attempted
