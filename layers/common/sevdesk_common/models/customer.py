"""Customers in sevDesk: POST /api/sevdesk/contacts (sync one R1 customer) and the contact list."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, model_validator

from sevdesk_common.models.base import ApiModel, StrictApiModel
from sevdesk_common.models.invoice import CompanyRecipient, PersonRecipient, recipient_key

CategoryName = Literal["customer", "supplier", "partner", "prospect"]
# sevDesk's Category ids for contacts (NOTES.md §3).
CATEGORY_IDS: dict[str, int] = {"customer": 3, "supplier": 2, "partner": 4, "prospect": 28}
CATEGORY_NAMES = {str(number): name for name, number in CATEGORY_IDS.items()}
Phone = Annotated[
    str,
    Field(
        min_length=3,
        max_length=30,
        pattern=r"^\+?[0-9][0-9 ()/.-]*$",
        description="Phone number, e.g. +49 170 1234567",
    ),
]


class PersonCustomer(PersonRecipient):
    phone: Phone | None = None


class CompanyCustomer(CompanyRecipient):
    phone: Phone | None = None


class CustomerSync(StrictApiModel):
    """One R1 customer: a person (`contact`) or a company, as in an invoice hand-over, plus a
    phone number and the sevDesk category. Its customer number is R1's key (R1-CT-<id> or
    R1-CO-<id>), the one publish looks up, so a synced customer is never created again."""

    contact: PersonCustomer | None = None
    company: CompanyCustomer | None = None
    category: CategoryName = "customer"

    @model_validator(mode="after")
    def _one_customer(self) -> CustomerSync:
        if bool(self.contact) == bool(self.company):
            raise ValueError("give either contact (a person) or company")
        return self

    @property
    def contact_id(self) -> str | None:
        """(An invoice may name only an R1 contact id; a sync always brings the customer.)"""
        return None

    @property
    def phone(self) -> str | None:
        customer = self.company or self.contact
        return customer.phone if customer else None

    def recipient_key(self) -> str:
        return recipient_key(self.company, self.contact)


class ContactView(ApiModel):
    """A sevDesk contact as the list and the sync answer it."""

    id: str
    type: Literal["person", "organisation"]
    name: str
    first_name: str | None = None
    last_name: str | None = None
    customer_number: str | None = None
    category: str | None = Field(default=None, description="customer, supplier, partner, prospect or null")
    category_id: str | None = None
    status: int | None = None
    vat_number: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


class ContactList(ApiModel):
    contacts: list[ContactView]
    limit: int
    offset: int
    next_offset: int | None = Field(default=None, description="offset of the next page; null on the last one")
    total: int | None = None
    fetched_at: datetime = Field(description="when this page was read from sevDesk")
    age_seconds: int = Field(description="how old the data is (served from a 5-minute cache)")
    cached: bool


DetailState = Literal["stored", "failed", "not_given", "existing"]


class ContactSyncResult(ApiModel):
    contact: ContactView
    created: bool = Field(description="true: created now; false: the existing contact, unchanged")
    customer_number: str
    address: DetailState
    email: DetailState
    phone: DetailState
