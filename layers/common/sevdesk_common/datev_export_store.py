"""DATEV export jobs in DynamoDB: persistence only (the rules are in services/datev_export*.py).

Items (docs/ARCHITECTURE.md): the job `DATEVEXPORT#<jobId>` (also listed newest first through
the sparse index: gsi1pk `DATEVEXPORT`, gsi1sk `<createdAt>#<jobId>`), and per distinct request
a claim `DATEVEXPORT#REQUEST#<fingerprint>` naming the job that runs it, so the same request
made twice finds the running job instead of starting a second one. Every change after the
insert is an UpdateItem conditioned on the job's status; the state machine's native DynamoDB
tasks change the same item the same way (statemachines/datev_export.asl.json).
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from sevdesk_common.models.datev_export import DatevExportJob, ExportStatus
from sevdesk_common.repository import StaleItem, get_table, is_condition_failure, plain, to_dynamo, transact

if TYPE_CHECKING:
    from sevdesk_common.models.record import PendingWrite

SORT_KEY = "DATEVEXPORT"
LIST_PARTITION = "DATEVEXPORT"
# A claim only points at a job; it is dropped some time after nobody can repeat the request.
CLAIM_TTL_SECONDS = 30 * 24 * 3600
_KEY_ATTRIBUTES = frozenset({"pk", "sk", "gsi1pk", "gsi1sk"})


class InvalidCursor(ValueError):
    """A paging cursor this store did not hand out."""


def job_key(job_id: str) -> dict[str, str]:
    return {"pk": f"DATEVEXPORT#{job_id}", "sk": SORT_KEY}


def claim_key(fingerprint: str) -> dict[str, str]:
    return {"pk": f"DATEVEXPORT#REQUEST#{fingerprint}", "sk": SORT_KEY}


def _from_item(item: dict[str, Any]) -> DatevExportJob:
    return DatevExportJob.model_validate({k: v for k, v in plain(item).items() if k not in _KEY_ATTRIBUTES})


def load(job_id: str) -> DatevExportJob | None:
    item = get_table().get_item(Key=job_key(job_id), ConsistentRead=True).get("Item")
    return _from_item(item) if item else None


def claimed_job_id(fingerprint: str) -> str | None:
    item = get_table().get_item(Key=claim_key(fingerprint), ConsistentRead=True).get("Item")
    return str(item["jobId"]) if item else None


def insert(job: DatevExportJob, *, replacing: str | None) -> None:
    """Store a new job and claim its request, both or neither. `replacing`: the finished job the
    claim names now (None: no claim yet). StaleItem when another request claimed it first."""
    item = {
        **to_dynamo(job.model_dump(mode="python", by_alias=True)),
        **job_key(job.job_id),
        "gsi1pk": LIST_PARTITION,
        "gsi1sk": f"{job.created_at.astimezone(UTC).isoformat()}#{job.job_id}",
    }
    claim: dict[str, Any] = {
        "TableName": get_table().name,
        "Item": {
            **claim_key(job.fingerprint),
            "jobId": job.job_id,
            "expiresAt": int(time.time()) + CLAIM_TTL_SECONDS,
        },
    }
    if replacing is None:
        claim["ConditionExpression"] = "attribute_not_exists(pk)"
    else:
        claim["ConditionExpression"] = "jobId = :previous"
        claim["ExpressionAttributeValues"] = {":previous": replacing}
    put_job = {"TableName": get_table().name, "Item": item, "ConditionExpression": "attribute_not_exists(pk)"}
    try:
        transact([{"Put": put_job}, {"Put": claim}])
    except ClientError as error:
        if is_condition_failure(error):
            raise StaleItem() from error
        raise


def update(
    job_id: str,
    *,
    expect: tuple[ExportStatus, ...],
    changes: dict[str, Any] | None = None,
    remove: tuple[str, ...] = (),
    condition: str | None = None,
) -> DatevExportJob:
    """Change fields (camelCase names) of a job whose status is one of `expect` (and that meets
    `condition`, an extra expression over the same names); StaleItem otherwise."""
    values = to_dynamo({**(changes or {}), "updatedAt": datetime.now(UTC)})
    names = {"#status": "status"}
    sets = []
    attribute_values: dict[str, Any] = {}
    for index, (name, value) in enumerate(values.items()):
        names[f"#f{index}"] = name
        attribute_values[f":v{index}"] = value
        sets.append(f"#f{index} = :v{index}")
    expression = "SET " + ", ".join(sets)
    if remove:
        expression += " REMOVE " + ", ".join(remove)
    statuses = []
    for index, status in enumerate(expect):
        attribute_values[f":s{index}"] = status
        statuses.append(f":s{index}")
    guard = f"#status IN ({', '.join(statuses)})"
    try:
        answer = get_table().update_item(
            Key=job_key(job_id),
            UpdateExpression=expression,
            ConditionExpression=f"{guard} AND ({condition})" if condition else guard,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=attribute_values,
            ReturnValues="ALL_NEW",
        )
    except ClientError as error:
        if is_condition_failure(error):
            raise StaleItem() from error
        raise
    return _from_item(answer["Attributes"])


def announce(job_id: str, intent: PendingWrite) -> None:
    """The creation's intent, stored before the request goes out (the write-once journal)."""
    update(
        job_id,
        expect=("running",),
        changes={"pendingWrite": intent.model_dump(mode="python", by_alias=True)},
        condition="attribute_not_exists(sevdeskJobId)",
    )


def list_jobs(*, limit: int, cursor: str | None) -> tuple[list[DatevExportJob], str | None]:
    """Newest first, one Query on the sparse index (eventually consistent: a list for the UI)."""
    query: dict[str, Any] = {
        "IndexName": "gsi1",
        "KeyConditionExpression": "gsi1pk = :pk",
        "ExpressionAttributeValues": {":pk": LIST_PARTITION},
        "ScanIndexForward": False,
        "Limit": limit,
    }
    if cursor:
        query["ExclusiveStartKey"] = _decode_cursor(cursor)
    answer = get_table().query(**query)
    jobs = [_from_item(item) for item in answer.get("Items", [])]
    last = answer.get("LastEvaluatedKey")
    return jobs, _encode_cursor(last) if last else None


def _encode_cursor(last: dict[str, Any]) -> str:
    text = json.dumps({"s": last["gsi1sk"], "p": last["pk"]}, separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> dict[str, str]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = json.loads(base64.urlsafe_b64decode(padded.encode()))
        sort_key, partition_key = value["s"], value["p"]
    except (binascii.Error, ValueError, TypeError, KeyError, UnicodeDecodeError) as error:
        raise InvalidCursor(cursor) from error
    if not (isinstance(sort_key, str) and isinstance(partition_key, str)):
        raise InvalidCursor(cursor)
    if not partition_key.startswith("DATEVEXPORT#") or "#REQUEST#" in partition_key:
        raise InvalidCursor(cursor)
    return {"gsi1pk": LIST_PARTITION, "gsi1sk": sort_key, "pk": partition_key, "sk": SORT_KEY}
