"""Fixtures of the integration tests that run state machines (tests/support/stepfunctions.py)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator

import boto3
import pytest

from tests.conftest import SECRET_ID, SEVDESK_TOKEN, TABLE_NAME
from tests.support.aws import create_resources
from tests.support.lambda_context import clear_process_caches
from tests.support.stepfunctions import STATE_MACHINE_CONFIG, Dispatch, state_machines_in_process


@pytest.fixture
def sfn_aws() -> Iterator[None]:
    """moto whose Step Functions execute the ASL; the state table, secret (with a token) and bucket."""
    from moto import mock_aws

    with mock_aws(config=STATE_MACHINE_CONFIG):
        clear_process_caches()
        create_resources(table_name=TABLE_NAME, secret_id=SECRET_ID, bucket=os.environ["EXPORT_BUCKET"])
        boto3.client("secretsmanager").put_secret_value(
            SecretId=SECRET_ID, SecretString=json.dumps({"apiToken": SEVDESK_TOKEN})
        )
        yield
    clear_process_caches()


@pytest.fixture
def dispatch(sfn_aws: None) -> Iterator[Dispatch]:
    with state_machines_in_process() as running:
        yield running
