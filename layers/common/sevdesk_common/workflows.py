"""Starting the DATEV export state machine. The execution's name is the job id, so a start that
is repeated (a retry, a request that finds its job still queued) never runs the export twice:
Step Functions answers the same name and input with the execution it already has."""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from sevdesk_common.settings import get_settings


class StartFailed(Exception):
    """Step Functions did not take the execution (it may still have, when the answer was lost)."""


@lru_cache(maxsize=1)
def _stepfunctions() -> Any:
    return boto3.client("stepfunctions", region_name=get_settings().aws_region)


def clear_cache() -> None:
    _stepfunctions.cache_clear()


def execution_input(job_id: str) -> str:
    # Always the same text for a job: Step Functions' idempotency compares it.
    return json.dumps({"jobId": job_id}, separators=(",", ":"))


def start_export(job_id: str) -> bool:
    """Start the job's execution; False when it exists already (started before, or finished)."""
    try:
        _stepfunctions().start_execution(
            stateMachineArn=get_settings().export_state_machine_arn,
            name=job_id,
            input=execution_input(job_id),
        )
    except ClientError as error:
        if error.response["Error"]["Code"] == "ExecutionAlreadyExists":
            return False
        raise StartFailed(
            error.response["Error"].get("Message") or error.response["Error"]["Code"]
        ) from error
    except BotoCoreError as error:
        raise StartFailed(type(error).__name__) from error
    return True
