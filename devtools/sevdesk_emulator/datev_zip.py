"""The DATEV export archive: folders, an EXTF "Buchungsstapel" CSV batch (cp1252) and invoice PDFs.

Built with zipstream-ng from stored (uncompressed) entries, so its exact length is known before the
first byte and a 200 MB archive streams in chunks without ever being held in memory.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from zipstream import ZIP_STORED, ZipStream

from devtools.sevdesk_emulator.invoices import DRAFT, positions_of
from devtools.sevdesk_emulator.pdf import invoice_lines, render_pdf
from devtools.sevdesk_emulator.store import Record
from devtools.sevdesk_emulator.wire import BERLIN

if TYPE_CHECKING:
    from devtools.sevdesk_emulator.emulator import SevdeskEmulator

CHUNK = 64 * 1024
# the first 14 of DATEV's Buchungsstapel columns; importers map by heading, the rest may be left off
COLUMNS = (
    "Umsatz (ohne Soll/Haben-Kz)",
    "Soll/Haben-Kennzeichen",
    "WKZ Umsatz",
    "Kurs",
    "Basis-Umsatz",
    "WKZ Basis-Umsatz",
    "Konto",
    "Gegenkonto (ohne BU-Schlüssel)",
    "BU-Schlüssel",
    "Belegdatum",
    "Belegfeld 1",
    "Belegfeld 2",
    "Skonto",
    "Buchungstext",
)
REVENUE_ACCOUNTS = {"19": "8400", "7": "8300", "0": "8200"}  # SKR03 Erlöse by rate
DEBTORS, CREDITORS, EXPENSES = "10000", "70000", "4900"


def _day(unix: int) -> str:
    return datetime.fromtimestamp(unix, BERLIN).strftime("%Y%m%d")


def period_name(job: Record) -> str:
    return f"{_day(job['startDate'])}_{_day(job['endDate'])}"


def archive_name(job: Record) -> str:
    return f"BITTE-ENTPACKEN_Buchungsstapel_und_Belegbilder_{period_name(job)}.zip"


def _in_period(job: Record, moment: str | None) -> bool:
    if moment is None:
        return False
    seconds = datetime.fromisoformat(moment).timestamp()
    return job["startDate"] <= seconds <= job["endDate"]


def exported_invoices(emu: SevdeskEmulator, job: Record) -> list[Record]:
    """Finalized invoices (and SRs) of the period; by pay date with exportByPaydate ([SPEC] flags)."""
    if "E" not in job["scope"]:
        return []
    field = "payDate" if job["exportByPaydate"] else "invoiceDate"
    return [
        invoice
        for invoice in emu.state.invoices.values()
        if invoice["status"] != DRAFT
        and _in_period(job, invoice[field])
        and (job["includeEnshrined"] or not invoice["enshrined"])
    ]


def _exported_vouchers(emu: SevdeskEmulator, job: Record) -> list[Record]:
    if "X" not in job["scope"]:
        return []
    return [
        v for v in emu.state.vouchers.values() if v["status"] != "50" and _in_period(job, v["voucherDate"])
    ]


def _text(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


def _money(value: Decimal) -> str:
    return f"{abs(value):.2f}".replace(".", ",")


def _header(emu: SevdeskEmulator, job: Record) -> str:
    config = emu.state.export_config
    begin = config.get("accountingYearBegin") or job["created"]  # set when the job was made
    year_begin = datetime.fromisoformat(begin).strftime("%Y%m%d")
    created = datetime.fromisoformat(job["created"]).strftime("%Y%m%d%H%M%S000")
    fields = [
        _text("EXTF"), "700", "21", _text("Buchungsstapel"), "13", created, "", _text("SV"), "", "",
        config.get("accountantNumber", ""), config.get("accountantClientNumber", ""), year_begin, "4",
        _day(job["startDate"]), _day(job["endDate"]), _text("sevdesk Export"), "", "1", "0", "0",
        _text("EUR"), "", "", "", "", _text("03"), "", "", "", "",
    ]  # fmt: skip
    return ";".join(fields)


def booking_rows(emu: SevdeskEmulator, job: Record) -> list[str]:
    rows = []
    for invoice in exported_invoices(emu, job):
        gross = Decimal(invoice["sumGross"])
        rates = {pos["taxRate"].split(".")[0] for pos in positions_of(emu.state, invoice["id"])}
        revenue = REVENUE_ACCOUNTS.get(rates.pop(), "8400") if len(rates) == 1 else "8400"
        date = datetime.fromisoformat(invoice["invoiceDate"]).strftime("%d%m")
        text = (invoice["header"] or "Rechnung")[:60]
        side = "H" if gross < 0 else "S"  # a cancellation (SR) reverses the revenue
        rows.append(
            f"{_money(gross)};{_text(side)};{_text(invoice['currency'])};;;;{DEBTORS};{revenue};;{date};"
            f"{_text(invoice['invoiceNumber'] or '')};;;{_text(text)}"
        )
    for voucher in _exported_vouchers(emu, job):
        date = datetime.fromisoformat(voucher["voucherDate"]).strftime("%d%m")
        side = "H" if voucher["creditDebit"] == "C" else "S"
        text = (voucher.get("description") or voucher.get("supplierName") or "Beleg")[:60]
        rows.append(
            f"{_money(Decimal(voucher['sumGross']))};{_text(side)};{_text(voucher['currency'])};;;;{CREDITORS};"
            f"{EXPENSES};;{date};{_text(voucher['id'])};;;{_text(text)}"
        )
    return rows


def batch_csv(emu: SevdeskEmulator, job: Record) -> bytes:
    lines = [_header(emu, job), ";".join(COLUMNS), *booking_rows(emu, job)]
    return ("\r\n".join(lines) + "\r\n").encode("cp1252", "replace")


def _document_xml(invoices: list[Record]) -> bytes:
    entries = "".join(
        f'<document guid="{inv["id"]}">'
        f'<extension xsi:type="File" name="{inv["invoiceNumber"]}.pdf"/></document>'
        for inv in invoices
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<archive xmlns="http://xml.datev.de/bedi/tps/document/v06.0" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" version="6.0">'
        f"<content>{entries}</content></archive>"
    ).encode()


def _padding(seed: str, size: int) -> Iterator[bytes]:
    """Incompressible, reproducible filler, produced a chunk at a time."""
    block = random.Random(seed).randbytes(CHUNK)
    for start in range(0, size, CHUNK):
        yield block[: min(CHUNK, size - start)]


class _LazyPdf:
    """Rendered when the archive reaches it, so 100k PDFs are never held at once."""

    def __init__(self, emu: SevdeskEmulator, invoice: Record) -> None:
        self.lines = invoice_lines(invoice, positions_of(emu.state, invoice["id"]))
        self.size = len(render_pdf(self.lines))

    def __iter__(self) -> Iterator[bytes]:
        yield render_pdf(self.lines)


def _build(emu: SevdeskEmulator, job: Record, padding: int) -> ZipStream:
    archive = ZipStream(compress_type=ZIP_STORED, sized=True)
    root = f"BITTE-ENTPACKEN_Buchungsstapel_und_Belegbilder_{period_name(job)}"
    invoices = exported_invoices(emu, job)
    if job["kind"] == "csv":
        archive.add(batch_csv(emu, job), f"{root}/EXTF_Buchungsstapel_{period_name(job)}.csv")
    else:
        archive.add(_document_xml(invoices), f"{root}/document.xml")
    if job["includeDocumentImages"]:
        folder = f"{root}/DATEV_Rechnungsausgang_{period_name(job)}"
        for invoice in invoices:
            pdf = _LazyPdf(emu, invoice)
            archive.add(pdf, f"{folder}/{invoice['invoiceNumber']}.pdf", size=pdf.size)
    if padding:
        archive.add(_padding(job["id"], padding), f"{root}/Belegbilder_Archiv.bin", size=padding)
    return archive


def export_archive(emu: SevdeskEmulator, job: Record) -> tuple[Iterator[bytes], int]:
    """The archive's chunks and exact length; `export_zip_size_bytes` pads it to about that size."""
    target = emu.export_zip_size_bytes or 0
    archive = _build(emu, job, 0)
    if target > len(archive):
        probe = len(_build(emu, job, target))  # the entry's own headers come on top of its data
        archive = _build(emu, job, max(0, 2 * target - probe))
    return iter(archive), len(archive)
