"""The PDF of a published invoice, fetched from sevDesk with `preventSendBy=true` (a plain
getPdf would mark the invoice as sent). Read-only: only an event records the download."""

from __future__ import annotations

import hashlib
import re

from sevdesk_common import invoice_store
from sevdesk_common.clients import sevdesk_client
from sevdesk_common.errors import UpstreamError
from sevdesk_common.invoice_store import Event
from sevdesk_common.services.lease import load_or_404, require_published

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def pdf_filename(invoice_number: str) -> str:
    """`Rechnung-RE-1000.pdf`; anything that could break a Content-Disposition header goes."""
    safe = _UNSAFE.sub("_", invoice_number).strip("._") or "Rechnung"
    return f"Rechnung-{safe[:80]}.pdf"


def invoice_pdf(invoice_id: str, actor: str) -> tuple[str, bytes]:
    record = load_or_404(invoice_id)
    external_id = require_published(record, "download the PDF of")
    assert record.external_invoice_number is not None
    content = sevdesk_client().get_pdf(external_id).content  # the client's PDF budget class
    if not content.startswith(b"%PDF"):  # the client checks too; a wrong body must never pass
        raise UpstreamError(f"sevDesk's PDF for invoice {invoice_id} is not a PDF.", code="sevdesk_not_a_pdf")
    filename = pdf_filename(record.external_invoice_number)
    details = {
        "sha256": hashlib.sha256(content).hexdigest(),
        "size": len(content),
        "filename": filename,
        "externalId": external_id,
    }
    invoice_store.append_event(invoice_id, Event("pdf_downloaded", actor, details))
    return filename, content
