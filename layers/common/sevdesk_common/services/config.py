"""Read and update the operational settings."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sevdesk_common.credentials import get_token
from sevdesk_common.errors import Conflict, Unprocessable
from sevdesk_common.models.config import (
    E_INVOICE_FIELDS,
    TEMPLATE_FIELDS,
    ConfigUpdate,
    ConfigView,
    SevdeskConfig,
)
from sevdesk_common.models.einvoice import SellerCheck
from sevdesk_common.repository import get_config_item, put_config_item
from sevdesk_common.services.templates import list_templates

if TYPE_CHECKING:
    from sevdesk_common.auth import Caller

_MAX_RACES = 5


def load_config() -> SevdeskConfig:
    return SevdeskConfig.model_validate(get_config_item() or {})


def get_config() -> ConfigView:
    return ConfigView(**load_config().model_dump(), token_configured=get_token() is not None)


def update_config(update: ConfigUpdate, caller: Caller) -> ConfigView:
    current = load_config()
    if update.version != current.version:
        raise Conflict(
            f"The settings were changed by someone else (version {current.version}, "
            f"this update is based on {update.version}); reload and apply your change again.",
            code="version_conflict",
            details={"currentVersion": current.version},
        )
    changes = update.model_dump(exclude={"version"}, exclude_unset=True, by_alias=False)
    token = get_token()
    if token is not None:
        mapped = {
            SevdeskConfig.model_fields[n].alias or n: changes[n] for n in TEMPLATE_FIELDS if changes.get(n)
        }
        for r1_template, sevdesk_template in (changes.get("document_templates") or {}).items():
            mapped[f"documentTemplates.{r1_template}"] = sevdesk_template
        _check_templates_exist(mapped, token)

    if any(n in changes and changes[n] != getattr(current, n) for n in E_INVOICE_FIELDS):
        changes["e_invoice_seller"] = SellerCheck()  # a new configuration: the next e-invoice checks again
    merged = current.model_copy(
        update={**changes, "updated_at": datetime.now(UTC), "updated_by": caller.user_id}
    )
    if not put_config_item(storable_config(merged), expected_version=current.version):
        raise Conflict(
            "The settings were changed by someone else while saving; reload and apply your change again.",
            code="version_conflict",
        )
    return get_config()


def _check_templates_exist(mapped: dict[str, str], token: str) -> None:
    if not mapped:
        return
    known = {template.id for template in list_templates(token=token).templates}
    unknown = [
        {"field": field, "templateId": template_id}
        for field, template_id in mapped.items()
        if template_id not in known
    ]
    if unknown:
        names = ", ".join(f"{u['field']}={u['templateId']}" for u in unknown)
        raise Unprocessable(
            f"Unknown sevDesk template id(s): {names}; pick one from GET /api/sevdesk/templates.",
            code="unknown_template",
            details=unknown,
        )


def modify_config(
    change: Callable[[SevdeskConfig], SevdeskConfig], *, bump_version: bool = True
) -> SevdeskConfig:
    """Apply `change` to the stored config with a conditional write, retrying lost races
    (for system-driven changes; user edits use the version they read instead). Without
    `bump_version` the version stays (bookkeeping no admin edits, such as lastSyncAt): an admin
    who loaded the settings before can still save them."""
    for _ in range(_MAX_RACES):
        current = load_config()
        updated = change(current)
        if put_config_item(storable_config(updated), expected_version=current.version, bump=bump_version):
            bumped = bump_version or current.version == 0
            return updated.model_copy(update={"version": current.version + 1 if bumped else current.version})
    raise Conflict("The settings are being changed concurrently; try again.", code="version_conflict")


def storable_config(config: SevdeskConfig) -> dict[str, Any]:
    """The config as a DynamoDB item: ISO strings for datetimes, no `version` (the write sets it)."""
    return {k: v for k, v in config.model_dump(mode="json", exclude={"version"}).items() if v is not None}
