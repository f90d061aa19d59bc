"""sevDesk's invoice templates for the mapping dropdowns, cached for a few minutes."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from sevdesk_common.credentials import require_token
from sevdesk_common.models.config import InvoiceTemplate, TemplateList
from sevdesk_common.repository import get_cached, put_cached
from sevdesk_common.settings import get_settings


def list_templates(token: str | None = None) -> TemplateList:
    token = token or require_token()
    # Keyed by a hash of the token: a different token may be a different sevDesk account.
    cache_name = "templates#" + hashlib.sha256(token.encode()).hexdigest()[:16]
    cached = get_cached(cache_name)
    if cached is not None:
        return TemplateList.model_validate(cached)

    from sevdesk_common.sevdesk import client_for

    templates = client_for(token).list_templates("Invoice")
    result = TemplateList(
        templates=[InvoiceTemplate(id=t.id, name=t.name, is_default=t.is_default) for t in templates],
        fetched_at=datetime.now(UTC),
    )
    put_cached(cache_name, result.model_dump(mode="json"), ttl_seconds=get_settings().template_cache_seconds)
    return result
