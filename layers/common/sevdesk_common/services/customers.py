"""Customers in sevDesk: the contact list (cached for five minutes) and the sync of one R1 customer.

The list is served from DynamoDB while it is younger than CONTACT_CACHE_SECONDS and no customer
was linked to a contact since (a contact created by a publish or a sync: contact_store's index
of links), one page per query; the answer says how old it is. The sync is the customer half of
publish: the same contact link and the same write-once create (services/contacts.ContactStep),
so a customer synced here is never created again by a publish, and one published first is found
here and returned unchanged.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sevdesk_common import cache_store, contact_store
from sevdesk_common.clients import client_for
from sevdesk_common.credentials import require_token
from sevdesk_common.errors import AppError, InvoiceBusy
from sevdesk_common.models.customer import (
    CATEGORY_IDS,
    CATEGORY_NAMES,
    CategoryName,
    ContactList,
    ContactSyncResult,
    ContactView,
    CustomerSync,
)
from sevdesk_common.observability import logger
from sevdesk_common.repository import StaleItem, TransactItem, put_conditionally
from sevdesk_common.services.contacts import ContactStep

if TYPE_CHECKING:
    from sevdesk_common.auth import Caller
    from sevdesk_common.sevdesk.models import Contact

CONTACT_CACHE_SECONDS = 300


def list_contacts(
    *,
    name: str | None,
    customer_number: str | None,
    category: CategoryName | None,
    limit: int,
    offset: int,
) -> ContactList:
    token = require_token()
    query = {
        "name": name,
        "customerNumber": customer_number,
        "category": category,
        "limit": limit,
        "offset": offset,
    }
    cache_name = "contacts#" + _digest(token)[:16] + "#" + _digest(json.dumps(query, sort_keys=True))[:24]
    cached = cache_store.load(cache_name)
    if cached is not None and not contact_store.linked_since(datetime.fromtimestamp(cached.fetched_at, UTC)):
        return _answer(cached.value, cached.fetched_at, cached=True)
    started = round(time.time(), 3)  # before the read: a contact created meanwhile makes it stale
    page = client_for(token).list_contacts(
        name=name,
        customer_number=customer_number,
        category_id=CATEGORY_IDS[category] if category else None,
        limit=limit,
        offset=offset,
        count_all=True,
    )
    value = {
        "contacts": [contact_view(c).model_dump(mode="json") for c in page.items],
        "limit": limit,
        "offset": offset,
        "nextOffset": offset + page.fetched if page.fetched >= limit else None,
        "total": page.total,
    }
    cache_store.store(cache_name, value, fetched_at=started, ttl_seconds=CONTACT_CACHE_SECONDS)
    return _answer(value, started, cached=False)


def _answer(value: dict[str, object], fetched_at: float, *, cached: bool) -> ContactList:
    fetched = datetime.fromtimestamp(fetched_at, UTC)
    age = max(0, int(time.time() - fetched_at))
    return ContactList.model_validate({**value, "fetchedAt": fetched, "ageSeconds": age, "cached": cached})


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def contact_view(contact: Contact) -> ContactView:
    category_id = contact.category.id if contact.category else None
    person = not contact.name
    return ContactView(
        id=contact.id,
        type="person" if person else "organisation",
        name=contact.display_name,
        first_name=contact.surename if person else None,
        last_name=contact.familyname if person else None,
        customer_number=contact.customer_number,
        category=CATEGORY_NAMES.get(category_id or ""),
        category_id=category_id,
        status=contact.status,
        vat_number=contact.vat_number,
        created_at=contact.create,
        updated_at=contact.update,
    )


# ---------------------------------------------------------------- sync one customer


def sync_customer(request: CustomerSync, caller: Caller) -> ContactSyncResult:
    """The customer's sevDesk contact: created with address, e-mail and phone when no contact has
    its customer number, else the existing one, linked and returned unchanged."""
    step = ContactStep(
        request,
        f"sync:{uuid.uuid4().hex[:12]}",
        category_id=CATEGORY_IDS[request.category],
        phone=request.phone,
    )
    client = client_for(require_token())
    if step.contact_id is None:
        recipient = step.recipient
        assert recipient is not None  # CustomerSync always brings one
        client.reserve(2 + 1 + bool(recipient.email) + bool(request.phone))
        try:
            step.resolve(client)
        except AppError:
            _write(step.release_items())
            raise
        _write(step.link_items())
        logger.info(
            "customer synced",
            extra={"customer_number": step.key, "contact_created": step.created, "by": caller.user_id},
        )
    assert step.contact_id is not None
    contact = step.sevdesk_contact or client.get_contact(step.contact_id)
    # A create whose answer was lost and that was then found by its number: its details are
    # unknown (they are never sent twice), so they read "existing" like any found contact.
    details = {name: step.details.get(name, "existing") for name in ("address", "email", "phone")}
    return ContactSyncResult.model_validate(
        {"contact": contact_view(contact), "created": step.created, "customerNumber": step.key, **details}
    )


def _write(items: list[TransactItem]) -> None:
    """The link's own write (publish sends it with the invoice's; here there is none)."""
    for item in items:
        try:
            put_conditionally(item)
        except StaleItem:
            raise InvoiceBusy(
                "The customer's sevDesk link changed meanwhile; try again.",
                retry_after=1,
                code="contact_busy",
            ) from None
