"""`python -m devtools.local up` as a subprocess on free ports, with the fixture template: the state
machine runs through the Lambda middleware, the schedule fires, replay works, Ctrl-C exits 0."""

from __future__ import annotations

import json
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest

from devtools.local.stack import LocalStack
from tests.e2e.e2e_support import FIXTURES, REPO_ROOT, UpProcess, aws, cli

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


@pytest.fixture(scope="module")
def up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UpProcess]:
    state_dir = tmp_path_factory.mktemp("fixture-stack")
    process = UpProcess(
        FIXTURES / "template.yaml", state_dir, "--schedule-scale", "120", "--wait-seconds", "0"
    )
    try:
        yield process
    finally:
        process.kill()


def _wait_for(predicate: Any, timeout: float = 15) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := predicate():
            return result
        time.sleep(0.1)
    raise TimeoutError


def _run(up: UpProcess, payload: dict[str, Any]) -> dict[str, Any]:
    sfn = aws(up.state["moto_url"], "stepfunctions")
    (machine,) = sfn.list_state_machines()["stateMachines"]
    # moto 5.2.5 builds the execution ARN from `name`; without it the 2nd run collides.
    arn = sfn.start_execution(
        stateMachineArn=machine["stateMachineArn"], name=str(uuid.uuid4()), input=json.dumps(payload)
    )["executionArn"]
    return _wait_for(lambda: (d := sfn.describe_execution(executionArn=arn))["status"] != "RUNNING" and d)


def test_banner_prints_two_dev_tokens(up: UpProcess) -> None:
    tokens = json.loads((up.state_dir / "tokens.json").read_text())
    for role, sub in (("admin", "dev-admin"), ("staff", "dev-staff")):
        assert tokens[role] in up.banner
        claims = jwt.decode(tokens[role], options={"verify_signature": False})
        assert claims["sub"] == sub
        assert claims["user_type"] == "internal"
        assert 11 * 3600 < claims["exp"] - claims["iat"] <= 12 * 3600
    assert up.state["moto_url"] in up.banner


def test_banner_names_the_api_docs_page_it_serves(up: UpProcess) -> None:
    docs_url = f"{up.state['api_url']}/docs"
    assert docs_url in up.banner
    page = httpx.get(docs_url, timeout=10)
    assert page.status_code == 200
    assert "swagger-ui-bundle.js" in page.text


def test_state_machine_runs_to_success_through_python_handlers(up: UpProcess) -> None:
    done = _run(up, {"jobId": "job-1"})
    assert done["status"] == "SUCCEEDED"
    assert json.loads(done["output"])["polls"] == 3  # Wait -> Poll -> Choice looped; Transient retried
    items = aws(up.state["moto_url"], "dynamodb").query(
        TableName=up.state["resources"]["tables"][0],
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": "JOB#job-1"}},
    )["Items"]
    assert [i["by"]["S"] for i in items] == ["PollFunction"] * 3


def test_state_machine_catch_routes_to_fail(up: UpProcess) -> None:
    failed = _run(up, {"jobId": "job-2", "failWith": "boom"})
    assert failed["status"] == "FAILED"
    assert failed["error"] == "JobFailed"


def test_schedule_fires_with_a_scheduled_event(up: UpProcess) -> None:
    ddb = aws(up.state["moto_url"], "dynamodb")
    query = {
        "TableName": up.state["resources"]["tables"][0],
        "KeyConditionExpression": "pk = :pk",
        "ExpressionAttributeValues": {":pk": {"S": "TICK"}},
    }
    (tick, *_) = _wait_for(lambda: ddb.query(**query)["Items"])  # rate(1 minute) / 120 = 0.5 s
    assert tick["detailType"]["S"] == "Scheduled Event"
    assert tick["source"]["S"] == "aws.events"


def test_replay_via_the_running_stack(up: UpProcess) -> None:
    done = subprocess.run(
        [
            *cli("--state-dir", str(up.state_dir)),
            "replay",
            "start",
            "--event",
            str(FIXTURES / "events/start.json"),
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["jobId"] == "replayed"


def test_up_stops_cleanly_on_sigint_with_invocations_in_flight(up: UpProcess) -> None:
    lam = aws(up.state["moto_url"], "lambda")
    for _ in range(3):  # each holds an instance for 8 s (the function's timeout is 10 s)
        lam.invoke(FunctionName="OtherEchoFunction", InvocationType="Event", Payload=b'{"sleep": 8}')
    time.sleep(1.5)
    code, seconds = up.interrupt()
    assert code == 0
    assert seconds < 5
    assert not (up.state_dir / "stack.json").exists()


def test_replay_of_events_fixture_via_stack_and_in_process(stack: LocalStack, tmp_path: Path) -> None:
    """The real events/ fixture: against the in-test stack's moto, and in a fresh process."""
    event = REPO_ROOT / "events" / "config_get.json"
    if not event.exists():
        pytest.skip("events/config_get.json not written yet")
    assert stack.state_dir is not None
    via_stack = subprocess.run(
        [*cli("--state-dir", str(stack.state_dir)), "replay", "config_get", "--event", str(event)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert via_stack.returncode == 0, via_stack.stderr
    assert json.loads(via_stack.stdout)["statusCode"] == 200  # the fixture's own claims were used

    in_process = subprocess.run(
        [*cli("--state-dir", str(tmp_path)), "replay", "config_get", "--in-process"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert in_process.returncode == 0, in_process.stderr
    assert json.loads(in_process.stdout)["statusCode"] == 200


def test_token_is_signed_with_the_running_stacks_key(up: UpProcess, tmp_path: Path) -> None:
    minted = subprocess.run(
        [*cli("--template", str(FIXTURES / "template.yaml"), "--state-dir", str(up.state_dir)), "token",
         "--sub", "ops-1", "--roles", "admin,staff"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert minted.returncode == 0, minted.stderr
    from cryptography.hazmat.primitives import serialization

    key = serialization.load_pem_private_key((up.state_dir / "jwt-key.pem").read_bytes(), password=None)
    claims = jwt.decode(
        minted.stdout.strip(), key.public_key(), algorithms=["RS256"], options={"verify_aud": False}
    )  # verifies with the stack's key
    assert claims["sub"] == "ops-1"

    elsewhere = subprocess.run(
        [*cli("--state-dir", str(tmp_path / "empty")), "token"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert elsewhere.returncode == 2
    assert "no stack key" in elsewhere.stderr and not elsewhere.stdout
