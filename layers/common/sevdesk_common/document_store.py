"""Documents archived in the export bucket (the e-invoice XML; DATEV ZIPs likewise): persistence
only.

Write once: a key is written only while absent (If-None-Match), with S3 checking the body against
its sha256 on arrival (ChecksumSHA256) and the hex digest kept in the object's metadata; each
object carries an S3 Object Lock retention (governance mode) until its legal period ends
(models/retention.py), so neither a function nor an operator deletes or overwrites it by accident.
Keys are unique per document (e.g. the sevDesk invoice id): a key that exists was written by an
earlier attempt of the same step with the same bytes, which the reader checks against the sha256.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

import boto3
from botocore.exceptions import ClientError

from sevdesk_common.observability import logger
from sevdesk_common.settings import get_settings


@dataclass(frozen=True)
class StoredDocument:
    key: str
    sha256: str
    size: int


@lru_cache(maxsize=1)
def _s3() -> Any:
    return boto3.client("s3", region_name=get_settings().aws_region)


def sha256_hex(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def put_once(key: str, body: bytes, *, content_type: str, retain_until: datetime) -> StoredDocument:
    """Store `body` under `key`, or find it stored already by an earlier attempt (same sha256)."""
    digest = hashlib.sha256(body)
    stored = StoredDocument(key=key, sha256=digest.hexdigest(), size=len(body))
    try:
        _s3().put_object(
            Bucket=get_settings().export_bucket,
            Key=key,
            Body=body,
            ContentType=content_type,
            ChecksumAlgorithm="SHA256",
            ChecksumSHA256=base64.b64encode(digest.digest()).decode("ascii"),
            Metadata={"sha256": stored.sha256},
            IfNoneMatch="*",
            ObjectLockMode=get_settings().export_object_lock_mode,
            ObjectLockRetainUntilDate=retain_until,
        )
    except ClientError as error:
        if error.response["Error"]["Code"] not in {"PreconditionFailed", "412"}:
            raise
        logger.info("document stored already by an earlier attempt", extra={"key": key})
    return stored


def put_report(key: str, body: bytes) -> StoredDocument:
    """A report (JSON) under the bucket's default retention; each run has its own key."""
    digest = hashlib.sha256(body)
    _s3().put_object(
        Bucket=get_settings().export_bucket,
        Key=key,
        Body=body,
        ContentType="application/json",
        ChecksumAlgorithm="SHA256",
        ChecksumSHA256=base64.b64encode(digest.digest()).decode("ascii"),
        Metadata={"sha256": digest.hexdigest()},
    )
    return StoredDocument(key=key, sha256=digest.hexdigest(), size=len(body))


def read(key: str) -> tuple[bytes, str | None]:
    """The document and the sha256 recorded when it was stored."""
    answer = _s3().get_object(Bucket=get_settings().export_bucket, Key=key)
    return answer["Body"].read(), answer.get("Metadata", {}).get("sha256")


def clear_cache() -> None:
    _s3.cache_clear()
