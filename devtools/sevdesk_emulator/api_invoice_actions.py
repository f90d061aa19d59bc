"""Invoice actions: send, e-mail, PDF, cancel, book, reset, layout parameters."""

from __future__ import annotations

import base64
import re
from typing import TYPE_CHECKING

from devtools.sevdesk_emulator.cancellation import cancel_invoice
from devtools.sevdesk_emulator.einvoice import e_invoice_xml, hybrid_pdf, is_e_invoice, refuse_if_incomplete
from devtools.sevdesk_emulator.invoices import DRAFT, OPEN, finalize, get_invoice, positions_of
from devtools.sevdesk_emulator.pdf import invoice_lines, render_pdf
from devtools.sevdesk_emulator.routing import Request, Response, ok, route
from devtools.sevdesk_emulator.store import Record, public, touch
from devtools.sevdesk_emulator.wire import ApiError, bad_request, iso, to_bool

if TYPE_CHECKING:
    from devtools.sevdesk_emulator.emulator import SevdeskEmulator

SEND_TYPES = frozenset({"VPR", "VP", "VM", "VPDF"})
LAYOUT_KEYS = frozenset({"template", "letterpaper", "language", "payPal"})


@route("PUT", "/Invoice/{invoice_id}/sendBy")
def send_by(emu: SevdeskEmulator, req: Request, params: dict[str, str]) -> Response:
    invoice = get_invoice(emu.state, params["invoice_id"])
    data = req.data()
    if data.get("sendType") in (None, "") or data.get("sendDraft") in (None, ""):
        raise bad_request("sendType and sendDraft are required")
    if data["sendType"] not in SEND_TYPES:
        raise bad_request(f"sendType must be one of {sorted(SEND_TYPES)}")
    if not to_bool(data["sendDraft"]):  # sendDraft true: an internal draft copy, nothing changes
        _finalize(emu, invoice, data["sendType"])
    return ok(public(invoice))


@route("POST", "/Invoice/{invoice_id}/sendViaEmail")
def send_via_email(emu: SevdeskEmulator, req: Request, params: dict[str, str]) -> Response:
    invoice = get_invoice(emu.state, params["invoice_id"])
    data = req.data()
    missing = [key for key in ("toEmail", "subject", "text") if not data.get(key)]
    if missing:
        raise bad_request(f"Missing required fields: {', '.join(missing)}")
    _finalize(emu, invoice, "VM")  # sendType VM is UNCONFIRMED (NOTES.md §5)
    now = iso(emu.now())
    email = {
        "id": emu.state.new_id("Email"),
        "objectName": "Email",
        "additionalInformation": None,
        "create": now,
        "update": now,
        "object": public(invoice),
        "from": emu.state.sev_client.get("email"),
        "to": str(data["toEmail"]),
        "subject": str(data["subject"]),
        "text": str(data["text"]),
        "sevClient": emu.state.sev_client_ref(),
        "cc": data.get("ccEmail"),
        "bcc": data.get("bccEmail"),
        "arrived": None,
    }
    emu.state.emails.append(email)  # the outbox: the real sevDesk would send it
    return ok(email, 201)


def _finalize(emu: SevdeskEmulator, invoice: Record, send_type: str) -> None:
    """finalize(), refusing an e-invoice whose master data is incomplete (400, code 830); the XML is
    made now, from the data as it is now, and kept."""
    becomes_e_invoice = is_e_invoice(invoice) and invoice["status"] == DRAFT
    if becomes_e_invoice:
        refuse_if_incomplete(emu, invoice)
    finalize(emu, invoice, send_type)
    if becomes_e_invoice:
        e_invoice_xml(emu, invoice)


def _refuse_e_invoice_draft(invoice: Record) -> None:
    # [RS]: e-invoice drafts can't be rendered or re-parametrised before they have a number
    if invoice.get("propertyIsEInvoice") == "1" and invoice["status"] == DRAFT:
        raise ApiError(503, "Invoice number is required")


