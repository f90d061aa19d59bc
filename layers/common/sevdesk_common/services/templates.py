"""sevDesk's invoice templates: the list for the mapping dropdowns (cached for a few minutes),
and which template an invoice and its cancellation get."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sevdesk_common.clients import client_for
from sevdesk_common.credentials import require_token
from sevdesk_common.models.config import InvoiceTemplate, SevdeskConfig, TemplateList
from sevdesk_common.repository import get_cached, put_cached
from sevdesk_common.settings import get_settings

if TYPE_CHECKING:
    from sevdesk_common.models.invoice import DealType, InvoiceHandover


def list_templates(token: str | None = None) -> TemplateList:
    token = token or require_token()
    # Keyed by a hash of the token: a different token may be a different sevDesk account.
    cache_name = "templates#" + hashlib.sha256(token.encode()).hexdigest()[:16]
    cached = get_cached(cache_name)
    if cached is not None:
        return TemplateList.model_validate(cached)
    templates = client_for(token).list_templates("Invoice")
    result = TemplateList(
        templates=[InvoiceTemplate(id=t.id, name=t.name, is_default=t.is_default) for t in templates],
        fetched_at=datetime.now(UTC),
    )
    put_cached(cache_name, result.model_dump(mode="json"), ttl_seconds=get_settings().template_cache_seconds)
    return result


def invoice_template(config: SevdeskConfig, handover: InvoiceHandover) -> str | None:
    """The document template mapping first, then the deal type's; None: sevDesk's default."""
    if handover.document_template_id and handover.document_template_id in config.document_templates:
        return config.document_templates[handover.document_template_id]
    return {"EB": config.template_eb_ar, "KOP": config.template_kop_ar}.get(handover.deal_type)


def cancellation_template(config: SevdeskConfig, deal_type: DealType) -> str | None:
    return config.template_eb_sr if deal_type == "EB" else config.template_kop_sr
