"""SevdeskEmulator: the state, the request pipeline (log, limiter, faults, auth) and test helpers."""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

# The api_* modules register their routes on import.
from devtools.sevdesk_emulator import (  # noqa: F401
    api_basics,
    api_contacts,
    api_credit_notes,
    api_datev,
    api_invoice_actions,
    api_invoices,
    api_legacy,
    api_payments,
    api_vouchers,
)
from devtools.sevdesk_emulator.control import CONTROL_PREFIX, handle_control
from devtools.sevdesk_emulator.credit_notes import create_from_invoice, finalize_credit_note
from devtools.sevdesk_emulator.faults import Fault, FaultList, RecordedRequest
from devtools.sevdesk_emulator.payments import book_payment, pay_document, write_off
from devtools.sevdesk_emulator.request_log import DEFAULT_REQUEST_LOG_SIZE, RequestLog
from devtools.sevdesk_emulator.routing import Request, Response, find_route
from devtools.sevdesk_emulator.seeding import seed_invoices, seed_vouchers
from devtools.sevdesk_emulator.store import Record, Store
from devtools.sevdesk_emulator.wire import BERLIN, ApiError, error_body

if TYPE_CHECKING:
    from devtools.sevdesk_emulator.server import EmulatorServer
    from devtools.sevdesk_emulator.transport import EmulatorTransport

API_PREFIX = "/api/v1"
DEFAULT_TOKEN = "0123456789abcdef0123456789abcdef"
STATUS_TEXT = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable"}


@dataclass
class Outcome:
    """What the transport should do: answer, or drop the answer like a timeout / reset connection."""

    response: Response
    drop: Literal["timeout", "lost"] | None = None
    delay: float = 0.0  # for "timeout" over HTTP: how long to hold the connection first


