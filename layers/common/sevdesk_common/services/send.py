"""E-mail a published invoice through sevDesk (`sendViaEmail`), never twice by a retry.

sevDesk has no idempotency key for e-mails, so this is a write-once "confirm" write: a send
whose answer was lost is settled by reading the invoice (sendType VM with a sendDate at or after
the attempt); when that cannot prove the mail went out, the pending write stays and only an
explicit `resend` sends again (a mail cannot be recalled, so a person decides).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sevdesk_common.clients import sevdesk_client
from sevdesk_common.errors import AppError, Conflict, Unprocessable
from sevdesk_common.models.record import InvoiceRecord, PendingWrite
from sevdesk_common.services.lease import (
    InvoiceLease,
    Ride,
    acquire,
    load_or_404,
    record_failure,
    refuse_foreign_pending,
    release_quietly,
    require_published,
    stale_is_busy,
)
from sevdesk_common.sevdesk.errors import SevdeskError
from sevdesk_common.sevdesk.models import EmailResult
from sevdesk_common.writes import WriteOnce

if TYPE_CHECKING:  # the client (and httpx) load at first use: see clients.client_for
    from sevdesk_common.models.invoice import HandoffState
    from sevdesk_common.models.send import SendRequest
    from sevdesk_common.sevdesk.client import SevdeskClient


DEFAULT_TEXT = (
    "Guten Tag,\n\nanbei erhalten Sie unsere Rechnung {number}.\n"
    "Bei Fragen melden Sie sich gerne.\n\nMit freundlichen Grüßen"
)


def send_invoice(invoice_id: str, request: SendRequest, actor: str) -> HandoffState:
    record = load_or_404(invoice_id)
    _check(record)
    if _done(record, request):
        return record.handoff()  # a retry of a finished send: never a second mail
    intent = _intent(record, request)
    client = sevdesk_client()
    announced = False

    def ride(current: InvoiceRecord, attempt: int) -> Ride:
        nonlocal announced
        announced = False
        if current.pending_write is not None or _done(current, request):
            return Ride()

        def stored() -> None:
            nonlocal announced
            announced = True

        return Ride(changes={"pending_write": intent}, stored=stored)

    lease = acquire(record, "send", actor, prepare=ride)
    with stale_is_busy(invoice_id):
        writes = WriteOnce(lease, announced_unsent=announced)
        try:
            _send(lease, writes, client, request, intent, announced)
        except AppError as error:
            record_failure(lease, error, keep_pending=not writes.settled, details={"to": intent.to})
            raise
        finally:
            release_quietly(lease)
    return lease.record.handoff()  # as stored after the lease was released


def _check(record: InvoiceRecord) -> str:
    external_id = require_published(record, "send")
    if record.is_cancelled:
        raise Conflict(
            f"Invoice {record.invoice_id} is cancelled; a cancelled invoice is not sent.",
            code="invoice_cancelled",
        )
    return external_id


def _done(record: InvoiceRecord, request: SendRequest) -> bool:
    return record.sent_at is not None and not request.resend and record.pending_of("send") is None


def _intent(record: InvoiceRecord, request: SendRequest) -> PendingWrite:
    number = record.external_invoice_number
    return PendingWrite(
        action="send",
        operation="sendViaEmail",
        at=datetime.now(UTC),
        target_id=record.external_id,
        to=_recipient(record, request),
        subject=request.subject or f"Rechnung {number}",
        cc=request.cc,
        bcc=request.bcc,
        resend=request.resend,
    )


def _recipient(record: InvoiceRecord, request: SendRequest) -> str:
    if request.email:
        return request.email
    recipient = record.invoice.company or record.invoice.contact
    if recipient is None or not recipient.email:
        raise Unprocessable(
            f"Invoice {record.invoice_id} has no recipient e-mail from the handover; give one in email.",
            code="recipient_email_missing",
            details=[{"field": "email", "message": "required: the handover has no recipient e-mail"}],
        )
    return recipient.email


def _send(
    lease: InvoiceLease,
    writes: WriteOnce,
    client: SevdeskClient,
    request: SendRequest,
    intent: PendingWrite,
    announced: bool,
) -> None:
    record = lease.record
    external_id = _check(record)
    refuse_foreign_pending(record, "send")
    if _done(record, request):
        return  # a concurrent send finished while we waited for the lease
    text = request.text or DEFAULT_TEXT.format(number=record.external_invoice_number)
    assert intent.to is not None and intent.subject is not None
    to, subject = intent.to, intent.subject
    written = writes.run(
        intent,
        send=lambda: client.send_via_email(external_id, to, subject, text, cc=intent.cc, bcc=intent.bcc),
        find=lambda: _shows_sent(client, external_id, lease.pending() or intent),
        policy="confirm",
        confirmed=request.resend,
        unconfirmed=lambda pending: _unconfirmed(record.invoice_id, pending),
        describe=f"the e-mail of invoice {record.invoice_id}",
        announced=announced,
    )
    attempt = lease.pending() or intent
    lease.finish(
        "sent",
        {
            "to": attempt.to,
            "subject": attempt.subject,
            "cc": attempt.cc or None,
            "bcc": attempt.bcc or None,
            "sevdeskEmailId": written.value.id,
            "resend": attempt.resend,
            "reconciled": written.reconciled,
        },
        document_status="sent",
        sent_at=datetime.now(UTC),
        sent_to=attempt.to,
        pending_write=None,
        last_error=None,
    )


def _unconfirmed(invoice_id: str, pending: PendingWrite) -> Conflict:
    return Conflict(
        f"The last e-mail of invoice {invoice_id} (to {pending.to}, at {pending.at:%Y-%m-%d %H:%M:%S} UTC) "
        "may or may not have been sent: sevDesk did not confirm it. It is not sent again by itself. "
        "Check the recipient's inbox or the invoice in sevDesk; to send it again, repeat the request "
        "with resend: true.",
        code="send_outcome_unknown",
        details={"pendingWrite": pending.model_dump(mode="json")},
    )


def _shows_sent(client: SevdeskClient, external_id: str, attempt: PendingWrite) -> EmailResult | None:
    """sevDesk shows an e-mail send at or after the attempt (sendDate has whole seconds)."""
    try:
        invoice = client.get_invoice(external_id)
    except SevdeskError:
        return None
    sent = invoice.send_date
    if sent is None or invoice.send_type != "VM":
        return None
    attempted = attempt.at.replace(microsecond=0)
    return EmailResult() if (sent if sent.tzinfo else sent.replace(tzinfo=UTC)) >= attempted else None
