"""The export bucket: ZIPs go in as multipart uploads from a stream, are read back in ranges and
leave through short-lived presigned links. Persistence only, like the DynamoDB stores.

Memory stays bounded by one part (`export_part_bytes`), whatever the file's size: a part is
sent as soon as it is full, and the sha256 is computed on the way through.
"""

from __future__ import annotations

import base64
import hashlib
import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

import boto3

from sevdesk_common.settings import get_settings

ZIP_CONTENT_TYPE = "application/zip"
# S3 refuses parts below 5 MiB except the last one.
MIN_PART_BYTES = 5 * 1024 * 1024


@lru_cache(maxsize=1)
def _s3() -> Any:
    return boto3.client("s3", region_name=get_settings().aws_region)


def clear_cache() -> None:
    _s3.cache_clear()


@dataclass(frozen=True)
class StoredFile:
    key: str
    size_bytes: int
    sha256: str
    parts: int


def upload_stream(
    key: str,
    chunks: Iterable[bytes],
    *,
    retain_until: datetime,
    content_type: str = ZIP_CONTENT_TYPE,
) -> StoredFile:
    """Store `chunks` under `key` as one multipart upload, locked until `retain_until`; aborted
    (nothing left behind) on any failure, including one raised by the iterator itself."""
    settings = get_settings()
    bucket, part_bytes = settings.export_bucket, max(MIN_PART_BYTES, settings.export_part_bytes)
    upload_id = _s3().create_multipart_upload(Bucket=bucket, Key=key, ContentType=content_type)["UploadId"]
    digest, size = hashlib.sha256(), 0
    parts: list[dict[str, Any]] = []
    buffer = bytearray()
    try:
        for chunk in chunks:
            digest.update(chunk)
            size += len(chunk)
            buffer += chunk
            if len(buffer) >= part_bytes:
                # the part goes out as it is; only the few bytes past it are copied
                rest = buffer[part_bytes:]
                del buffer[part_bytes:]
                parts.append(_send_part(bucket, key, upload_id, len(parts) + 1, buffer))
                buffer = rest
        if buffer or not parts:  # the last part may be short; an empty file is one empty part
            parts.append(_send_part(bucket, key, upload_id, len(parts) + 1, buffer))
        _s3().complete_multipart_upload(
            Bucket=bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts}
        )
    except BaseException:
        _s3().abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
        raise
    # The object is born under the bucket's default retention; its own date, in the same mode, only
    # extends it, which needs no bypass (a create with lock headers is the same to S3, but moto
    # drops them on multipart uploads).
    retention = {"Mode": settings.export_object_lock_mode, "RetainUntilDate": retain_until}
    _s3().put_object_retention(Bucket=bucket, Key=key, Retention=retention)
    return StoredFile(key=key, size_bytes=size, sha256=digest.hexdigest(), parts=len(parts))


def _send_part(bucket: str, key: str, upload_id: str, number: int, body: bytearray) -> dict[str, Any]:
    # A bucket with Object Lock refuses parts without an integrity header; whether the SDK adds
    # its own checksum depends on the runtime's boto3 version, Content-MD5 works with all.
    md5 = base64.b64encode(hashlib.md5(body, usedforsecurity=False).digest()).decode()
    answer = _s3().upload_part(
        Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=body, ContentMD5=md5
    )
    return {"PartNumber": number, "ETag": answer["ETag"]}


class RangedObject(io.RawIOBase):
    """A stored object as a seekable file that fetches only the ranges read (zipfile reads the
    central directory at the end, then the one member it opens)."""

    def __init__(self, key: str, size: int) -> None:
        super().__init__()
        self.key, self.size, self.position = key, size, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.position, io.SEEK_END: self.size}[whence]
        self.position = max(0, base + offset)
        return self.position

    def readinto(self, buffer: Any) -> int:
        wanted = min(len(buffer), self.size - self.position)
        if wanted <= 0:
            return 0
        last = self.position + wanted - 1
        answer = _s3().get_object(
            Bucket=get_settings().export_bucket, Key=self.key, Range=f"bytes={self.position}-{last}"
        )
        data = answer["Body"].read()
        buffer[: len(data)] = data
        self.position += len(data)
        return len(data)


def open_ranged(key: str, size: int, buffer_bytes: int = 256 * 1024) -> io.BufferedReader:
    return io.BufferedReader(RangedObject(key, size), buffer_size=buffer_bytes)


def presigned_download(key: str, file_name: str) -> str:
    """A GET link to the object that names the file for the browser; valid `export_link_seconds`."""
    settings = get_settings()
    return str(
        _s3().generate_presigned_url(
            "get_object",
            Params={
                "Bucket": settings.export_bucket,
                "Key": key,
                "ResponseContentDisposition": f'attachment; filename="{file_name}"',
                "ResponseContentType": ZIP_CONTENT_TYPE,
            },
            ExpiresIn=settings.export_link_seconds,
        )
    )
