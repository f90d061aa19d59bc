"""DATEV export jobs (NOTES.md §11, §13; shapes from [SPEC] only, so partly UNCONFIRMED).

A job advances one step per getProgress or jobDownloadInfo poll and is done after
`emu.export_progress_polls` polls. `emu.export_fault` (taken when the job is created) makes it fail
halfway, stall below 100, or refuses creation with 409; `emu.export_shape` "array" answers the three
progress calls as [SPEC] types them (a list of one) instead of the single values clients read.
"""

from __future__ import annotations

import calendar
import hashlib
import uuid
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from devtools.sevdesk_emulator.datev_zip import archive_name
from devtools.sevdesk_emulator.routing import Request, Response, ok, route
from devtools.sevdesk_emulator.store import Record
from devtools.sevdesk_emulator.wire import (
    BERLIN,
    ApiError,
    bad_request,
    iso,
    not_found,
    parse_moment,
    to_bool,
    to_int,
)

if TYPE_CHECKING:
    from devtools.sevdesk_emulator.emulator import SevdeskEmulator

CSV_SCOPE = frozenset("EXTCD")
XML_SCOPE = frozenset("EX")
LINK_LIFETIME = timedelta(days=7)
STALLED_AT = 50  # a stalled job never gets past this
FAILS_AT = 50  # a failing job reports an error once it would pass this


@route("PUT", "/SevClient/{client_id}/updateExportConfig")
def update_export_config(emu: SevdeskEmulator, req: Request, params: dict[str, str]) -> Response:
    if params["client_id"] != emu.state.sev_client["id"]:
        raise not_found("SevClient", params["client_id"])
    data = req.data()
    config = emu.state.export_config
    for key in ("accountantNumber", "accountantClientNumber"):
        if data.get(key) not in (None, ""):
            config[key] = str(data[key])
    if data.get("accountingYearBegin") not in (None, ""):
        config["accountingYearBegin"] = iso(parse_moment(data["accountingYearBegin"], "accountingYearBegin"))
    return ok(None)


def _one_year_later(moment: datetime) -> datetime:
    day = min(moment.day, calendar.monthrange(moment.year + 1, moment.month)[1])
    return moment.replace(year=moment.year + 1, day=day)


def _create_job(emu: SevdeskEmulator, req: Request, kind: str, allowed: frozenset[str]) -> Response:
    query = req.query
    missing = [key for key in ("startDate", "endDate", "scope") if not query.get(key)]
    if missing:
        raise bad_request(f"Missing required parameters: {', '.join(missing)}")
    scope = query["scope"]
    if not set(scope) <= allowed:
        raise bad_request(f"scope may only contain {''.join(sorted(allowed))}")
    start, end = to_int(query["startDate"], "startDate"), to_int(query["endDate"], "endDate")
    if end < start:
        raise ApiError(422, "endDate must not be before startDate")
    # DATEV batches cover at most one (fiscal) year; sevDesk's own limit is undocumented
    if datetime.fromtimestamp(end, BERLIN) >= _one_year_later(datetime.fromtimestamp(start, BERLIN)):
        raise ApiError(422, "The export period must not be longer than one year")
    if "accountingYearBegin" not in emu.state.export_config:
        raise ApiError(409, "Export config incomplete: accountingYearBegin is not set")
    if emu.export_fault == "refuse":
        raise ApiError(409, "Another export job is still running")  # UNCONFIRMED cause of 409
    job_id = str(uuid.uuid4())
    emu.state.export_jobs[job_id] = {
        "id": job_id,
        "kind": kind,
        "scope": scope,
        "startDate": start,
        "endDate": end,
        "exportByPaydate": to_bool(query.get("exportByPaydate", "")),
        "includeEnshrined": to_bool(query.get("includeEnshrined", "true")),
        "includeDocumentImages": to_bool(
            query.get("includeDocumentXml" if kind == "xml" else "includeDocumentImages", "")
        ),
        "hash": f"{hashlib.sha1(job_id.encode()).hexdigest()}_{job_id[:8]}",
        "polls": 0,
        "fault": emu.export_fault,
        "created": iso(emu.now()),
    }
    return ok(job_id)


@route("GET", "/Export/createDatevCsvZipExportJob")
def create_csv_job(emu: SevdeskEmulator, req: Request, _: dict[str, str]) -> Response:
    return _create_job(emu, req, "csv", CSV_SCOPE)


@route("GET", "/Export/createDatevXmlZipExportJob")
def create_xml_job(emu: SevdeskEmulator, req: Request, _: dict[str, str]) -> Response:
    return _create_job(emu, req, "xml", XML_SCOPE)


def get_job(emu: SevdeskEmulator, job_id: str | None) -> Record:
    job = emu.state.export_jobs.get(job_id or "")
    if job is None:
        raise not_found("ExportJob", job_id)
    return job


def _advance(emu: SevdeskEmulator, job: Record) -> int:
    """One poll: the job moves on and answers its progress (0..100), or fails."""
    job["polls"] += 1
    polls = emu.export_progress_polls
    current = 100 if polls <= 0 else min(100, round(100 * job["polls"] / polls))
    if job["fault"] == "stall":
        current = min(current, STALLED_AT)
    if job["fault"] == "fail" and current > FAILS_AT:
        job["failed"] = True
    if job.get("failed"):
        raise ApiError(500, "The export job failed")
    return current


def _shaped(emu: SevdeskEmulator, value: Any) -> Response:
    return ok([value] if emu.export_shape == "array" else value)


@route("GET", "/Progress/generateDownloadHash")
def download_hash(emu: SevdeskEmulator, req: Request, _: dict[str, str]) -> Response:
    return _shaped(emu, get_job(emu, req.query.get("jobId"))["hash"])


@route("GET", "/Progress/getProgress")
def progress(emu: SevdeskEmulator, req: Request, _: dict[str, str]) -> Response:
    wanted = req.query.get("hash")
    job = next((j for j in emu.state.export_jobs.values() if j["hash"] == wanted), None)
    if job is None:
        raise bad_request(f"Unknown progress hash {wanted}")
    return _shaped(emu, {"current": _advance(emu, job), "total": 100})


@route("GET", "/ExportJob/jobDownloadInfo")
def download_info(emu: SevdeskEmulator, req: Request, _: dict[str, str]) -> Response:
    job = get_job(emu, req.query.get("jobId"))
    # polling here also moves the job on, so clients that skip getProgress still finish
    if _advance(emu, job) < 100:
        raise ApiError(400, "Export job is not finished yet")  # UNCONFIRMED shape
    job["done"] = True
    signature = hashlib.sha256(f"{job['id']}{job['created']}".encode()).hexdigest()
    query = f"X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=604800&X-Amz-Signature={signature}"
    info = {
        "filename": archive_name(job),
        "link": f"{req.origin}/__emulator__/exports/{job['id']}.zip?{query}",
        "linkExpireDate": iso(emu.now() + LINK_LIFETIME),
    }
    return _shaped(emu, info)
