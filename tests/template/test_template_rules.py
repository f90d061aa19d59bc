"""House rules for template.yaml that neither SAM nor cfn-lint enforce.

Every function: handler file and event fixture in place, built by the generic makefile rule,
a log group with retention, behind the JWT authorizer. IAM: no wildcard grants, and every grant
is a statement in this template (inline, or a managed policy defined here and attached), so the
grants check (`python -m devtools.grants check`) can weigh it. The layer matches the functions'
runtime and architecture.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from samtranslator.yaml_helper import yaml_parse

REPO_ROOT = Path(__file__).resolve().parents[2]
TEMPLATE: dict[str, Any] = yaml_parse((REPO_ROOT / "template.yaml").read_text())
RESOURCES: dict[str, dict[str, Any]] = TEMPLATE["Resources"]
GLOBAL_FUNCTION: dict[str, Any] = TEMPLATE.get("Globals", {}).get("Function", {})

FUNCTIONS = {lid: r for lid, r in RESOURCES.items() if r["Type"] == "AWS::Serverless::Function"}
LAYERS = {lid: r for lid, r in RESOURCES.items() if r["Type"] == "AWS::Serverless::LayerVersion"}
MANAGED_POLICIES = {lid for lid, r in RESOURCES.items() if r["Type"] == "AWS::IAM::ManagedPolicy"}

# Actions that AWS only grants on Resource "*" (no resource-level permissions).
STAR_RESOURCE_ONLY_ACTIONS = {
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "cloudwatch:PutMetricData",
}


def code_dir(function: dict[str, Any]) -> Path:
    return REPO_ROOT / function["Properties"]["CodeUri"]


def snake_name(function: dict[str, Any]) -> str:
    return code_dir(function).name


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def allow_statements(node: Any) -> list[dict[str, Any]]:
    """Every Allow statement anywhere under node (function policies, roles, inline policies)."""
    found: list[dict[str, Any]] = []
    if isinstance(node, dict):
        for statement in as_list(node.get("Statement", [])):
            if isinstance(statement, dict) and statement.get("Effect") == "Allow":
                found.append(statement)
        for key, value in node.items():
            if key != "Statement":
                found.extend(allow_statements(value))
    elif isinstance(node, list):
        for item in node:
            found.extend(allow_statements(item))
    return found


def test_the_template_has_functions() -> None:
    assert FUNCTIONS, "no AWS::Serverless::Function in template.yaml"


@pytest.mark.parametrize("logical_id", sorted(FUNCTIONS))
def test_function_code_is_a_single_app_py(logical_id: str) -> None:
    function = FUNCTIONS[logical_id]
    assert (code_dir(function) / "app.py").is_file(), f"{logical_id}: {code_dir(function)}/app.py is missing"
    handler = function["Properties"].get("Handler", GLOBAL_FUNCTION.get("Handler"))
    assert handler == "app.lambda_handler", f"{logical_id}: handler {handler!r}"


@pytest.mark.parametrize("logical_id", sorted(FUNCTIONS))
def test_function_name_matches_its_directory(logical_id: str) -> None:
    # functions/<snake_name>/ <-> <CamelName>Function; build.mk's rule matches build-%Function.
    camel = "".join(part.capitalize() for part in snake_name(FUNCTIONS[logical_id]).split("_"))
    assert logical_id == f"{camel}Function"


@pytest.mark.parametrize("logical_id", sorted(FUNCTIONS) + sorted(LAYERS))
def test_built_by_the_makefile_rules(logical_id: str) -> None:
    metadata = RESOURCES[logical_id].get("Metadata", {})
    assert metadata.get("BuildMethod") == "makefile", f"{logical_id}: Metadata.BuildMethod must be makefile"
    # SAM looks for <ContextPath>/Makefile (default: the CodeUri dir); our targets are in the root one.
    assert metadata.get("ContextPath") in ("./", "."), f"{logical_id}: Metadata.ContextPath must be ./"
    dry_run = subprocess.run(
        ["make", "--dry-run", "--makefile", "Makefile", f"build-{logical_id}", "ARTIFACTS_DIR=/nonexistent"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert dry_run.returncode == 0, f"no make target build-{logical_id}: {dry_run.stderr}"


@pytest.mark.parametrize("logical_id", sorted(FUNCTIONS))
def test_function_has_a_log_group_with_retention(logical_id: str) -> None:
    wanted = {"Fn::Sub": f"/aws/lambda/${{{logical_id}}}"}
    groups = [
        r["Properties"]
        for r in RESOURCES.values()
        if r["Type"] == "AWS::Logs::LogGroup" and r.get("Properties", {}).get("LogGroupName") == wanted
    ]
    assert len(groups) == 1, f"{logical_id}: want one LogGroup named !Sub /aws/lambda/${{{logical_id}}}"
    assert "RetentionInDays" in groups[0], f"{logical_id}: log group without RetentionInDays"


@pytest.mark.parametrize("logical_id", sorted(FUNCTIONS))
def test_function_has_an_event_fixture(logical_id: str) -> None:
    fixture = REPO_ROOT / "events" / f"{snake_name(FUNCTIONS[logical_id])}.json"
    assert fixture.is_file(), f"{logical_id}: {fixture.relative_to(REPO_ROOT)} is missing"
    assert isinstance(json.loads(fixture.read_text()), dict)


def test_no_wildcard_iam_grants() -> None:
    offences = []
    for logical_id, resource in RESOURCES.items():
        for statement in allow_statements(resource.get("Properties", {})):
            actions = [a for a in as_list(statement.get("Action", [])) if isinstance(a, str)]
            resources = as_list(statement.get("Resource", []))
            if any(a == "*" or re.fullmatch(r"[\w-]+:\*", a) for a in actions):
                offences.append(f"{logical_id}: Action {actions}")
            if "*" in resources and not set(actions) <= STAR_RESOURCE_ONLY_ACTIONS:
                offences.append(f"{logical_id}: Resource '*' for {actions}")
    assert not offences, "wildcard IAM grants:\n" + "\n".join(offences)


@pytest.mark.parametrize("logical_id", sorted(FUNCTIONS))
def test_function_grants_are_statements_of_this_template(logical_id: str) -> None:
    properties = FUNCTIONS[logical_id]["Properties"]
    assert "Role" not in properties, f"{logical_id}: an explicit Role hides its grants from the checks"
    for entry in as_list(properties.get("Policies", [])):
        inline = isinstance(entry, dict) and set(entry) == {"Statement"}
        attached = isinstance(entry, dict) and entry.get("Ref") in MANAGED_POLICIES
        assert inline or attached, (
            f"{logical_id}: {entry!r} is neither inline nor a managed policy of this template"
        )


@pytest.mark.parametrize("policy", sorted(MANAGED_POLICIES) or ["none"])
def test_every_managed_policy_is_attached(policy: str) -> None:
    if policy == "none":
        pytest.skip("no AWS::IAM::ManagedPolicy in template.yaml")
    attached = {
        logical_id
        for logical_id, function in FUNCTIONS.items()
        if {"Ref": policy} in as_list(function["Properties"].get("Policies", []))
    }
    assert attached, f"{policy} is attached to no function"


def jwt_authorizers(api_id: str) -> set[str]:
    auth = RESOURCES[api_id].get("Properties", {}).get("Auth", {})
    return {name for name, spec in auth.get("Authorizers", {}).items() if "JwtConfiguration" in spec}


@pytest.mark.parametrize("logical_id", sorted(FUNCTIONS))
def test_http_routes_use_the_jwt_authorizer(logical_id: str) -> None:
    events = FUNCTIONS[logical_id]["Properties"].get("Events", {})
    for name, event in events.items():
        if event["Type"] != "HttpApi":
            continue
        props = event.get("Properties", {})
        api_ref = props.get("ApiId")
        # Without ApiId SAM attaches the route to an implicit API that has no authorizer.
        assert isinstance(api_ref, dict) and "Ref" in api_ref, f"{logical_id}.{name}: ApiId must !Ref an API"
        api_id = api_ref["Ref"]
        authorizer = props.get("Auth", {}).get("Authorizer")
        default = RESOURCES[api_id]["Properties"].get("Auth", {}).get("DefaultAuthorizer")
        effective = authorizer or default
        assert effective != "NONE", f"{logical_id}.{name}: route opts out of auth"
        assert effective in jwt_authorizers(api_id), f"{logical_id}.{name}: {effective!r} is not JWT"


@pytest.mark.parametrize("logical_id", sorted(LAYERS))
def test_layer_matches_the_functions_runtime(logical_id: str) -> None:
    props = LAYERS[logical_id]["Properties"]
    assert GLOBAL_FUNCTION.get("Runtime") == "python3.13"
    assert GLOBAL_FUNCTION.get("Architectures") == ["arm64"]
    assert "python3.13" in props.get("CompatibleRuntimes", [])
    assert "arm64" in props.get("CompatibleArchitectures", [])
    assert LAYERS[logical_id]["Metadata"].get("BuildArchitecture") == "arm64"


def test_route_functions_answer_before_api_gateway_gives_up() -> None:
    """API Gateway ends an integration at 30 s; a route's own budget (deadline.py) plus the
    reserve for its last write must fit in its Lambda timeout, which must end before that."""
    from sevdesk_common.deadline import ANSWER_RESERVE_SECONDS
    from sevdesk_common.settings import Settings

    budget = Settings.model_fields["route_budget_seconds"].default
    routes = {
        lid: f
        for lid, f in FUNCTIONS.items()
        if any(e.get("Type") == "HttpApi" for e in (f["Properties"].get("Events") or {}).values())
    }
    assert routes
    for logical_id, function in routes.items():
        timeout = function["Properties"].get("Timeout", GLOBAL_FUNCTION.get("Timeout", 3))
        assert budget + ANSWER_RESERVE_SECONDS < timeout < 30, (logical_id, timeout)
