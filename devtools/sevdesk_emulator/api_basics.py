"""Account basics: bookkeeping version, users, templates and letter papers."""

from __future__ import annotations

from typing import TYPE_CHECKING

from devtools.sevdesk_emulator.listing import page
from devtools.sevdesk_emulator.routing import Request, Response, ok, route
from devtools.sevdesk_emulator.wire import bad_request

if TYPE_CHECKING:
    from devtools.sevdesk_emulator.emulator import SevdeskEmulator

TEMPLATE_TYPES = frozenset(
    {"Invoice", "invoicereminder", "Order", "Contractnote", "Packinglist", "Letter", "Creditnote"}
)


@route("GET", "/Tools/bookkeepingSystemVersion")
def bookkeeping_version(_emu: SevdeskEmulator, _req: Request, _: dict[str, str]) -> Response:
    return ok({"version": "2.0"})


@route("GET", "/SevUser")
def sev_users(emu: SevdeskEmulator, _req: Request, _: dict[str, str]) -> Response:
    return ok([dict(user) for user in emu.state.sev_users])


@route("GET", "/DocServer/getTemplatesWithThumb")
def templates(emu: SevdeskEmulator, req: Request, _: dict[str, str]) -> Response:
    # Observed wrapped in `objects` ([CC]); the inner shape is UNCONFIRMED. Decision: a plain list
    # of templates (not [SPEC]'s {result, templates}).
    kind = req.query.get("type")
    if kind and kind not in TEMPLATE_TYPES:
        raise bad_request(f"type must be one of {sorted(TEMPLATE_TYPES)}")
    return ok([dict(t) for t in emu.state.templates if not kind or t["type"] == kind])


@route("GET", "/DocServer/getLetterpapersWithThumb")
def letterpapers(emu: SevdeskEmulator, _req: Request, _: dict[str, str]) -> Response:
    return ok([dict(paper) for paper in emu.state.letterpapers])


@route("GET", "/PaymentMethod")
def payment_methods(emu: SevdeskEmulator, req: Request, _: dict[str, str]) -> Response:
    # undocumented; ids are per account, electronicInvoiceId is the e-invoice code ([RS] misc.rs)
    return page(emu.state.payment_methods, req.query)
