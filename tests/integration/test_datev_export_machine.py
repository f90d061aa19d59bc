"""The DATEV export end to end in one process: the start route, then the real ASL file executed by
moto's Step Functions interpreter with the real step handlers, against the sevDesk emulator.
Waits and retry pauses are instant (tests/support/stepfunctions.py); everything else is real."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import boto3
import pytest

from devtools.sevdesk_emulator.faults import Fault
from sevdesk_common import datev_export_store
from tests.integration.datev_support import (
    BUCKET,
    execution_arn,
    set_config,
    start,
    status,
    stored_zip,
    use_machine,
)
from tests.support.invoke import invoke
from tests.support.stepfunctions import Dispatch, history, states_entered, wait_for

CREATE = "/Export/createDatevCsvZipExportJob"


def requests_to(emulator: Any, path: str) -> int:
    return sum(1 for r in list(emulator.requests) if r.path == path)


def run_export(monkeypatch: pytest.MonkeyPatch, **body: Any) -> tuple[str, dict[str, Any], str]:
    """Start an export through the route and wait for its execution: (job id, execution, machine)."""
    machine = use_machine(monkeypatch, **body.pop("machine", {}))
    started = start(**body)
    assert started.status == 202, started.body
    job_id = started.body["jobId"]
    assert started.body["status"] == "queued" and started.body["alreadyRunning"] is False
    return job_id, wait_for(execution_arn(machine, job_id)), machine


@pytest.fixture
def fiscal_year_known(sfn_aws: None) -> None:
    set_config(datevFiscalYearStartMonth=1, datevAccountantNumber="1234567", datevClientNumber="10001")


def test_an_export_runs_to_a_stored_zip(
    monkeypatch: pytest.MonkeyPatch, emulator: Any, dispatch: Dispatch, fiscal_year_known: None
) -> None:
    job_id, execution, _ = run_export(monkeypatch)

    assert execution["status"] == "SUCCEEDED"
    entered = states_entered(execution["executionArn"])
    assert entered[:3] == ["MarkRunning", "CheckPrecondition", "CreateExportJob"]
    assert entered.count("CheckProgress") == 3  # the emulator finishes after three polls
    assert entered[-2:] == ["StoreExport", "MarkSucceeded"]
    # sevDesk: the export config set once from the settings, one job created
    assert requests_to(emulator, f"/SevClient/{emulator.state.sev_client['id']}/updateExportConfig") == 1
    assert emulator.state.export_config["accountantNumber"] == "1234567"
    assert requests_to(emulator, CREATE) == 1
    (sevdesk_job,) = emulator.state.export_jobs.values()
    assert sevdesk_job["scope"] == "EX" and sevdesk_job["includeDocumentImages"] is True

    job = status(job_id)
    assert job["status"] == "succeeded" and job["progressPercent"] == 100
    assert job["startedAt"] and job["finishedAt"] and job["failure"] is None
    file = job["file"]
    assert file["name"].startswith("BITTE-ENTPACKEN_Buchungsstapel_und_Belegbilder_20260101_20260131")
    assert "unpack" in file["note"]
    stored = datev_export_store.load(job_id)
    assert stored is not None and stored.s3_key == f"datev/{job_id}/{file['name']}"
    body = boto3.client("s3").get_object(Bucket=BUCKET, Key=stored.s3_key)["Body"].read()
    assert file["sizeBytes"] == len(body) and file["sha256"] == hashlib.sha256(body).hexdigest()
    names = stored_zip(stored.s3_key).namelist()
    assert any(name.endswith(".csv") and "/EXTF_Buchungsstapel_" in name for name in names)
    assert job["chartOfAccounts"] == "SKR03" and job["exportChartOfAccounts"] == "SKR03"
    assert job["warnings"] == []

    download = invoke("datev_export_download", path_parameters={"jobId": job_id})
    assert download.status == 200
    assert download.body["sha256"] == file["sha256"] and BUCKET in download.body["url"]
    assert f"/datev/{job_id}/" in download.body["url"]
    assert "X-Amz-Expires=300" in download.body["url"]
    # sevDesk's link (a credential for a week) never enters the execution's history
    assert "X-Amz-Signature" not in json.dumps(history(execution["executionArn"]), default=str)


def test_a_stalled_export_fails_at_its_deadline(
    monkeypatch: pytest.MonkeyPatch, emulator: Any, dispatch: Dispatch, fiscal_year_known: None
) -> None:
    emulator.export_fault = "stall"
    job_id, execution, _ = run_export(monkeypatch, machine={"ExportDeadlineMinutes": 0})

    assert execution["status"] == "FAILED"
    assert "DeadlinePassed" in states_entered(execution["executionArn"])
    assert "StoreExport" not in states_entered(execution["executionArn"])
    job = status(job_id)
    assert job["status"] == "failed" and job["file"] is None
    assert job["failure"]["code"] == "export_deadline_exceeded"
    assert "did not finish the export by its deadline" in job["failure"]["message"]
    assert "last progress 33 %" in job["failure"]["message"]
    refused = invoke("datev_export_download", path_parameters={"jobId": job_id})
    assert refused.status == 409 and refused.body["error"]["code"] == "export_failed"


def test_a_failing_sevdesk_is_retried_then_recorded(
    monkeypatch: pytest.MonkeyPatch, emulator: Any, dispatch: Dispatch, fiscal_year_known: None
) -> None:
    emulator.export_fault = "fail"  # past 50 % getProgress answers 500
    job_id, execution, _ = run_export(monkeypatch)

    assert execution["status"] == "FAILED"
    failed_polls = [i for i in dispatch.of("datev_export_progress") if i.error == "SevdeskUnavailable"]
    assert len(failed_polls) == 5  # the first try and the machine's four retries
    job = status(job_id)
    assert job["status"] == "failed" and job["failure"]["code"] == "sevdesk_unavailable"
    assert "HTTP 500" in job["failure"]["message"] and "The export job failed" in job["failure"]["message"]
    assert "Traceback" not in job["failure"]["message"] and "stackTrace" not in job["failure"]["message"]


def test_a_missing_precondition_fails_with_its_reason(
    monkeypatch: pytest.MonkeyPatch, emulator: Any, dispatch: Dispatch, sfn_aws: None
) -> None:
    # the settings do not know the fiscal year and sevDesk has no accountingYearBegin
    job_id, execution, _ = run_export(monkeypatch)

    assert execution["status"] == "FAILED"
    assert requests_to(emulator, f"/SevClient/{emulator.state.sev_client['id']}/updateExportConfig") == 0
    assert requests_to(emulator, CREATE) == 1 and not emulator.state.export_jobs
    failure = status(job_id)["failure"]
    assert failure["code"] == "export_precondition_missing"
    assert "accountingYearBegin" in failure["message"] and "datevFiscalYearStartMonth" in failure["message"]
    stored = datev_export_store.load(job_id)
    assert stored is not None and stored.pending_write is None  # refused: nothing left to settle


def test_a_lost_creation_answer_is_never_sent_again(
    monkeypatch: pytest.MonkeyPatch, emulator: Any, dispatch: Dispatch, fiscal_year_known: None
) -> None:
    emulator.faults.add(Fault(method="GET", path=CREATE, kind="lost_response"))
    job_id, execution, _ = run_export(monkeypatch)

    assert execution["status"] == "FAILED"
    assert requests_to(emulator, CREATE) == 1 and len(emulator.state.export_jobs) == 1  # sevDesk made it
    failure = status(job_id)["failure"]
    assert failure["code"] == "export_outcome_unknown"
    assert "not asked again" in failure["message"]
    stored = datev_export_store.load(job_id)
    assert stored is not None and stored.pending_write is not None
    assert stored.pending_write.operation == "createJob" and stored.sevdesk_job_id is None

    # The step run again (a redelivery, a retry after a timeout) reads its journal and sends nothing.
    datev_export_store.update(job_id, expect=("failed",), changes={"status": "running"})
    again = invoke_step("datev_export_create", {"jobId": job_id})
    assert again == "ExportOutcomeUnknown"
    assert requests_to(emulator, CREATE) == 1


def invoke_step(function: str, event: dict[str, Any]) -> Any:
    """A step handler called directly; its error's class name when it raises."""
    import importlib

    from tests.support.invoke import running_as
    from tests.support.lambda_context import FakeLambdaContext

    with running_as(function):
        module = importlib.import_module(f"functions.{function}.app")
        try:
            return module.lambda_handler(event, FakeLambdaContext(function_name=function))
        except Exception as error:
            return type(error).__name__


