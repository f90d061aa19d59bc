"""Invoice create/update, read, list and delete endpoints."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from devtools.sevdesk_emulator.invoices import (
    DRAFT,
    PARTIAL,
    apply_sums,
    build_invoice,
    build_position,
    get_invoice,
    invoice_out,
    position_in_save_response,
    positions_of,
    validate_invoice_input,
)
from devtools.sevdesk_emulator.listing import (
    exact_filters_match,
    newest_first,
    page,
    ref_id,
    time_filters_match,
)
from devtools.sevdesk_emulator.routing import Request, Response, ok, route
from devtools.sevdesk_emulator.store import Record, public
from devtools.sevdesk_emulator.wire import ApiError, bad_request, not_found

if TYPE_CHECKING:
    from devtools.sevdesk_emulator.emulator import SevdeskEmulator


def _as_list(value: Any) -> list[Any]:
    if value in (None, "", "null"):
        return []
    return value if isinstance(value, list) else [value]


@route("POST", "/Invoice/Factory/saveInvoice")
def save_invoice(emu: SevdeskEmulator, req: Request, _: dict[str, str]) -> Response:
    body = req.data()
    # the real key is invoicePosSave; [SPEC]'s "invoicePos" is ignored like any unknown key
    data = body.get("invoice")
    if not isinstance(data, dict):
        raise bad_request("invoice is required")
    store, now = emu.state, emu.now()
    old = get_invoice(store, str(data["id"])) if data.get("id") else None
    if old is not None and old["status"] != DRAFT:
        raise ApiError(400, "Only drafts can be changed")  # UNCONFIRMED for invoices (NOTES.md §2)
    merged = {**(old["_input"] if old else {}), **data}
    validate_invoice_input(merged)
    if str(merged["contact"].get("id")) not in store.contacts:
        raise not_found("Contact", merged["contact"].get("id"))
    if str(merged["contactPerson"].get("id")) not in {user["id"] for user in store.sev_users}:
        raise not_found("SevUser", merged["contactPerson"].get("id"))

    invoice_id = old["id"] if old else store.new_id("Invoice")
    invoice = build_invoice(store, merged, invoice_id, now, old)
    invoice["_input"] = merged
    kept = {pos["id"]: pos for pos in positions_of(store, invoice_id)} if old else {}
    for entry in _as_list(body.get("invoicePosDelete")):
        kept.pop(str(entry.get("id") if isinstance(entry, dict) else entry), None)
    for entry in _as_list(body.get("invoicePosSave")):
        position_id = str(entry.get("id")) if isinstance(entry, dict) and entry.get("id") else None
        if position_id and position_id not in kept:
            raise not_found("InvoicePos", position_id)
        previous = kept.get(position_id) if position_id else None
        new_id = position_id or store.new_id("InvoicePos")
        kept[new_id] = build_position(store, entry, invoice, new_id, now, previous)
    positions = list(kept.values())
    apply_sums(invoice, positions)

    # validated in full above; only now touch the store, so a refusal changes nothing
    if old is not None:
        for position in positions_of(store, invoice_id):
            store.remove_position(position["id"])
    store.invoices[invoice_id] = invoice
    for position in positions:
        store.add_position(position)
    saved = {
        "invoice": public(invoice),
        "invoicePos": [position_in_save_response(pos, invoice) for pos in positions],
        "vatdrop": "not relevant",
    }
    return ok(saved, 201)


@route("GET", "/Invoice/{invoice_id}")
def get_one(emu: SevdeskEmulator, _req: Request, params: dict[str, str]) -> Response:
    return ok([invoice_out(emu, get_invoice(emu.state, params["invoice_id"]))])


@route("GET", "/Invoice/{invoice_id}/getPositions")
def get_positions(emu: SevdeskEmulator, req: Request, params: dict[str, str]) -> Response:
    invoice = get_invoice(emu.state, params["invoice_id"])
    return page(positions_of(emu.state, invoice["id"]), req.query)


@route("GET", "/Invoice/{invoice_id}/getIsPartiallyPaid")
def is_partially_paid(emu: SevdeskEmulator, _req: Request, params: dict[str, str]) -> Response:
    return ok(get_invoice(emu.state, params["invoice_id"])["status"] == PARTIAL)


@route("DELETE", "/Invoice/{invoice_id}")
def delete(emu: SevdeskEmulator, _req: Request, params: dict[str, str]) -> Response:
    invoice = get_invoice(emu.state, params["invoice_id"])
    if invoice["status"] != DRAFT:
        raise ApiError(409, "Invoice can only be deleted in status 100", 159)
    for position in positions_of(emu.state, invoice["id"]):
        emu.state.remove_position(position["id"])
    del emu.state.invoices[invoice["id"]]
    return ok([None])


@route("GET", "/Invoice/Factory/getNextInvoiceNumber")
def next_number(emu: SevdeskEmulator, _req: Request, _: dict[str, str]) -> Response:
    # peeks only: the sequence advances when a draft is finalized (NOTES.md "Numbering")
    return ok(f"RE-{emu.state.next_invoice_number}")


@route("GET", "/Invoice")
def list_invoices(emu: SevdeskEmulator, req: Request, _: dict[str, str]) -> Response:
    query = req.query
    found: Iterable[Record] = (
        inv
        for inv in newest_first(emu.state.invoices)
        if exact_filters_match(inv, query, EXACT_FILTERS) and time_filters_match(inv, query, TIME_FILTERS)
    )
    order = query.get("orderByInvoiceNumber", "").upper()
    if order in ("ASC", "DESC"):
        found = sorted(found, key=_number_key, reverse=order == "DESC")
    return page(found, query, lambda inv: invoice_out(emu, inv))


EXACT_FILTERS: dict[str, Callable[[Record], object]] = {
    "status": lambda inv: inv["status"],
    "invoiceNumber": lambda inv: inv["invoiceNumber"],
    "customerInternalNote": lambda inv: inv["customerInternalNote"],
    "invoiceType": lambda inv: inv["invoiceType"],
    "contact[id]": lambda inv: inv["contact"]["id"],
    # the way to find an invoice's cancellation (NOTES.md §13); origin[objectName] is implied
    "origin[id]": lambda inv: ref_id(inv, "origin"),
}
# filter -> (field, lower bound?)
TIME_FILTERS = {
    "startDate": ("invoiceDate", True),
    "endDate": ("invoiceDate", False),
    "updateAfter": ("update", True),
    "updateBefore": ("update", False),
    "createAfter": ("create", True),
    "createBefore": ("create", False),
}


def _number_key(invoice: Record) -> tuple[int, str]:
    number = invoice["invoiceNumber"] or ""
    digits = "".join(ch for ch in number if ch.isdigit())
    return (int(digits) if digits else -1, number)
