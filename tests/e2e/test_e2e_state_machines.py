"""Every statemachines/*.asl.json of the repo, substituted from template.yaml, is valid ASL for moto's
interpreter (create_state_machine parses it; cfn-lint does not). The fixture proves the mechanism."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from devtools.local.stack import LocalStack
from devtools.local.template import ACCOUNT, LocalTemplate
from tests.e2e.e2e_support import FIXTURES, REPO_ROOT, aws

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]
ASL_FILES = sorted((REPO_ROOT / "statemachines").glob("*.asl.json"))


def _definitions(template: LocalTemplate) -> dict[Path, str]:
    """ASL file -> definition with the template's DefinitionSubstitutions applied."""
    out = {}
    machines = template.of_type("AWS::Serverless::StateMachine")
    for logical_id, definition in zip(machines, template.state_machines().values(), strict=True):
        uri = machines[logical_id]["Properties"].get("DefinitionUri")
        if uri:
            out[(template.root / uri).resolve()] = definition
    return out


def _create(stack: LocalStack, definition: str) -> str:
    sfn = aws(stack, "stepfunctions")
    name = f"asl-check-{uuid.uuid4().hex[:8]}"
    role = f"arn:aws:iam::{ACCOUNT}:role/{name}"
    return sfn.create_state_machine(name=name, definition=definition, roleArn=role)["stateMachineArn"]


@pytest.mark.parametrize("asl", ASL_FILES or [None], ids=lambda p: p.name if p else "none")
def test_repo_state_machine_is_valid_asl(stack: LocalStack, asl: Path | None) -> None:
    if asl is None:
        pytest.skip("the repo has no statemachines/*.asl.json yet")
    definitions = _definitions(stack.template)
    assert asl.resolve() in definitions, f"{asl.name} is not referenced by any state machine in template.yaml"
    assert _create(stack, definitions[asl.resolve()]).startswith("arn:aws:states:")


def test_fixture_state_machine_is_valid_asl(stack: LocalStack) -> None:
    (definition,) = _definitions(LocalTemplate.load(FIXTURES / "template.yaml", wait_seconds=0)).values()
    assert '"Seconds": 0' in definition  # the wait substitution was shortened
    assert _create(stack, definition)


def test_invalid_asl_is_rejected(stack: LocalStack) -> None:
    broken = '{"StartAt": "A", "States": {"A": {"Type": "Sleep", "End": true}}}'
    # In server mode moto sends the parser's message without an error code.
    with pytest.raises(ClientError, match="ASLParserException"):
        _create(stack, broken)
