"""GET/PUT /api/sevdesk/config through the real handlers, with moto and the sevDesk emulator."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import SEVDESK_TOKEN
from tests.support.invoke import ADMIN, EXTERNAL, STAFF, invoke

pytestmark = pytest.mark.usefixtures("aws")


def put_config(**body: Any) -> Any:
    return invoke("config_put", claims=ADMIN, body=body)


def test_defaults_and_no_token() -> None:
    result = invoke("config_get", claims=ADMIN)

    assert result.status == 200
    config = result.body
    assert config["tokenConfigured"] is False
    assert config["paymentSyncIntervalMinutes"] == 10
    assert config["datevChartOfAccounts"] == "SKR03"
    assert config["autoTransferInvoices"] is False
    assert config["isConnected"] is False
    assert config["version"] == 0
    for field in (
        "accountName",
        "accountId",
        "templateEbAr",
        "templateEbSr",
        "templateKopAr",
        "templateKopSr",
        "connectedBy",
        "lastSyncAt",
        "updatedAt",
        "updatedBy",
    ):
        assert field in config


def test_token_configured_is_reported_but_never_the_token(token_configured: str) -> None:
    result = invoke("config_get", claims=ADMIN)

    assert result.body["tokenConfigured"] is True
    assert SEVDESK_TOKEN not in result.raw["body"]


def test_update_is_stored_and_versioned() -> None:
    result = put_config(
        version=0,
        paymentSyncIntervalMinutes=15,
        datevChartOfAccounts="SKR04",
        autoTransferInvoices=True,
        templateEbAr="57986aee6bd2d53306068da1",
    )

    assert result.status == 200, result.body
    assert result.body["version"] == 1
    assert result.body["updatedBy"] == ADMIN["sub"]
    stored = invoke("config_get", claims=ADMIN).body
    assert stored["paymentSyncIntervalMinutes"] == 15
    assert stored["datevChartOfAccounts"] == "SKR04"
    assert stored["autoTransferInvoices"] is True
    assert stored["templateEbAr"] == "57986aee6bd2d53306068da1"


def test_omitted_fields_keep_their_value_and_null_clears_a_mapping() -> None:
    put_config(version=0, paymentSyncIntervalMinutes=30, templateKopSr="abc")

    result = put_config(version=1, templateKopSr=None)

    assert result.status == 200
    assert result.body["paymentSyncIntervalMinutes"] == 30
    assert result.body["templateKopSr"] is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"version": 0, "paymentSyncIntervalMinutes": 0}, "paymentSyncIntervalMinutes"),
        ({"version": 0, "paymentSyncIntervalMinutes": 1441}, "paymentSyncIntervalMinutes"),
        ({"version": 0, "paymentSyncIntervalMinutes": "10"}, "paymentSyncIntervalMinutes"),
        ({"version": 0, "datevChartOfAccounts": "SKR05"}, "datevChartOfAccounts"),
        ({"version": 0, "autoTransferInvoices": "yes"}, "autoTransferInvoices"),
        ({"version": 0, "colour": "blue"}, "colour"),
        ({"version": 0, "isConnected": True}, "isConnected"),
        ({"version": 0, "templateEbAr": ""}, "templateEbAr"),
        ({"paymentSyncIntervalMinutes": 5}, "version"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_changes_nothing(body: dict[str, Any], field: str) -> None:
    result = invoke("config_put", claims=ADMIN, body=body)

    assert result.status == 400
    error = result.body["error"]
    assert error["code"] == "validation_error"
    assert field in error["message"]
    assert any(detail["field"] == field for detail in error["details"])
    assert invoke("config_get", claims=ADMIN).body["version"] == 0


def test_body_that_is_not_json_is_a_400() -> None:
    result = invoke("config_put", claims=ADMIN, raw_body="{not json")

    assert result.status == 400
    assert result.body["error"]["code"] == "validation_error"


def test_stale_write_gets_409_and_loses_nothing() -> None:
    assert put_config(version=0, paymentSyncIntervalMinutes=20).status == 200

    stale = put_config(version=0, datevChartOfAccounts="SKR04")

    assert stale.status == 409
    assert stale.body["error"]["code"] == "version_conflict"
    assert stale.body["error"]["details"] == {"currentVersion": 1}
    stored = invoke("config_get", claims=ADMIN).body
    assert stored["paymentSyncIntervalMinutes"] == 20
    assert stored["datevChartOfAccounts"] == "SKR03"


def test_template_ids_are_checked_against_sevdesk_when_a_token_is_configured(
    emulator: Any, token_configured: str
) -> None:
    known = invoke("templates_list", claims=ADMIN).body["templates"][0]["id"]

    accepted = put_config(version=0, templateEbAr=known)
    refused = put_config(version=1, templateEbSr="ffffffffffffffffffffffff")

    assert accepted.status == 200
    assert refused.status == 422
    assert refused.body["error"]["code"] == "unknown_template"
    assert "templateEbSr" in refused.body["error"]["message"]
    assert "ffffffffffffffffffffffff" in refused.body["error"]["message"]
    assert invoke("config_get", claims=ADMIN).body["templateEbSr"] is None


def test_template_ids_are_not_checked_without_a_token() -> None:
    assert put_config(version=0, templateEbAr="anything-goes").status == 200


@pytest.mark.parametrize("function", ["config_get", "config_put", "connection_test", "templates_list"])
@pytest.mark.parametrize(
    ("claims", "status", "code"),
    [({}, 401, "unauthorized"), (STAFF, 403, "forbidden"), (EXTERNAL, 403, "forbidden")],
)
def test_admin_routes_refuse_anonymous_staff_and_external_users(
    function: str, claims: dict[str, str], status: int, code: str
) -> None:
    result = invoke(function, claims=claims, body={"version": 0})

    assert result.status == status
    assert result.body["error"]["code"] == code
    assert invoke("config_get", claims=ADMIN).body["version"] == 0


def test_roles_claim_as_a_real_list_is_understood() -> None:
    claims = {**ADMIN, "roles": ["admin"]}

    assert invoke("config_get", claims=claims).status == 200


def test_over_20_requests_a_minute_get_429_with_retry_after() -> None:
    statuses = [invoke("config_get", claims=ADMIN).status for _ in range(20)]
    throttled = invoke("config_get", claims=ADMIN)
    other_user = invoke("config_get", claims={**ADMIN, "sub": "admin-2"})

    assert statuses == [200] * 20
    assert throttled.status == 429
    assert throttled.body["error"]["code"] == "rate_limited"
    assert 1 <= int(throttled.headers["retry-after"]) <= 60
    assert other_user.status == 200


def test_the_limit_is_per_user_across_routes() -> None:
    for _ in range(10):
        invoke("config_get", claims=ADMIN)
    for _ in range(10):
        invoke("config_put", claims=ADMIN, body={"colour": "red"})

    assert invoke("templates_list", claims=ADMIN).status == 429
