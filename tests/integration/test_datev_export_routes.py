"""The DATEV export routes: what a bad request hears, the same export asked for twice, a start that
Step Functions refuses or that got lost, status, download and the list. The machine here only
records executions (plain moto), so jobs stay queued; test_datev_export_machine.py runs them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from sevdesk_common import datev_export_store
from sevdesk_common.models.datev_export import DatevExportJob, DatevExportRequest
from tests.integration.datev_support import PERIOD, set_config, start
from tests.support.invoke import STAFF, invoke
from tests.support.stepfunctions import create


@pytest.fixture
def machine(aws: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    from tests.support.lambda_context import clear_process_caches

    arn = create("DatevExportStateMachine")
    monkeypatch.setenv("EXPORT_STATE_MACHINE_ARN", arn)
    clear_process_caches()
    return arn


def executions(machine: str) -> list[str]:
    listed = boto3.client("stepfunctions").list_executions(stateMachineArn=machine)["executions"]
    return sorted(e["name"] for e in listed)


def fields_of(result: Any) -> list[str]:
    return [d["field"] for d in result.body["error"]["details"]]


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"startDate": "2026-03-01", "endDate": "2026-02-01"}, "endDate", "before the start date"),
        ({"startDate": "2099-01-01", "endDate": "2099-01-31"}, "startDate", "lies in the future"),
        ({"startDate": "2025-01-01", "endDate": "2026-01-01"}, "endDate", "a year or longer"),
        (
            {"startDate": "2025-12-01", "endDate": "2026-01-31"},
            "endDate",
            "crosses the start of the fiscal year",
        ),
        (
            {"startDate": "2026-01-01", "endDate": "2026-01-31", "format": "xml", "scope": "ET"},
            "body",
            "E and X",
        ),
        (
            {"startDate": "2026-01-01", "endDate": "2026-01-31", "format": "xml", "enshrineDocuments": True},
            "body",
            "enshrineDocuments",
        ),
        ({"startDate": "2026-01-01", "endDate": "2026-01-31", "scope": "EE"}, "body", "at most once"),
        ({"startDate": "2026-01-01", "endDate": "2026-01-31", "scope": "Q"}, "scope", "pattern"),
        ({"startDate": "01.01.2026", "endDate": "2026-01-31"}, "startDate", "YYYY-MM-DD"),
        (
            {"startDate": "2026-01-01", "endDate": "2026-01-31", "enshrineDocuments": "yes"},
            "enshrineDocuments",
            "",
        ),
    ],
    ids=[
        "end-before-start",
        "start-in-future",
        "a-year",
        "two-fiscal-years",
        "xml-scope",
        "xml-enshrine",
        "scope-twice",
        "scope-letter",
        "german-date",
        "flag-not-bool",
    ],
)
def test_a_bad_export_request_is_a_400_naming_the_problem(
    machine: str, body: dict[str, Any], field: str, words: str
) -> None:
    result = invoke("datev_export_start", body=body)
    assert result.status == 400, result.body
    assert result.body["error"]["code"] == "validation_error"
    assert field in fields_of(result) and words in result.body["error"]["message"]
    assert executions(machine) == []


def test_the_fiscal_year_follows_the_settings(machine: str) -> None:
    set_config(datevFiscalYearStartMonth=7)  # July to June
    assert start(startDate="2025-12-01", endDate="2026-01-31").status == 202
    crossing = start(startDate="2026-06-01", endDate="2026-07-31")
    assert crossing.status == 400 and "2026-07-01" in crossing.body["error"]["message"]


def test_the_same_export_asked_twice_runs_once(machine: str) -> None:
    first = start(scope="XE")
    again = start(scope="EX")  # the same letters in sevDesk's order: the same request
    assert first.status == again.status == 202
    assert again.body["jobId"] == first.body["jobId"] and again.body["alreadyRunning"] is True
    other = start(scope="E")
    assert other.body["jobId"] != first.body["jobId"] and other.body["alreadyRunning"] is False
    assert executions(machine) == sorted([first.body["jobId"], other.body["jobId"]])
    assert first.body["requestedBy"] == "ops-admin-1" and first.body["includeDocumentImages"] is True


def test_a_finished_export_no_longer_holds_its_request(machine: str) -> None:
    first = start().body["jobId"]
    datev_export_store.update(first, expect=("queued",), changes={"status": "failed"})
    second = start()
    assert second.body["jobId"] != first and second.body["alreadyRunning"] is False


def test_a_job_stuck_for_hours_no_longer_holds_its_request(machine: str) -> None:
    """Its run ended without writing a result (stopped by hand, say): the request is free again."""
    first = start().body["jobId"]
    hours_ago = datetime.now(UTC) - timedelta(hours=5)
    datev_export_store.update(
        first, expect=("queued",), changes={"status": "running", "createdAt": hours_ago}
    )
    second = start()
    assert second.body["jobId"] != first and second.body["alreadyRunning"] is False


def test_a_start_step_functions_refuses_leaves_no_orphan(
    machine: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.support.lambda_context import clear_process_caches

    monkeypatch.setenv("EXPORT_STATE_MACHINE_ARN", machine.replace("DatevExportStateMachine", "Missing"))
    clear_process_caches()
    refused = start()
    assert refused.status == 503 and refused.body["error"]["code"] == "export_not_started"
    assert int(refused.headers["retry-after"]) >= 1
    (job,), _ = datev_export_store.list_jobs(limit=5, cursor=None)
    assert job.status == "failed" and job.failure_error == "ExportNotStarted"
    assert executions(machine) == []
    # The job failed, so the same request starts a new one once Step Functions takes it.
    monkeypatch.setenv("EXPORT_STATE_MACHINE_ARN", machine)
    clear_process_caches()
    assert start().body["alreadyRunning"] is False


def test_a_lost_start_is_made_by_the_next_status_read(machine: str) -> None:
    """The route died between storing the job and starting it: the job is queued, nothing runs."""
    request = DatevExportRequest.model_validate(PERIOD).normalized()
    created = datetime.now(UTC) - timedelta(minutes=1)
    job = DatevExportJob(
        job_id="3f0c6f2e-9d1b-4c7a-8e5f-2a1b0c9d8e7f",
        status="queued",
        request=request,
        fingerprint=request.fingerprint(),
        requested_by="ops-admin-1",
        created_at=created,
        updated_at=created,
    )
    datev_export_store.insert(job, replacing=None)
    assert executions(machine) == []

    answered = invoke("datev_export_status", path_parameters={"jobId": job.job_id})
    assert answered.status == 200 and answered.body["status"] == "queued"
    assert executions(machine) == [job.job_id]
    assert invoke("datev_export_status", path_parameters={"jobId": job.job_id}).status == 200
    assert executions(machine) == [job.job_id]  # started once, by name


def test_status_and_download_before_the_file_exists(machine: str) -> None:
    job_id = start().body["jobId"]
    status = invoke("datev_export_status", path_parameters={"jobId": job_id})
    assert status.status == 200 and status.body["progressPercent"] == 0 and status.body["file"] is None
    download = invoke("datev_export_download", path_parameters={"jobId": job_id})
    assert download.status == 409 and download.body["error"]["code"] == "export_not_ready"
    assert int(download.headers["retry-after"]) >= 1

    unknown = "00000000-0000-4000-8000-000000000000"
    for route in ("datev_export_status", "datev_export_download"):
        missing = invoke(route, path_parameters={"jobId": unknown})
        assert missing.status == 404 and missing.body["error"]["code"] == "export_not_found"


def test_recent_exports_newest_first_in_pages(machine: str) -> None:
    ids = [
        start(startDate=f"2026-0{month}-01", endDate=f"2026-0{month}-10").body["jobId"] for month in (1, 2, 3)
    ]
    first = invoke("datev_export_list", query={"limit": "2"})
    assert first.status == 200
    assert [j["jobId"] for j in first.body["jobs"]] == [ids[2], ids[1]]
    rest = invoke("datev_export_list", query={"limit": "2", "cursor": first.body["nextCursor"]})
    assert [j["jobId"] for j in rest.body["jobs"]] == [ids[0]]
    assert rest.body["nextCursor"] is None

    bad = invoke("datev_export_list", query={"cursor": "bm90LWEtY3Vyc29y"})
    assert bad.status == 400 and bad.body["error"]["details"] == [{"field": "cursor"}]


def test_exports_are_for_admins(machine: str) -> None:
    assert invoke("datev_export_start", claims=STAFF, body=PERIOD).status == 403
    assert invoke("datev_export_list", claims=STAFF).status == 403
