"""What template.yaml promises for GoBD and for operations, checked on the template itself.

GoBD: no function may update or delete an invoice or its event log (UpdateItem only on the
token buckets, DeleteItem and BatchWriteItem nowhere), and the table itself denies it to anyone.
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
def test_update_item_only_on_token_buckets(logical_id: str) -> None:
    for statement in granted_statements(logical_id):
        if "dynamodb:updateitem" in actions(statement):
            keys = statement["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"]
            assert keys == ["BUCKET#*"], (logical_id, keys)


def test_the_table_denies_updating_or_deleting_invoices_and_events_to_anyone() -> None:
    (table,) = [r for r in RESOURCES.values() if r["Type"] == "AWS::DynamoDB::Table"]
    statements = table["Properties"]["ResourcePolicy"]["PolicyDocument"]["Statement"]
    (deny,) = [s for s in statements if s["Effect"] == "Deny"]
    assert deny["Principal"] == "*"
    assert {"dynamodb:DeleteItem", "dynamodb:UpdateItem", "dynamodb:BatchWriteItem"} <= set(deny["Action"])
    assert deny["Condition"]["ForAnyValue:StringLike"]["dynamodb:LeadingKeys"] == ["INVOICE#*"]
