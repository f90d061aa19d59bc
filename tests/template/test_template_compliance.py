"""What template.yaml promises for GoBD and for operations, checked on the template itself.

GoBD: no function may update or delete an invoice or its event log (UpdateItem only on the
token buckets and DATEV export jobs, DeleteItem and BatchWriteItem nowhere), and the table
itself denies it to anyone.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from samtranslator.yaml_helper import yaml_parse

REPO_ROOT = Path(__file__).resolve().parents[2]
TEMPLATE: dict[str, Any] = yaml_parse((REPO_ROOT / "template.yaml").read_text())
RESOURCES: dict[str, dict[str, Any]] = TEMPLATE["Resources"]
FUNCTIONS = {lid: r for lid, r in RESOURCES.items() if r["Type"] == "AWS::Serverless::Function"}
FORBIDDEN_ON_INVOICES = {"dynamodb:DeleteItem", "dynamodb:BatchWriteItem", "dynamodb:PartiQLDelete"}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def granted_statements(logical_id: str) -> list[dict[str, Any]]:
    """Every Allow statement the function gets: inline, or from a managed policy of the template."""
    found = []
    for entry in as_list(FUNCTIONS[logical_id]["Properties"].get("Policies", [])):
        if isinstance(entry, dict) and set(entry) == {"Ref"}:
            entry = RESOURCES[entry["Ref"]]["Properties"]["PolicyDocument"]
        found += [s for s in as_list(entry.get("Statement", [])) if s.get("Effect") == "Allow"]
    return found


def actions(statement: dict[str, Any]) -> set[str]:
    return {a.lower() for a in as_list(statement.get("Action", []))}


@pytest.mark.parametrize("logical_id", sorted(FUNCTIONS))
def test_no_function_may_delete_or_batch_write_items(logical_id: str) -> None:
    for statement in granted_statements(logical_id):
        assert not actions(statement) & {a.lower() for a in FORBIDDEN_ON_INVOICES}, (logical_id, statement)
        assert "dynamodb:*" not in actions(statement)


@pytest.mark.parametrize("logical_id", sorted(FUNCTIONS))
def test_update_item_only_on_counters_never_on_invoices(logical_id: str) -> None:
    """UpdateItem is granted only under a leading-key condition naming the token buckets or the
    DATEV export jobs; invoices and their event log are never among them."""
    for statement in granted_statements(logical_id):
        if "dynamodb:updateitem" in actions(statement):
            keys = statement["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"]
            assert set(keys) <= {"BUCKET#*", "DATEVEXPORT#*"}, (logical_id, keys)


def test_the_table_denies_updating_or_deleting_invoices_and_events_to_anyone() -> None:
    (table,) = [r for r in RESOURCES.values() if r["Type"] == "AWS::DynamoDB::Table"]
    statements = table["Properties"]["ResourcePolicy"]["PolicyDocument"]["Statement"]
    (deny,) = [s for s in statements if s["Effect"] == "Deny"]
    assert deny["Principal"] == "*"
    assert {"dynamodb:DeleteItem", "dynamodb:UpdateItem", "dynamodb:BatchWriteItem"} <= set(deny["Action"])
    assert deny["Condition"]["ForAnyValue:StringLike"]["dynamodb:LeadingKeys"] == ["INVOICE#*"]


# ---------------------------------------------------------------- operations

GLOBAL_ENV: dict[str, Any] = TEMPLATE["Globals"]["Function"]["Environment"]["Variables"]
ALARMS = {lid: r["Properties"] for lid, r in RESOURCES.items() if r["Type"] == "AWS::CloudWatch::Alarm"}
QUEUES = {lid: r for lid, r in RESOURCES.items() if r["Type"] == "AWS::SQS::Queue"}
DEAD_LETTER_QUEUES = sorted(lid for lid in QUEUES if lid.endswith("DeadLetterQueue"))
STATE_MACHINES = sorted(
    lid
    for lid, r in RESOURCES.items()
    if r["Type"] in ("AWS::Serverless::StateMachine", "AWS::StepFunctions::StateMachine")
)
ASYNC_EVENT_TYPES = {"Schedule", "ScheduleV2", "EventBridgeRule", "CloudWatchEvent", "SNS", "S3"}


def alarms_on(namespace: str, metric: str, dimension_value: Any) -> list[str]:
    found = []
    for lid, props in ALARMS.items():
        stats = [props] + [m["MetricStat"]["Metric"] for m in props.get("Metrics", []) if "MetricStat" in m]
        for stat in stats:
            values = [d["Value"] for d in stat.get("Dimensions", [])]
            if (stat.get("Namespace"), stat.get("MetricName")) == (
                namespace,
                metric,
            ) and dimension_value in values:
                found.append(lid)
    return found


def test_the_generated_alarm_block_is_current() -> None:
    from devtools.alarms import current_block

    block, wanted = current_block(REPO_ROOT / "template.yaml")
    assert block == wanted, "the per-resource alarms are stale: run make alarms"


@pytest.mark.parametrize("logical_id", sorted(FUNCTIONS))
def test_every_function_alarms_on_errors_and_throttles(logical_id: str) -> None:
    for metric in ("Errors", "Throttles"):
        assert alarms_on("AWS/Lambda", metric, {"Ref": logical_id}), (logical_id, metric)


@pytest.mark.parametrize("logical_id", DEAD_LETTER_QUEUES)
def test_every_dead_letter_queue_alarms_on_any_message_and_keeps_it_14_days(logical_id: str) -> None:
    queue = QUEUES[logical_id]["Properties"]
    assert alarms_on(
        "AWS/SQS", "ApproximateNumberOfMessagesVisible", {"Fn::GetAtt": [logical_id, "QueueName"]}
    )
    assert queue["MessageRetentionPeriod"] == 1209600 and queue["SqsManagedSseEnabled"] is True


@pytest.mark.parametrize("logical_id", STATE_MACHINES or ["none"])
def test_every_state_machine_alarms_on_failed_executions(logical_id: str) -> None:
    if logical_id == "none":
        pytest.skip("no state machine in this template yet")
    assert alarms_on("AWS/States", "ExecutionsFailed", {"Ref": logical_id})


def test_every_alarm_notifies_the_topic_which_mails_the_given_address() -> None:
    for lid, props in ALARMS.items():
        assert props["AlarmActions"] == [{"Ref": "AlarmTopic"}], lid
    (subscription,) = [r for r in RESOURCES.values() if r["Type"] == "AWS::SNS::Subscription"]
    assert subscription["Condition"] == "HasAlarmEmail"
    assert subscription["Properties"]["Endpoint"] == {"Ref": "AlarmEmail"}
    assert subscription["Properties"]["Protocol"] == "email"


def async_functions() -> list[str]:
    found = []
    for lid, function in FUNCTIONS.items():
        props = function["Properties"]
        events = (props.get("Events") or {}).values()
        if "EventInvokeConfig" in props or any(e["Type"] in ASYNC_EVENT_TYPES for e in events):
            found.append(lid)
    return sorted(found)


def destination(value: Any) -> str:
    assert isinstance(value, dict) and "Fn::GetAtt" in value, value
    target = value["Fn::GetAtt"]
    return str(target[0] if isinstance(target, list) else target.split(".")[0])


@pytest.mark.parametrize("logical_id", async_functions())
def test_every_asynchronous_path_ends_in_a_dead_letter_queue(logical_id: str) -> None:
    props = FUNCTIONS[logical_id]["Properties"]
    on_failure = props["EventInvokeConfig"]["DestinationConfig"]["OnFailure"]
    assert on_failure["Type"] == "SQS"
    assert destination(on_failure["Destination"]) in DEAD_LETTER_QUEUES
    for name, event in (props.get("Events") or {}).items():
        if event["Type"] in ASYNC_EVENT_TYPES - {"SNS", "S3"}:  # the rule's own undeliverable events
            config = event["Properties"]
            assert destination(config["DeadLetterConfig"]["Arn"]) in DEAD_LETTER_QUEUES, name
            assert config["RetryPolicy"]["MaximumRetryAttempts"] >= 1, name


@pytest.mark.parametrize(
    "logical_id", sorted(lid for lid in QUEUES if lid not in DEAD_LETTER_QUEUES) or ["none"]
)
def test_every_other_queue_redrives_to_a_dead_letter_queue(logical_id: str) -> None:
    if logical_id == "none":
        pytest.skip("no work queue in this template yet")
    redrive = QUEUES[logical_id]["Properties"]["RedrivePolicy"]
    assert destination(redrive["deadLetterTargetArn"]) in DEAD_LETTER_QUEUES


def test_every_dead_letter_queue_serves_a_path_and_has_a_replay_target() -> None:
    from devtools.dlq import relations

    targets = {relation.queue for relation in relations(TEMPLATE)}
    assert set(DEAD_LETTER_QUEUES) == targets


def test_the_alarms_watch_what_the_code_emits() -> None:
    """Namespace and dimension as Powertools writes them; metric names the code really emits
    (PaymentSyncLagSeconds and DatevExports* are the names the sync and the export emit)."""
    assert GLOBAL_ENV["POWERTOOLS_METRICS_NAMESPACE"] == "SevdeskIntegration"
    assert GLOBAL_ENV["POWERTOOLS_SERVICE_NAME"] == "sevdesk-integration"
    code = "\n".join(p.read_text() for p in (REPO_ROOT / "layers" / "common").rglob("*.py"))
    for metric in ("SevdeskServerErrors", "SevdeskUnauthorized", "UnhandledErrors", "SevdeskLatency"):
        assert f'"{metric}"' in code, metric
        assert metric == "SevdeskLatency" or alarms_on("SevdeskIntegration", metric, "sevdesk-integration")
    for documented in ("PaymentSyncLagSeconds", "DatevExportsFailed"):
        assert alarms_on("SevdeskIntegration", documented, "sevdesk-integration"), documented


def test_the_dashboard_shows_requests_latency_budget_sync_lag_and_exports() -> None:
    import json
    import re

    (dashboard,) = [r for r in RESOURCES.values() if r["Type"] == "AWS::CloudWatch::Dashboard"]
    body = dashboard["Properties"]["DashboardBody"]["Fn::Sub"]
    parsed = json.loads(re.sub(r"\$\{[^}]+\}", "1", body))
    titles = " | ".join(w["properties"]["title"] for w in parsed["widgets"])
    for shown in ("HTTP API requests", "latency", "budget", "sync lag", "DATEV exports", "dead-letter"):
        assert shown in titles, shown
