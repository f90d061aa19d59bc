"""Who is calling. API Gateway's JWT authorizer has already checked signature, issuer, audience
and expiry; here we read the verified claims and decide internal / staff / admin."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from sevdesk_common.errors import Forbidden, Unauthorized

if TYPE_CHECKING:
    from sevdesk_common.settings import Settings

Role = Literal["admin", "staff"]


@dataclass(frozen=True)
class Caller:
    user_id: str
    roles: frozenset[str]
    internal: bool
    is_admin: bool
    is_staff: bool


def claim_list(value: Any) -> list[str]:
    """A multi-valued claim as a list. API Gateway HTTP APIs flatten JSON arrays to "[a b]";
    direct invokes and other authorizers pass real lists, JSON strings or comma lists."""
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return [str(item) for item in value]
    text = str(value).strip()
    if text.startswith("[") and text.endswith("]"):
        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = text[1:-1].replace(",", " ").split()
        return [str(item) for item in parsed] if isinstance(parsed, list) else [str(parsed)]
    return [part for part in text.replace(",", " ").split() if part]


def caller_from_event(event: dict[str, Any], settings: Settings) -> Caller:
    claims = ((event.get("requestContext") or {}).get("authorizer") or {}).get("jwt", {}).get("claims")
    if not claims or not claims.get("sub"):
        raise Unauthorized("A valid bearer token is required.")
    roles = frozenset(claim_list(claims.get(settings.auth_roles_claim)))
    internal = str(claims.get(settings.auth_user_type_claim, "")) == settings.auth_internal_user_type
    is_admin = internal and settings.auth_admin_role in roles
    return Caller(
        user_id=str(claims["sub"]),
        roles=roles,
        internal=internal,
        is_admin=is_admin,
        is_staff=internal and (is_admin or settings.auth_staff_role in roles),
    )


def require_role(caller: Caller, role: Role) -> None:
    if not caller.internal:
        raise Forbidden("Only internal users may use the sevDesk integration.")
    if role == "admin" and not caller.is_admin:
        raise Forbidden("This operation needs the admin role.")
    if role == "staff" and not caller.is_staff:
        raise Forbidden("This operation needs the staff role.")
