"""Shared fixtures. Everything runs offline: AWS is moto, sevDesk is the emulator.

The environment is set before any project module is imported, the way Lambda sets it before
the handler module loads.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.lambda_context import clear_process_caches

__all__ = ["SECRET_ID", "SEVDESK_TOKEN", "TABLE_NAME", "clear_process_caches"]

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_DIR = REPO_ROOT.parent / "shared"
TABLE_NAME = "sevdesk-test-state"
SECRET_ID = "sevdesk-test-token"
DEAD_LETTER_QUEUE = "sevdesk-test-dead-letters"
DEAD_LETTER_QUEUE_URL = f"https://sqs.eu-central-1.amazonaws.com/123456789012/{DEAD_LETTER_QUEUE}"
SEVDESK_TOKEN = "0123456789abcdef0123456789abcdef"

os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_REGION": "eu-central-1",
        "AWS_DEFAULT_REGION": "eu-central-1",
        "TABLE_NAME": TABLE_NAME,
        "SEVDESK_SECRET_ID": SECRET_ID,
        "EXPORT_BUCKET": "sevdesk-test-exports",
        "DEAD_LETTER_QUEUE_URL": DEAD_LETTER_QUEUE_URL,
        "POWERTOOLS_SERVICE_NAME": "sevdesk-integration",
        "POWERTOOLS_METRICS_NAMESPACE": "SevdeskIntegration",
        "POWERTOOLS_TRACE_DISABLED": "1",
        "POWERTOOLS_DEV": "false",
        # Quick timeouts keep fault-injection tests fast; retries do not sleep in tests.
        "SEVDESK_TIMEOUT_SECONDS": "2",
        "SEVDESK_RETRY_MIN_SECONDS": "0",
        "SEVDESK_RETRY_MAX_SECONDS": "0",
        # Tests retry an ambiguous write at once; test_publish_grace.py covers the real wait.
        "AMBIGUOUS_WRITE_GRACE_SECONDS": "0",
    }
)
for variable in ("SEVDESK_API_TOKEN", "AWS_ENDPOINT_URL", "AWS_PROFILE"):
    os.environ.pop(variable, None)

if os.environ.get("GRANTS_CALLS_DIR"):
    # Every AWS call a handler makes, charged to its function (make test checks them against
    # template.yaml: python -m devtools.grants check). Installed before any client exists.
    from devtools.grants import recorder
    from devtools.grants.context import recorded_function

    recorder.install(Path(os.environ["GRANTS_CALLS_DIR"]), recorded_function)


@pytest.fixture
def aws() -> Iterator[Any]:
    """moto with the state table, secret and bucket created from template.yaml."""
    from moto import mock_aws

    from tests.support.aws import create_resources

    with mock_aws():
        clear_process_caches()
        create_resources(
            table_name=TABLE_NAME,
            secret_id=SECRET_ID,
            bucket=os.environ["EXPORT_BUCKET"],
            queue=DEAD_LETTER_QUEUE,
        )
        yield
    clear_process_caches()


@pytest.fixture
def emulator(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The sevDesk emulator as an HTTP server on a free port; SEVDESK_BASE_URL points at it."""
    from devtools.sevdesk_emulator import SevdeskEmulator

    emu = SevdeskEmulator(token=SEVDESK_TOKEN)
    server = emu.serve(host="127.0.0.1", port=0)
    monkeypatch.setenv("SEVDESK_BASE_URL", server.base_url)
    clear_process_caches()
    try:
        yield emu
    finally:
        server.stop()
        clear_process_caches()


@pytest.fixture
def token_configured(aws: Any) -> str:
    """The secret holds a token the emulator accepts."""
    import boto3

    boto3.client("secretsmanager").put_secret_value(
        SecretId=SECRET_ID, SecretString=json.dumps({"apiToken": SEVDESK_TOKEN})
    )
    clear_process_caches()
    return SEVDESK_TOKEN


@pytest.fixture
def lambda_context() -> Any:
    from tests.support.lambda_context import FakeLambdaContext

    return FakeLambdaContext()


@pytest.fixture
def log_output() -> Iterator[Any]:
    """Everything the project's logger writes during the test (its handler keeps the stdout
    it saw at import, which pytest's capsys/capfd do not intercept)."""
    import io

    from sevdesk_common.observability import logger

    buffer = io.StringIO()
    previous = logger.logger_handler.setStream(buffer)  # type: ignore[attr-defined]
    try:
        yield buffer
    finally:
        logger.logger_handler.setStream(previous)  # type: ignore[attr-defined]
