"""Check accounts, their transactions and booking logs, and bookAmount on invoices and vouchers."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from devtools.sevdesk_emulator.embed import with_embeds
from devtools.sevdesk_emulator.invoices import get_invoice
from devtools.sevdesk_emulator.listing import newest_first, page
from devtools.sevdesk_emulator.payments import (
    book_credit_note,
    book_invoice,
    book_voucher,
    create_transaction,
    get_account,
    get_transaction,
)
from devtools.sevdesk_emulator.routing import Request, Response, ok, route
from devtools.sevdesk_emulator.store import Record, public
from devtools.sevdesk_emulator.wire import ApiError, bad_request, parse_moment, ref, to_decimal

if TYPE_CHECKING:
    from devtools.sevdesk_emulator.emulator import SevdeskEmulator

BOOKING_TYPES = frozenset({"FULL_PAYMENT", "N", "CB", "CF", "O", "OF", "MTC"})


def _booking(emu: SevdeskEmulator, req: Request) -> tuple[Decimal, datetime, Record, str | None]:
    data = req.data()
    if data.get("amount") in (None, ""):
        raise bad_request("amount is required")
    if data.get("type") not in (None, "") and data["type"] not in BOOKING_TYPES:
        raise bad_request(f"type must be one of {sorted(BOOKING_TYPES)}")
    if not data.get("checkAccount"):
        raise bad_request("checkAccount is required")  # [SPEC]: amount, date, type, checkAccount
    account = get_account(emu, ref(data["checkAccount"], "CheckAccount")["id"])
    transaction = data.get("checkAccountTransaction")
    transaction_id = ref(transaction, "CheckAccountTransaction")["id"] if transaction else None
    when = parse_moment(data["date"], "date") if data.get("date") not in (None, "") else emu.now()
    return to_decimal(data["amount"], "amount"), when, account, transaction_id


@route("PUT", "/Invoice/{invoice_id}/bookAmount")
def book_invoice_amount(emu: SevdeskEmulator, req: Request, params: dict[str, str]) -> Response:
    get_invoice(emu.state, params["invoice_id"])  # 404 before body checks, like sevDesk's lookup
    paid, when, account, transaction_id = _booking(emu, req)
    return ok(book_invoice(emu, params["invoice_id"], paid, when, account, transaction_id))


@route("PUT", "/Voucher/{voucher_id}/bookAmount")
def book_voucher_amount(emu: SevdeskEmulator, req: Request, params: dict[str, str]) -> Response:
    paid, when, account, transaction_id = _booking(emu, req)
    return ok(book_voucher(emu, params["voucher_id"], paid, when, account, transaction_id))


@route("PUT", "/CreditNote/{note_id}/bookAmount")
def book_credit_note_amount(emu: SevdeskEmulator, req: Request, params: dict[str, str]) -> Response:
    paid, when, account, transaction_id = _booking(emu, req)
    return ok(book_credit_note(emu, params["note_id"], paid, when, account, transaction_id))


@route("GET", "/CheckAccount")
def list_check_accounts(emu: SevdeskEmulator, req: Request, _: dict[str, str]) -> Response:
    return page(emu.state.check_accounts.values(), req.query)


@route("GET", "/CheckAccount/{account_id}")
def get_check_account(emu: SevdeskEmulator, _req: Request, params: dict[str, str]) -> Response:
    return ok([public(get_account(emu, params["account_id"]))])


@route("POST", "/CheckAccountTransaction")
def create_check_account_transaction(emu: SevdeskEmulator, req: Request, _: dict[str, str]) -> Response:
    data = req.data()
    missing = [key for key in ("valueDate", "amount", "checkAccount") if data.get(key) in (None, "")]
    if missing:
        raise bad_request(f"Missing required fields: {', '.join(missing)}")
    account = get_account(emu, ref(data["checkAccount"], "CheckAccount")["id"])
    if account["type"] != "online":  # the recorded error_422_offline_account.json
        raise ApiError(
            422,
            "You can only create transactions on online checkaccounts. "
            "Use document bookAmount to create transactions on other types.",
        )
    transaction = create_transaction(
        emu,
        account,
        to_decimal(data["amount"], "amount"),
        parse_moment(data["valueDate"], "valueDate"),
        purpose=_text(data.get("paymtPurpose")),
        payee=_text(data.get("payeePayerName")),
        status=str(data.get("status") or "100"),
    )
    return ok(public(transaction), 201)


def _text(value: Any) -> str | None:
    return None if value in (None, "") else str(value)


@route("GET", "/CheckAccountTransaction")
def list_transactions(emu: SevdeskEmulator, req: Request, _: dict[str, str]) -> Response:
    account_id = req.query.get("checkAccount[id]")
    found = (
        t
        for t in newest_first(emu.state.transactions)
        if not account_id or t["checkAccount"]["id"] == account_id
    )
    return page(found, req.query)


@route("GET", "/CheckAccountTransaction/{transaction_id}")
def get_check_account_transaction(emu: SevdeskEmulator, _req: Request, params: dict[str, str]) -> Response:
    return ok([public(get_transaction(emu, params["transaction_id"]))])


@route("GET", "/CheckAccountTransactionLog")
def list_transaction_logs(emu: SevdeskEmulator, req: Request, _: dict[str, str]) -> Response:
    # [RS2]: the whole tenant's bookings; object[id]/objectName are silently ignored,
    # checkAccountTransaction[id] is honoured
    query = req.query
    wanted = query.get("checkAccountTransaction[id]")
    found = (
        log
        for log in newest_first(emu.state.transaction_logs)
        if not wanted or log["checkAccountTransaction"]["id"] == wanted
    )
    return page(found, query, lambda log: with_embeds(log, query.get("embed"), emu.state))


@route("GET", "/Invoice/{invoice_id}/getCheckAccountTransactionLogs")
def invoice_transaction_logs(emu: SevdeskEmulator, req: Request, params: dict[str, str]) -> Response:
    invoice = get_invoice(emu.state, params["invoice_id"])
    log_ids = emu.state.logs_by_object.get(f"Invoice/{invoice['id']}", [])
    found = (emu.state.transaction_logs[log_id] for log_id in reversed(log_ids))
    return page(found, req.query, lambda log: with_embeds(log, req.query.get("embed"), emu.state))
