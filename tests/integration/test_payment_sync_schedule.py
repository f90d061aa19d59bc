"""The EventBridge tick: skipped without a token (one log line, one metric) while the operator
routes keep working, and paymentSyncIntervalMinutes honoured through lastSyncAt."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.integration.payment_sync_support import backdate_last_sync, config, published, refresh, scheduled
from tests.support.invoke import ADMIN, invoke

pytestmark = pytest.mark.usefixtures("emulator")


def log_lines(output: Any) -> list[dict[str, Any]]:
    return [json.loads(line) for line in output.getvalue().splitlines() if line.startswith("{")]


def emitted_metrics(captured: str) -> dict[str, list[float]]:
    """The metric values the handler flushed to stdout (CloudWatch embedded metric format)."""
    found: dict[str, list[float]] = {}
    for line in captured.splitlines():
        if '"_aws"' not in line:
            continue
        blob = json.loads(line)
        for directive in blob["_aws"]["CloudWatchMetrics"]:
            for metric in directive["Metrics"]:
                value = blob[metric["Name"]]
                found.setdefault(metric["Name"], []).extend(value if isinstance(value, list) else [value])
    return found


@pytest.mark.usefixtures("aws")
def test_without_a_token_the_tick_is_skipped_and_operator_routes_keep_working(
    log_output: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    result = scheduled()

    assert result == {"status": "skipped", "reason": "no_token", "lastSyncAt": None}
    skipped = [line for line in log_lines(log_output) if line["message"].startswith("payment sync skipped")]
    assert [line["message"] for line in skipped] == ["payment sync skipped: no sevDesk token is configured"]
    assert emitted_metrics(capsys.readouterr().out)["PaymentSyncSkippedNoToken"] == [1.0]
    settings = invoke("config_get", claims=ADMIN)
    assert settings.status == 200 and settings.body["tokenConfigured"] is False
    manual = refresh()
    assert manual.status == 409 and manual.body["error"]["code"] == "sevdesk_token_not_configured"


@pytest.mark.usefixtures("token_configured")
def test_the_interval_is_honoured_and_last_sync_at_set_after_each_run(
    emulator: Any, log_output: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    published("R1-TICK")
    before = datetime.now(UTC)

    first = scheduled()

    assert first["status"] == "completed"
    last = config().last_sync_at
    assert last is not None and last >= before - timedelta(seconds=1)
    emulator.requests.clear()

    early = scheduled()  # the next tick, inside the ten minutes

    assert early == {
        "status": "skipped",
        "reason": "interval",
        "lastSyncAt": last.isoformat().replace("+00:00", "Z"),
    }
    assert emulator.requests == []  # not a single sevDesk request
    assert any(
        line["message"] == "payment sync skipped: inside the interval" for line in log_lines(log_output)
    )

    _set_interval(30)
    backdate_last_sync(20)
    assert scheduled()["status"] == "skipped"
    backdate_last_sync(29.5)  # EventBridge may fire a little early: a tick within a minute runs
    ran = scheduled()
    assert ran["status"] == "completed" and config().last_sync_at > last  # type: ignore[operator]
    metrics = emitted_metrics(capsys.readouterr().out)
    assert {
        "PaymentSyncInvoicesChecked",
        "PaymentSyncSevdeskRequests",
        "PaymentSyncDuration",
        "PaymentSyncLagSeconds",
    } <= set(metrics)
    assert metrics["PaymentSyncSkippedInterval"] == [1.0, 1.0]


def _set_interval(minutes: int) -> None:
    current = invoke("config_get", claims=ADMIN).body
    updated = invoke(
        "config_put",
        claims=ADMIN,
        body={"version": current["version"], "paymentSyncIntervalMinutes": minutes},
    )
    assert updated.status == 200, updated.body


@pytest.mark.usefixtures("token_configured")
def test_an_admin_editing_the_settings_can_save_them_after_sync_runs() -> None:
    """lastSyncAt is bookkeeping: the runs every ten minutes leave the settings' version alone,
    so an admin who loaded the settings before them saves without a version conflict."""
    published("R1-EDITING")
    _set_interval(10)  # the settings exist, as they do once an admin has saved them
    loaded = invoke("config_get", claims=ADMIN).body

    assert scheduled()["status"] == "completed"
    backdate_last_sync(11)
    assert scheduled()["status"] == "completed"
    synced_at = config().last_sync_at

    saved = invoke(
        "config_put", claims=ADMIN, body={"version": loaded["version"], "paymentSyncIntervalMinutes": 15}
    )

    assert saved.status == 200, saved.body
    assert saved.body["paymentSyncIntervalMinutes"] == 15
    assert saved.body["version"] == loaded["version"] + 1
    assert config().last_sync_at == synced_at  # the admin's save keeps what the sync stored
