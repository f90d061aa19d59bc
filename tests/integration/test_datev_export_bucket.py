"""The store step's pieces against moto S3: the ZIP goes in as a multipart upload with its sha256;
a download that breaks off or is no ZIP leaves nothing behind; the batch header is read back in
ranges to tell the chart of accounts."""

from __future__ import annotations

import hashlib
import io
import os
import threading
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import pytest

from sevdesk_common import export_bucket
from sevdesk_common.export_errors import ExportDownloadFailed, ExportFileInvalid
from sevdesk_common.services import datev_steps
from sevdesk_common.services.datev_archive import batch_chart_of_accounts
from tests.support.invoke import running_as

BUCKET = os.environ["EXPORT_BUCKET"]
MIB = 1024 * 1024
UNTIL = datetime(2037, 1, 1, tzinfo=UTC)


def leftovers() -> tuple[list[str], list[str]]:
    s3 = boto3.client("s3")
    objects = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])]
    uploads = [u["Key"] for u in s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads", [])]
    return objects, uploads


def test_a_stream_goes_in_as_parts_with_its_sha256(aws: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EXPORT_PART_BYTES", str(5 * MIB))
    from sevdesk_common.settings import get_settings

    get_settings.cache_clear()
    data = os.urandom(11 * MIB + 123)
    chunks = (data[i : i + 700_001] for i in range(0, len(data), 700_001))  # not aligned with parts
    stored = export_bucket.upload_stream("datev/job/file.zip", chunks, retain_until=UNTIL)
    assert (stored.parts, stored.size_bytes) == (3, len(data))
    assert stored.sha256 == hashlib.sha256(data).hexdigest()
    stored_object = boto3.client("s3").get_object(Bucket=BUCKET, Key="datev/job/file.zip")
    assert stored_object["Body"].read() == data
    # locked like books, in governance mode: no function can shorten it
    assert stored_object["ObjectLockMode"] == "GOVERNANCE"
    assert stored_object["ObjectLockRetainUntilDate"] == UNTIL


def test_the_zip_is_locked_in_the_buckets_mode(aws: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """A COMPLIANCE bucket (template parameter ExportObjectLockMode) gets COMPLIANCE retentions:
    S3 refuses to turn an object's COMPLIANCE lock into GOVERNANCE."""
    monkeypatch.setenv("EXPORT_OBJECT_LOCK_MODE", "COMPLIANCE")
    from sevdesk_common.settings import get_settings

    get_settings.cache_clear()
    try:
        export_bucket.upload_stream(
            "datev/job/compliance.zip", iter([b"PK\x03\x04 a zip"]), retain_until=UNTIL
        )
    finally:
        get_settings.cache_clear()
    stored_object = boto3.client("s3").head_object(Bucket=BUCKET, Key="datev/job/compliance.zip")
    assert (stored_object["ObjectLockMode"], stored_object["ObjectLockRetainUntilDate"]) == (
        "COMPLIANCE",
        UNTIL,
    )


def test_a_broken_stream_leaves_nothing_behind(aws: Any) -> None:
    def breaking() -> Iterator[bytes]:
        yield os.urandom(6 * MIB)
        raise ExportDownloadFailed("broke off")

    with pytest.raises(ExportDownloadFailed):
        export_bucket.upload_stream("datev/job/file.zip", breaking(), retain_until=UNTIL)
    assert leftovers() == ([], [])


class _Link(BaseHTTPRequestHandler):
    """/html: a page instead of the ZIP; /short: promises more than it sends."""

    def do_GET(self) -> None:
        if self.path.startswith("/html"):
            body = b"<html>Access denied</html>"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        else:
            self.send_response(200)
            self.send_header("Content-Length", str(3 * MIB))
            self.end_headers()
            self.wfile.write(b"PK\x03\x04" + b"\0" * 1000)
        self.close_connection = True

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def link_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Link)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize(
    ("path", "error"), [("/html?X-Amz-Signature=x", ExportFileInvalid), ("/short", ExportDownloadFailed)]
)
def test_a_bad_download_leaves_nothing_behind(aws: Any, link_server: str, path: str, error: type) -> None:
    with running_as("datev_export_store"), pytest.raises(error) as raised:  # what the store step does
        export_bucket.upload_stream(
            "datev/job/file.zip", datev_steps._download(link_server + path), retain_until=UNTIL
        )
    assert "X-Amz-Signature" not in str(raised.value)
    assert leftovers() == ([], [])


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


HEADER = ";".join(['"EXTF"', "700", "21", '"Buchungsstapel"', *[""] * 22, '"{skr}"', "", "", "", ""])


@pytest.mark.parametrize(
    ("members", "chart"),
    [
        ({"B/EXTF_Buchungsstapel.csv": (HEADER.format(skr="04") + "\r\n1;2\r\n").encode("cp1252")}, "SKR04"),
        ({"B/EXTF_Buchungsstapel.csv": HEADER.format(skr="").encode(), "B/a.pdf": b"%PDF"}, "unknown"),
        ({"B/document.xml": b"<archive/>"}, "unknown"),
    ],
    ids=["skr04", "no-skr", "no-batch"],
)
def test_the_chart_of_accounts_is_read_from_the_batch_header(
    aws: Any, members: dict[str, bytes], chart: str
) -> None:
    data = _zip({"B/big.bin": os.urandom(2 * MIB), **members})
    stored = export_bucket.upload_stream("datev/job/file.zip", iter([data]), retain_until=UNTIL)
    assert batch_chart_of_accounts(stored.key, stored.size_bytes) == chart


def test_a_stored_file_that_is_no_zip_is_reported(aws: Any) -> None:
    stored = export_bucket.upload_stream(
        "datev/job/file.zip", iter([b"PK\x03\x04 but nothing else"]), retain_until=UNTIL
    )
    with pytest.raises(ExportFileInvalid):
        batch_chart_of_accounts(stored.key, stored.size_bytes)
