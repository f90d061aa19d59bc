"""Stateful sevDesk API emulator (dev tooling only; never part of a Lambda artifact).

Faithful to ../shared/sevdesk/NOTES.md: the `{"objects": ...}` envelope, string-encoded values,
the invoice status machine and numbering, cancellation invoices, real error codes, real PDFs,
DATEV jobs that progress, the token check, plus fault injection and a request log.
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
