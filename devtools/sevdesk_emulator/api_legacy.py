"""The create-then-one-request-per-position writes of seed 000: `POST /Invoice` and `POST /InvoicePos`.

NOTES.md and the peers call these undocumented: [SPEC] lists only GET on /Invoice and /InvoicePos,
and every documented client writes an invoice with its positions in one `saveInvoice`. They exist
here only so scripts/benchmark.py can measure the naive approach against the same emulator in the
same run; the integration never calls them. Shapes follow the generic CRUD writes (`objects` is
the single record, values string-encoded), not saveInvoice's numeric position encoding.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from devtools.sevdesk_emulator.invoices import (
    DRAFT,
    apply_sums,
    build_invoice,
    build_position,
    get_invoice,
    positions_of,
    validate_invoice_input,
)
from devtools.sevdesk_emulator.routing import Request, Response, ok, route
from devtools.sevdesk_emulator.store import public, touch
from devtools.sevdesk_emulator.wire import ApiError, bad_request, not_found

if TYPE_CHECKING:
    from devtools.sevdesk_emulator.emulator import SevdeskEmulator


@route("POST", "/Invoice")
def create_invoice(emu: SevdeskEmulator, req: Request, _: dict[str, str]) -> Response:
    """A draft without positions, validated like saveInvoice's `invoice` part (sums start at 0)."""
    data = req.data()
    validate_invoice_input(data)
    store = emu.state
    if str(data["contact"].get("id")) not in store.contacts:
        raise not_found("Contact", data["contact"].get("id"))
    if str(data["contactPerson"].get("id")) not in {user["id"] for user in store.sev_users}:
        raise not_found("SevUser", data["contactPerson"].get("id"))
    invoice_id = store.new_id("Invoice")
    invoice = build_invoice(store, data, invoice_id, emu.now(), None)
    invoice["_input"] = data
    store.invoices[invoice_id] = invoice
    return ok(public(invoice), 201)


@route("POST", "/InvoicePos")
def create_position(emu: SevdeskEmulator, req: Request, _: dict[str, str]) -> Response:
    """One position on `invoice.id`; the invoice's sums are recomputed like saveInvoice does."""
    data = req.data()
    target = data.get("invoice")
    if not isinstance(target, dict) or target.get("id") in (None, ""):
        raise bad_request("invoice must be an object with an id")
    store, now = emu.state, emu.now()
    invoice = get_invoice(store, str(target["id"]))
    if invoice["status"] != DRAFT:
        raise ApiError(400, "Only drafts can be changed")  # as saveInvoice on a non-draft
    position_id = store.new_id("InvoicePos")
    entry = {key: value for key, value in data.items() if key not in ("invoice", "id")}
    position = build_position(store, entry, invoice, position_id, now, None)
    store.add_position(position)
    apply_sums(invoice, positions_of(store, invoice["id"]))
    touch(invoice, now)
    return ok(public(position), 201)
