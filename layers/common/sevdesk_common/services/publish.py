"""POST /api/sevdesk/invoices/{invoiceId}/publish: contact, draft, template, finalize, and for
an e-invoice the check before anything is sent and the XML archived after finalize.

A resumable step machine under the invoice's lease, driven by the stored state: each step is
skipped when the record says it is done, so publishing again after a failure at any step
finishes the job. The two sevDesk writes that must not happen twice (saveInvoice, sendBy) and
the contact's create go through the write-once mechanism (writes.py).

DynamoDB calls of a publish (the benchmark counts them): the user limiter, the invoice with the
settings, the customer's link, the lease (which carries the contact claim or the first write's
announcement), the sevDesk budget for all requests at once, the draft's result (carrying the
finalize announcement and the link), and the last write (result and release): 7.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sevdesk_common import deadline, invoice_store
from sevdesk_common.clients import contact_person_id, needs_contact_person, sevdesk_client, shared_budget
from sevdesk_common.errors import AppError, OutcomeUnknown
from sevdesk_common.models.config import SevdeskConfig
from sevdesk_common.models.record import InvoiceRecord, PendingWrite
from sevdesk_common.services import einvoice
from sevdesk_common.services.contacts import ContactStep, ensure_e_invoice_data
from sevdesk_common.services.lease import (
    WAIT_FOR_LEASE_SECONDS,
    InvoiceLease,
    Ride,
    acquire,
    record_failure,
    release_quietly,
    require_found,
    stale_is_busy,
)
from sevdesk_common.services.templates import invoice_template
from sevdesk_common.settings import get_settings
from sevdesk_common.sevdesk.errors import SevdeskRefused
from sevdesk_common.sevdesk.invoice_mapping import invoice_payload
from sevdesk_common.sevdesk.markers import invoice_marker
from sevdesk_common.writes import WriteOnce

if TYPE_CHECKING:  # the client (and httpx) load at first use: see clients.client_for
    from sevdesk_common.models.invoice import HandoffState
    from sevdesk_common.sevdesk.client import SevdeskClient
    from sevdesk_common.sevdesk.models import Invoice


_POLL_SECONDS = 0.2


def publish_invoice(invoice_id: str, actor: str) -> HandoffState:
    # The budget's bucket comes with the read, so that taking from it is one call, not two.
    bucket = shared_budget().bucket("default")
    record, config, extra = invoice_store.load_with_config(invoice_id, also=[bucket.key])
    bucket.hint(extra.get(bucket.key["pk"]))
    record = _wait_for_running_publish(require_found(record, invoice_id))
    if record.is_published and not record.needs_xml:  # idempotent: no lease, no sevDesk call
        return record.handoff()
    return Publication(record, SevdeskConfig.model_validate(config or {}), actor).run()


def _wait_for_running_publish(record: InvoiceRecord) -> InvoiceRecord:
    """Concurrent publishes wait by reading until the running one ends, so they see its result
    without each taking the lease in turn (the lease still guards the rest)."""
    give_up = time.monotonic() + deadline.within(WAIT_FOR_LEASE_SECONDS)
    while (
        record.lock_action == "publish"
        and not record.is_published
        and (record.lock_expires_at is None or record.lock_expires_at > datetime.now(UTC))
        and time.monotonic() < give_up
    ):
        time.sleep(_POLL_SECONDS)
        record = require_found(invoice_store.load(record.invoice_id), record.invoice_id)
    return record


class Publication:
    def __init__(self, record: InvoiceRecord, config: SevdeskConfig, actor: str) -> None:
        self.record = record
        self.config = config
        self.actor = actor
        self.handover = record.invoice
        # Decided once, before the draft exists; a resumed publish keeps what was decided.
        self.e_invoice = (
            record.e_invoice
            if record.e_invoice is not None and record.external_id is not None
            else einvoice.decide(self.handover, config).e_invoice
        )
        self.contact = (
            ContactStep(
                self.handover, f"publish:{record.invoice_id}:{uuid.uuid4().hex[:8]}", e_invoice=self.e_invoice
            )
            if record.sevdesk_contact_id is None
            else None
        )
        self.step = "token"
        self.save_announced = False
        self.payment_method_id: str | None = None

    def run(self) -> HandoffState:
        lease = acquire(self.record, "publish", self.actor, prepare=self._ride)
        with stale_is_busy(self.record.invoice_id):
            writes = WriteOnce(lease, announced_unsent=self.save_announced)
            try:
                if not lease.record.is_published:  # else a concurrent caller finished meanwhile
                    self._execute(lease, writes)
                elif lease.record.needs_xml:  # finalized; only the XML is not archived yet
                    self._archive_only(lease)
            except AppError as error:
                self._record_failure(lease, writes, error)
                raise
            finally:
                release_quietly(lease)
        return lease.record.handoff()

    def _ride(self, record: InvoiceRecord, attempt: int) -> Ride:
        """What goes out with the lease: the contact's claim, or the create's announcement."""
        if attempt and self.contact:
            self.contact.reload()
        now = datetime.now(UTC)
        self.save_announced = False
        if record.is_published:
            return Ride()
        contact = self.contact
        also, changes = [], {}
        claim = contact.claim(now) if contact is not None and record.sevdesk_contact_id is None else None
        if claim is not None:
            also.append(claim[1])
        if record.external_id is None and record.pending_write is None:
            changes = self._save_announcement(now)

        def stored() -> None:
            if claim is not None and contact is not None:
                contact.claimed_as(claim[0])
            self.save_announced = bool(changes)

        return Ride(changes=changes, also=also, stored=stored)

    def _save_announcement(self, now: datetime) -> dict[str, Any]:
        """The create, announced with the lease: if this call fails before sending it, the
        failure recorder drops it again (nothing was sent)."""
        return {
            "accounting_sync_status": "publishing",
            "pending_write": PendingWrite(action="publish", operation="saveInvoice", at=now),
            "e_invoice": self.e_invoice,
        }

    # ------------------------------------------------------------------ the steps

    def _execute(self, lease: InvoiceLease, writes: WriteOnce) -> None:
        record = lease.record
        client = sevdesk_client()
        client.reserve(self._requests_ahead(record, client))
        external = record.external_id
        if self.e_invoice and external is None:  # before anything is sent to sevDesk
            self.step = "einvoice"
            self.payment_method_id = einvoice.check_before_sending(
                record.invoice_id, self.handover, self.config, client
            )
        self.step = "contact"
        contact_id = record.sevdesk_contact_id or self._contact().resolve(client)
        if record.sevdesk_contact_id is None:
            lease.stage(sevdesk_contact_id=contact_id)  # kept even if a later step fails
        if self.e_invoice and external is None and not (self.contact and self.contact.created):
            ensure_e_invoice_data(client, contact_id, self.handover)
        draft = record.document_status == "draft"
        if external is None:
            self.step = "create"
            created = self._create(lease, writes, client, contact_id)
            external, draft = created.id, created.is_draft
        elif self.e_invoice and draft:  # resumed: sevDesk must not have made it a plain draft
            einvoice.require_flag(client.get_invoice(external), record.invoice_id)
        if draft:
            self.step = "template"
            self._apply_template(lease, client, external)
            self.step = "finalize"
            self._finalize(lease, writes, client, external)
        else:  # finalized in sevDesk already (by hand, or an earlier attempt's lost answer)
            self._store_finalized(lease, client, client.get_invoice(external))

    def _contact(self) -> ContactStep:
        assert self.contact is not None
        return self.contact

    def _create(
        self, lease: InvoiceLease, writes: WriteOnce, client: SevdeskClient, contact_id: str
    ) -> Invoice:
        invoice_id = lease.record.invoice_id
        announcement = self._save_announcement(datetime.now(UTC))
        announced = self.save_announced
        if not announced and lease.record.pending_of("publish") is None:
            lease.flush(also=self._contact_items(), sevdesk_contact_id=contact_id, **announcement)
            announced = True
        payload = invoice_payload(
            invoice_id,
            self.handover,
            contact_id=contact_id,
            contact_person_id=contact_person_id(client),
            e_invoice=self.e_invoice,
            payment_method_id=self.payment_method_id,
        )
        written = writes.run(
            announcement["pending_write"],
            send=lambda: client.save_invoice(payload).invoice,
            find=lambda: _find_by_marker(client, invoice_id),
            policy="grace",
            describe=f"creating invoice {invoice_id} in sevDesk",
            grace_seconds=get_settings().ambiguous_write_grace_seconds,
            announced=announced,
        )
        created = written.value
        details: dict[str, Any] = {
            "externalId": created.id,
            "sumNet": created.sum_net,
            "sumTax": created.sum_tax,
            "sumGross": created.sum_gross,
            "positions": len(self.handover.positions),
        }
        if written.reconciled:
            details["reconciled"] = True  # found by its marker after an unknown outcome
        if created.sum_gross is not None and created.sum_gross != lease.record.gross_amount:
            details["grossMismatch"] = {"ours": lease.record.gross_amount, "sevdesk": created.sum_gross}
        lease.stage(
            "published",
            details,
            external_id=created.id,
            sevdesk_contact_id=contact_id,
            accounting_sync_status="draft_created",
            document_status="draft",
            pending_write=None,
        )
        if self.e_invoice:
            einvoice.require_flag(created, invoice_id)
        return created

    def _apply_template(self, lease: InvoiceLease, client: SevdeskClient, external_id: str) -> None:
        template_id = invoice_template(self.config, self.handover)
        if template_id is not None and template_id != lease.record.template_id:
            client.change_parameter(external_id, key="template", value=template_id)  # safe to repeat
            lease.stage(template_id=template_id)

    def _finalize(
        self, lease: InvoiceLease, writes: WriteOnce, client: SevdeskClient, external_id: str
    ) -> None:
        intent = PendingWrite(
            action="publish", operation="sendBy", at=datetime.now(UTC), target_id=external_id
        )
        earlier = lease.record.pending_of("publish")
        announced = earlier is None or earlier.operation != "sendBy"
        if announced:
            lease.flush(also=self._contact_items(), pending_write=intent)
        try:
            written = writes.run(
                intent,
                send=lambda: client.send_by(external_id, "VPDF"),
                find=lambda: _finalized(client, external_id),
                policy="retry",
                describe=f"finalizing invoice {lease.record.invoice_id} in sevDesk",
                announced=announced,
            )
        except SevdeskRefused as error:  # sevDesk's 830 (e-invoice data missing) in words
            refused = einvoice.incomplete(lease.record.invoice_id, error, self.config)
            if refused is None:
                raise
            raise refused from error
        self._store_finalized(lease, client, written.value)

    def _store_finalized(self, lease: InvoiceLease, client: SevdeskClient, invoice: Invoice) -> None:
        details: dict[str, Any] = {
            "externalInvoiceNumber": invoice.invoice_number,
            "templateId": lease.record.template_id,
            "sumGross": invoice.sum_gross,
        }
        if invoice.sum_gross is not None and invoice.sum_gross != lease.record.gross_amount:
            details["grossMismatch"] = {"ours": lease.record.gross_amount, "sevdesk": invoice.sum_gross}
        if self.e_invoice:
            # A read-back may leave the flag out: unknown, getXml settles it in the next step.
            flag = invoice.property_is_e_invoice
            details["propertyIsEInvoice"] = "omitted" if flag is None else flag
        lease.stage(
            "finalized",
            details,
            external_invoice_number=invoice.invoice_number,
            accounting_sync_status="synced",
            accounting_synced_at=datetime.now(UTC),
            document_status="finalized",
            claim_status="open",
            pending_write=None,
            last_error=None,
        )
        if self.e_invoice:
            einvoice.seller_passed(self.config, lease.record.invoice_id)
            self.step = "xml"
            self._archive_xml(lease, client, invoice.id, invoice.invoice_number)
        lease.finish(also=self._contact_items())

    def _archive_xml(
        self, lease: InvoiceLease, client: SevdeskClient, external_id: str, number: str | None
    ) -> None:
        """The e-invoice's XML into our bucket with its sha256: its own step, resumable (publish
        again runs only this), idempotent (the same key and bytes are found, not written twice)."""
        record = lease.record.changed(external_invoice_number=number)
        archived = einvoice.archive_xml(client, record, external_id)
        lease.stage("einvoice_archived", archived["details"], **archived["changes"])

    def _archive_only(self, lease: InvoiceLease) -> None:
        record = lease.record
        assert record.external_id is not None
        self.step = "xml"
        client = sevdesk_client()
        client.reserve(1)
        self._archive_xml(lease, client, record.external_id, record.external_invoice_number)
        lease.finish(last_error=None)

    # ------------------------------------------------------------------ bookkeeping

    def _contact_items(self) -> list[Any]:
        return self.contact.link_items() if self.contact else []

    def _requests_ahead(self, record: InvoiceRecord, client: SevdeskClient) -> int:
        """The sevDesk requests this publish will make, reserved from the budget at once."""
        pending = record.pending_of("publish")
        count = 0
        if record.sevdesk_contact_id is None and self.contact and not self.contact.contact_id:
            recipient = self.contact.recipient
            count += 1 + (0 if recipient is None else 2 + bool(recipient.email))
        if record.external_id is None:
            count += 1 + needs_contact_person(client) + bool(pending and pending.operation == "saveInvoice")
        if invoice_template(self.config, self.handover) not in (None, record.template_id):
            count += 1
        if self.e_invoice:  # payment methods, the contact's e-invoice data, the draft's flag, getXml
            fresh = record.external_id is None
            count += 1 + (fresh and not einvoice.knows_payment_methods(client)) + 2 * fresh
            count += record.external_id is not None and record.document_status == "draft"
        return count + 1 + bool(pending and pending.operation == "sendBy")

    def _record_failure(self, lease: InvoiceLease, writes: WriteOnce, error: AppError) -> None:
        keep = not writes.settled
        unsettled = isinstance(error, OutcomeUnknown) or (keep and lease.pending_in_effect() is not None)
        # Only the XML's archiving failed: the invoice is published (the staged result says so).
        status: dict[str, Any] = (
            {}
            if self.step == "xml"
            else {"accounting_sync_status": "outcome_unknown" if unsettled else "failed"}
        )
        record_failure(
            lease,
            error,
            keep_pending=keep,
            details={"step": self.step},
            also=self.contact.release_items() if self.contact else [],
            **status,
        )


def _find_by_marker(client: SevdeskClient, invoice_id: str) -> Invoice | None:
    """Our invoice in sevDesk, if a create was applied (its SR copies the marker: not that one)."""
    found = [i for i in client.find_invoices_by_marker(invoice_marker(invoice_id)) if i.invoice_type == "RE"]
    return min(found, key=lambda i: int(i.id) if i.id.isdigit() else 0) if found else None


def _finalized(client: SevdeskClient, external_id: str) -> Invoice | None:
    current = client.get_invoice(external_id)
    return current if current.status >= 200 else None
