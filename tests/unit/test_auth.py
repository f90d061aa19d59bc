"""Reading the caller from verified JWT claims."""

from __future__ import annotations

import pytest

from sevdesk_common.auth import caller_from_event, claim_list, require_role
from sevdesk_common.errors import Forbidden, Unauthorized
from sevdesk_common.settings import Settings


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("[admin staff]", ["admin", "staff"]),
        ('["admin","staff"]', ["admin", "staff"]),
        (["admin", "staff"], ["admin", "staff"]),
        ("admin,staff", ["admin", "staff"]),
        ("staff", ["staff"]),
        ("[]", []),
        (None, []),
    ],
)
def test_claim_lists_in_every_form_api_gateway_and_idps_use(value: object, expected: list[str]) -> None:
    assert claim_list(value) == expected


def event(claims: dict[str, object] | None) -> dict[str, object]:
    if claims is None:
        return {"requestContext": {}}
    return {"requestContext": {"authorizer": {"jwt": {"claims": claims}}}}


def test_admin_implies_staff() -> None:
    caller = caller_from_event(event({"sub": "u1", "roles": "[admin]", "user_type": "internal"}), Settings())

    assert caller.is_admin and caller.is_staff
    require_role(caller, "staff")
    require_role(caller, "admin")


def test_claim_names_are_configurable() -> None:
    settings = Settings(
        auth_roles_claim="cognito:groups",
        auth_user_type_claim="custom:kind",
        auth_internal_user_type="employee",
    )
    caller = caller_from_event(
        event({"sub": "u1", "cognito:groups": "[staff]", "custom:kind": "employee"}), settings
    )

    assert caller.internal and caller.is_staff and not caller.is_admin


@pytest.mark.parametrize("claims", [None, {}, {"roles": "[admin]"}])
def test_missing_claims_or_subject_is_unauthorized(claims: dict[str, object] | None) -> None:
    with pytest.raises(Unauthorized):
        caller_from_event(event(claims), Settings())


def test_external_user_with_roles_is_still_forbidden() -> None:
    caller = caller_from_event(event({"sub": "c1", "roles": "[admin]", "user_type": "customer"}), Settings())

    with pytest.raises(Forbidden, match="internal"):
        require_role(caller, "staff")


def test_staff_on_an_admin_route_is_forbidden() -> None:
    caller = caller_from_event(event({"sub": "s1", "roles": "[staff]", "user_type": "internal"}), Settings())

    with pytest.raises(Forbidden, match="admin"):
        require_role(caller, "admin")
