"""Bookings: bookAmount on invoices and vouchers, check account transactions and their logs (§10, §13).

Every booking links a CheckAccountTransaction on a CheckAccount and writes a CheckAccountTransactionLog
(`amountPaid` a signed JSON number). The account's type tells money from a write-off: online (bank) and
register (cash) accounts hold money, an offline account ("Ausgebuchte Rechnungen") holds write-offs.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from devtools.sevdesk_emulator.invoices import DRAFT, OPEN, PAID, PARTIAL, get_invoice
from devtools.sevdesk_emulator.store import Record, touch
from devtools.sevdesk_emulator.wire import ApiError, amount, iso, not_found, number

if TYPE_CHECKING:
    from devtools.sevdesk_emulator.emulator import SevdeskEmulator

# CheckAccountTransaction statuses: 100 created, 200 linked, 300 private, 400 booked ([SPEC])
CREATED, BOOKED = "100", "400"
VOUCHER_OPEN, VOUCHER_PAID = "100", "1000"


def get_account(emu: SevdeskEmulator, account_id: str) -> Record:
    account = emu.state.check_accounts.get(account_id)
    if account is None:
        raise not_found("CheckAccount", account_id)
    return account


def get_transaction(emu: SevdeskEmulator, transaction_id: str) -> Record:
    transaction = emu.state.transactions.get(transaction_id)
    if transaction is None:
        raise not_found("CheckAccountTransaction", transaction_id)
    return transaction


def create_transaction(
    emu: SevdeskEmulator,
    account: Record,
    value: Decimal,
    when: datetime,
    *,
    purpose: str | None = None,
    payee: str | None = None,
    status: str = CREATED,
) -> Record:
    """A transaction in the shape of the recorded transaction.json."""
    now = iso(emu.now())
    transaction = {
        "id": emu.state.new_id("CheckAccountTransaction"),
        "objectName": "CheckAccountTransaction",
        "additionalInformation": None,
        "create": now,
        "update": now,
        "sevClient": emu.state.sev_client_ref(),
        "valueDate": iso(when),
        "entryDate": iso(when),
        "amount": amount(value),
        "feeAmount": None,
        "gvCode": None,
        "entryText": None,
        "primaNotaNo": None,
        "paymtPurpose": purpose,
        "payeePayerBankCode": None,
        "payeePayerAcctNo": None,
        "payeePayerName": payee,
        "checkAccount": {"id": account["id"], "objectName": "CheckAccount"},
        "status": status,
        "score": None,
        "compareHash": None,
        "enshrined": None,
        "obonoReceiptUuid": None,
        "externalId": None,
        "deletedAt": None,
        "restoredAt": None,
    }
    emu.state.transactions[transaction["id"]] = transaction
    return transaction


def _transaction_for(
    emu: SevdeskEmulator,
    account: Record,
    transaction_id: str | None,
    value: Decimal,
    when: datetime,
    purpose: str,
) -> Record:
    if transaction_id:
        transaction = get_transaction(emu, transaction_id)
        if transaction["checkAccount"]["id"] != account["id"]:
            raise ApiError(422, "The check account transaction does not belong to the check account")
        return transaction
    if account["type"] == "online":
        # [SPEC]: "When the check account is type online, you must provide a transaction"
        raise ApiError(422, "A checkAccountTransaction is required to book on an online check account")
    return create_transaction(emu, account, value, when, purpose=purpose)  # offline/register make their own


def _log(emu: SevdeskEmulator, transaction: Record, target: Record, paid: Decimal, when: datetime) -> Record:
    """The CheckAccountTransactionLog entry, key order as the recorded transaction_log.json."""
    log = {
        "id": emu.state.new_id("CheckAccountTransactionLog"),
        "objectName": "CheckAccountTransactionLog",
        "additionalInformation": None,
        "create": iso(emu.now()),
        "checkAccountTransaction": {"id": transaction["id"], "objectName": "CheckAccountTransaction"},
        "fromStatus": transaction["status"],
        "toStatus": BOOKED,
        "amountPaid": number(paid),  # a JSON number, signed (money out is negative)
        "bookingDate": iso(when),
        "sevClient": emu.state.sev_client_ref(),
        "object": {"id": target["id"], "objectName": target["objectName"]},
    }
    transaction["status"] = BOOKED
    touch(transaction, emu.now())
    emu.state.transaction_logs[log["id"]] = log
    emu.state.logs_by_object.setdefault(f"{target['objectName']}/{target['id']}", []).append(log["id"])
    return log


def book_invoice(
    emu: SevdeskEmulator,
    invoice_id: str,
    paid: Decimal,
    when: datetime,
    account: Record,
    transaction_id: str | None = None,
) -> Record:
    """PUT /Invoice/{id}/bookAmount; returns the InvoiceLog. Over-payment is accepted (status 1000)."""
    invoice = get_invoice(emu.state, invoice_id)
    status = invoice["status"]
    if status == DRAFT:
        raise ApiError(422, "Drafts can not be booked; finalize the invoice first")
    if invoice["invoiceType"] == "SR" or invoice.get("_cancelledBy"):
        raise ApiError(422, "Cancelled invoices can not be booked")
    if status == PAID:
        raise ApiError(422, "Invoice is already paid", 750)
    purpose = invoice["invoiceNumber"] or invoice["id"]
    transaction = _transaction_for(emu, account, transaction_id, paid, when, purpose)
    total = Decimal(str(invoice["paidAmount"])) + paid
    gross = Decimal(invoice["sumGross"])
    new_status = PAID if total >= gross else PARTIAL if total > 0 else OPEN
    invoice |= {"paidAmount": number(total), "payDate": iso(when), "status": new_status}
    if emu.booking_moves_update:  # UNCONFIRMED (NOTES.md §13), hence a switch
        touch(invoice, emu.now())
    _log(emu, transaction, invoice, paid, when)
    log = {
        "id": emu.state.new_id("InvoiceLog"),
        "objectName": "InvoiceLog",
        "additionalInformation": None,
        "create": iso(emu.now()),
        "creditNote": None,
        "fromStatus": status,
        "toStatus": new_status,
        "ammountPayed": amount(paid),
        "bookingDate": iso(when),
        "sevClient": emu.state.sev_client_ref(),
    }
    emu.state.invoice_logs.append(log)
    return log


def book_voucher(
    emu: SevdeskEmulator,
    voucher_id: str,
    paid: Decimal,
    when: datetime,
    account: Record,
    transaction_id: str | None = None,
) -> Record:
    """PUT /Voucher/{id}/bookAmount; returns the VoucherLog (recorded write_voucher_book_amount.json)."""
    voucher = emu.state.vouchers.get(voucher_id)
    if voucher is None:
        raise not_found("Voucher", voucher_id)
    status = voucher["status"]
    if status == VOUCHER_PAID:
        raise ApiError(422, "Voucher is already paid", 751)
    # money goes out for a "C" (expense) voucher: the recorded log shows amountPaid -15 there
    signed = -paid if voucher["creditDebit"] == "C" else paid
    transaction = _transaction_for(
        emu, account, transaction_id, signed, when, voucher.get("description") or ""
    )
    total = Decimal(str(voucher["paidAmount"])) + paid
    new_status = VOUCHER_PAID if total >= Decimal(voucher["sumGross"]) else "750"
    voucher |= {"paidAmount": number(total), "payDate": iso(when), "status": new_status}
    if emu.booking_moves_update:
        touch(voucher, emu.now())
    _log(emu, transaction, voucher, signed, when)
    log = {
        "id": emu.state.new_id("VoucherLog"),
        "objectName": "VoucherLog",
        "additionalInformation": None,
        "create": iso(emu.now()),
        "voucher": {"id": voucher["id"], "objectName": "Voucher"},
        "fromStatus": status,
        "toStatus": new_status,
        "amountPayed": amount(paid),
        "bookingDate": iso(when),
        "sevClient": emu.state.sev_client_ref(),
    }
    emu.state.voucher_logs.append(log)
    return log


def book_credit_note(
    emu: SevdeskEmulator,
    note_id: str,
    paid: Decimal,
    when: datetime,
    account: Record,
    transaction_id: str | None = None,
) -> Record:
    """PUT /CreditNote/{id}/bookAmount: the refund of a finalized credit note (money out, so the
    log's amountPaid is negative); returns the CreditNoteLog."""
    note = emu.state.credit_note_records.get(note_id)
    if note is None:
        raise not_found("CreditNote", note_id)
    status = note["status"]
    if status == DRAFT:
        raise ApiError(422, "Drafts can not be booked; finalize the credit note first")
    if status == PAID:
        raise ApiError(422, "Credit note is already paid")
    transaction = _transaction_for(emu, account, transaction_id, -paid, when, note["creditNoteNumber"] or "")
    total = Decimal(str(note.get("paidAmount") or 0)) + paid
    new_status = PAID if total >= Decimal(note["sumGross"]) else PARTIAL
    note |= {"paidAmount": number(total), "payDate": iso(when), "status": new_status}
    if emu.booking_moves_update:
        touch(note, emu.now())
    _log(emu, transaction, note, -paid, when)
    return {
        "id": emu.state.new_id("CreditNoteLog"),
        "objectName": "CreditNoteLog",
        "additionalInformation": None,
        "create": iso(emu.now()),
        "creditNote": {"id": note["id"], "objectName": "CreditNote"},
        "fromStatus": status,
        "toStatus": new_status,
        "amountPayed": amount(paid),
        "bookingDate": iso(when),
        "sevClient": emu.state.sev_client_ref(),
    }


def book_payment(
    emu: SevdeskEmulator, invoice_id: str, paid: Decimal, when: datetime, account_name: str
) -> Record:
    """Test helper: a payment as it would arrive; on a bank account an imported transaction comes first."""
    account = _named_account(emu, account_name)
    transaction_id = None
    if account["type"] == "online":
        invoice = get_invoice(emu.state, invoice_id)
        purpose = invoice["invoiceNumber"] or invoice["id"]
        transaction_id = create_transaction(emu, account, paid, when, purpose=purpose)["id"]
    return book_invoice(emu, invoice_id, paid, when, account, transaction_id)


def pay_document(
    emu: SevdeskEmulator, kind: str, document_id: str, paid: Decimal, when: datetime, account_name: str
) -> Record:
    """Test helper: a voucher paid or a credit note refunded (money out), like book_payment."""
    account = _named_account(emu, account_name)
    records = emu.state.vouchers if kind == "Voucher" else emu.state.credit_note_records
    document = records.get(document_id)
    if document is None:
        raise not_found(kind, document_id)
    transaction_id = None
    if account["type"] == "online":
        purpose = document.get("description") or document.get("creditNoteNumber") or document_id
        transaction_id = create_transaction(emu, account, -paid, when, purpose=purpose)["id"]
    book = book_voucher if kind == "Voucher" else book_credit_note
    return book(emu, document_id, paid, when, account, transaction_id)


def _named_account(emu: SevdeskEmulator, name: str) -> Record:
    account = emu.state.check_account(name)
    if account is None:
        raise not_found("CheckAccount", name)
    return account


def write_off(emu: SevdeskEmulator, invoice_id: str, when: datetime) -> Record:
    """Book the unpaid rest on the offline write-off account ("Ausgebuchte Rechnungen", [BI])."""
    invoice = get_invoice(emu.state, invoice_id)
    rest = Decimal(invoice["sumGross"]) - Decimal(str(invoice["paidAmount"]))
    if rest <= 0:
        raise ApiError(422, "Invoice is already paid", 750)
    return book_payment(emu, invoice_id, rest, when, "writeoff")
