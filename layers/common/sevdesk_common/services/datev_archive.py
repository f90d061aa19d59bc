"""What the stored DATEV ZIP says about itself, read back in ranges (never whole).

sevDesk exports with the account's own chart of accounts; the EXTF header of the booking batch
names it (field 27, "SKR": 03 or 04), so a difference from the settings' datevChartOfAccounts is
found and reported rather than handed to the accountant unnoticed.
"""

from __future__ import annotations

import csv
import re
import zipfile
from pathlib import PurePosixPath

from sevdesk_common import export_bucket
from sevdesk_common.export_errors import ExportFileInvalid

_SKR_FIELD = 26  # zero-based position of "SKR" in the EXTF header line
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
DEFAULT_NAME = "DATEV-Export.zip"


def safe_file_name(name: str) -> str:
    """sevDesk's file name, reduced to characters safe in an S3 key and a Content-Disposition."""
    cleaned = _UNSAFE.sub("_", PurePosixPath(name.replace("\\", "/")).name).strip("._")[:200]
    if not cleaned:
        return DEFAULT_NAME
    return cleaned if cleaned.lower().endswith(".zip") else f"{cleaned}.zip"


def batch_chart_of_accounts(key: str, size: int) -> str:
    """ "SKR03"/"SKR04" from the booking batch's header, or "unknown" (no batch, no SKR field)."""
    try:
        with export_bucket.open_ranged(key, size) as raw, zipfile.ZipFile(raw) as archive:
            batch = _batch_member(archive)
            if batch is None:
                return "unknown"
            with archive.open(batch) as member:
                header = member.readline(8192).decode("cp1252", "replace")
    except zipfile.BadZipFile as error:
        raise ExportFileInvalid(f"sevDesk's ZIP cannot be read ({error}).") from error
    fields = next(csv.reader([header], delimiter=";"), [])
    if not fields or fields[0].strip('"') != "EXTF" or len(fields) <= _SKR_FIELD:
        return "unknown"
    skr = fields[_SKR_FIELD].strip().strip('"')
    return f"SKR{skr}" if skr in ("03", "04") else "unknown"


def _batch_member(archive: zipfile.ZipFile) -> zipfile.ZipInfo | None:
    csvs = [info for info in archive.infolist() if info.filename.lower().endswith(".csv")]
    named = [info for info in csvs if PurePosixPath(info.filename).name.upper().startswith("EXTF_")]
    found = named or csvs
    return found[0] if found else None
