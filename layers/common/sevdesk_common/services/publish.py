"""POST /api/sevdesk/invoices/{invoiceId}/publish: contact, draft, template, finalize.

A resumable step machine under the invoice's lock, driven by the stored state: each step is
skipped when the record says it is done, so repeating publish after a failure at any step
finishes the job. A sevDesk write is announced in `pending_write` before it is sent; a
pending write found on entry (or an ambiguous answer) is reconciled by reading sevDesk
(the marker in customerInternalNote, the invoice's status) before anything is sent again.
"""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar

from sevdesk_common import invoice_store
from sevdesk_common.credentials import require_token
from sevdesk_common.errors import AppError, Conflict, OutcomePending, Unprocessable
from sevdesk_common.invoice_store import InvoiceRecord, StaleInvoice
from sevdesk_common.models.invoice import (
    STATIC_COUNTRY_IDS,
    CompanyRecipient,
    HandoffState,
    InvoiceHandover,
    PersonRecipient,
)
from sevdesk_common.observability import logger
from sevdesk_common.services.invoice_ops import (
    WAIT_FOR_LOCK_SECONDS,
    InvoiceLock,
    failure_details,
    invoice_lock,
    load_or_404,
)
from sevdesk_common.settings import get_settings
from sevdesk_common.sevdesk import (
    Invoice,
    InvoicePositionPayload,
    InvoiceSavePayload,
    SevdeskAmbiguousWrite,
    SevdeskClient,
    SevdeskProtocolError,
    client_for,
)

T = TypeVar("T")
MARKER_PREFIX = "R1-INVOICE:"
SAVE_OP = "saveInvoice"
SEND_BY_OP = "sendBy"
CONTACT_WAIT_SECONDS = 15.0
_POLL_SECONDS = 0.2
# First SevUser id per sevDesk base URL: the invoice's contactPerson (stable for an account).
_contact_person: dict[str, str] = {}


def marker(invoice_id: str) -> str:
    """What we put in customerInternalNote to find our invoice again."""
    return f"{MARKER_PREFIX}{invoice_id}"


def is_published(record: InvoiceRecord) -> bool:
    return record.external_id is not None and record.document_status in {"finalized", "sent", "cancelled"}


def publish_invoice(invoice_id: str, actor: str) -> HandoffState:
    # One wait budget for both waits, so a caller never waits longer than the lock allows.
    deadline = time.monotonic() + WAIT_FOR_LOCK_SECONDS
    record = _wait_for_running_publish(load_or_404(invoice_id), deadline)
    if is_published(record):  # idempotent: no lock, no sevDesk call
        return record.handoff()
    with invoice_lock(invoice_id, "publish", wait_seconds=max(0.0, deadline - time.monotonic())) as lock:
        if not is_published(lock.record):  # else a concurrent caller finished while we waited
            run = _Publication(lock, actor)
            try:
                run.execute()
            except StaleInvoice as error:
                raise Conflict(
                    f"Invoice {invoice_id} was changed while it was being published; try again.",
                    code="invoice_busy",
                ) from error
            except AppError as error:
                run.record_failure(error)
                raise
    return lock.record.handoff()  # as stored after the lock's release


def _wait_for_running_publish(record: InvoiceRecord, deadline: float) -> InvoiceRecord:
    """Concurrent publishes wait by reading until the running one ends, so they see its result
    without each taking the lock in turn (invoice_lock still guards the rest)."""
    while (
        record.lock_action == "publish"
        and not is_published(record)
        and (record.lock_expires_at is None or record.lock_expires_at > datetime.now(UTC))
        and time.monotonic() < deadline
    ):
        time.sleep(_POLL_SECONDS)
        record = load_or_404(record.invoice_id)
    return record


