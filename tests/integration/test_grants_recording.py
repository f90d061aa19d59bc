"""The reported case end to end: the real GET /api/sevdesk/config handler, recorded, fails the
check against a policy without its limiter's write (in AWS: AccessDenied on the first call,
a 500) and passes against today's template."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from devtools.grants import recorder
from devtools.grants.check import check, load_calls
from devtools.grants.context import recorded_function
from devtools.grants.policies import Template
from tests.support.aws import load_template
from tests.support.invoke import ADMIN, invoke

ORIGINAL_CONFIG_GET_POLICY = [
    {
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["dynamodb:GetItem", "dynamodb:PutItem"],
                "Resource": {"Fn::GetAtt": ["StateTable", "Arn"]},
            },
            {
                "Effect": "Allow",
                "Action": "secretsmanager:GetSecretValue",
                "Resource": {"Ref": "SevdeskTokenSecret"},
            },
        ]
    }
]


def config_get_result(raw_template: dict[str, Any], calls: Path) -> Any:
    report = check(Template(raw_template), load_calls(calls))
    (result,) = [r for r in report.functions if r.logical_id == "ConfigGetFunction"]
    return result


def test_config_get_needs_update_item_for_its_limiter(
    aws: Any, token_configured: str, tmp_path: Path
) -> None:
    with recorder.recording(tmp_path, recorded_function):
        assert invoke("config_get", claims=ADMIN).status == 200

    original = load_template()
    original["Resources"]["ConfigGetFunction"]["Properties"]["Policies"] = ORIGINAL_CONFIG_GET_POLICY
    before = config_get_result(original, tmp_path)
    # The limiter takes its token with one conditional UpdateItem; nothing in GET config puts.
    assert list(before.missing) == [("dynamodb:UpdateItem", "StateTable")]
    assert [g.action for g in before.unused] == ["dynamodb:PutItem"]

    now = config_get_result(load_template(), tmp_path)
    assert not now.failed
