"""Record every AWS call a function makes as the IAM actions and resources the call needs.

Standalone on purpose (stdlib and botocore only): besides the test process it is loaded by file
path inside function worker processes whose environment holds only boto3. `install()` wraps
`BaseClient._make_api_call` (and presigning) once per process; each call appends one JSON line
to `<sink_dir>/calls-<pid>.jsonl` before it is sent, so a call that fails still counts.

A resource is recorded with the names of the environment variables whose value names it
(`TABLE_NAME` for table "sevdesk-test-state"): the checker follows those variables to the
template resources, whatever physical names the tests or the local stack use.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import re
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import botocore.client
import botocore.signers

FunctionId = str | Callable[[], str | None]
Need = dict[str, Any]  # {"action": "dynamodb:PutItem", "resource": {...} | None}

# Signing names that differ from the IAM service prefix.
_IAM_PREFIX = {"monitoring": "cloudwatch", "email": "ses"}

# (service, operation) -> IAM action name where it is not the operation name.
_ACTION_NAMES = {
    ("lambda", "Invoke"): "InvokeFunction",
    ("lambda", "InvokeAsync"): "InvokeFunction",
    ("lambda", "InvokeWithResponseStream"): "InvokeFunction",
    ("s3", "HeadObject"): "GetObject",
    ("s3", "ListObjects"): "ListBucket",
    ("s3", "ListObjectsV2"): "ListBucket",
    ("s3", "HeadBucket"): "ListBucket",
    ("s3", "ListObjectVersions"): "ListBucketVersions",
    ("s3", "ListBuckets"): "ListAllMyBuckets",
    ("s3", "CreateMultipartUpload"): "PutObject",
    ("s3", "UploadPart"): "PutObject",
    ("s3", "CompleteMultipartUpload"): "PutObject",
    ("s3", "CopyObject"): "PutObject",
    ("s3", "UploadPartCopy"): "PutObject",
    ("s3", "DeleteObjects"): "DeleteObject",
    ("s3", "ListParts"): "ListMultipartUploadParts",
    ("s3", "ListMultipartUploads"): "ListBucketMultipartUploads",
}
# S3 object operations that need the ...Version action when they name a version.
_S3_VERSIONED = {"GetObject": "GetObjectVersion", "DeleteObject": "DeleteObjectVersion"}
# A transaction needs the per-item action of each of its items (there is no Transact* action).
_TRANSACT_ACTIONS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
    "Get": "GetItem",
}
# Top-level parameters that name the one resource of a call: parameter -> kind.
_RESOURCE_PARAMS = {
    "SecretId": "secret",
    "FunctionName": "function",
    "stateMachineArn": "stateMachine",
    "QueueUrl": "queue",
    "TopicArn": "topic",
}


def install(sink_dir: Path, function: FunctionId) -> None:
    """Record this process's AWS calls into sink_dir, attributed to `function` (a logical id,
    or a callable returning the current one; None means: do not record this call).

    Idempotent, also across copies of this module loaded by path: a second install only
    points the existing wrapper at the new sink and function."""
    sink = _Sink(Path(sink_dir), function)
    current = botocore.client.BaseClient._make_api_call
    if hasattr(current, "grants_sink"):
        current.grants_sink = sink  # type: ignore[attr-defined]
        botocore.signers.generate_presigned_url.grants_sink = sink  # type: ignore[attr-defined]
        return
    botocore.client.BaseClient._make_api_call = _wrap_api_call(current, sink)  # type: ignore[method-assign]
    botocore.signers.generate_presigned_url = _wrap_presign(botocore.signers.generate_presigned_url, sink)


@contextlib.contextmanager
def recording(sink_dir: Path, function: FunctionId) -> Iterator[None]:
    """install() for a while; then the previous recorder (or none) is back. For tests."""
    current = botocore.client.BaseClient._make_api_call
    previous = getattr(current, "grants_sink", None)
    install(sink_dir, function)
    try:
        yield
    finally:
        if previous is not None:
            install(previous.directory, previous.function)
        else:
            botocore.client.BaseClient._make_api_call = current  # type: ignore[method-assign]
            botocore.signers.generate_presigned_url = botocore.signers.generate_presigned_url.__wrapped__


def _wrap_api_call(original: Callable[..., Any], sink: _Sink) -> Callable[..., Any]:
    @functools.wraps(original)
    def _make_api_call(client: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
        wrapper.grants_sink.record(client, operation_name, api_params)  # type: ignore[attr-defined]
        return original(client, operation_name, api_params)

    wrapper: Any = _make_api_call
    wrapper.grants_sink = sink
    return wrapper


def _wrap_presign(original: Callable[..., Any], sink: _Sink) -> Callable[..., Any]:
    # Clients created before install keep the unwrapped function (botocore copies it into
    # each s3 client class): install before the first client, as the test session does.
    @functools.wraps(original)
    def generate_presigned_url(client: Any, ClientMethod: str, Params: Any = None, **kwargs: Any) -> Any:
        operation = client.meta.method_to_api_mapping.get(ClientMethod, ClientMethod)
        wrapper.grants_sink.record(client, operation, Params or {}, presigned=True)  # type: ignore[attr-defined]
        return original(client, ClientMethod, Params, **kwargs)

    wrapper: Any = generate_presigned_url
    wrapper.grants_sink = sink
    return wrapper


class _Sink:
    def __init__(self, directory: Path, function: FunctionId) -> None:
        self.directory = directory
        self.function = function
        self._lock = threading.Lock()
        self._file: Any = None
        self._pid = 0

    def record(self, client: Any, operation: str, params: dict[str, Any], *, presigned: bool = False) -> None:
        function = self.function() if callable(self.function) else self.function
        if function is None:
            return
        service = client.meta.service_model.signing_name
        line: dict[str, Any] = {
            "function": function,
            "service": service,
            "operation": operation,
            "needs": needs(service, operation, params, os.environ),
        }
        if presigned:
            line["presigned"] = True
        self._write(json.dumps(line, sort_keys=True, default=str))

    def _write(self, text: str) -> None:
        with self._lock:
            if self._file is None or self._pid != os.getpid():  # first call, or a forked child
                self.directory.mkdir(parents=True, exist_ok=True)
                self._pid = os.getpid()
                self._file = (self.directory / f"calls-{self._pid}.jsonl").open("a", encoding="utf-8")
            self._file.write(text + "\n")
            self._file.flush()


# ---------------------------------------------------------------- operation -> IAM needs


def needs(service: str, operation: str, params: dict[str, Any], environ: Any) -> list[Need]:
    """The (IAM action, resource) pairs a call needs, without duplicates."""
    prefix = _IAM_PREFIX.get(service, service)
    found: list[tuple[str, dict[str, Any] | None]] = []
    if service == "dynamodb":
        found = _dynamodb(operation, params)
    elif service == "s3":
        found = _s3(operation, params)
    else:
        found = [(_ACTION_NAMES.get((service, operation), operation), _named_resource(params))]
    out: list[Need] = []
    for action, resource in found:
        if resource is not None:
            resource = {**resource, "env": _env_names(resource["id"], environ)}
        need = {"action": f"{prefix}:{action}", "resource": resource}
        if need not in out:
            out.append(need)
    return out


def _resource(kind: str, identifier: Any, sub: Any = None) -> dict[str, Any]:
    resource = {"kind": kind, "id": str(identifier)}
    if sub is not None:
        resource["sub"] = str(sub)
    return resource


def _dynamodb(operation: str, params: dict[str, Any]) -> list[tuple[str, dict[str, Any] | None]]:
    if operation in ("TransactWriteItems", "TransactGetItems"):
        found = []
        for item in params.get("TransactItems", []):
            for kind, body in item.items():
                found.append((_TRANSACT_ACTIONS.get(kind, kind), _resource("table", body.get("TableName"))))
        return found
    if operation in ("BatchWriteItem", "BatchGetItem"):  # their own actions, on every table named
        return [(operation, _resource("table", table)) for table in params.get("RequestItems", {})]
    table = params.get("TableName")
    if table is None:
        return [(operation, None)]
    if params.get("IndexName"):  # Query and Scan on an index need the grant on the index
        return [(operation, _resource("index", table, params["IndexName"]))]
    return [(operation, _resource("table", table))]


def _s3(operation: str, params: dict[str, Any]) -> list[tuple[str, dict[str, Any] | None]]:
    action = _ACTION_NAMES.get(("s3", operation), operation)
    if params.get("VersionId") and action in _S3_VERSIONED:
        action = _S3_VERSIONED[action]
    bucket = params.get("Bucket")
    if bucket is None:
        return [(action, None)]
    if operation == "DeleteObjects":
        keys = [obj.get("Key") for obj in params.get("Delete", {}).get("Objects", [])]
        return [(action, _resource("object", bucket, key)) for key in keys]
    found = [
        (
            action,
            _resource("object", bucket, params["Key"]) if "Key" in params else _resource("bucket", bucket),
        )
    ]
    # Writing an object with an Object Lock retention or legal hold needs those actions as well.
    if "Key" in params and (params.get("ObjectLockMode") or params.get("ObjectLockRetainUntilDate")):
        found.append(("PutObjectRetention", _resource("object", bucket, params["Key"])))
    if "Key" in params and params.get("ObjectLockLegalHoldStatus"):
        found.append(("PutObjectLegalHold", _resource("object", bucket, params["Key"])))
    source = params.get("CopySource")
    if source is not None:  # copies also read their source
        if isinstance(source, str):
            source_bucket, _, source_key = source.lstrip("/").split("?")[0].partition("/")
        else:
            source_bucket, source_key = source.get("Bucket"), source.get("Key")
        found.append(("GetObject", _resource("object", source_bucket, source_key)))
    return found


def _named_resource(params: dict[str, Any]) -> dict[str, Any] | None:
    for parameter, kind in _RESOURCE_PARAMS.items():
        if params.get(parameter):
            value = str(params[parameter])
            if kind == "function":
                name, qualifier = _split_function(value, params.get("Qualifier"))
                return _resource("function", name, qualifier)
            return _resource(kind, value)
    if params.get("executionArn"):
        # arn:aws:states:<region>:<account>:execution:<machine>:<execution>: named via its machine
        arn = str(params["executionArn"])
        head, _, execution = arn.rpartition(":")
        return _resource("execution", head.replace(":execution:", ":stateMachine:", 1), execution)
    return None


def _split_function(value: str, qualifier: Any) -> tuple[str, Any]:
    """FunctionName may be a name, an ARN or a partial ARN, each optionally with :qualifier."""
    if value.startswith("arn:"):
        parts = value.split(":")  # arn:aws:lambda:region:account:function:name[:qualifier]
        return ":".join(parts[:7]), parts[7] if len(parts) > 7 else qualifier
    parts = value.split(":")
    if len(parts) == 2:  # name:qualifier
        return parts[0], parts[1]
    if len(parts) >= 3:  # account:function:name[:qualifier]
        return parts[2], parts[3] if len(parts) > 3 else qualifier
    return value, qualifier


def short_name(value: str) -> str:
    """The name inside an ARN or queue URL (the value itself otherwise)."""
    if value.startswith("arn:"):
        parts = re.split("[:/]", value.split(":", 5)[-1])  # table/x, function:x:1, secret:x-AbCdEf, topic
        return parts[1] if len(parts) > 1 else parts[0]
    if value.startswith(("https://", "http://")):
        return value.rstrip("/").rsplit("/", 1)[-1]
    return value


def _env_names(identifier: str, environ: Any) -> list[str]:
    """Variables whose value names this resource (by name, ARN or URL)."""
    wanted = {identifier, short_name(identifier)}
    return sorted(
        name for name, value in environ.items() if value and (value in wanted or short_name(value) in wanted)
    )
