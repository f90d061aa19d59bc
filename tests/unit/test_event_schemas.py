"""The committed event schemas are the ones the code reads (make openapi regenerates them), and
the events/ fixture of the purchase event is valid by its schema."""

from __future__ import annotations

import json

from devtools import event_schemas


def test_committed_schemas_match_the_code() -> None:
    for name, text in event_schemas.render().items():
        committed = (event_schemas.SCHEMAS / name).read_text()
        assert committed == text, f"events/schemas/{name} is stale: run `make openapi`"


def test_the_fixture_is_a_valid_purchase_event() -> None:
    from jsonschema import Draft202012Validator

    schema = json.loads((event_schemas.SCHEMAS / "purchase_completed.json").read_text())
    fixture = json.loads((event_schemas.REPO_ROOT / "events" / "purchase_completed.json").read_text())

    Draft202012Validator.check_schema(schema)
    assert list(Draft202012Validator(schema).iter_errors(fixture)) == []
    broken = {**fixture, "detail": {**fixture["detail"], "items": []}}
    assert list(Draft202012Validator(schema).iter_errors(broken))
