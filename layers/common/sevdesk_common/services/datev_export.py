"""DATEV export routes: start (store the job, start its state machine), status, download, list.

The work itself runs in the state machine (services/datev_steps.py). The start route stores the
job first and then starts the execution named after it, so neither can be left without the
other: a start Step Functions refuses marks the job failed; a start that never happened (the
route died in between) is made by the next status read or the same request repeated, and an
execution whose job is no longer queued stops at its first state.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from sevdesk_common import datev_export_store as store
from sevdesk_common import export_bucket, export_errors, workflows
from sevdesk_common.datev_export_store import InvalidCursor
from sevdesk_common.errors import AppError, BadRequest, Conflict
from sevdesk_common.export_errors import ExportFailed, ExportNotFound, ExportNotReady, ExportNotStarted
from sevdesk_common.models.datev_export import (
    DatevExportAccepted,
    DatevExportDownload,
    DatevExportJob,
    DatevExportPage,
    DatevExportRequest,
    DatevExportView,
    ExportFailure,
    ExportFile,
)
from sevdesk_common.observability import logger, metrics, redact
from sevdesk_common.repository import StaleItem
from sevdesk_common.services.config import load_config
from sevdesk_common.services.datev_period import berlin_today, period_problems
from sevdesk_common.settings import get_settings
from sevdesk_common.sevdesk import errors as sevdesk_errors

if TYPE_CHECKING:
    from sevdesk_common.auth import Caller

# A failed job names its error by class; these modules define the ones a step raises.
_ERROR_MODULES = (sevdesk_errors, export_errors)

# A job not finished after this long no longer holds its request: its run ended without writing
# a result (stopped by hand, say). Longer than the longest run the template allows.
ACTIVE_AT_MOST = timedelta(hours=4)
# A job still queued after this long lost its start (the route died before it): start it now.
START_GRACE = timedelta(seconds=10)
_MAX_RACES = 3


def start_export(request: DatevExportRequest, caller: Caller) -> DatevExportAccepted:
    request = request.normalized()
    config = load_config()
    problems = period_problems(request, berlin_today(), config.datev_fiscal_year_start_month or 1)
    if problems:
        summary = "; ".join(f"{p['field']}: {p['message']}" for p in problems)
        raise BadRequest(f"Invalid export period: {summary}", details=problems)
    fingerprint = request.fingerprint()
    for _ in range(_MAX_RACES):
        previous_id = store.claimed_job_id(fingerprint)
        previous = store.load(previous_id) if previous_id else None
        if previous is not None and _holds_request(previous):
            _ensure_started(previous)
            return _accepted(previous, already_running=True)
        now = datetime.now(UTC)
        job = DatevExportJob(
            job_id=str(uuid.uuid4()),
            status="queued",
            request=request,
            fingerprint=fingerprint,
            requested_by=caller.user_id,
            created_at=now,
            updated_at=now,
            chart_of_accounts=config.datev_chart_of_accounts,
        )
        try:
            store.insert(job, replacing=previous_id)
        except StaleItem:
            continue  # the same request was just claimed by another caller: answer with that job
        metrics.add_metric(name="DatevExportsStarted", unit="Count", value=1)
        return _accepted(_start(job), already_running=False)
    raise Conflict("The same export is being started concurrently; try again.", code="export_busy")


def _holds_request(job: DatevExportJob) -> bool:
    return not job.is_finished and datetime.now(UTC) - job.created_at < ACTIVE_AT_MOST


def _start(job: DatevExportJob) -> DatevExportJob:
    try:
        workflows.start_export(job.job_id)
    except workflows.StartFailed as error:
        return _not_started(job, redact(str(error)))
    return job


def _not_started(job: DatevExportJob, reason: str) -> DatevExportJob:
    logger.error("DATEV export not started", extra={"job_id": job.job_id, "reason": reason})
    message = f"The export could not be started (Step Functions: {reason}). Nothing runs; start it again."
    try:
        store.update(
            job.job_id,
            expect=("queued",),
            changes={
                "status": "failed",
                "finishedAt": datetime.now(UTC),
                "failureError": ExportNotStarted.__name__,
                "failureCause": message,
            },
        )
    except StaleItem:
        # No longer queued: the execution did start (only its answer was lost) and runs.
        started = store.load(job.job_id)
        if started is not None:
            return started
    except (ClientError, BotoCoreError):
        # The job stays queued: the next status read starts it (idempotent by name).
        logger.exception("could not mark the unstarted export failed", extra={"job_id": job.job_id})
    raise ExportNotStarted(message, retry_after=10)


def _ensure_started(job: DatevExportJob) -> None:
    """A job queued for longer than it takes to start has lost its start: start it (a no-op when
    its execution exists)."""
    if job.status != "queued" or datetime.now(UTC) - job.created_at < START_GRACE:
        return
    try:
        if workflows.start_export(job.job_id):
            logger.warning("started a DATEV export whose start was lost", extra={"job_id": job.job_id})
    except workflows.StartFailed as error:
        logger.warning("could not start a queued export", extra={"job_id": job.job_id, "reason": str(error)})


def get_status(job_id: str) -> DatevExportView:
    job = _load_or_404(job_id)
    _ensure_started(job)
    return view(job)


def get_download(job_id: str) -> DatevExportDownload:
    job = _load_or_404(job_id)
    if job.status == "failed":
        failure = _failure(job)
        raise ExportFailed(f"The export failed, so there is no file: {failure.message} Start it again.")
    if job.status != "succeeded" or not (job.s3_key and job.file_name and job.sha256):
        raise ExportNotReady(
            f"The export is {job.status} ({job.progress} %); the file can be downloaded once it succeeded.",
            retry_after=10,
        )
    expires_at = datetime.now(UTC) + timedelta(seconds=get_settings().export_link_seconds)
    return DatevExportDownload(
        url=export_bucket.presigned_download(job.s3_key, job.file_name),
        expires_at=expires_at,
        file_name=job.file_name,
        size_bytes=job.size_bytes or 0,
        sha256=job.sha256,
    )


def list_exports(*, limit: int, cursor: str | None) -> DatevExportPage:
    try:
        jobs, next_cursor = store.list_jobs(limit=limit, cursor=cursor)
    except InvalidCursor:
        raise BadRequest("cursor: not a cursor this API returned", details=[{"field": "cursor"}]) from None
    return DatevExportPage(jobs=[view(job) for job in jobs], next_cursor=next_cursor)


def _load_or_404(job_id: str) -> DatevExportJob:
    job = store.load(job_id)
    if job is None:
        raise ExportNotFound(f"No DATEV export job {job_id}.")
    return job


# ---------------------------------------------------------------- views


def view(job: DatevExportJob) -> DatevExportView:
    request = job.request
    return DatevExportView(
        job_id=job.job_id,
        status=job.status,
        progress_percent=100 if job.status == "succeeded" else max(0, min(100, job.progress)),
        start_date=request.start_date,
        end_date=request.end_date,
        scope=request.scope,
        format=request.format,
        export_by_paydate=request.export_by_paydate,
        include_enshrined=request.include_enshrined,
        enshrine_documents=request.enshrine_documents,
        include_document_images=request.include_document_images,
        include_exported_documents=request.include_exported_documents,
        include_document_xml=request.include_document_xml,
        requested_by=job.requested_by,
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
        chart_of_accounts=job.chart_of_accounts,
        export_chart_of_accounts=job.export_chart_of_accounts,
        warnings=_warnings(job),
        failure=_failure(job) if job.status == "failed" else None,
        file=_file(job),
    )


def _accepted(job: DatevExportJob, *, already_running: bool) -> DatevExportAccepted:
    return DatevExportAccepted(**dict(view(job)), already_running=already_running)


def _file(job: DatevExportJob) -> ExportFile | None:
    if job.status != "succeeded" or not (job.file_name and job.sha256 and job.size_bytes is not None):
        return None
    return ExportFile(name=job.file_name, size_bytes=job.size_bytes, sha256=job.sha256)


def _warnings(job: DatevExportJob) -> list[str]:
    warnings = []
    if job.chart_mismatch:
        warnings.append(
            f"The export uses {job.export_chart_of_accounts} (sevDesk exports with the account's own "
            f"chart of accounts), but the settings say datevChartOfAccounts {job.chart_of_accounts}: "
            "check which chart the accountant expects before importing, and correct one of them."
        )
    if job.request.enshrine_documents:
        warnings.append("enshrineDocuments was set: sevDesk locks every exported document for good.")
    return warnings


def _failure(job: DatevExportJob) -> ExportFailure:
    """The reason in words: our step's own message (Step Functions records the Lambda error as
    JSON with errorMessage and a stack trace; only the message is shown)."""
    name = job.failure_error or "Unknown"
    cause = job.failure_cause or ""
    message = cause
    try:
        parsed = json.loads(cause)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict) and isinstance(parsed.get("errorMessage"), str):
        message = parsed["errorMessage"]
    known = _error_class(name)
    if known is None:
        message = f"A step of the export failed ({name})" + (f": {message}" if message else ".")
    return ExportFailure(code=known.code if known else "export_step_failed", message=redact(message)[:2000])


def _error_class(name: str) -> type[AppError] | None:
    pending: list[type[AppError]] = [AppError]
    while pending:
        cls = pending.pop()
        if cls.__name__ == name:
            return cls
        pending.extend(cls.__subclasses__())
    return None
