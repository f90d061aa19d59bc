"""moto's server in a thread, Lambda invokes run by the functions' instances, resources from the template.

See research/local-aws.md: moto never runs Lambda code without Docker, so a WSGI middleware answers
`Invoke` itself; the Step Functions interpreter reaches it through MOTO_PORT.

moto's backends are not safe under concurrent requests (a conditional TransactWriteItems can let
two writers win; a failed one restores the table from a snapshot). DynamoDB guarantees those
writes are atomic, so the middleware lets one request at a time into each service's backend.
"""

from __future__ import annotations

import copy
import io
import json
import logging
import os
import re
import threading
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

import boto3
import botocore.exceptions
import httpx
from moto.core.config import default_user_config
from moto.events.models import EventPattern
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.wrappers import Request, Response

from devtools.local import moto_patches
from devtools.local.handlers import FunctionRegistry, UnknownFunction
from devtools.local.runtime import FunctionError
from devtools.local.template import ACCOUNT, REGION, EventRule, LocalTemplate, queue_url

log = logging.getLogger("devtools.local")

_INVOKE = re.compile(r"^/2015-03-31/functions/(?P<fn>[^/]+)/invocations/?$")
# SigV4 credential scope: Credential=<key>/<date>/<region>/<service>/aws4_request
_SERVICE = re.compile(r"Credential=[^/]+/[^/]+/[^/]+/([^/]+)/")
WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class LambdaMiddleware:
    """Answers POST .../functions/{name|ARN}/invocations with the real handler, and delivers
    PutEvents like EventBridge (to the template's rules' functions); the rest is moto's."""

    def __init__(
        self, app: WsgiApp, registry: FunctionRegistry, rules: list[EventRule] | None = None
    ) -> None:
        self.app = app
        self.registry = registry
        self.rules = [(rule, EventPattern.load(json.dumps(rule.pattern))) for rule in rules or []]
        self._locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        match = _INVOKE.match(environ.get("PATH_INFO", ""))
        if match and environ.get("REQUEST_METHOD") == "POST":
            return self.invoke(unquote(match["fn"]), Request(environ))(environ, start_response)
        if environ.get("HTTP_X_AMZ_TARGET") == "AWSEvents.PutEvents" and self.rules:
            return self.put_events(environ, start_response)
        with self._lock_for(environ):
            # The whole answer is produced inside the lock: moto may build it lazily.
            answer = self.app(environ, start_response)
            try:
                return [b"".join(answer)]
            finally:
                close = getattr(answer, "close", None)
                if close is not None:
                    close()

    def _lock_for(self, environ: dict[str, Any]) -> threading.Lock:
        found = _SERVICE.search(environ.get("HTTP_AUTHORIZATION", ""))
        service = found[1] if found else "moto-api"
        with self._locks_guard:
            return self._locks.setdefault(service, threading.Lock())

    def put_events(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        """moto checks and answers PutEvents (event ids, failed entries); then each accepted
        event goes, as EventBridge's envelope, to every function whose rule on that bus matches,
        as an asynchronous invocation (retries and OnFailure as the function says)."""
        body = Request(environ).get_data()
        environ["wsgi.input"], environ["CONTENT_LENGTH"] = io.BytesIO(body), str(len(body))
        captured: dict[str, Any] = {}

        def keep(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            captured.update(status=status, headers=headers)
            return start_response(status, headers, exc_info)

        with self._lock_for(environ):
            answer = b"".join(self.app(environ, keep))
        if captured.get("status", "").startswith("200"):
            entries = json.loads(body or b"{}").get("Entries", [])
            results = json.loads(answer or b"{}").get("Entries", [])
            for entry, result in zip(entries, results, strict=False):
                if "EventId" in result:
                    self._deliver(entry, result["EventId"])
        return [answer]

    def _deliver(self, entry: dict[str, Any], event_id: str) -> None:
        bus = str(entry.get("EventBusName") or "default").rsplit("/", 1)[-1]
        moment = entry.get("Time")
        when = datetime.fromtimestamp(float(moment), UTC) if moment else datetime.now(UTC)
        event = {
            "version": "0",
            "id": event_id or str(uuid.uuid4()),
            "detail-type": entry.get("DetailType"),
            "source": entry.get("Source"),
            "account": ACCOUNT,
            "time": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": REGION,
            "resources": entry.get("Resources", []),
            "detail": json.loads(entry.get("Detail") or "{}"),
        }
        for rule, pattern in self.rules:
            if rule.bus == bus and pattern.matches_event(event):
                log.info("event %s on %s -> %s", event["detail-type"], bus, rule.function)
                self.registry.invoke_async(rule.function, event)

    def invoke(self, name: str, request: Request) -> Response:
        try:
            spec = self.registry.spec(name)
        except UnknownFunction:
            return _json(
                {"Type": "User", "message": f"Function not found: {name}"},
                404,
                {"x-amzn-ErrorType": "ResourceNotFoundException"},
            )
        body = request.get_data()
        event = json.loads(body) if body.strip() else {}
        kind = request.headers.get("X-Amz-Invocation-Type", "RequestResponse")
        if kind == "DryRun":
            return Response(status=204)
        if kind == "Event":
            self.registry.invoke_async(spec.logical_id, event)
            return Response(status=202)
        headers = {"X-Amz-Executed-Version": "$LATEST"}
        try:
            result = self.registry.invoke(spec.logical_id, event)
        except FunctionError as exc:
            log.warning("%s failed: %s", spec.logical_id, exc.payload.get("errorType"))
            return _json(exc.payload, 200, {**headers, "X-Amz-Function-Error": "Unhandled"})
        return _json(result, 200, headers)


def _json(payload: Any, status: int, headers: dict[str, str]) -> Response:
    return Response(json.dumps(payload), status, headers, content_type="application/json")


class MotoServer:
    _running = 0
    _running_lock = threading.Lock()

    def __init__(
        self,
        registry: FunctionRegistry,
        host: str = "127.0.0.1",
        port: int = 5055,
        rules: list[EventRule] | None = None,
    ) -> None:
        moto_patches.install()
        app = LambdaMiddleware(DomainDispatcherApplication(create_backend_app), registry, rules)
        self.server: BaseWSGIServer = make_server(
            host, port, app, threaded=True, request_handler=MotoRequestHandler
        )
        self.url = f"http://{host}:{self.server.server_port}"
        self._thread = threading.Thread(target=self.server.serve_forever, args=(0.1,), daemon=True)
        self._saved_config = copy.deepcopy(default_user_config)

    def start(self) -> MotoServer:
        # The SFN interpreter calls Lambda at localhost:$MOTO_PORT (moto.settings.moto_server_port).
        os.environ["MOTO_PORT"] = str(self.server.server_port)
        self._thread.start()
        # moto's backends are per process: start clean, unless another stack of this process
        # still runs on them (tests that start a second stack); seeding then skips what exists.
        with MotoServer._running_lock:
            if not MotoServer._running:
                httpx.post(f"{self.url}/moto-api/reset").raise_for_status()
            MotoServer._running += 1
        config = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}
        httpx.post(f"{self.url}/moto-api/config", json=config).raise_for_status()
        return self

    def stop(self) -> None:
        with MotoServer._running_lock:
            MotoServer._running -= 1
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=5)
        # The config is process-global: leave decorator-mode moto users in this process as they were.
        default_user_config.clear()
        default_user_config.update(self._saved_config)


