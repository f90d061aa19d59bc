"""R1's recipient -> its sevDesk contact, created once for all invoices of that customer.

The link item is also where creating the contact is coordinated: a short lease (one creator at a
time across invoices and Lambdas) and the create's pending write (settled by reading sevDesk's
contacts by customer number before anything is created again)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Self

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

from sevdesk_common.models.record import PendingWrite


class ContactLink(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, serialize_by_alias=True, defer_build=True
    )

    key: str  # R1's identity of the recipient; also the sevDesk customerNumber
    sevdesk_contact_id: str | None = None
    linked_at: datetime | None = None
    lock_owner: str | None = None
    lock_expires_at: datetime | None = None
    pending_write: PendingWrite | None = None
    version: int = 0

    def held_by_other(self, owner: str, now: datetime) -> bool:
        return (
            self.lock_owner is not None
            and self.lock_owner != owner
            and self.lock_expires_at is not None
            and self.lock_expires_at > now
        )

    def changed(self, **changes: Any) -> Self:
        unknown = set(changes) - set(type(self).model_fields)
        if unknown:
            raise TypeError(f"not fields of ContactLink: {sorted(unknown)}")
        return type(self).model_validate({**self.model_dump(by_alias=False), **changes})