class SevdeskEmulator:
    def __init__(self, token: str = DEFAULT_TOKEN, clock: Callable[[], datetime] | None = None) -> None:
        self.token = token
        self.base_url = "http://sevdesk.emulator" + API_PREFIX
        self.clock: Callable[[], datetime] = clock or (lambda: datetime.now(BERLIN))
        self.faults = FaultList()
        self.requests = RequestLog(DEFAULT_REQUEST_LOG_SIZE)
        self.state = Store()
        self.lock = threading.RLock()
        # switches; reset() keeps them (README "Switches")
        self.pdf_mode: Literal["json", "raw"] = "json"
        self.rate_limit_per_minute: int | None = None
        self.export_progress_polls = 3
        self.export_zip_size_bytes: int | None = None
        self.export_fault: Literal["fail", "stall", "refuse"] | None = None
        self.export_shape: Literal["object", "array"] = "object"
        self.cancelled_original_status = "1000"  # measured [RS2] (NOTES.md §13); still a switch
        self.booking_moves_update = True  # UNCONFIRMED (NOTES.md §13), hence a switch
        self.omit_e_invoice_flag = False  # some read-backs lack propertyIsEInvoice (§13)
        self._hits: deque[float] = deque()

    @property
    def request_log_size(self) -> int:
        return self.requests.maxlen

    @request_log_size.setter
    def request_log_size(self, size: int) -> None:
        self.requests.maxlen = size

    # -- public helpers -------------------------------------------------------------------------

    def now(self) -> datetime:
        return self.clock().astimezone(BERLIN)

    def transport(self) -> EmulatorTransport:
        from devtools.sevdesk_emulator.transport import EmulatorTransport

        return EmulatorTransport(self)

    def serve(self, host: str = "127.0.0.1", port: int = 0) -> EmulatorServer:
        from devtools.sevdesk_emulator.server import EmulatorServer

        return EmulatorServer(self, host, port)

    def reset(self) -> None:
        """Back to a freshly seeded account: state, faults, request log and limiter window."""
        with self.lock:
            self.state = Store()
            self.faults.clear()
            self.requests.clear()
            self._hits.clear()

    def book_payment(
        self,
        invoice_id: int | str,
        amount: Decimal | str | float,
        date: datetime | None = None,
        account: str = "bank",
    ) -> Record:
        """A payment as PUT /Invoice/{id}/bookAmount books it; returns the InvoiceLog.

        `account`: "bank" (online: an imported transaction is created first), "cash" (register),
        "writeoff" (the offline "Ausgebuchte Rechnungen") or a check account id.
        """
        with self.lock:
            return book_payment(self, str(invoice_id), Decimal(str(amount)), date or self.now(), account)

    def write_off(self, invoice_id: int | str, date: datetime | None = None) -> Record:
        """Book the unpaid rest on the offline write-off account; returns the InvoiceLog."""
        with self.lock:
            return write_off(self, str(invoice_id), date or self.now())

    def add_credit_note(self, invoice_id: int | str, *, finalize: bool = False) -> str:
        """A credit note made from the invoice (blocks cancel and resetToOpen, code 170); its id.
        `finalize`: numbered and open (200), like PUT /CreditNote/{id}/sendBy with VPDF."""
        with self.lock:
            note = create_from_invoice(self, str(invoice_id))
            if finalize:
                finalize_credit_note(self, note, "VPDF")
            return str(note["id"])

    def pay_voucher(
        self,
        voucher_id: int | str,
        amount: Decimal | str,
        date: datetime | None = None,
        account: str = "bank",
    ) -> Record:
        """A voucher paid (money out), booked like PUT /Voucher/{id}/bookAmount; the VoucherLog."""
        with self.lock:
            return pay_document(
                self, "Voucher", str(voucher_id), Decimal(str(amount)), date or self.now(), account
            )

    def refund_credit_note(
        self, note_id: int | str, amount: Decimal | str, date: datetime | None = None, account: str = "bank"
    ) -> Record:
        """A credit note refunded (money out), like PUT /CreditNote/{id}/bookAmount; the CreditNoteLog."""
        with self.lock:
            return pay_document(
                self, "CreditNote", str(note_id), Decimal(str(amount)), date or self.now(), account
            )

    def seed_invoices(self, count: int, **options: Any) -> list[str]:
        """`count` finalized invoices written straight into the store (benchmarks); see seeding.py."""
        with self.lock:
            return seed_invoices(self, count, **options)

    def seed_vouchers(self, count: int, **options: Any) -> list[str]:
        """`count` expense vouchers at 19/7/0 %, some paid (benchmarks); see seeding.py."""
        with self.lock:
            return seed_vouchers(self, count, **options)

    def set_seller(self, **fields: str | None) -> Record:
        """Change the seller's master data (sev_client); None removes a field (e-invoice refusals)."""
        with self.lock:
            for key, value in fields.items():
                if value is None:
                    self.state.sev_client.pop(key, None)
                else:
                    self.state.sev_client[key] = value
            return dict(self.state.sev_client)

    # -- the request pipeline ---------------------------------------------------------------------

    def handle(self, request: Request) -> Outcome:
        if request.path.startswith(CONTROL_PREFIX):
            return Outcome(handle_control(self, request))
        if not request.path.startswith(API_PREFIX + "/"):
            return Outcome(_error(404, "Not found"))
        request.path = request.path[len(API_PREFIX) :]
        self._record(request)
        retry_after = self._rate_limited()
        if retry_after is not None:
            return Outcome(_too_many(retry_after))
        fault = self.faults.take(request.method, request.path, request.query)
        if fault is None:
            return Outcome(self._execute(request))
        return self._apply_fault(fault, request)

    def _apply_fault(self, fault: Fault, request: Request) -> Outcome:
        if fault.kind == "rate_limit":
            return Outcome(_too_many(fault.retry_after))
        if fault.kind == "latency":
            time.sleep(fault.delay)
            return Outcome(self._execute(request))
        if fault.kind == "lost_response":
            return Outcome(self._execute(request), drop="lost")
        if fault.kind == "timeout":
            answer = self._execute(request) if fault.apply else _error(504, "Gateway Timeout")
            return Outcome(answer, drop="timeout", delay=fault.timeout_delay)
        if fault.apply:
            self._execute(request)
        return Outcome(_error(fault.status, STATUS_TEXT.get(fault.status, "Server Error")))

    def _execute(self, request: Request) -> Response:
        if request.headers.get("authorization") != self.token:
            return _error(401, "Authentication required")
        found = find_route(request.method, request.path)
        if found is None:
            return _error(404, f"Route {request.method} {request.path} not found")
        handler, params = found
        try:
            with self.lock:
                return handler(self, request, params)
        except ApiError as exc:
            return Response(exc.status, error_body(exc.status, exc.message, exc.code, exc.data))

    def _record(self, request: Request) -> None:
        try:
            body: Any = request.json()
        except ApiError:
            body = request.body.decode("utf-8", "replace")
        headers = dict(request.headers)
        if "authorization" in headers:
            headers["authorization"] = "***"
        with self.lock:
            self.requests.append(
                RecordedRequest(request.method, request.path, dict(request.query), body, headers)
            )

    def _rate_limited(self) -> int | None:
        """Sliding one-minute window; returns Retry-After seconds when the request is refused."""
        limit = self.rate_limit_per_minute
        if not limit:
            return None
        now = time.monotonic()
        with self.lock:
            while self._hits and now - self._hits[0] >= 60:
                self._hits.popleft()
            if len(self._hits) >= limit:
                return max(1, math.ceil(60 - (now - self._hits[0])))
            self._hits.append(now)
        return None


def _error(status: int, message: str) -> Response:
    return Response(status, error_body(status, message))


def _too_many(retry_after: int) -> Response:
    response = _error(429, "Too Many Requests")
    response.headers["Retry-After"] = str(retry_after)
    return response
