"""POST /api/sevdesk/test-connection and GET /api/sevdesk/templates against the emulator."""

from __future__ import annotations

import json
import time
from typing import Any

import boto3
import pytest

from tests.conftest import SECRET_ID, SEVDESK_TOKEN, clear_process_caches
from tests.support.invoke import ADMIN, invoke

pytestmark = pytest.mark.usefixtures("aws", "emulator")


def paths(emulator: Any) -> list[str]:
    return [request.path for request in emulator.requests]


def test_without_a_token_it_says_so_and_other_routes_keep_working() -> None:
    result = invoke("connection_test", claims=ADMIN)

    assert result.status == 409
    assert result.body["error"]["code"] == "sevdesk_token_not_configured"
    assert "token" in result.body["error"]["message"]
    assert invoke("config_get", claims=ADMIN).status == 200
    assert invoke("templates_list", claims=ADMIN).status == 409


def test_connection_stores_the_account_and_who_connected(emulator: Any, token_configured: str) -> None:
    result = invoke("connection_test", claims=ADMIN)

    assert result.status == 200, result.body
    body = result.body
    assert body["isConnected"] is True
    assert body["bookkeepingSystemVersion"] == "2.0"
    assert body["accountId"] == emulator.state.sev_client["id"]
    assert body["accountName"]
    assert body["connectedBy"] == ADMIN["sub"]
    config = invoke("config_get", claims=ADMIN).body
    assert config["isConnected"] is True
    assert config["accountId"] == body["accountId"]
    assert config["accountName"] == body["accountName"]
    assert config["connectedBy"] == ADMIN["sub"]
    assert {"/Tools/bookkeepingSystemVersion", "/SevUser"} <= set(paths(emulator))
    assert SEVDESK_TOKEN not in result.raw["body"]


def test_a_bad_token_is_not_connected_with_a_clear_error(emulator: Any, log_output: Any) -> None:
    wrong = "fedcba9876543210fedcba9876543210"
    boto3.client("secretsmanager").put_secret_value(
        SecretId=SECRET_ID, SecretString=json.dumps({"apiToken": wrong})
    )
    clear_process_caches()

    result = invoke("connection_test", claims=ADMIN)

    assert result.status == 200
    assert result.body["isConnected"] is False
    assert result.body["error"]["code"] == "sevdesk_unauthorized"
    assert "token" in result.body["error"]["message"].lower()
    assert invoke("config_get", claims=ADMIN).body["isConnected"] is False
    assert wrong not in log_output.getvalue() + result.raw["body"]


def test_a_failing_sevdesk_is_not_connected_and_not_a_500(emulator: Any, token_configured: str) -> None:
    from devtools.sevdesk_emulator import Fault

    emulator.faults.add(
        Fault(method="GET", path="/Tools/bookkeepingSystemVersion", kind="status", status=503, times=None)
    )

    result = invoke("connection_test", claims=ADMIN)

    assert result.status == 200
    assert result.body["isConnected"] is False
    assert result.body["error"]["code"].startswith("sevdesk_")


def test_reconnecting_after_a_failure_clears_the_error(emulator: Any, token_configured: str) -> None:
    from devtools.sevdesk_emulator import Fault

    emulator.faults.add(Fault(method="GET", path="/SevUser", kind="status", status=500, times=None))
    assert invoke("connection_test", claims=ADMIN).body["isConnected"] is False
    emulator.faults.clear()

    assert invoke("connection_test", claims=ADMIN).body["isConnected"] is True
    assert invoke("config_get", claims=ADMIN).body["lastConnectionError"] is None


def test_templates_are_listed_with_default_flag_and_cached(emulator: Any, token_configured: str) -> None:
    first = invoke("templates_list", claims=ADMIN)
    second = invoke("templates_list", claims=ADMIN)

    assert first.status == 200
    templates = first.body["templates"]
    assert templates and {"id", "name", "isDefault"} <= set(templates[0])
    assert sum(t["isDefault"] for t in templates) == 1
    assert second.body == first.body
    assert paths(emulator).count("/DocServer/getTemplatesWithThumb") == 1


def test_template_cache_expires(
    emulator: Any, token_configured: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    invoke("templates_list", claims=ADMIN)
    later = time.time() + 301
    monkeypatch.setattr("sevdesk_common.repository.time.time", lambda: later)

    invoke("templates_list", claims=ADMIN)

    assert paths(emulator).count("/DocServer/getTemplatesWithThumb") == 2


def test_a_rotated_token_is_picked_up_at_once(emulator: Any, token_configured: str) -> None:
    """The secret gets a new token while the functions still hold the old one (cached for
    minutes): sevDesk's 401 makes them read the secret again instead of reporting a bad token."""
    assert invoke("connection_test", claims=ADMIN).body["isConnected"] is True
    rotated = "fedcba9876543210fedcba9876543210"
    boto3.client("secretsmanager").put_secret_value(
        SecretId=SECRET_ID, SecretString=json.dumps({"apiToken": rotated})
    )
    emulator.token = rotated  # sevDesk now accepts only the new one
    emulator.requests.clear()

    again = invoke("connection_test", claims=ADMIN)

    assert again.status == 200 and again.body["isConnected"] is True, again.body
    # The first request was refused with the old token and repeated once with the new one.
    assert paths(emulator) == ["/Tools/bookkeepingSystemVersion"] * 2 + ["/SevUser"]
