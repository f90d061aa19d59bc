"""Call a function's real handler with its `events/` fixture, the way API Gateway would."""

from __future__ import annotations

import base64
import copy
import importlib
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from devtools.grants.context import acting_as, paused
from tests.support.lambda_context import FakeLambdaContext, clear_process_caches

REPO_ROOT = Path(__file__).resolve().parents[2]
EVENTS_DIR = REPO_ROOT / "events"
ADMIN = {"sub": "admin-1", "roles": "[admin staff]", "user_type": "internal"}
STAFF = {"sub": "staff-1", "roles": "[staff]", "user_type": "internal"}
EXTERNAL = {"sub": "customer-1", "roles": "[staff]", "user_type": "customer"}


@dataclass
class ApiResult:
    status: int
    headers: dict[str, str]
    raw: dict[str, Any]

    @property
    def body(self) -> Any:
        return json.loads(self.raw["body"]) if self.raw.get("body") else None

    @property
    def content(self) -> bytes:
        body = self.raw.get("body") or ""
        return base64.b64decode(body) if self.raw.get("isBase64Encoded") else body.encode()


@cache
def logical_ids() -> dict[str, str]:
    """functions/<dir> name -> the template's logical id (from each function's CodeUri)."""
    from tests.support.aws import load_template, resources_of_type

    functions = resources_of_type(load_template(), "AWS::Serverless::Function")
    return {Path(f["Properties"]["CodeUri"]).name: logical_id for logical_id, f in functions.items()}


_container: dict[str, str | None] = {"function": None}
_container_lock = threading.Lock()


@contextmanager
def running_as(function: str) -> Iterator[None]:
    """Run as `functions/<function>`: the grants recorder charges AWS calls inside to its role,
    and it gets its own container. Two Lambdas never share process caches (settings, clients,
    the cached secret), so switching functions drops them: each function makes its own calls."""
    with _container_lock:
        if _container["function"] != function:
            _container["function"] = function
            clear_process_caches()
    with acting_as(logical_ids()[function]):
        yield


@contextmanager
def outside_aws() -> Iterator[None]:
    """AWS calls inside exercise a setup the template never deploys: they say nothing about any
    function's grants, so the recorder skips them."""
    with paused():
        yield


def load_event(function: str) -> dict[str, Any]:
    return json.loads((EVENTS_DIR / f"{function}.json").read_text())


def invoke(
    function: str,
    *,
    claims: dict[str, str] | None = None,
    body: Any = None,
    raw_body: str | None = None,
    path_parameters: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    event: dict[str, Any] | None = None,
) -> ApiResult:
    """Invoke `functions/<function>/app.py` with its fixture, optionally changing the caller,
    body, path or query. `claims={}` drops the authorizer context entirely."""
    event = copy.deepcopy(event or load_event(function))
    if claims is not None:
        jwt = event["requestContext"]["authorizer"]["jwt"]
        if claims:
            jwt["claims"] = {
                **{k: v for k, v in jwt["claims"].items() if k in {"iss", "aud", "iat", "exp"}},
                **claims,
            }
        else:
            del event["requestContext"]["authorizer"]
    if body is not None:
        event["body"] = json.dumps(body)
    if raw_body is not None:
        event["body"] = raw_body
    if path_parameters is not None:
        event["pathParameters"] = path_parameters
        path = event["routeKey"].split(" ", 1)[1]
        for key, value in path_parameters.items():
            path = path.replace("{" + key + "}", value)
        event["rawPath"] = event["requestContext"]["http"]["path"] = path
    if query is not None:
        event["queryStringParameters"] = query
        event["rawQueryString"] = "&".join(f"{k}={v}" for k, v in query.items())
    with running_as(function):
        module = importlib.import_module(f"functions.{function}.app")
        raw = module.lambda_handler(event, FakeLambdaContext(function_name=function))
    headers = {k.lower(): v for k, v in (raw.get("headers") or {}).items()}
    return ApiResult(status=raw["statusCode"], headers=headers, raw=raw)
