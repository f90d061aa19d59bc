"""A state machine's role grants exactly what its definition calls. The grants checker records
functions' calls; a machine's calls are read from its ASL instead: each Task's resource (a Lambda
ARN, `lambda:invoke`, a native `dynamodb:*` task) against the machine's policy statements."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from samtranslator.yaml_helper import yaml_parse

REPO_ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = yaml_parse((REPO_ROOT / "template.yaml").read_text())
MACHINES = {
    logical_id: resource
    for logical_id, resource in TEMPLATE["Resources"].items()
    if resource["Type"] == "AWS::Serverless::StateMachine"
}
_SUBSTITUTION = re.compile(r"^\$\{(\w+)\}$")
# A number substitution is not valid JSON before it is substituted: any number will do here.
_NUMBER = re.compile(r":\s*\$\{\w+\}")


def _tasks(states: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for state in states.values():
        if state.get("Type") == "Task":
            found.append(state)
        for branch in state.get("Branches", []):
            found += _tasks(branch["States"])
        if "Iterator" in state or "ItemProcessor" in state:
            found += _tasks((state.get("ItemProcessor") or state["Iterator"])["States"])
    return found


def _expression(value: str, substitutions: dict[str, Any]) -> Any:
    match = _SUBSTITUTION.match(value)
    return substitutions[match[1]] if match else value


def _needs(resource: dict[str, Any]) -> set[tuple[str, str]]:
    """(IAM action, resource expression as JSON) for every Task of the machine's definition."""
    props = resource["Properties"]
    substitutions = props.get("DefinitionSubstitutions", {})
    text = _NUMBER.sub(": 1", (REPO_ROOT / props["DefinitionUri"]).read_text())
    needs: list[tuple[str, Any]] = []
    for task in _tasks(json.loads(text)["States"]):
        arn = task["Resource"]
        parameters = task.get("Parameters", {})
        if arn == "arn:aws:states:::lambda:invoke":
            needs.append(("lambda:InvokeFunction", _expression(parameters["FunctionName"], substitutions)))
        elif arn.startswith("arn:aws:states:::dynamodb:"):
            operation = arn.rsplit(":", 1)[1]
            table = _expression(parameters["TableName"], substitutions)
            assert table == {"Ref": "StateTable"}, table
            needs.append(
                (f"dynamodb:{operation[0].upper()}{operation[1:]}", {"Fn::GetAtt": ["StateTable", "Arn"]})
            )
        elif arn.startswith("arn:aws:states:::"):
            pytest.fail(f"no IAM mapping for the integration {arn}: add it here")
        else:  # a Lambda function's ARN
            needs.append(("lambda:InvokeFunction", _expression(arn, substitutions)))
    return {(action, json.dumps(_canonical(target), sort_keys=True)) for action, target in needs}


def _canonical(value: Any) -> Any:
    if isinstance(value, dict) and "Fn::GetAtt" in value and isinstance(value["Fn::GetAtt"], str):
        return {"Fn::GetAtt": value["Fn::GetAtt"].split(".", 1)}
    return value


def _grants(resource: dict[str, Any]) -> set[tuple[str, str]]:
    grants = set()
    for policy in resource["Properties"].get("Policies", []):
        assert set(policy) == {"Statement"}, f"only inline statements can be checked: {policy}"
        for statement in policy["Statement"]:
            assert statement["Effect"] == "Allow"
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            targets = (
                statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            )
            for action in actions:
                for target in targets:
                    grants.add((action, json.dumps(_canonical(target), sort_keys=True)))
    return grants


@pytest.mark.parametrize("logical_id", sorted(MACHINES))
def test_a_state_machine_role_grants_exactly_what_its_definition_calls(logical_id: str) -> None:
    resource = MACHINES[logical_id]
    assert _grants(resource) == _needs(resource)


def test_the_export_machine_updates_only_export_jobs() -> None:
    statements = [
        s for p in MACHINES["DatevExportStateMachine"]["Properties"]["Policies"] for s in p["Statement"]
    ]
    (dynamodb,) = [s for s in statements if s["Action"] == "dynamodb:UpdateItem"]
    assert dynamodb["Condition"] == {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["DATEVEXPORT#*"]}}
