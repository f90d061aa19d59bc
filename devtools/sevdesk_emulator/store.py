"""The emulator's state, seeded like a fresh sevDesk account with one user and a few templates.

Records are kept in wire form (string ids, string-encoded numbers) so tests can assert on exactly
what a client would read. Keys starting with "_" are emulator bookkeeping and never serialised.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from devtools.sevdesk_emulator.wire import iso

Record = dict[str, Any]

SEV_CLIENT_ID = "1300001"
SEV_USER_ID = "1550001"
SEED_TIME = "2026-01-01T09:00:00+01:00"

TEMPLATE_STANDARD = "57986aee6bd2d53306068da1"
TEMPLATE_MODERN = "5a1d3f7b8c9e0a1b2c3d4e5f"
TEMPLATE_CLASSIC = "64b0c1d2e3f4a5b6c7d8e9f0"
TEMPLATE_CREDIT_NOTE = "6123456789abcdef01234567"
LETTERPAPER_STANDARD = "57986aee6bd2d53306068db2"


def _template(template_id: str, name: str, kind: str, default: bool) -> Record:
    return {
        "id": template_id,
        "name": name,
        "translationCode": name,
        "sevClient": "0",
        "type": kind,
        "html": f"<div class='sevdoc-template'>{name}</div>",
        "default": "1" if default else "0",
        "premium": "0",
    }


def _ids(start: int) -> Iterator[str]:
    return (str(n) for n in itertools.count(start))


@dataclass
class Store:
    sev_client: Record = field(
        default_factory=lambda: {
            "id": SEV_CLIENT_ID,
            "objectName": "SevClient",
            "name": "Emulator Testfirma GmbH",
            "email": "buchhaltung@emulator.example",
        }
    )
    sev_users: list[Record] = field(
        default_factory=lambda: [
            {
                "id": SEV_USER_ID,
                "objectName": "SevUser",
                "additionalInformation": None,
                "create": SEED_TIME,
                "update": SEED_TIME,
                "fullname": "Erika Mustermann",
                "firstName": "Erika",
                "lastName": "Mustermann",
                "username": "erika@emulator.example",
                "status": "100",
                "email": "erika@emulator.example",
                "gender": "w",
                "role": {"id": "1", "objectName": "Role"},
                "sevClient": {"id": SEV_CLIENT_ID, "objectName": "SevClient"},
            }
        ]
    )
    templates: list[Record] = field(
        default_factory=lambda: [
            _template(TEMPLATE_STANDARD, "SEVDOC_TEMPLATE_STANDARD", "Invoice", True),
            _template(TEMPLATE_MODERN, "SEVDOC_TEMPLATE_MODERN", "Invoice", False),
            _template(TEMPLATE_CLASSIC, "SEVDOC_TEMPLATE_CLASSIC", "Invoice", False),
            _template(TEMPLATE_CREDIT_NOTE, "SEVDOC_TEMPLATE_STANDARD", "Creditnote", True),
        ]
    )
    letterpapers: list[Record] = field(
        default_factory=lambda: [
            {"id": LETTERPAPER_STANDARD, "name": "Standard", "default": "1", "pdfTemplate": "0"}
        ]
    )
    contacts: dict[str, Record] = field(default_factory=dict)
    contact_addresses: dict[str, Record] = field(default_factory=dict)
    communication_ways: dict[str, Record] = field(default_factory=dict)
    invoices: dict[str, Record] = field(default_factory=dict)
    positions: dict[str, Record] = field(default_factory=dict)
    invoice_logs: list[Record] = field(default_factory=list)
    credit_notes: dict[str, str] = field(default_factory=dict)  # invoice id -> credit note id
    emails: list[Record] = field(default_factory=list)  # the outbox: sevDesk would really send these
    vouchers: dict[str, Record] = field(default_factory=dict)
    voucher_positions: dict[str, Record] = field(default_factory=dict)
    export_config: Record = field(default_factory=dict)
    export_jobs: dict[str, Record] = field(default_factory=dict)
    next_invoice_number: int = 1000  # the per-account "RE-%NUMBER" sequence; SR draws from it too
    next_customer_number: int = 1000
    ids: dict[str, Iterator[str]] = field(
        default_factory=lambda: {
            "Contact": _ids(138000001),
            "ContactAddress": _ids(120000001),
            "CommunicationWay": _ids(115000001),
            "Invoice": _ids(135000001),
            "InvoicePos": _ids(362000001),
            "InvoiceLog": _ids(57000001),
            "Email": _ids(40000001),
            "Voucher": _ids(156000001),
            "VoucherPos": _ids(213000001),
            "CreditNote": _ids(9000001),
        }
    )

    def new_id(self, model: str) -> str:
        return next(self.ids[model])

    def sev_client_ref(self) -> Record:
        return {"id": self.sev_client["id"], "objectName": "SevClient"}

    def user_ref(self) -> Record:
        return {"id": self.sev_users[0]["id"], "objectName": "SevUser"}

    def take_invoice_number(self) -> str:
        number = f"RE-{self.next_invoice_number}"
        self.next_invoice_number += 1
        return number


def public(record: Record) -> Record:
    """The record as sevDesk would send it (bookkeeping keys removed)."""
    return {key: value for key, value in record.items() if not key.startswith("_")}


def touch(record: Record, now: datetime) -> None:
    record["update"] = iso(now)
