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


SELLER: Record = {
    "id": SEV_CLIENT_ID,
    "objectName": "SevClient",
    "name": "Emulator Testfirma GmbH",
    "email": "buchhaltung@emulator.example",
    "phone": "+49 30 1234567",
    "addressStreet": "Musterstraße 1",
    "addressZip": "10115",
    "addressCity": "Berlin",
    "addressCountry": "DE",
    "bankIban": "DE02120300000000202051",
    "bankBic": "BYLADEM1001",
    "taxNumber": "30/123/45678",
    "vatNumber": "DE123456789",
    "contactPerson": "Erika Mustermann",
}
# the three kinds of account a payment can be booked on (NOTES.md §10, §13)
BANK_ACCOUNT_ID, CASH_ACCOUNT_ID, WRITE_OFF_ACCOUNT_ID = "6300001", "6300002", "6300003"
CHECK_ACCOUNT_ALIASES = {"bank": BANK_ACCOUNT_ID, "cash": CASH_ACCOUNT_ID, "writeoff": WRITE_OFF_ACCOUNT_ID}


def _check_account(
    account_id: str, name: str, kind: str, number: str, *, default: bool = False, iban: str | None = None
) -> Record:
    # the shape of the recorded check_account_list fixture ([RS2])
    return {
        "id": account_id,
        "objectName": "CheckAccount",
        "additionalInformation": None,
        "create": SEED_TIME,
        "update": SEED_TIME,
        "sevClient": {"id": SEV_CLIENT_ID, "objectName": "SevClient"},
        "name": name,
        "type": kind,
        "importType": "CSV" if kind == "online" else None,
        "currency": "EUR",
        "checkAccId": None,
        "pin": None,
        "defaultAccount": "1" if default else "0",
        "status": "100",
        "translationCode": None,
        "bankServer": None,
        "balance": "0" if kind != "register" else None,
        "accountingNumber": number,
        "iban": iban,
        "bic": None,
        "baseAccount": "0",
        "priority": "0",
        "countryCode": None,
        "autoMapTransaction": "1",
        "autoSyncTransactions": "0",
        "lastSync": None,
    }


def seed_check_accounts() -> dict[str, Record]:
    accounts = [
        _check_account(
            BANK_ACCOUNT_ID, "Geschäftskonto", "online", "1200", default=True, iban=SELLER["bankIban"]
        ),
        _check_account(CASH_ACCOUNT_ID, "Kasse", "register", "1000"),
        # a write-off: the unpaid rest is booked here, so paidAmount reaches sumGross ([BI])
        _check_account(WRITE_OFF_ACCOUNT_ID, "Ausgebuchte Rechnungen", "offline", "1203"),
    ]
    return {account["id"]: account for account in accounts}


def _payment_method(method_id: str, name: str, text: str, electronic_id: str) -> Record:
    return {
        "id": method_id,
        "objectName": "PaymentMethod",
        "additionalInformation": None,
        "create": SEED_TIME,
        "update": SEED_TIME,
        "name": name,
        "text": text,
        "electronicInvoiceId": electronic_id,
        "translationCode": f"PAYMENT_METHOD_{electronic_id}",
    }


TRANSFER_TEXT = "Bitte überweisen Sie den Rechnungsbetrag unter Angabe der Rechnungsnummer."
PAYMENT_METHOD_TRANSFER = "21919"


def seed_payment_methods() -> list[Record]:
    # ids are per account in sevDesk; electronicInvoiceId is the UNTDID 4461 code (payment_method_list)
    return [
        _payment_method(PAYMENT_METHOD_TRANSFER, "SEPA Überweisung", TRANSFER_TEXT, "58"),
        _payment_method("21920", "SEPA Lastschrift", "Der Betrag wird eingezogen.", "59"),
        _payment_method("21921", "Bargeld", "Die Zahlung erfolgte per Barzahlung.", "10"),
        _payment_method("114251", "Online-Zahlung (z.B. PayPal)", "Die Zahlung erfolgt online.", "68"),
    ]


def _ids(start: int) -> Iterator[str]:
    return (str(n) for n in itertools.count(start))


@dataclass
class Store:
    # the seller's master data; e-invoices need all of it (NOTES.md §6), so tests remove keys
    sev_client: Record = field(default_factory=lambda: dict(SELLER))
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
    # invoice id -> {position id: None}, so per-invoice lookups stay O(positions) with 100k invoices
    invoice_positions: dict[str, dict[str, None]] = field(default_factory=dict)
    invoice_logs: list[Record] = field(default_factory=list)
    credit_notes: dict[str, str] = field(default_factory=dict)  # invoice id -> credit note id
    credit_note_records: dict[str, Record] = field(default_factory=dict)
    credit_note_positions: dict[str, Record] = field(default_factory=dict)
    check_accounts: dict[str, Record] = field(default_factory=seed_check_accounts)
    transactions: dict[str, Record] = field(default_factory=dict)  # CheckAccountTransaction
    transaction_logs: dict[str, Record] = field(default_factory=dict)  # CheckAccountTransactionLog
    logs_by_object: dict[str, list[str]] = field(default_factory=dict)  # "Invoice/135000001" -> log ids
    voucher_logs: list[Record] = field(default_factory=list)
    payment_methods: list[Record] = field(default_factory=seed_payment_methods)
    emails: list[Record] = field(default_factory=list)  # the outbox: sevDesk would really send these
    vouchers: dict[str, Record] = field(default_factory=dict)
    voucher_positions: dict[str, Record] = field(default_factory=dict)
    temp_files: dict[str, Record] = field(default_factory=dict)  # uploadTempFile, by its name
    export_config: Record = field(default_factory=dict)
    export_jobs: dict[str, Record] = field(default_factory=dict)
    next_invoice_number: int = 1000  # the per-account "RE-%NUMBER" sequence; SR draws from it too
    next_customer_number: int = 1000
    next_credit_note_number: int = 1000  # "GU-%NUMBER"
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
            "CreditNote": _ids(3000001),
            "CreditNotePos": _ids(6150001),
            "CheckAccountTransaction": _ids(1897000001),
            "CheckAccountTransactionLog": _ids(237000001),
            "VoucherLog": _ids(148000001),
            "CreditNoteLog": _ids(149000001),
            "Document": _ids(88000001),
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

    def take_credit_note_number(self) -> str:
        number = f"GU-{self.next_credit_note_number}"
        self.next_credit_note_number += 1
        return number

    def check_account(self, alias_or_id: str) -> Record | None:
        """A check account by id, or by the aliases "bank", "cash" and "writeoff"."""
        return self.check_accounts.get(CHECK_ACCOUNT_ALIASES.get(alias_or_id, alias_or_id))

    def add_position(self, position: Record) -> None:
        self.positions[position["id"]] = position
        self.invoice_positions.setdefault(position["invoice"]["id"], {})[position["id"]] = None

    def remove_position(self, position_id: str) -> None:
        position = self.positions.pop(position_id)
        self.invoice_positions.get(position["invoice"]["id"], {}).pop(position_id, None)

    def positions_of(self, invoice_id: str) -> list[Record]:
        return [self.positions[pid] for pid in self.invoice_positions.get(invoice_id, {})]


def public(record: Record) -> Record:
    """The record as sevDesk would send it (bookkeeping keys removed)."""
    return {key: value for key, value in record.items() if not key.startswith("_")}


def touch(record: Record, now: datetime) -> None:
    record["update"] = iso(now)
