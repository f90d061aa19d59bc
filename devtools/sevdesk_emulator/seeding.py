"""Many finalized invoices written straight into the store, for benchmarks and list/sync tests.

Going through saveInvoice + sendBy would take minutes for 100,000 invoices; here one invoice is built
the normal way and copied. Paid and partly paid invoices are booked and cancellations made through the
same code the API uses, so their bookings, logs and SRs look exactly like real ones.
"""

from __future__ import annotations

import gc
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from devtools.sevdesk_emulator.api_contacts import build_contact
from devtools.sevdesk_emulator.api_vouchers import create_voucher
from devtools.sevdesk_emulator.cancellation import cancel_invoice
from devtools.sevdesk_emulator.invoices import OPEN, apply_sums, build_invoice, build_position
from devtools.sevdesk_emulator.payments import book_payment, pay_document
from devtools.sevdesk_emulator.store import PAYMENT_METHOD_TRANSFER, SEV_USER_ID, Record
from devtools.sevdesk_emulator.wire import iso, midnight

if TYPE_CHECKING:
    from devtools.sevdesk_emulator.emulator import SevdeskEmulator

LINES = (("3", "10.00", "Beratung"), ("1", "25.00", "Reisekosten"))  # 55 net, 65.45 gross


def seed_invoices(
    emu: SevdeskEmulator,
    count: int,
    *,
    contact_id: str | None = None,
    first_day: datetime | None = None,
    per_day: int = 50,
    paid: float = 0.3,
    partial: float = 0.1,
    cancelled: float = 0.05,
    written_off: float = 0.0,
    note_prefix: str = "SEED-",
    e_invoice: bool = False,
) -> list[str]:
    """`count` invoices, finalized (status 200), `per_day` per invoice date from `first_day` on.

    Fractions of them are then paid in full on the bank account, half paid (750), written off or
    cancelled, spread evenly (deterministic). customerInternalNote is `note_prefix` + running number.
    Returns the ids of the seeded originals (not of their cancellation invoices).
    """
    shares = {"paid": paid, "partial": partial, "cancelled": cancelled, "written_off": written_off}
    if count < 0 or per_day < 1:
        raise ValueError("count must be >= 0 and per_day >= 1")
    clock, now = emu.clock, emu.now()
    emu.clock = lambda: now  # one timestamp for the whole batch: deterministic, and iso() is cached
    collecting = gc.isenabled()
    gc.disable()  # millions of new dicts would trigger ever longer full collections
    try:
        return _seed(emu, count, contact_id, first_day, per_day, note_prefix, e_invoice, shares)
    finally:
        emu.clock = clock
        # the seeded records are long-lived and acyclic (refcounting frees them on reset): keep
        # them out of every later full collection, which would otherwise stall random requests
        gc.freeze()
        if collecting:
            gc.enable()


