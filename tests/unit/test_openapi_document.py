"""docs/openapi.json is the frontend's contract; it must match the route code."""

from __future__ import annotations

import json

from devtools.openapi import REPO_ROOT, render
from tests.support.aws import load_template, resources_of_type


def test_committed_document_matches_the_code() -> None:
    committed = (REPO_ROOT / "docs" / "openapi.json").read_text()

    assert json.loads(committed) == json.loads(render()), "run `make openapi` and commit docs/openapi.json"


def test_every_route_of_the_template_is_documented_with_camel_case_bodies() -> None:
    document = json.loads(render())
    config_update = document["components"]["schemas"]["ConfigUpdate"]
    template = load_template()
    routes = {
        (event["Properties"]["Path"], event["Properties"]["Method"].lower())
        for resource in resources_of_type(template, "AWS::Serverless::Function").values()
        for event in resource["Properties"].get("Events", {}).values()
        if event["Type"] == "HttpApi"
    }

    assert routes
    assert {(path, method) for path, ops in document["paths"].items() for method in ops} == routes
    assert "paymentSyncIntervalMinutes" in config_update["properties"]
    assert config_update.get("additionalProperties") is False
    assert document["paths"]["/api/sevdesk/config"]["put"]["x-required-role"] == "admin"
