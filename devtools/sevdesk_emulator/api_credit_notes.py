"""CreditNote endpoints: createFromInvoice, list with the spec's filters, read, sendBy."""

from __future__ import annotations

from typing import TYPE_CHECKING

from devtools.sevdesk_emulator.credit_notes import (
    create_from_invoice,
    credit_note_positions,
    finalize_credit_note,
)
from devtools.sevdesk_emulator.listing import exact_filters_match, newest_first, page, time_filters_match
from devtools.sevdesk_emulator.routing import Request, Response, ok, route
from devtools.sevdesk_emulator.store import Record, public
from devtools.sevdesk_emulator.wire import bad_request, not_found, ref, to_bool

if TYPE_CHECKING:
    from devtools.sevdesk_emulator.emulator import SevdeskEmulator

SEND_TYPES = frozenset({"VPR", "VP", "VM", "VPDF"})
EXACT_FILTERS = {
    "status": lambda note: note["status"],
    "creditNoteNumber": lambda note: note["creditNoteNumber"],
    "contact[id]": lambda note: note["contact"]["id"],
    "customerInternalNote": lambda note: note["customerInternalNote"],
}
TIME_FILTERS = {
    "startDate": ("creditNoteDate", True),
    "endDate": ("creditNoteDate", False),
    "updateAfter": ("update", True),
}


def _get(emu: SevdeskEmulator, note_id: str) -> Record:
    note = emu.state.credit_note_records.get(note_id)
    if note is None:
        raise not_found("CreditNote", note_id)
    return note


@route("POST", "/CreditNote/Factory/createFromInvoice")
def from_invoice(emu: SevdeskEmulator, req: Request, _: dict[str, str]) -> Response:
    invoice_ref = req.data().get("invoice")
    if not invoice_ref:
        raise bad_request("invoice is required")
    note = create_from_invoice(emu, ref(invoice_ref, "Invoice")["id"])
    body = {
        "creditNote": public(note),
        "creditNotePos": credit_note_positions(emu, note["id"]),
        "discount": [],
    }
    return ok(body, 201)


@route("GET", "/CreditNote")
def list_credit_notes(emu: SevdeskEmulator, req: Request, _: dict[str, str]) -> Response:
    query = req.query
    found = (
        note
        for note in newest_first(emu.state.credit_note_records)
        if exact_filters_match(note, query, EXACT_FILTERS) and time_filters_match(note, query, TIME_FILTERS)
    )
    return page(found, query)


@route("GET", "/CreditNote/{note_id}")
def get_credit_note(emu: SevdeskEmulator, _req: Request, params: dict[str, str]) -> Response:
    return ok([public(_get(emu, params["note_id"]))])


@route("PUT", "/CreditNote/{note_id}/sendBy")
def send_credit_note(emu: SevdeskEmulator, req: Request, params: dict[str, str]) -> Response:
    note = _get(emu, params["note_id"])
    data = req.data()
    if data.get("sendType") not in SEND_TYPES or data.get("sendDraft") in (None, ""):
        raise bad_request(f"sendType (one of {sorted(SEND_TYPES)}) and sendDraft are required")
    if not to_bool(data["sendDraft"]):
        finalize_credit_note(emu, note, data["sendType"])
    return ok(public(note))
