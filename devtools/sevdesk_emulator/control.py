"""Remote control under /__emulator__/ (no auth, not logged, never faulted) and the export downloads."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from devtools.sevdesk_emulator.datev_zip import archive_name, export_archive
from devtools.sevdesk_emulator.faults import Fault
from devtools.sevdesk_emulator.routing import Response
from devtools.sevdesk_emulator.store import Record
from devtools.sevdesk_emulator.wire import ApiError, error_body, parse_moment

if TYPE_CHECKING:
    from devtools.sevdesk_emulator.emulator import SevdeskEmulator
    from devtools.sevdesk_emulator.routing import Request

CONTROL_PREFIX = "/__emulator__/"
SETTINGS = (
    "pdf_mode",
    "rate_limit_per_minute",
    "export_progress_polls",
    "export_zip_size_bytes",
    "export_fault",
    "export_shape",
    "cancelled_original_status",
    "booking_moves_update",
    "omit_e_invoice_flag",
    "request_log_size",
)

CHOICES: dict[str, tuple[object, ...]] = {
    "pdf_mode": ("json", "raw"),
    "export_fault": (None, "fail", "stall", "refuse"),
    "export_shape": ("object", "array"),
}


def handle_control(emu: SevdeskEmulator, request: Request) -> Response:
    action = f"{request.method} {request.path[len(CONTROL_PREFIX) :]}"
    try:
        return _dispatch(emu, request, action)
    except (ApiError, ValueError, TypeError) as exc:
        status = exc.status if isinstance(exc, ApiError) else 400
        return Response(status, error_body(status, str(exc)))


def _dispatch(emu: SevdeskEmulator, request: Request, action: str) -> Response:
    if action == "GET requests":
        return Response(200, [entry.to_dict() for entry in emu.requests.snapshot()])
    if action == "DELETE requests":
        emu.requests.clear()
        return Response(200, {"cleared": True})
    if action == "GET faults":
        return Response(200, [fault.to_dict() for fault in emu.faults])
    if action == "POST faults":
        return Response(201, emu.faults.add(Fault.from_dict(request.data())).to_dict())
    if action == "DELETE faults":
        emu.faults.clear()
        return Response(200, {"cleared": True})
    if action == "POST reset":
        emu.reset()
        return Response(200, {"reset": True})
    if action == "GET state":
        return Response(200, dump_state(emu))
    if action == "PUT settings":
        return Response(200, _apply_settings(emu, request.data()))
    booking = re.fullmatch(r"POST invoices/(\d+)/book", action)
    if booking:
        return _book(emu, booking.group(1), request.data())
    writing_off = re.fullmatch(r"POST invoices/(\d+)/write-off", action)
    if writing_off:
        data = request.data()
        when = parse_moment(data["date"], "date") if data.get("date") else None
        return Response(200, {"objects": emu.write_off(writing_off.group(1), when)})
    if action == "POST seed":
        data = request.data()
        count = data.pop("count", None)
        if not isinstance(count, int):
            raise ValueError("count (an integer) is required")
        if data.get("first_day"):
            data["first_day"] = parse_moment(data["first_day"], "first_day")
        return Response(201, {"objects": emu.seed_invoices(count, **data)})
    if action == "PUT seller":
        return Response(200, {"objects": emu.set_seller(**request.data())})
    download = re.fullmatch(r"GET exports/([0-9a-f-]+)\.zip", action)
    if download:
        return _download(emu, download.group(1))
    return Response(404, error_body(404, f"Unknown emulator control {action}"))


def _apply_settings(emu: SevdeskEmulator, data: dict[str, Any]) -> dict[str, Any]:
    unknown = set(data) - set(SETTINGS)
    if unknown:
        raise ValueError(f"unknown settings: {sorted(unknown)}")
    for key, value in data.items():
        if key in CHOICES and value not in CHOICES[key]:
            raise ValueError(f"{key} must be one of {CHOICES[key]}")
        setattr(emu, key, value)
    return {key: getattr(emu, key) for key in SETTINGS}


def _book(emu: SevdeskEmulator, invoice_id: str, data: dict[str, Any]) -> Response:
    try:
        paid = Decimal(str(data["amount"]))
    except (KeyError, InvalidOperation) as exc:
        raise ValueError("amount is required and must be a decimal") from exc
    when = parse_moment(data["date"], "date") if data.get("date") else None
    account = str(data.get("account") or "bank")
    return Response(200, {"objects": emu.book_payment(invoice_id, paid, when, account)})


def _download(emu: SevdeskEmulator, job_id: str) -> Response:
    with emu.lock:
        job = emu.state.export_jobs.get(job_id)
        if job is None or not job.get("done"):
            return Response(404, error_body(404, "No such export"))
        chunks, length = export_archive(emu, job)
    headers = {
        "Content-Type": "application/zip",
        "Content-Disposition": f'attachment; filename="{archive_name(job)}"',
    }
    return Response(200, headers=headers, stream=chunks, length=length)


def _visible(record: Record) -> Record:
    return {key: value for key, value in record.items() if key not in ("_input", "_xml")}


def dump_state(emu: SevdeskEmulator) -> dict[str, Any]:
    with emu.lock:
        state = emu.state
        return {
            "invoices": {key: _visible(value) for key, value in state.invoices.items()},
            "contacts": dict(state.contacts),
            "emails": list(state.emails),
            "export_jobs": {key: _visible(value) for key, value in state.export_jobs.items()},
            "export_config": dict(state.export_config),
            "vouchers": dict(state.vouchers),
            "credit_notes": dict(state.credit_notes),
            "credit_note_records": dict(state.credit_note_records),
            "check_accounts": dict(state.check_accounts),
            "transactions": dict(state.transactions),
            "transaction_logs": dict(state.transaction_logs),
            "sev_client": dict(state.sev_client),
            "next_invoice_number": state.next_invoice_number,
            "requests_total": emu.requests.total,
        }
