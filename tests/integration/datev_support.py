"""Helpers of the DATEV export tests: the export machine in moto, settings, start and watch
(the fixtures `sfn_aws` and `dispatch` are in conftest.py)."""

from __future__ import annotations

import io
import os
import zipfile
from typing import Any

import boto3
import pytest

from sevdesk_common.repository import get_config_item, put_config_item
from tests.support.invoke import ApiResult, invoke
from tests.support.lambda_context import clear_process_caches
from tests.support.stepfunctions import create

BUCKET = os.environ["EXPORT_BUCKET"]
MACHINE = "DatevExportStateMachine"
PERIOD = {"startDate": "2026-01-01", "endDate": "2026-01-31"}


def use_machine(monkeypatch: pytest.MonkeyPatch, **overrides: Any) -> str:
    """Create the export machine (Wait 0 s; `overrides` for its other substitutions) and point the
    routes at it."""
    arn = create(MACHINE, PollIntervalSeconds=0, RetryIntervalSeconds=1, **overrides)
    monkeypatch.setenv("EXPORT_STATE_MACHINE_ARN", arn)
    clear_process_caches()
    return arn


def set_config(**fields: Any) -> None:
    """Settings as an admin would have saved them (camelCase names)."""
    current = get_config_item() or {}
    version = int(current.pop("version", 0))
    assert put_config_item({**current, **fields}, expected_version=version)


def start(**body: Any) -> ApiResult:
    return invoke("datev_export_start", body={**PERIOD, **body})


def execution_arn(machine_arn: str, job_id: str) -> str:
    return machine_arn.replace(":stateMachine:", ":execution:") + f":{job_id}"


def status(job_id: str) -> dict[str, Any]:
    result = invoke("datev_export_status", path_parameters={"jobId": job_id})
    assert result.status == 200, result.body
    return dict(result.body)


def stored_zip(key: str) -> zipfile.ZipFile:
    body = boto3.client("s3").get_object(Bucket=BUCKET, Key=key)["Body"].read()
    return zipfile.ZipFile(io.BytesIO(body))
