"""The DATEV export state machine's steps (statemachines/datev_export.asl.json), one Lambda each.

Each takes the execution's state and returns what the next states read. Status changes without
logic (running, succeeded, failed) are the machine's native DynamoDB tasks, not code here.
Errors are raised by class; the machine retries the transient ones (its Retry lists the names)
and records any other as the job's failure.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import httpx

from sevdesk_common import datev_export_store as store
from sevdesk_common import export_bucket
from sevdesk_common.clients import sevdesk_client
from sevdesk_common.export_errors import (
    ExportBusy,
    ExportDownloadFailed,
    ExportFileInvalid,
    ExportJobNotRunning,
    ExportOutcomeUnknown,
    ExportPeriodRefused,
    ExportPreconditionMissing,
    ExportSettingsRefused,
)
from sevdesk_common.models.record import PendingWrite
from sevdesk_common.models.retention import retain_until
from sevdesk_common.observability import logger, metrics
from sevdesk_common.repository import StaleItem
from sevdesk_common.services.config import load_config
from sevdesk_common.services.datev_archive import batch_chart_of_accounts, safe_file_name
from sevdesk_common.services.datev_period import fiscal_year_start
from sevdesk_common.settings import get_settings
from sevdesk_common.sevdesk.errors import (
    SevdeskError,
    SevdeskNotFound,
    SevdeskProtocolError,
    SevdeskRefused,
)
from sevdesk_common.writes import WriteOnce

if TYPE_CHECKING:  # the client (and httpx) load at first use: see clients.client_for
    from sevdesk_common.errors import AppError
    from sevdesk_common.models.datev_export import DatevExportJob, DatevExportRequest
    from sevdesk_common.sevdesk.client import SevdeskClient


DOWNLOAD_CHUNK_BYTES = 1024 * 1024
ZIP_SIGNATURES = (b"PK\x03\x04", b"PK\x05\x06")  # a local file header; an empty archive's end record


def _now() -> datetime:
    return datetime.now(UTC)


def _timestamp(moment: datetime) -> str:
    """RFC 3339 in UTC to the second, the form the machine's Choice compares (moto reads no other)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _running(job_id: str) -> DatevExportJob:
    job = store.load(job_id)
    if job is None or job.status != "running":
        raise ExportJobNotRunning(f"Export job {job_id} is not running ({job.status if job else 'unknown'}).")
    return job


def _changed(job_id: str, changes: dict[str, Any], remove: tuple[str, ...] = ()) -> None:
    try:
        store.update(job_id, expect=("running",), changes=changes, remove=remove)
    except StaleItem:
        raise ExportJobNotRunning(f"Export job {job_id} stopped running.") from None


# ---------------------------------------------------------------- 1. precondition


def check_precondition(event: dict[str, Any]) -> dict[str, Any]:
    """sevDesk's export config needs the accounting year's start. sevDesk has no read of it, so:
    set it when the settings know the fiscal year's first month; otherwise leave sevDesk's own
    setting alone (the job creation then says whether it is missing)."""
    job = _running(event["jobId"])
    config = load_config()
    export_config = "not_set"
    month = config.datev_fiscal_year_start_month
    if month:
        begin = fiscal_year_start(job.request.start_date, month)
        client = sevdesk_client()
        try:
            client.update_export_config(
                config.account_id or _account_id(client),
                begin,
                accountant_number=config.datev_accountant_number,
                accountant_client_number=config.datev_client_number,
            )
        except (SevdeskRefused, SevdeskNotFound) as error:
            raise ExportSettingsRefused(
                f"sevDesk refused the DATEV export settings (accounting year from {begin}): "
                f"{error.message} Check datevAccountantNumber and datevClientNumber in the settings."
            ) from error
        export_config = "set"
    deadline_at = _now() + timedelta(minutes=int(event["deadlineMinutes"]))
    _changed(
        job.job_id,
        {
            "deadlineAt": deadline_at,
            "exportConfig": export_config,
            "chartOfAccounts": config.datev_chart_of_accounts,
        },
    )
    return {
        "deadlineAt": _timestamp(deadline_at),
        "exportConfig": export_config,
        "chartOfAccounts": config.datev_chart_of_accounts,
        "format": job.request.format,
    }


def _account_id(client: SevdeskClient) -> str:
    users = client.list_sev_users()
    account = users[0].sev_client if users else None
    if account is None:
        raise SevdeskProtocolError("sevDesk names no account (sevClient) for the export settings.")
    return account.id


