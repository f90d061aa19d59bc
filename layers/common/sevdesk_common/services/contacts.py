"""Each R1 customer gets one sevDesk contact, whichever invoice or Lambda gets there first.

The customer's link item holds the contact id once it exists. Until then it is also the short
lease of the one caller creating the contact, and the create's pending write (write once:
sevDesk's exact customerNumber filter is the read that settles an unknown outcome). Claiming it
rides along with taking the invoice's lease, and storing the link rides along with the
invoice's next write, so publishing to a new customer costs no extra DynamoDB calls for it.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from sevdesk_common import contact_store, deadline
from sevdesk_common.errors import AppError, InvoiceBusy, Unprocessable
from sevdesk_common.models.invoice import (
    STATIC_COUNTRY_IDS,
    CompanyRecipient,
    InvoiceHandover,
    PersonRecipient,
)
from sevdesk_common.models.record import PendingWrite
from sevdesk_common.observability import logger
from sevdesk_common.repository import StaleItem, TransactItem
from sevdesk_common.settings import get_settings
from sevdesk_common.writes import WriteOnce

if TYPE_CHECKING:  # the client (and httpx) load at first use: see clients.client_for
    from sevdesk_common.models.contact_link import ContactLink
    from sevdesk_common.sevdesk.client import SevdeskClient
    from sevdesk_common.sevdesk.models import Contact


CLAIM_SECONDS = 30
CONTACT_WAIT_SECONDS = 8.0
_POLL_SECONDS = 0.2
# A link item that was claimed but never linked is removed by DynamoDB's TTL after this.
UNUSED_LINK_TTL_SECONDS = 86_400
CUSTOMER_CATEGORY_ID = 3
# sevDesk's own placeholder when a buyer has no reference (measured on organisations).
NO_BUYER_REFERENCE = "-"

Recipient = PersonRecipient | CompanyRecipient


class HasRecipient(Protocol):
    """Who an invoice (or a customer sync) is for."""

    @property
    def company(self) -> CompanyRecipient | None: ...

    @property
    def contact(self) -> PersonRecipient | None: ...

    @property
    def contact_id(self) -> str | None: ...

    def recipient_key(self) -> str: ...


class ContactStep:
    """Resolving one invoice's recipient (or a synced customer) to its sevDesk contact. It is the
    write-once journal of creating the contact (the journal is the link item)."""

    def __init__(
        self,
        handover: HasRecipient,
        owner: str,
        *,
        category_id: int = CUSTOMER_CATEGORY_ID,
        phone: str | None = None,
        e_invoice: bool = False,
    ) -> None:
        self.handover = handover
        self.owner = owner
        self.e_invoice = e_invoice
        self.key = handover.recipient_key()
        self.recipient: Recipient | None = handover.company or handover.contact
        self.category_id = category_id
        self.phone = phone
        self.link = contact_store.load(self.key)
        self.claimed = False  # we hold the link item's lease
        self.writes = WriteOnce(self)
        self._announced = False  # the create's pending write went out with the claim
        self.created = False  # this step created the contact in sevDesk
        self.sevdesk_contact: Contact | None = None  # as sevDesk answered the find or the create
        self.details: dict[str, str] = {}  # address/email/phone -> stored | failed | not_given

    @property
    def contact_id(self) -> str | None:
        return self.link.sevdesk_contact_id

    # -- write-once journal ---------------------------------------------------------------------
    def pending(self) -> PendingWrite | None:
        return self.link.pending_write

    def announce(self, intent: PendingWrite) -> None:
        # Only when an earlier attempt's create is sent again: its new time restarts the grace.
        self.link = contact_store.save(self.link.changed(pending_write=intent))

    # -- riding along with the invoice's writes ------------------------------------------------
    def claim(self, now: datetime) -> tuple[ContactLink, TransactItem] | None:
        """The link claimed for us and its write, to store with the invoice's lease; None when
        there is nothing to create or another caller is creating it right now."""
        if self.contact_id or self.recipient is None or self.link.held_by_other(self.owner, now):
            return None
        pending = self.link.pending_write or PendingWrite(action="contact", operation="createContact", at=now)
        claimed = self.link.changed(
            lock_owner=self.owner,
            lock_expires_at=now + timedelta(seconds=CLAIM_SECONDS),
            pending_write=pending,
        )
        return claimed, contact_store.write_item(claimed)

    def claimed_as(self, claimed: ContactLink) -> None:
        """The write that carried claim() succeeded."""
        self._announced = self.link.pending_write is None
        self.writes.unsent = self._announced
        self.link = contact_store.stored(claimed)
        self.claimed = True

    def reload(self) -> None:
        self.link = contact_store.load(self.key)

    def link_items(self) -> list[TransactItem]:
        """The resolved link, to store with the invoice's next write (once)."""
        if self.contact_id is None or not self.claimed:
            return []
        self.claimed = False
        return [
            contact_store.write_item(
                self.link.changed(lock_owner=None, lock_expires_at=None, pending_write=None)
            )
        ]

    def release_items(self) -> list[TransactItem]:
        """After a failure: free the claim; keep the create's pending write unless it was refused."""
        if not self.claimed or self.contact_id is not None:
            return self.link_items()
        pending = None if self.writes.settled else self.link.pending_write
        item = contact_store.write_item(
            self.link.changed(lock_owner=None, lock_expires_at=None, pending_write=pending)
        )
        if pending is None:  # nothing left to remember: DynamoDB's TTL removes the item
            item["Put"]["Item"]["expiresAt"] = int(time.time()) + UNUSED_LINK_TTL_SECONDS
        self.claimed = False
        return [item]

    def _released(self, pending: PendingWrite | None) -> ContactLink:
        return self.link.changed(lock_owner=None, lock_expires_at=None, pending_write=pending)

    # -- the work -------------------------------------------------------------------------------
    def resolve(self, client: SevdeskClient) -> str:
        if self.contact_id:
            return self.contact_id
        if self.recipient is None:
            return self._adopt_existing(client)
        if not self.claimed:
            self._claim_when_free()
            if self.contact_id:
                return self.contact_id
        return self._find_or_create(client, self.recipient)

    def _adopt_existing(self, client: SevdeskClient) -> str:
        """Only an R1 contact id was handed over: the contact must exist in sevDesk already."""
        found = self._find(client)
        if found is None:
            raise Unprocessable(
                f"contactId {self.handover.contact_id} is not linked to a sevDesk contact "
                f"(no contact with customerNumber {self.key}); hand the invoice over with the "
                "contact or company details.",
                code="contact_not_linked",
                details={"contactId": self.handover.contact_id, "customerNumber": self.key},
            )
        self.link = self.link.changed(sevdesk_contact_id=found, linked_at=datetime.now(UTC))
        self.claimed = True  # nobody else creates it; link_items() stores what was found
        return found

    def _claim_when_free(self) -> None:
        """Another publish is creating this customer's contact: wait for its link, or take over
        when its claim expires (a crashed Lambda)."""
        give_up = time.monotonic() + deadline.within(CONTACT_WAIT_SECONDS)
        while not self.contact_id:
            claim = self.claim(datetime.now(UTC))
            if claim is not None:
                try:
                    contact_store.save(claim[0])
                    self.claimed_as(claim[0])
                    return
                except StaleItem:
                    pass
            if time.monotonic() >= give_up:
                raise InvoiceBusy(
                    f"The sevDesk contact {self.key} is being created by another publish; try again.",
                    retry_after=5,
                    code="contact_busy",
                )
            time.sleep(_POLL_SECONDS)
            self.reload()

    def _find_or_create(self, client: SevdeskClient, recipient: Recipient) -> str:
        found = self._find(client)  # an existing customer in sevDesk, or an earlier lost create
        if found is None:
            written = self.writes.run(
                PendingWrite(action="contact", operation="createContact", at=datetime.now(UTC)),
                send=lambda: self._create(client, recipient),
                find=lambda: self._find(client),
                policy="grace",
                describe=f"creating the customer {self.key} in sevDesk",
                grace_seconds=get_settings().ambiguous_write_grace_seconds,
                announced=self._announced,
            )
            found = written.value
            self.created = True
            if written.reconciled:
                logger.info(
                    "contact create reconciled by customerNumber", extra={"customer_number": self.key}
                )
            else:
                self.details = _add_details(client, found, recipient, self.phone)
        self.link = self.link.changed(sevdesk_contact_id=found, linked_at=datetime.now(UTC))
        return found

    def _find(self, client: SevdeskClient) -> str | None:
        found = client.find_contacts_by_customer_number(self.key)
        if found:
            self.sevdesk_contact = found[0]
        return found[0].id if found else None

    def _create(self, client: SevdeskClient, recipient: Recipient) -> str:
        names: dict[str, Any] = (
            {"name": recipient.name}
            if isinstance(recipient, CompanyRecipient)
            else {"surename": recipient.first_name, "familyname": recipient.last_name}
        )
        if self.e_invoice:  # EN 16931 reads these from the contact: see services/einvoice.py
            names["buyer_reference"] = getattr(self.handover, "buyer_reference", None) or NO_BUYER_REFERENCE
            names["government_agency"] = (
                isinstance(recipient, CompanyRecipient) and recipient.public_authority
            )
        self.sevdesk_contact = client.create_contact(
            customer_number=self.key, vat_number=recipient.vat_id, category_id=self.category_id, **names
        )
        return self.sevdesk_contact.id