def _seed(
    emu: SevdeskEmulator,
    count: int,
    contact_id: str | None,
    first_day: datetime | None,
    per_day: int,
    note_prefix: str,
    e_invoice: bool,
    shares: dict[str, float],
) -> list[str]:
    store, now = emu.state, emu.now()
    if contact_id is None:
        contact_id = build_contact(emu, {"name": "Seed GmbH", "category": {"id": 3}})["id"]
    start = first_day or midnight(now.date() - timedelta(days=count // per_day + 1))
    data = {
        "objectName": "Invoice",
        "mapAll": True,
        "contact": {"id": contact_id, "objectName": "Contact"},
        "contactPerson": {"id": SEV_USER_ID, "objectName": "SevUser"},
        "invoiceDate": int(start.timestamp()),
        "status": 100,
        "invoiceType": "RE",
        "currency": "EUR",
        "taxRule": {"id": 1, "objectName": "TaxRule"},
        "taxText": "Umsatzsteuer 19%",
        "timeToPay": 14,
        "addressName": "Seed GmbH",
        "addressStreet": "Seedweg 1",
        "addressZip": "10115",
        "addressCity": "Berlin",
        "addressCountry": {"id": 1, "objectName": "StaticCountry"},
        "paymentMethod": {"id": PAYMENT_METHOD_TRANSFER, "objectName": "PaymentMethod"},
        "propertyIsEInvoice": e_invoice,
    }
    template = build_invoice(store, data, "0", now, None)
    lines = [
        {"objectName": "InvoicePos", "mapAll": True, "quantity": q, "price": p, "name": n, "taxRate": 19}
        | {"unity": {"id": 1, "objectName": "Unity"}}
        for q, p, n in LINES
    ]
    template_positions = [build_position(store, line, template, "0", now, None) for line in lines]
    apply_sums(template, template_positions)
    stamp = iso(now)
    fates = _fates(count, **shares)
    ids: list[str] = []
    for index in range(count):
        invoice_id = store.new_id("Invoice")
        day = iso(start + timedelta(days=index // per_day))
        invoice: Record = dict(template)
        invoice |= {
            "id": invoice_id,
            "invoiceNumber": store.take_invoice_number(),
            "invoiceDate": day,
            "deliveryDate": day,
            "customerInternalNote": f"{note_prefix}{index}",
            "status": OPEN,
            "sendType": "VPDF",
            "sendDate": stamp,
            "enshrined": stamp,
            "_input": data,
        }
        store.invoices[invoice_id] = invoice
        for position in template_positions:
            copy = dict(
                position, id=store.new_id("InvoicePos"), invoice={"id": invoice_id, "objectName": "Invoice"}
            )
            store.add_position(copy)
        ids.append(invoice_id)
        _apply_fate(emu, invoice, fates[index], start + timedelta(days=index // per_day + 3))
    return ids


def _fates(count: int, **shares: float) -> list[str]:
    """An outcome per invoice: exactly round(count * share) of each, spread evenly along the sequence
    by a golden-ratio ordering (deterministic, so runs compare)."""
    if any(share < 0 for share in shares.values()) or sum(shares.values()) > 1:
        raise ValueError("the shares must be >= 0 and add up to at most 1")
    order = sorted(range(count), key=lambda index: (index * 0.6180339887498949) % 1)
    fates = ["open"] * count
    start = 0
    for fate, share in shares.items():
        end = start + round(count * share)
        for index in order[start:end]:
            fates[index] = fate
        start = end
    return fates


def _apply_fate(emu: SevdeskEmulator, invoice: Record, fate: str, when: datetime) -> None:
    gross = Decimal(invoice["sumGross"])
    if fate == "paid":
        book_payment(emu, invoice["id"], gross, when, "bank")
    elif fate == "partial":
        book_payment(emu, invoice["id"], gross / 2, when, "bank")
    elif fate == "written_off":
        book_payment(emu, invoice["id"], Decimal("10"), when, "bank")
        book_payment(emu, invoice["id"], gross - 10, when, "writeoff")
    elif fate == "cancelled":
        cancel_invoice(emu, invoice["id"])


# Expense vouchers cycle through these positions: (tax rate, net) at 19 %, 7 % and 0 %.
VOUCHER_LINES = (("19", "100.00"), ("7", "20.00"), ("0", "5.00"))


def seed_vouchers(
    emu: SevdeskEmulator,
    count: int,
    *,
    first_day: datetime | None = None,
    per_day: int = 20,
    paid: float = 0.5,
    drafts: float = 0.0,
) -> list[str]:
    """`count` expense vouchers (creditDebit C), made the way saveVoucher makes them, `per_day` per
    voucher date from `first_day` on; each has one position of VOUCHER_LINES (in turn). Exactly
    round(count * paid) of them are paid from the bank three days later, round(count * drafts)
    stay drafts (status 50), the rest are open (100). Returns their ids."""
    if count < 0 or per_day < 1:
        raise ValueError("count must be >= 0 and per_day >= 1")
    clock, now = emu.clock, emu.now()
    emu.clock = lambda: now
    try:
        start = first_day or midnight(now.date() - timedelta(days=count // per_day + 1))
        fates = _fates(count, paid=paid, drafts=drafts)
        ids: list[str] = []
        for index in range(count):
            day = start + timedelta(days=index // per_day)
            rate, net = VOUCHER_LINES[index % len(VOUCHER_LINES)]
            body = {
                "voucher": {
                    "objectName": "Voucher",
                    "mapAll": True,
                    "voucherDate": int(day.timestamp()),
                    "supplierName": f"Seed Lieferant {index % 17}",
                    "description": f"SEED-V-{index}",
                    "status": 50 if fates[index] == "drafts" else 100,
                    "creditDebit": "C",
                    "voucherType": "VOU",
                    "taxRule": {"id": 9, "objectName": "TaxRule"},
                    "currency": "EUR",
                },
                "voucherPosSave": [
                    {
                        "objectName": "VoucherPos",
                        "mapAll": True,
                        "accountDatev": {"id": 4930, "objectName": "AccountDatev"},
                        "taxRate": rate,
                        "net": True,
                        "sumNet": net,
                    }
                ],
            }
            voucher, _ = create_voucher(emu, body)
            if fates[index] == "paid":
                gross = Decimal(voucher["sumGross"])
                pay_document(emu, "Voucher", voucher["id"], gross, day + timedelta(days=3), "bank")
            ids.append(voucher["id"])
        return ids
    finally:
        emu.clock = clock