# ---------------------------------------------------------------- 2. create sevDesk's job


class _JobJournal:
    """The job item is the write-once journal of sevDesk's job creation."""

    def __init__(self, job: DatevExportJob) -> None:
        self.job = job

    def pending(self) -> PendingWrite | None:
        return self.job.pending_write

    def announce(self, intent: PendingWrite) -> None:
        try:
            store.announce(self.job.job_id, intent)
        except StaleItem:
            raise ExportJobNotRunning(f"Export job {self.job.job_id} stopped running.") from None


def create_sevdesk_job(event: dict[str, Any]) -> dict[str, Any]:
    """Start sevDesk's export job, at most once per job.

    sevDesk lists no export jobs, so a creation whose answer was lost cannot be settled by a
    read: the announcement stays in the job item and the job fails (ExportOutcomeUnknown)
    rather than start a second export in sevDesk. A definite answer (the job id, or a refusal:
    nothing was applied) settles it."""
    job = _running(event["jobId"])
    if job.sevdesk_job_id:  # a repeated step after the id was stored
        return {"sevdeskJobId": job.sevdesk_job_id}
    writer = WriteOnce(_JobJournal(job))
    client = sevdesk_client()
    try:
        written = writer.run(
            PendingWrite(action="export", operation="createJob", at=_now()),
            send=lambda: _send_create(client, job.request),
            find=lambda: None,
            policy="confirm",
            describe="starting the DATEV export in sevDesk",
            unconfirmed=_unconfirmed,
        )
    except SevdeskError as error:
        if writer.settled:  # definitely not applied: a later attempt may send it
            _changed(job.job_id, {}, remove=("pendingWrite",))
        if isinstance(error, SevdeskRefused):
            raise _refusal(error, job) from error
        raise
    _changed(job.job_id, {"sevdeskJobId": written.value}, remove=("pendingWrite",))
    metrics.add_metric(name="DatevExportJobsCreated", unit="Count", value=1)
    return {"sevdeskJobId": written.value}


def _send_create(client: SevdeskClient, request: DatevExportRequest) -> str:
    if request.format == "xml":
        return client.create_datev_xml_zip_export_job(
            request.start_date,
            request.end_date,
            request.scope,
            export_by_paydate=request.export_by_paydate,
            include_enshrined=request.include_enshrined,
            include_exported_documents=request.include_exported_documents is not False,
            include_document_xml=request.include_document_xml is not False,
        )
    return client.create_datev_csv_zip_export_job(
        request.start_date,
        request.end_date,
        request.scope,
        export_by_paydate=request.export_by_paydate,
        include_enshrined=request.include_enshrined,
        enshrine_documents=request.enshrine_documents,
        include_document_images=request.include_document_images is not False,
    )


def _unconfirmed(intent: PendingWrite) -> ExportOutcomeUnknown:
    return ExportOutcomeUnknown(
        f"sevDesk did not confirm starting the export (asked at {intent.at.isoformat(timespec='seconds')}), "
        "and it offers no list of export jobs to check. It was not asked again, so no second export "
        "runs behind your back; sevDesk may still have made it. Start the export again to get the file.",
        retry_after=60,
    )


def _refusal(error: SevdeskRefused, job: DatevExportJob) -> AppError:
    if error.http_status == 409:
        if job.export_config == "set":
            return ExportBusy(f"{error.message}; another export may still be running in sevDesk.")
        return ExportPreconditionMissing(
            f"{error.message}. sevDesk needs the accounting "
            "year's start (accountingYearBegin) for DATEV exports. It is set automatically once the "
            "settings have datevFiscalYearStartMonth (PUT /api/sevdesk/config), or set it in sevDesk's "
            "DATEV export settings; then start the export again."
        )
    period = f"{job.request.start_date} to {job.request.end_date}"
    return ExportPeriodRefused(f"{error.message} (the export of {period}, scope {job.request.scope}).")


# ---------------------------------------------------------------- 3. progress