def test_a_chart_of_accounts_mismatch_is_reported(
    monkeypatch: pytest.MonkeyPatch, emulator: Any, dispatch: Dispatch, fiscal_year_known: None
) -> None:
    set_config(datevChartOfAccounts="SKR04")  # the emulator's account exports SKR03
    job_id, execution, _ = run_export(monkeypatch)

    assert execution["status"] == "SUCCEEDED"
    job = status(job_id)
    assert job["chartOfAccounts"] == "SKR04" and job["exportChartOfAccounts"] == "SKR03"
    (warning,) = job["warnings"]
    assert "SKR03" in warning and "SKR04" in warning


def test_progress_in_the_spec_shape_and_without_progress_calls(
    monkeypatch: pytest.MonkeyPatch, emulator: Any, dispatch: Dispatch, fiscal_year_known: None
) -> None:
    emulator.export_shape = "array"  # [SPEC]'s list of one for all three progress calls
    _, execution, _ = run_export(monkeypatch)
    assert execution["status"] == "SUCCEEDED"

    # generateDownloadHash refused: the machine polls jobDownloadInfo until a link appears
    emulator.export_shape = "object"
    emulator.faults.add(Fault(path="/Progress/generateDownloadHash", kind="status", status=404, times=None))
    job_id, execution, _ = run_export(monkeypatch, startDate="2026-02-01", endDate="2026-02-28")
    assert execution["status"] == "SUCCEEDED"
    modes = [i.event.get("progress", {}).get("mode") for i in dispatch.of("datev_export_progress")]
    assert modes[-1] == "downloadInfo"
    assert status(job_id)["status"] == "succeeded"


