"""A small but valid one-page PDF for an invoice (e-invoices get their XML attached in einvoice.py)."""

from __future__ import annotations

from devtools.sevdesk_emulator.store import Record


def _escape(text: str) -> str:
    latin = text.encode("latin-1", "replace").decode("latin-1")
    return latin.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def invoice_lines(invoice: Record, positions: list[Record]) -> list[str]:
    number = invoice["invoiceNumber"] or "Entwurf"
    lines = [
        f"Rechnung {number}",
        invoice.get("header") or "",
        f"Datum: {invoice['invoiceDate'][:10]}",
        "",
    ]
    lines += [
        f"{pos['quantity']} x {pos['name'] or ''} a {pos['price']} = {pos['sumGross']}" for pos in positions
    ]
    lines += [
        "",
        f"Netto: {invoice['sumNet']} {invoice['currency']}",
        f"USt: {invoice['sumTax']} {invoice['currency']}",
        f"Brutto: {invoice['sumGross']} {invoice['currency']}",
    ]
    return lines


def render_pdf(lines: list[str]) -> bytes:
    text = ["BT", "/F1 11 Tf", "14 TL", "56 780 Td"]
    text += [f"({_escape(line)}) Tj T*" for line in lines]
    text.append("ET")
    stream = "\n".join(text).encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for index, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{index} 0 obj\n".encode() + body + b"\nendobj\n"
    xref_at = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref_at}\n%%EOF\n".encode()
    return bytes(out)
