"""The PDF of a published invoice, fetched from sevDesk with `preventSendBy=true` (a plain
getPdf would mark the invoice as sent). Read-only: only an event records the download."""

from __future__ import annotations

import hashlib
import re

from sevdesk_common import invoice_store
from sevdesk_common.credentials import require_token
from sevdesk_common.errors import UpstreamError
from sevdesk_common.services.invoice_ops import load_or_404, require_published

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def pdf_filename(invoice_number: str) -> str:
    """`Rechnung-RE-1000.pdf`; anything that could break a Content-Disposition header goes."""
    safe = _UNSAFE.sub("_", invoice_number).strip("._") or "Rechnung"
    return f"Rechnung-{safe[:80]}.pdf"


def invoice_pdf(invoice_id: str, actor: str) -> tuple[str, bytes]:
    record = load_or_404(invoice_id)
    external_id = require_published(record, "download the PDF of")
    assert record.external_invoice_number is not None

    from sevdesk_common.sevdesk import client_for

    document = client_for(require_token()).get_pdf(external_id)  # the client's PDF budget class
    content = document.content
    if not content.startswith(b"%PDF"):  # the client checks too; a wrong body must never pass
        raise UpstreamError(f"sevDesk's PDF for invoice {invoice_id} is not a PDF.", code="sevdesk_not_a_pdf")
    filename = pdf_filename(record.external_invoice_number)
    invoice_store.append_event(
        invoice_id,
        "pdf_downloaded",
        actor=actor,
        details={
            "sha256": hashlib.sha256(content).hexdigest(),
            "size": len(content),
            "filename": filename,
            "externalId": external_id,
        },
    )
    return filename, content