def test_an_xml_export_and_a_large_zip_in_parts(
    monkeypatch: pytest.MonkeyPatch, emulator: Any, dispatch: Dispatch, fiscal_year_known: None
) -> None:
    monkeypatch.setenv("EXPORT_PART_BYTES", str(5 * 1024 * 1024))
    emulator.export_zip_size_bytes = 12 * 1024 * 1024
    job_id, execution, _ = run_export(monkeypatch, format="xml", scope="E")

    assert execution["status"] == "SUCCEEDED"
    (sevdesk_job,) = emulator.state.export_jobs.values()
    assert sevdesk_job["kind"] == "xml"
    output = json.loads(execution["output"])
    assert output["stored"]["parts"] == 3 and output["stored"]["sizeBytes"] == 12 * 1024 * 1024
    job = status(job_id)
    assert job["exportChartOfAccounts"] == "unknown" and job["warnings"] == []
    stored = datev_export_store.load(job_id)
    assert stored is not None and stored.s3_key is not None
    assert any(name.endswith("/document.xml") for name in stored_zip(stored.s3_key).namelist())


def test_an_execution_whose_job_is_not_queued_does_nothing(
    monkeypatch: pytest.MonkeyPatch, emulator: Any, dispatch: Dispatch, sfn_aws: None
) -> None:
    """E.g. the route marked the job failed because the start looked refused, yet it had started."""
    from datetime import UTC, datetime

    from sevdesk_common import workflows
    from sevdesk_common.models.datev_export import DatevExportJob, DatevExportRequest

    machine = use_machine(monkeypatch)
    request = DatevExportRequest.model_validate({"startDate": "2026-01-01", "endDate": "2026-01-31"})
    now = datetime.now(UTC)
    job = DatevExportJob(
        job_id="5b0e1c2d-3f4a-4b5c-8d6e-7f8091a2b3c4",
        status="failed",
        request=request.normalized(),
        fingerprint=request.fingerprint(),
        requested_by="ops-admin-1",
        created_at=now,
        updated_at=now,
        failure_error="ExportNotStarted",
    )
    datev_export_store.insert(job, replacing=None)
    assert workflows.start_export(job.job_id) is True

    execution = wait_for(execution_arn(machine, job.job_id))
    assert execution["status"] == "FAILED" and execution["error"] == "ExportJobNotRunning"
    assert dispatch.invocations == [] and not emulator.requests
    stored = datev_export_store.load(job.job_id)
    assert stored is not None and stored.status == "failed" and stored.failure_error == "ExportNotStarted"
