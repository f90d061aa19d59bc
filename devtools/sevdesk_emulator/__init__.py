"""Stateful sevDesk API emulator (dev tooling only; never part of a Lambda artifact).

Faithful to ../shared/sevdesk/NOTES.md: the `{"objects": ...}` envelope, string-encoded values,
the invoice status machine and numbering, cancellation invoices, bookings on check accounts with
their transaction logs, credit notes, e-invoices (EN 16931 XML, ZUGFeRD PDFs, the 830 refusal),
DATEV jobs that progress and serve a streamed ZIP, real error codes, the token check, plus fault
injection, switches, bulk seeding and a bounded request log. README.md lists the interface.
"""

from devtools.sevdesk_emulator.emulator import DEFAULT_TOKEN, Outcome, SevdeskEmulator
from devtools.sevdesk_emulator.faults import Fault, FaultList, RecordedRequest
from devtools.sevdesk_emulator.server import EmulatorServer
from devtools.sevdesk_emulator.transport import EmulatorTransport

__all__ = [
    "DEFAULT_TOKEN",
    "EmulatorServer",
    "EmulatorTransport",
    "Fault",
    "FaultList",
    "Outcome",
    "RecordedRequest",
    "SevdeskEmulator",
]
