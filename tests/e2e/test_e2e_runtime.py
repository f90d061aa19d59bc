"""The local stack runs functions like Lambda: an instance per concurrent invocation with module
state of its own, one invocation at a time, its own environment, a timeout that ends the instance,
async retries; moto's DynamoDB as atomic as DynamoDB; a stop that does not wait for stragglers."""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from botocore.exceptions import ClientError

from devtools.local.runtime import FunctionError
from devtools.local.stack import LocalStack, Ports
from tests.e2e.e2e_support import FIXTURES, REPO_ROOT, aws, bearer

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]
MAX_INSTANCES = 3


@pytest.fixture(scope="module")
def fixture_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    state = tmp_path_factory.mktemp("runtime")
    with (
        open(state / "functions.log", "ab") as log,
        LocalStack.start(
            FIXTURES / "template.yaml",
            Ports.ephemeral(),
            timers=False,
            max_instances=MAX_INSTANCES,
            log_output=log,
            async_retry_delays=(0.1, 0.1),
        ) as stack,
    ):
        yield stack


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/status").read_text().find("State:\tZ") < 0


def test_a_function_sees_its_own_environment_only(fixture_stack: LocalStack) -> None:
    wanted = ["TABLE_NAME", "ECHO_ONLY", "AWS_LAMBDA_FUNCTION_NAME", "AWS_ENDPOINT_URL"]
    echo = fixture_stack.invoke("EchoFunction", {"env": wanted})
    other = fixture_stack.invoke("OtherEchoFunction", {"env": wanted})

    table = fixture_stack.template.physical_name("JobTable")
    assert echo["env"] == {
        "TABLE_NAME": table,
        "ECHO_ONLY": "echo's own",
        "AWS_LAMBDA_FUNCTION_NAME": "EchoFunction",
        "AWS_ENDPOINT_URL": fixture_stack.moto_url,
    }
    assert other["env"]["ECHO_ONLY"] is None  # another function's variable
    assert other["env"]["TABLE_NAME"] == table
    assert echo["path"][0] == str(FIXTURES / "functions" / "echo")  # the code dir, like /var/task
    assert echo["pid"] != other["pid"] != os.getpid()
    assert 0 < echo["remainingMs"] <= 2000


def test_a_warm_instance_keeps_its_module_state(fixture_stack: LocalStack) -> None:
    first = fixture_stack.invoke("EchoFunction", {})
    second = fixture_stack.invoke("EchoFunction", {})
    assert second["pid"] == first["pid"]
    assert second["invocations"] == first["invocations"] + 1


def test_concurrent_invocations_get_instances_of_their_own(fixture_stack: LocalStack) -> None:
    with ThreadPoolExecutor(MAX_INSTANCES) as pool:
        results = list(pool.map(lambda _: fixture_stack.invoke("EchoFunction", {"sleep": 0.5}), range(3)))
    assert len({r["pid"] for r in results}) == 3
    assert {r["overlap"] for r in results} == {1}  # never two invocations in one instance
    assert len({r["requestId"] for r in results}) == 3


def test_invocations_beyond_the_limit_wait_for_a_free_instance(fixture_stack: LocalStack) -> None:
    started = time.monotonic()
    with ThreadPoolExecutor(2 * MAX_INSTANCES) as pool:
        results = list(
            pool.map(lambda _: fixture_stack.invoke("OtherEchoFunction", {"sleep": 0.4}), range(6))
        )
    assert len({r["pid"] for r in results}) <= MAX_INSTANCES
    assert time.monotonic() - started >= 0.8  # two rounds of three
    assert {r["overlap"] for r in results} == {1}


def test_an_error_is_lambdas_error_document_and_the_instance_survives(fixture_stack: LocalStack) -> None:
    before = fixture_stack.invoke("EchoFunction", {})
    with pytest.raises(FunctionError) as raised:
        fixture_stack.invoke("EchoFunction", {"fail": "boom"})
    assert raised.value.payload["errorType"] == "RuntimeError"
    assert raised.value.payload["errorMessage"] == "boom"
    assert raised.value.payload["stackTrace"]
    assert fixture_stack.invoke("EchoFunction", {})["pid"] == before["pid"]


def test_a_timeout_ends_the_instance(fixture_stack: LocalStack) -> None:
    before = fixture_stack.invoke("EchoFunction", {})
    started = time.monotonic()
    with pytest.raises(FunctionError) as raised:
        fixture_stack.invoke("EchoFunction", {"sleep": 30})
    assert 1.9 <= time.monotonic() - started < 6
    assert raised.value.payload["errorType"] == "Sandbox.Timedout"
    assert "Task timed out after 2.00 seconds" in raised.value.payload["errorMessage"]
    after = fixture_stack.invoke("EchoFunction", {})
    if after["pid"] == before["pid"]:  # the timed-out one was another instance; check that one is gone
        assert after["invocations"] == before["invocations"] + 1
    assert all(_alive(r) for r in (after["pid"],))