class _Publication:
    def __init__(self, lock: InvoiceLock, actor: str) -> None:
        self.lock = lock
        self.actor = actor
        self.invoice: InvoiceHandover = lock.record.invoice
        self.step = "token"
        # True while a sevDesk write may have happened that no read has confirmed or ruled out.
        self.unsettled = lock.record.pending_write is not None
        self.client: SevdeskClient

    @property
    def record(self) -> InvoiceRecord:
        return self.lock.record

    def execute(self) -> None:
        self.client = client_for(require_token())
        self.step = "contact"
        contact_id = self.record.sevdesk_contact_id or self._resolve_contact()
        if self.record.external_id is None:
            self.step = "create"
            self._create(contact_id)
        if self.record.document_status == "draft":
            if _op(self.record) != SEND_BY_OP:  # the template is set before finalizing
                self.step = "template"
                self._apply_template()
            self.step = "finalize"
            self._finalize()

    # ------------------------------------------------------------------ a) contact

    def _resolve_contact(self) -> str:
        key = self.invoice.recipient_key()
        linked = invoice_store.get_contact_link(key)
        if linked:
            return linked
        recipient = self.invoice.company or self.invoice.contact
        with _contact_claim(key) as linked:
            if linked:
                return linked
            found = self.client.find_contacts_by_customer_number(key)
            if found:
                return invoice_store.put_contact_link(key, found[0].id)
            if recipient is None:
                raise Unprocessable(
                    f"contactId {self.invoice.contact_id} is not linked to a sevDesk contact "
                    f"(no contact with customerNumber {key}); hand the invoice over with the "
                    "contact or company details.",
                    code="contact_not_linked",
                    details={"contactId": self.invoice.contact_id, "customerNumber": key},
                )
            contact_id = self._create_contact(key, recipient)
            linked_id = invoice_store.put_contact_link(key, contact_id)
        self._add_contact_details(linked_id, recipient)
        return linked_id

    def _create_contact(self, key: str, recipient: PersonRecipient | CompanyRecipient) -> str:
        names: dict[str, Any] = (
            {"name": recipient.name}
            if isinstance(recipient, CompanyRecipient)
            else {"surename": recipient.first_name, "familyname": recipient.last_name}
        )
        try:
            return self.client.create_contact(customer_number=key, vat_number=recipient.vat_id, **names).id
        except SevdeskAmbiguousWrite:
            found = self.client.find_contacts_by_customer_number(key)
            if not found:
                raise
            logger.info("contact create reconciled by customerNumber", extra={"customer_number": key})
            return found[0].id

    def _add_contact_details(self, contact_id: str, recipient: PersonRecipient | CompanyRecipient) -> None:
        # Nice to have on the contact; the invoice carries its own address. Never repeated
        # (the link exists now), so an unknown outcome cannot duplicate them.
        address = recipient.address
        try:
            self.client.create_contact_address(
                contact_id,
                street=address.street,
                zip_code=address.zip,
                city=address.city,
                country_id=STATIC_COUNTRY_IDS[address.country],
            )
            if recipient.email:
                self.client.create_communication_way(contact_id, recipient.email)
        except AppError as error:
            logger.warning(
                "contact address/e-mail not stored in sevDesk",
                extra={"contact_id": contact_id, "error": error.code},
            )

    # ------------------------------------------------------------------ b) create

    def _create(self, contact_id: str) -> None:
        if _op(self.record) == SAVE_OP:
            found = self._find_by_marker()  # a previous attempt's outcome is unknown
            if found is not None:
                self._store_created(found, contact_id, adopted=True)
                return
            self._wait_out_grace()
        self.lock.save(
            sevdesk_contact_id=contact_id,
            accounting_sync_status="publishing",
            pending_write={"op": SAVE_OP, "at": _now()},
        )
        self.unsettled = True
        try:
            saved = self._send(lambda: self.client.save_invoice(self._payload(contact_id)))
        except SevdeskAmbiguousWrite:
            found = self._find_by_marker()
            if found is None:
                # Not there (yet): sevDesk may still apply it, so the next attempt reads first.
                self.unsettled = True
                raise
            self._store_created(found, contact_id, adopted=True)
            return
        self._store_created(saved.invoice, contact_id, adopted=False, positions=len(saved.positions))

    def _wait_out_grace(self) -> None:
        """Not found yet, but a recent attempt may still land: re-creating now could make two."""
        attempted = datetime.fromisoformat(str((self.record.pending_write or {}).get("at")))
        grace = get_settings().ambiguous_write_grace_seconds
        remaining = grace - (datetime.now(UTC) - attempted).total_seconds()
        if remaining > 0:
            self.unsettled = True
            raise OutcomePending(
                "sevDesk may still be applying the previous attempt to create this invoice; "
                f"publish again in {math.ceil(remaining)} s (it is looked up before anything is created).",
                retry_after=math.ceil(remaining),
            )

    def _find_by_marker(self) -> Invoice | None:
        # The cancellation (SR) copies the note: only the normal invoice counts.
        found = [
            i
            for i in self.client.find_invoices_by_marker(marker(self.record.invoice_id))
            if i.invoice_type == "RE"
        ]
        self.unsettled = False
        if len(found) > 1:
            logger.warning("several sevDesk invoices carry the marker", extra={"ids": [i.id for i in found]})
        return min(found, key=lambda i: int(i.id) if i.id.isdigit() else 0) if found else None

    def _payload(self, contact_id: str) -> InvoiceSavePayload:
        invoice = self.invoice
        recipient = invoice.company or invoice.contact
        name = None
        if isinstance(recipient, CompanyRecipient):
            name = recipient.name
        elif isinstance(recipient, PersonRecipient):
            name = f"{recipient.first_name} {recipient.last_name}"
        address = recipient.address if recipient else None
        lines = [name, address.street, f"{address.zip} {address.city}"] if address else []
        rates = {p.tax_rate for p in invoice.positions}
        return InvoiceSavePayload(
            contact_id=contact_id,
            contact_person_id=self._contact_person_id(),
            invoice_date=invoice.invoice_date,
            delivery_date=invoice.delivery_date or invoice.invoice_date,
            customer_internal_note=marker(self.record.invoice_id),
            header=invoice.header or f"Rechnung {invoice.invoice_number}",
            currency=invoice.currency,
            tax_rule_id=1,
            tax_text=f"Umsatzsteuer {rates.pop().normalize():f}%" if len(rates) == 1 else "Umsatzsteuer",
            time_to_pay=invoice.time_to_pay_days,
            address="\n".join(line for line in lines if line) or None,
            address_name=name,
            address_street=address.street if address else None,
            address_zip=address.zip if address else None,
            address_city=address.city if address else None,
            address_country_id=STATIC_COUNTRY_IDS[address.country] if address else 1,
            positions=[
                InvoicePositionPayload(
                    name=p.name,
                    text=p.description,
                    quantity=p.quantity,
                    price=p.unit_price,
                    tax_rate=p.tax_rate,
                )
                for p in invoice.positions
            ],
        )

    def _contact_person_id(self) -> str:
        base = self.client.base_url
        if base not in _contact_person:
            users = self.client.list_sev_users()
            if not users:
                raise SevdeskProtocolError("sevDesk lists no user to name as the invoice's contact person.")
            _contact_person[base] = users[0].id
        return _contact_person[base]

    def _store_created(
        self, created: Invoice, contact_id: str, *, adopted: bool, positions: int | None = None
    ) -> None:
        details: dict[str, Any] = {
            "externalId": created.id,
            "sumNet": created.sum_net,
            "sumTax": created.sum_tax,
            "sumGross": created.sum_gross,
            "positions": positions if positions is not None else len(self.invoice.positions),
        }
        if adopted:
            details["reconciled"] = True  # found by its marker after an unknown outcome
        if created.sum_gross is not None and created.sum_gross != self.record.gross_amount:
            details["grossMismatch"] = {"ours": self.record.gross_amount, "sevdesk": created.sum_gross}
            logger.warning("sevDesk's gross sum differs from ours", extra=details["grossMismatch"])
        changes: dict[str, Any] = {}
        if not created.is_draft:  # finalized in sevDesk already (e.g. by hand)
            changes = {"pending_write": {"op": SEND_BY_OP, "at": _now()}}
            self.unsettled = True
        self.lock.save(
            event="published",
            actor=self.actor,
            details=details,
            external_id=created.id,
            sevdesk_contact_id=contact_id,
            accounting_sync_status="draft_created",
            document_status="draft",
            pending_write=None,
            **changes,
        )

    # ------------------------------------------------------------------ c) template

    def _apply_template(self) -> None:
        template_id = _mapped_template(self.invoice)
        if template_id is None or template_id == self.record.template_id:
            return  # none mapped: sevDesk's default template
        assert self.record.external_id is not None
        self.client.change_parameter(self.record.external_id, key="template", value=template_id)
        self.lock.save(template_id=template_id)

    # ------------------------------------------------------------------ d) finalize

    def _finalize(self) -> None:
        external_id = self.record.external_id
        assert external_id is not None
        if _op(self.record) == SEND_BY_OP:
            current = self.client.get_invoice(external_id)  # did a previous attempt finalize it?
            self.unsettled = False
            if current.status >= 200:
                self._store_finalized(current)
                return
        else:
            self.lock.save(pending_write={"op": SEND_BY_OP, "at": _now()})
        self.unsettled = True
        try:
            finalized = self._send(lambda: self.client.send_by(external_id, "VPDF"))
        except SevdeskAmbiguousWrite:
            current = self.client.get_invoice(external_id)
            if current.status < 200:
                raise  # not finalized (yet): the pending write stays for the next attempt to read
            self.unsettled = False
            finalized = current
        self._store_finalized(finalized)

    def _store_finalized(self, invoice: Invoice) -> None:
        details: dict[str, Any] = {
            "externalInvoiceNumber": invoice.invoice_number,
            "templateId": self.record.template_id,
            "sumGross": invoice.sum_gross,
        }
        if invoice.sum_gross is not None and invoice.sum_gross != self.record.gross_amount:
            details["grossMismatch"] = {"ours": self.record.gross_amount, "sevdesk": invoice.sum_gross}
        self.lock.save(
            event="finalized",
            actor=self.actor,
            details=details,
            external_invoice_number=invoice.invoice_number,
            accounting_sync_status="synced",
            accounting_synced_at=datetime.now(UTC),
            document_status="finalized",
            claim_status="open",
            pending_write=None,
            last_error=None,
        )

    # ------------------------------------------------------------------ e) failure

    def _send(self, call: Callable[[], T]) -> T:
        """Send a write; a definite answer (success or refusal) settles the pending write."""
        try:
            result = call()
        except SevdeskAmbiguousWrite:
            raise
        except AppError:
            self.unsettled = False
            raise
        self.unsettled = False
        return result

    def record_failure(self, error: AppError) -> None:
        details = {**failure_details(error), "step": self.step}
        changes: dict[str, Any] = {"last_error": details}
        if self.unsettled:
            changes["accounting_sync_status"] = "outcome_unknown"  # keep pending_write: read first next time
        else:
            changes.update(accounting_sync_status="failed", pending_write=None)
        try:
            self.lock.save(event="publish_failed", actor=self.actor, details=details, **changes)
        except Exception:  # never hide the original error behind a bookkeeping failure
            logger.exception("publish failure not recorded", extra={"invoice_id": self.record.invoice_id})
        logger.warning(
            "publish failed",
            extra={"invoice_id": self.record.invoice_id, "step": self.step, "error": details["code"]},
        )