def check_progress(event: dict[str, Any]) -> dict[str, Any]:
    """One poll. Progress/generateDownloadHash + getProgress first (shapes never captured: the
    client reads several); when those are unusable, ExportJob/jobDownloadInfo until it has a link."""
    job_id, sevdesk_job_id = event["jobId"], event["created"]["sevdeskJobId"]
    previous = event.get("progress") or {}
    mode, progress_hash = previous.get("mode", "progress"), previous.get("hash")
    percent, done = int(previous.get("percent", 0)), False
    client = sevdesk_client()
    if mode == "progress":
        try:
            progress_hash = progress_hash or client.generate_download_hash(sevdesk_job_id)
            progress = client.get_progress(progress_hash)
            percent, done = max(percent, progress.percent), progress.done
        except (SevdeskProtocolError, SevdeskRefused, SevdeskNotFound) as error:
            # an unreadable shape, a refusal, or no such endpoint: jobDownloadInfo tells as well
            logger.warning(
                "export progress unreadable; polling jobDownloadInfo instead", extra={"code": error.code}
            )
            mode, progress_hash = "downloadInfo", None
    if mode == "downloadInfo":
        done = _download_ready(client, sevdesk_job_id)
        percent = 100 if done else percent
    if percent != int(previous.get("percent", -1)):
        _changed(job_id, {"progress": percent})
    return {
        "mode": mode,
        "hash": progress_hash,
        "percent": percent,
        "done": done,
        "checkedAt": _timestamp(_now()),
    }


def _download_ready(client: SevdeskClient, sevdesk_job_id: str) -> bool:
    try:
        client.job_download_info(sevdesk_job_id)
    except SevdeskRefused:  # sevDesk answers an error until the file is ready
        return False
    return True


# ---------------------------------------------------------------- 4. download into our bucket


def store_export(event: dict[str, Any]) -> dict[str, Any]:
    """Stream the ZIP from sevDesk's link into the export bucket. The link (a credential for a
    week) is fetched here, never passed through the execution's history or logged."""
    job_id, sevdesk_job_id = event["jobId"], event["created"]["sevdeskJobId"]
    configured = event["job"]["chartOfAccounts"]
    try:
        info = sevdesk_client().job_download_info(sevdesk_job_id)
    except SevdeskRefused as error:
        raise ExportDownloadFailed(
            f"sevDesk has no file for the finished export yet: {error.message}"
        ) from error
    name = safe_file_name(info.filename)
    # Kept like books: ten years after the end of the year the file is made (models/retention.py);
    # never shorter than the bucket's default retention, which only an extension may follow.
    until = retain_until("books", _now().date())
    stored = export_bucket.upload_stream(f"datev/{job_id}/{name}", _download(info.link), retain_until=until)
    found = "unknown"
    if event["job"]["format"] == "csv":
        found = batch_chart_of_accounts(stored.key, stored.size_bytes)
    if found != "unknown" and found != configured:
        logger.warning(
            "DATEV export chart differs from the settings", extra={"found": found, "configured": configured}
        )
        metrics.add_metric(name="DatevChartMismatch", unit="Count", value=1)
    return {
        "s3Key": stored.key,
        "fileName": name,
        "sizeBytes": stored.size_bytes,
        "sha256": stored.sha256,
        "parts": stored.parts,
        "exportChartOfAccounts": found,
    }


def _download(link: str) -> Iterator[bytes]:
    """The ZIP's bytes as they arrive (no sevDesk token: the link is presigned)."""
    timeout = httpx.Timeout(get_settings().export_download_timeout_seconds, connect=10.0)
    received, head = 0, b""
    try:
        with (
            httpx.Client(timeout=timeout, follow_redirects=True) as http,
            http.stream("GET", link) as response,
        ):
            if response.status_code != 200:
                raise ExportDownloadFailed(f"sevDesk's download link answered HTTP {response.status_code}.")
            expected = response.headers.get("Content-Length")
            for chunk in response.iter_bytes(DOWNLOAD_CHUNK_BYTES):
                if len(head) < 4:
                    head += chunk[:4]
                    if len(head) >= 4 and head[:4] not in ZIP_SIGNATURES:
                        raise ExportFileInvalid(
                            f"sevDesk's download is not a ZIP file (it starts {head[:4]!r})."
                        )
                received += len(chunk)
                yield chunk
    except httpx.HTTPError as error:
        raise ExportDownloadFailed(
            f"The download of sevDesk's ZIP broke off after {received} bytes ({type(error).__name__})."
        ) from error
    if expected is not None and expected.isdigit() and received != int(expected):
        raise ExportDownloadFailed(f"sevDesk's ZIP arrived incomplete: {received} of {expected} bytes.")
    if len(head) < 4:
        raise ExportFileInvalid(f"sevDesk's download is not a ZIP file ({received} bytes).")