def test_a_crashed_instance_is_replaced(fixture_stack: LocalStack) -> None:
    with pytest.raises(FunctionError) as raised:
        fixture_stack.invoke("EchoFunction", {"exit": True})
    assert raised.value.payload["errorType"] == "Runtime.ExitError"
    assert fixture_stack.invoke("EchoFunction", {})["pid"]


def test_async_invocations_are_retried_twice_like_lambda(fixture_stack: LocalStack) -> None:
    record = f"ASYNC#{uuid.uuid4().hex}"
    lam = aws(fixture_stack, "lambda")
    queued = lam.invoke(
        FunctionName="EchoFunction",
        InvocationType="Event",
        Payload=json.dumps({"record": record, "fail": "again"}).encode(),
    )
    assert queued["StatusCode"] == 202
    ddb = aws(fixture_stack, "dynamodb")
    query = {
        "TableName": fixture_stack.template.physical_name("JobTable"),
        "KeyConditionExpression": "pk = :pk",
        "ExpressionAttributeValues": {":pk": {"S": record}},
    }
    deadline = time.monotonic() + 10
    while len(ddb.query(**query)["Items"]) < 3 and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(0.5)  # no fourth attempt
    assert len(ddb.query(**query)["Items"]) == 3


def test_conditional_transactions_have_one_winner(fixture_stack: LocalStack) -> None:
    """moto's own transaction code is not atomic under concurrent requests; the stack makes it so."""
    table = fixture_stack.template.physical_name("JobTable")
    clients = [aws(fixture_stack, "dynamodb") for _ in range(8)]
    barrier = threading.Barrier(len(clients))

    def write(client: Any, round_: int, writer: int) -> bool:
        key = {"pk": {"S": f"RACE#{round_}"}, "sk": {"S": "ITEM"}}
        barrier.wait()
        try:
            client.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": table,
                            "Item": {**key, "writer": {"N": str(writer)}},
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                    {
                        "Put": {
                            "TableName": table,
                            "Item": {"pk": {"S": f"LOG#{round_}"}, "sk": {"S": str(writer)}},
                        }
                    },
                ]
            )
        except ClientError as error:
            assert error.response["Error"]["Code"] == "TransactionCanceledException"
            return False
        return True

    for batch in range(0, 1500, 25):  # a table of some size: moto's snapshot copy takes a while
        clients[0].batch_write_item(
            RequestItems={
                table: [
                    {"PutRequest": {"Item": {"pk": {"S": f"FILL#{n}"}, "sk": {"S": "ITEM"}}}}
                    for n in range(batch, batch + 25)
                ]
            }
        )
    for round_ in range(15):
        with ThreadPoolExecutor(len(clients)) as pool:
            wins = list(pool.map(write, clients, [round_] * len(clients), range(len(clients))))
        assert wins.count(True) == 1, f"round {round_}: {wins.count(True)} winners"
        logs = clients[0].query(
            TableName=table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": f"LOG#{round_}"}},
        )["Items"]
        assert len(logs) == 1  # the losers' other writes did not land either


def test_log_lines_carry_their_own_request(tmp_path: Path) -> None:
    """Eight users at once against the real template: every log line's user is its request's user."""
    users = [f"user-{n}" for n in range(8)]
    with (
        open(tmp_path / "functions.log", "ab") as log,
        LocalStack.start(
            REPO_ROOT / "template.yaml", Ports.ephemeral(), timers=False, log_output=log
        ) as stack,
        httpx.Client(base_url=stack.api_url, timeout=30) as client,
    ):
        tokens = {user: stack.mint_token(user, ["admin", "staff"]) for user in users}

        def call(user: str) -> tuple[str, str]:
            # Every connection test calls sevDesk, and each sevDesk request is logged.
            resp = client.post("/api/sevdesk/test-connection", headers=bearer(tokens[user]))
            assert resp.status_code in (200, 409), resp.text  # 409: lost the settings write 5 times
            return resp.headers["apigw-requestid"], user

        with ThreadPoolExecutor(len(users)) as pool:
            sent = dict(pool.map(call, users * 2))
    lines = [
        json.loads(line) for line in (tmp_path / "functions.log").read_text().splitlines() if line[:1] == "{"
    ]
    attributed = [line for line in lines if line.get("correlation_id") in sent and "user_id" in line]
    assert {line["correlation_id"] for line in attributed} == set(sent)
    for line in attributed:
        assert line["user_id"] == sent[line["correlation_id"]], line