def ensure_e_invoice_data(client: SevdeskClient, contact_id: str, handover: InvoiceHandover) -> None:
    """An existing contact gets the hand-over's buyer reference and public-authority mark (sevDesk
    takes both from the contact); a reference sevDesk already has is kept unless a new one is given."""
    recipient = handover.company or handover.contact
    government = isinstance(recipient, CompanyRecipient) and recipient.public_authority
    current = client.get_contact(contact_id)
    reference = handover.buyer_reference or current.buyer_reference or NO_BUYER_REFERENCE
    if current.buyer_reference != reference or bool(current.government_agency) != government:
        client.update_contact(contact_id, buyer_reference=reference, government_agency=government)


def _add_details(
    client: SevdeskClient, contact_id: str, recipient: Recipient, phone: str | None
) -> dict[str, str]:
    """Address, e-mail and phone on the new contact, each a resource of its own in sevDesk: nice
    to have for an invoice (it carries its own address), sent once right after the create and
    never repeated, so they cannot be duplicated. What became of each is returned."""
    address = recipient.address
    parts: list[tuple[str, Any]] = [
        (
            "address",
            lambda: client.create_contact_address(
                contact_id,
                street=address.street,
                zip_code=address.zip,
                city=address.city,
                country_id=STATIC_COUNTRY_IDS[address.country],
            ),
        ),
        (
            "email",
            (lambda: client.create_communication_way(contact_id, recipient.email))
            if recipient.email
            else None,
        ),
        (
            "phone",
            (lambda: client.create_communication_way(contact_id, phone, kind="PHONE")) if phone else None,
        ),
    ]
    outcome: dict[str, str] = {}
    for name, send in parts:
        if send is None:
            outcome[name] = "not_given"
            continue
        try:
            send()
            outcome[name] = "stored"
        except AppError as error:
            outcome[name] = "failed"
            logger.warning(
                f"contact {name} not stored in sevDesk", extra={"contact_id": contact_id, "error": error.code}
            )
    return outcome
