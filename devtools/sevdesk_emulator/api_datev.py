"""DATEV export jobs (NOTES.md §11; shapes from [SPEC] only, so partly UNCONFIRMED)."""

from __future__ import annotations

import hashlib
import io
import random
import uuid
import zipfile
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from devtools.sevdesk_emulator.routing import Request, Response, ok, route
from devtools.sevdesk_emulator.store import Record
from devtools.sevdesk_emulator.wire import BERLIN, ApiError, bad_request, iso, not_found, parse_moment, to_int

if TYPE_CHECKING:
    from devtools.sevdesk_emulator.emulator import SevdeskEmulator

CSV_SCOPE = frozenset("EXTCD")
XML_SCOPE = frozenset("EX")
LINK_LIFETIME = timedelta(days=7)


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


def _create_job(emu: SevdeskEmulator, req: Request, kind: str, allowed: frozenset[str]) -> Response:
    query = req.query
    missing = [key for key in ("startDate", "endDate", "scope") if not query.get(key)]
    if missing:
        raise bad_request(f"Missing required parameters: {', '.join(missing)}")
    scope = query["scope"]
    if not set(scope) <= allowed:
        raise bad_request(f"scope may only contain {''.join(sorted(allowed))}")
    if "accountingYearBegin" not in emu.state.export_config:
        raise ApiError(409, "Export config incomplete: accountingYearBegin is not set")
    job_id = str(uuid.uuid4())
    emu.state.export_jobs[job_id] = {
        "id": job_id,
        "kind": kind,
        "scope": scope,
        "startDate": to_int(query["startDate"], "startDate"),
        "endDate": to_int(query["endDate"], "endDate"),
        "hash": f"{hashlib.sha1(job_id.encode()).hexdigest()}_{job_id[:8]}",
        "polls": 0,
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
        raise ApiError(400, f"Export job {job_id} not found")
    return job


def _advance(emu: SevdeskEmulator, job: Record) -> int:
    """Each poll moves the job on; it is done after `emu.export_progress_polls` polls."""
    job["polls"] += 1
    polls = emu.export_progress_polls
    return 100 if polls <= 0 else min(100, round(100 * job["polls"] / polls))


@route("GET", "/Progress/generateDownloadHash")
def download_hash(emu: SevdeskEmulator, req: Request, _: dict[str, str]) -> Response:
    return ok(get_job(emu, req.query.get("jobId"))["hash"])


@route("GET", "/Progress/getProgress")
def progress(emu: SevdeskEmulator, req: Request, _: dict[str, str]) -> Response:
    wanted = req.query.get("hash")
    job = next((j for j in emu.state.export_jobs.values() if j["hash"] == wanted), None)
    if job is None:
        raise bad_request(f"Unknown progress hash {wanted}")
    return ok({"current": _advance(emu, job), "total": 100})


@route("GET", "/ExportJob/jobDownloadInfo")
def download_info(emu: SevdeskEmulator, req: Request, _: dict[str, str]) -> Response:
    job = get_job(emu, req.query.get("jobId"))
    # polling here also moves the job on, so clients that skip getProgress still finish
    if _advance(emu, job) < 100:
        raise ApiError(400, "Export job is not finished yet")  # UNCONFIRMED shape
    job["done"] = True
    start = datetime.fromtimestamp(job["startDate"], BERLIN).strftime("%Y%m%d")
    end = datetime.fromtimestamp(job["endDate"], BERLIN).strftime("%Y%m%d")
    info = {
        "filename": f"BITTE-ENTPACKEN_Buchungsstapel_und_Belegbilder_{start}_{end}.zip",
        "link": f"{req.origin}/__emulator__/exports/{job['id']}.zip?X-Amz-Expires=604800",
        "linkExpireDate": iso(emu.now() + LINK_LIFETIME),
    }
    return ok(info)


def export_zip(emu: SevdeskEmulator, job: Record) -> bytes:
    """A ZIP with a DATEV-like CSV of the period's finalized invoices (+ padding when asked)."""
    if "zip" not in job:
        rows = ["EXTF;700;21;Buchungsstapel;13", "Umsatz;Soll/Haben;WKZ;Belegdatum;Belegfeld 1;Buchungstext"]
        for invoice in emu.state.invoices.values():
            moment = datetime.fromisoformat(invoice["invoiceDate"]).timestamp()
            if invoice["status"] != "100" and job["startDate"] <= moment <= job["endDate"]:
                side = "H" if invoice["sumGross"].startswith("-") else "S"
                gross = invoice["sumGross"].lstrip("-").replace(".", ",")
                day = invoice["invoiceDate"][8:10] + invoice["invoiceDate"][5:7]
                rows.append(f"{gross};{side};{invoice['currency']};{day};{invoice['invoiceNumber']};Rechnung")
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("EXTF_Buchungsstapel.csv", "\r\n".join(rows).encode("cp1252", "replace"))
            if emu.export_zip_size_bytes:
                # incompressible filler so the archive really is about that large (memory tests)
                filler = random.Random(job["id"]).randbytes(emu.export_zip_size_bytes)
                archive.writestr("Belegbilder/filler.bin", filler, compress_type=zipfile.ZIP_STORED)
        job["zip"] = buffer.getvalue()
    return job["zip"]