def test_stop_does_not_wait_for_invocations_in_flight() -> None:
    stack = LocalStack.start(FIXTURES / "template.yaml", Ports.ephemeral(), timers=False)
    errors: list[str] = []

    def hold() -> None:
        try:
            stack.invoke("OtherEchoFunction", {"sleep": 8})
        except FunctionError as exc:
            errors.append(exc.payload["errorType"])

    holders = [threading.Thread(target=hold) for _ in range(3)]
    for thread in holders:
        thread.start()
    time.sleep(1.5)  # cold starts done, all three sleeping
    started = time.monotonic()
    stack.stop()
    assert time.monotonic() - started < 3
    for thread in holders:
        thread.join(timeout=3)
    assert len(errors) == 3


def test_a_failed_transaction_changes_nothing_and_only_its_items(fixture_stack: LocalStack) -> None:
    table = fixture_stack.template.physical_name("JobTable")
    ddb = aws(fixture_stack, "dynamodb")
    ddb.put_item(TableName=table, Item={"pk": {"S": "TX#b"}, "sk": {"S": "I"}, "v": {"N": "1"}})
    ddb.put_item(TableName=table, Item={"pk": {"S": "TX#other"}, "sk": {"S": "I"}})
    with pytest.raises(ClientError) as raised:
        ddb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": table, "Item": {"pk": {"S": "TX#a"}, "sk": {"S": "I"}}}},
                {
                    "Update": {
                        "TableName": table,
                        "Key": {"pk": {"S": "TX#b"}, "sk": {"S": "I"}},
                        "UpdateExpression": "SET v = :v",
                        "ExpressionAttributeValues": {":v": {"N": "2"}},
                    }
                },
                {
                    "ConditionCheck": {
                        "TableName": table,
                        "Key": {"pk": {"S": "TX#other"}, "sk": {"S": "I"}},
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
            ]
        )
    assert raised.value.response["Error"]["Code"] == "TransactionCanceledException"

    def get(pk: str) -> Any:
        return ddb.get_item(TableName=table, Key={"pk": {"S": pk}, "sk": {"S": "I"}}).get("Item")

    assert get("TX#a") is None
    assert get("TX#b")["v"] == {"N": "1"}
    assert get("TX#other") is not None


def test_moto_keeps_no_copy_of_what_requests_read(fixture_stack: LocalStack) -> None:
    """moto appends every model object it makes, a Query's copies of the items included, to a
    class-wide list for its dashboard; a long-running stack grew by every item ever read. The
    local stack's moto keeps none of them, so its memory stays flat under a steady load."""
    from moto.dynamodb.models.dynamo_type import Item

    dynamodb = aws(fixture_stack, "dynamodb")
    table = fixture_stack.template.physical_name("JobTable")
    for k in range(20):
        dynamodb.put_item(TableName=table, Item={"pk": {"S": "READ#1"}, "sk": {"S": f"{k:03d}"}})
    tracked = len(Item.instances_tracked)  # type: ignore[attr-defined]

    pages = [
        dynamodb.query(
            TableName=table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": "READ#1"}},
        )
        for _ in range(10)
    ]

    assert [page["Count"] for page in pages] == [20] * 10
    assert pages[-1]["Items"][0] == {"pk": {"S": "READ#1"}, "sk": {"S": "000"}}
    assert len(Item.instances_tracked) == tracked  # type: ignore[attr-defined]


def test_an_instance_closes_its_pipe_once_when_two_threads_end_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """stop() kills the instances while an invoking thread, whose worker just died, ends the
    same instance: both closed the response pipe, and the second close failed (EBADF) or could
    have closed a descriptor another file had been given meanwhile. The interleaving is forced:
    the second closer arrives while the first is inside os.close."""
    import sys

    from devtools.local import runtime

    launch = runtime.Launch(
        "Echo", "echo", "arn:aws:lambda:eu-central-1:123456789012:function:echo", "app.handler",
        tmp_path, (), {}, 3, 128, sys.executable,
    )  # fmt: skip
    instance = runtime._Instance(launch, {}, None)
    instance.signal_kill()
    closed: list[int] = []
    real_close = os.close

    def close(fd: int) -> None:
        if not closed:
            closed.append(fd)
            instance._close_pipe()  # the other thread, mid-close
        else:
            closed.append(fd)
        real_close(fd)

    monkeypatch.setattr(runtime.os, "close", close)
    instance.kill()
    instance.kill()

    assert len(closed) == 1