@route("GET", "/Invoice/{invoice_id}/getPdf")
def get_pdf(emu: SevdeskEmulator, req: Request, params: dict[str, str]) -> Response:
    invoice = get_invoice(emu.state, params["invoice_id"])
    _refuse_e_invoice_draft(invoice)
    if not to_bool(req.query.get("preventSendBy", "")) and invoice["status"] == DRAFT:
        _finalize(emu, invoice, "VPDF")  # a plain getPdf finalizes a draft ([RS], [CC])
    content = render_pdf(invoice_lines(invoice, positions_of(emu.state, invoice["id"])))
    if is_e_invoice(invoice) and invoice["enshrined"]:  # ZUGFeRD: the XML rides inside the PDF
        content = hybrid_pdf(content, e_invoice_xml(emu, invoice), invoice)
    filename = f"{invoice['invoiceNumber'] or ''}.pdf"
    if emu.pdf_mode == "raw":
        headers = {
            "Content-Type": "application/pdf",
            "Content-Disposition": f'attachment; filename="{filename}"',
        }
        return Response(200, raw=content, headers=headers)
    pdf = {
        "base64Encoded": True,
        "content": base64.b64encode(content).decode("ascii"),
        "filename": filename,
        "mimetype": "application/pdf",
    }
    return ok(pdf)


@route("GET", "/Invoice/{invoice_id}/getXml")
def get_xml(emu: SevdeskEmulator, _req: Request, params: dict[str, str]) -> Response:
    invoice = get_invoice(emu.state, params["invoice_id"])
    if not is_e_invoice(invoice):
        raise bad_request("This invoice is not an electronic invoice")
    if not invoice["enshrined"]:
        raise ApiError(400, "The invoice has to be enshrined first")
    return ok(e_invoice_xml(emu, invoice))


@route("POST", "/Invoice/{invoice_id}/cancelInvoice")
def cancel(emu: SevdeskEmulator, _req: Request, params: dict[str, str]) -> Response:
    return ok(cancel_invoice(emu, params["invoice_id"]), 201)


@route("PUT", "/Invoice/{invoice_id}/resetToOpen")
def reset_to_open(emu: SevdeskEmulator, _req: Request, params: dict[str, str]) -> Response:
    invoice = get_invoice(emu.state, params["invoice_id"])
    if invoice["id"] in emu.state.credit_notes:
        raise ApiError(422, "A credit note exists for this invoice", 170)
    if invoice["status"] == DRAFT or invoice.get("_cancelledBy") or invoice["invoiceType"] == "SR":
        raise ApiError(422, "Only open or paid invoices can be reset to open")
    if invoice["enshrined"]:
        raise ApiError(422, "The invoice is enshrined and can not be reset")  # [SPEC], NOTES.md §10
    invoice |= {"status": OPEN, "paidAmount": 0, "payDate": None}
    touch(invoice, emu.now())
    return ok(public(invoice))


@route("PUT", "/Invoice/{invoice_id}/changeParameter")
def change_parameter(emu: SevdeskEmulator, req: Request, params: dict[str, str]) -> Response:
    invoice = get_invoice(emu.state, params["invoice_id"])
    _refuse_e_invoice_draft(invoice)
    data = req.data()
    key, value = data.get("key"), data.get("value")
    if key not in LAYOUT_KEYS or value in (None, ""):
        raise bad_request(f"key must be one of {sorted(LAYOUT_KEYS)} and value is required")
    value = str(value)
    if key == "template" and value not in {t["id"] for t in emu.state.templates}:
        raise ApiError(422, f"Template {value} does not exist")
    if key == "letterpaper" and value not in {p["id"] for p in emu.state.letterpapers}:
        raise ApiError(422, f"Letterpaper {value} does not exist")
    if key == "language" and not re.fullmatch(r"[a-z]{2}_[A-Z]{2}", value):
        raise bad_request(f"Unknown language {value}")
    invoice[f"_{key}"] = value  # read back with emu.state.invoices[id]["_template"] etc.
    touch(invoice, emu.now())
    layout = {"result": "1", "metadaten": {"pages": 1, "docId": invoice["id"], "thumbs": []}}
    return ok(layout)