def client(service: str, endpoint: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def _secret_string(declared: str, api_token: str) -> str:
    """A secret declared as {"apiToken": ...} gets the local token; others keep their template value."""
    try:
        value = json.loads(declared)
    except ValueError:
        return declared or "{}"
    if isinstance(value, dict) and "apiToken" in value:
        value["apiToken"] = api_token
    return json.dumps(value)


def seed(template: LocalTemplate, endpoint: str, api_token: str) -> dict[str, Any]:
    """Create the template's tables, secrets, buckets, queues, event buses and state machines in
    moto; returns their names (queues: logical id -> URL, for `python -m devtools.dlq`)."""
    created: dict[str, Any] = {
        "tables": [],
        "secrets": [],
        "buckets": [],
        "queues": {},
        "event_buses": [],
        "state_machines": [],
    }
    ddb = client("dynamodb", endpoint)
    for logical_id, res in template.of_type("AWS::DynamoDB::Table").items():
        props = template.resolve(res.get("Properties", {}))
        name = template.physical_name(logical_id)
        kwargs: dict[str, Any] = {
            "TableName": name,
            "KeySchema": props["KeySchema"],
            "AttributeDefinitions": props["AttributeDefinitions"],
            "BillingMode": props.get("BillingMode", "PROVISIONED"),
        }
        throughput = {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5}
        if kwargs["BillingMode"] == "PROVISIONED":
            kwargs["ProvisionedThroughput"] = props.get("ProvisionedThroughput", throughput)
        for index_kind in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
            if props.get(index_kind):
                kwargs[index_kind] = props[index_kind]
                if index_kind == "GlobalSecondaryIndexes" and kwargs["BillingMode"] == "PROVISIONED":
                    for gsi in kwargs[index_kind]:
                        gsi.setdefault("ProvisionedThroughput", throughput)
        created["tables"].append(name)
        if _exists("ResourceInUseException", ddb.create_table, **kwargs):
            continue
        ttl = props.get("TimeToLiveSpecification")
        if ttl and ttl.get("Enabled"):
            ddb.update_time_to_live(TableName=name, TimeToLiveSpecification=ttl)

    sm = client("secretsmanager", endpoint)
    for logical_id, res in template.of_type("AWS::SecretsManager::Secret").items():
        props = template.resolve(res.get("Properties", {}))
        name = template.physical_name(logical_id)
        secret = _secret_string(props.get("SecretString", ""), api_token)
        _exists("ResourceExistsException", sm.create_secret, Name=name, SecretString=secret)
        created["secrets"].append(name)

    s3 = client("s3", endpoint)
    for logical_id, res in template.of_type("AWS::S3::Bucket").items():
        props = template.resolve(res.get("Properties", {}))
        name = template.physical_name(logical_id)
        config = {"LocationConstraint": REGION}
        locked = bool(props.get("ObjectLockEnabled"))
        if not _exists(
            "BucketAlreadyOwnedByYou",
            s3.create_bucket,
            Bucket=name,
            CreateBucketConfiguration=config,
            ObjectLockEnabledForBucket=locked,
        ) and props.get("ObjectLockConfiguration"):
            s3.put_object_lock_configuration(
                Bucket=name, ObjectLockConfiguration=props["ObjectLockConfiguration"]
            )
        created["buckets"].append(name)

    sqs = client("sqs", endpoint)
    queues = template.of_type("AWS::SQS::Queue")
    # Dead-letter queues first: a queue's RedrivePolicy names one that must exist.
    for logical_id in sorted(queues, key=lambda q: "RedrivePolicy" in queues[q].get("Properties", {})):
        props = template.resolve(queues[logical_id].get("Properties", {}))
        attributes = {
            key: json.dumps(value) if isinstance(value, dict) else str(value)
            for key, value in props.items()
            if key in ("MessageRetentionPeriod", "VisibilityTimeout", "DelaySeconds", "RedrivePolicy")
        }
        name = template.physical_name(logical_id)
        sqs.create_queue(QueueName=name, Attributes=attributes)  # idempotent with the same attributes
        created["queues"][logical_id] = queue_url(name)

    events = client("events", endpoint)
    for logical_id in template.of_type("AWS::Events::EventBus"):
        name = template.physical_name(logical_id)
        _exists("ResourceAlreadyExistsException", events.create_event_bus, Name=name)
        created["event_buses"].append(name)

    sfn = client("stepfunctions", endpoint)
    for name, definition in template.state_machines().items():
        role = f"arn:aws:iam::{ACCOUNT}:role/{name}-role"
        _exists(
            "StateMachineAlreadyExists",
            sfn.create_state_machine,
            name=name,
            definition=definition,
            roleArn=role,
        )
        created["state_machines"].append(name)
    return created


def _exists(code: str, create: Callable[..., Any], **kwargs: Any) -> bool:
    """Create a resource; True when moto says it exists already (another stack made it)."""
    try:
        create(**kwargs)
    except botocore.exceptions.ClientError as error:
        if error.response["Error"]["Code"] != code:
            raise
        return True
    return False