def _mapped_template(invoice: InvoiceHandover) -> str | None:
    """Document template mapping first, then the deal type's, else None (sevDesk's default)."""
    from sevdesk_common.services.config import load_config

    config = load_config()
    if invoice.document_template_id and invoice.document_template_id in config.document_templates:
        return config.document_templates[invoice.document_template_id]
    return {"EB": config.template_eb_ar, "KOP": config.template_kop_ar}.get(invoice.deal_type)


@contextmanager
def _contact_claim(key: str) -> Iterator[str | None]:
    """Serialise creating one customer across invoices; yields the link if another holder
    made it meanwhile (then nothing is to be created)."""
    owner = uuid.uuid4().hex
    deadline = time.monotonic() + CONTACT_WAIT_SECONDS
    while not invoice_store.claim_contact_creation(key, owner):
        linked = invoice_store.get_contact_link(key)
        if linked:
            yield linked
            return
        if time.monotonic() >= deadline:
            raise Conflict(
                f"The sevDesk contact {key} is being created; try again shortly.", code="contact_busy"
            )
        time.sleep(_POLL_SECONDS)
    try:
        yield invoice_store.get_contact_link(key)
    finally:
        invoice_store.release_contact_claim(key, owner)


def _op(record: InvoiceRecord) -> str | None:
    return (record.pending_write or {}).get("op")


def _now() -> str:
    return datetime.now(UTC).isoformat()
