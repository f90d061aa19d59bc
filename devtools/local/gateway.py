"""An HTTP API (API Gateway v2) on localhost: template routes, the JWT authorizer, CORS, payload v2.0."""

from __future__ import annotations

import base64
import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.wrappers import Request, Response

from devtools.local.api_docs import ApiDocs
from devtools.local.runtime import FunctionError
from devtools.local.template import ACCOUNT, ApiRoute
from devtools.local.tokens import AuthError, DevKeys, gateway_claims

log = logging.getLogger("devtools.local")
API_ID = "local"
_TEXT_TYPES = re.compile(r"^text/|json|xml|javascript|graphql", re.IGNORECASE)

Invoke = Callable[[str, dict[str, Any]], Any]


@dataclass
class Cors:
    allow_origins: list[str] = field(default_factory=list)
    allow_headers: list[str] = field(default_factory=list)
    allow_methods: list[str] = field(default_factory=list)
    expose_headers: list[str] = field(default_factory=list)
    max_age: int | None = None
    allow_credentials: bool = False

    @classmethod
    def from_template(cls, conf: dict[str, Any] | None) -> Cors | None:
        if not conf:
            return None
        return cls(
            conf.get("AllowOrigins", []),
            [h.lower() for h in conf.get("AllowHeaders", [])],
            conf.get("AllowMethods", []),
            [h.lower() for h in conf.get("ExposeHeaders", [])],
            conf.get("MaxAge"),
            bool(conf.get("AllowCredentials", False)),
        )

    def origin(self, origin: str | None) -> str | None:
        if origin and origin in self.allow_origins:
            return origin
        return "*" if origin and "*" in self.allow_origins else None


@dataclass(frozen=True)
class _Compiled:
    route: ApiRoute
    pattern: re.Pattern[str]


def _compile(route: ApiRoute) -> _Compiled:
    regex = ""
    for part in re.split(r"(\{[^}]+\})", route.path):
        if part.startswith("{") and part.endswith("+}"):
            regex += f"(?P<{part[1:-2]}>.+)"
        elif part.startswith("{"):
            regex += f"(?P<{part[1:-1]}>[^/]+)"
        else:
            regex += re.escape(part)
    return _Compiled(route, re.compile(f"^{regex}$"))


def _specificity(c: _Compiled) -> tuple[bool, int, bool, bool]:
    path = c.route.path
    return ("+}" in path, -path.count("/"), "{" in path, c.route.method == "ANY")


class Gateway:
    """The WSGI app. `invoke(logical_id, event)` runs the function and returns its raw result."""

    def __init__(
        self,
        routes: list[ApiRoute],
        invoke: Invoke,
        keys: DevKeys | None,
        cors: Cors | None,
        stage: str = "$default",
        docs: ApiDocs | None = None,
    ) -> None:
        # Static segments beat parameters, like API Gateway's "most specific route wins".
        self.routes = sorted((_compile(r) for r in routes), key=_specificity)
        self.invoke = invoke
        self.keys = keys
        self.cors = cors
        self.stage = stage
        self.docs = docs

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        return self.handle(Request(environ))(environ, start_response)

    def handle(self, req: Request) -> Response:
        request_id = base64.b64encode(uuid.uuid4().bytes[:10]).decode()
        if req.path == "/.well-known/jwks.json" and self.keys:
            return _message(200, self.keys.jwks(), request_id)
        if self.docs and (page := self.docs.handle(req)) is not None:  # local only: no auth, no route
            return page
        if req.method == "OPTIONS" and self.cors and req.headers.get("Access-Control-Request-Method"):
            return self._preflight(req, request_id)
        resp = self._route(req, request_id)
        if self.cors and (origin := self.cors.origin(req.headers.get("Origin"))):
            resp.headers["access-control-allow-origin"] = origin
            if self.cors.expose_headers:
                resp.headers["access-control-expose-headers"] = ",".join(self.cors.expose_headers)
            if self.cors.allow_credentials:
                resp.headers["access-control-allow-credentials"] = "true"
        return resp

    def _preflight(self, req: Request, request_id: str) -> Response:
        assert self.cors is not None
        resp = Response(status=204, headers={"apigw-requestid": request_id})
        origin = self.cors.origin(req.headers.get("Origin"))
        if origin:  # API Gateway answers 204 either way, with CORS headers only for allowed origins
            resp.headers["access-control-allow-origin"] = origin
            resp.headers["access-control-allow-methods"] = ",".join(self.cors.allow_methods)
            resp.headers["access-control-allow-headers"] = ",".join(self.cors.allow_headers)
            if self.cors.max_age is not None:
                resp.headers["access-control-max-age"] = str(self.cors.max_age)
            if self.cors.allow_credentials:
                resp.headers["access-control-allow-credentials"] = "true"
        return resp

    def match(self, method: str, path: str) -> tuple[ApiRoute, dict[str, str]] | None:
        for compiled in self.routes:
            if compiled.route.method not in (method, "ANY"):
                continue
            if m := compiled.pattern.match(path):
                return compiled.route, m.groupdict()
        return None

    def _route(self, req: Request, request_id: str) -> Response:
        stage, path = "$default", req.path
        found = self.match(req.method, path)
        prefix = f"/{self.stage}"
        if not found and self.stage != "$default" and path.startswith(prefix + "/"):
            stage, path = self.stage, path[len(prefix) :]
            found = self.match(req.method, path)
        if not found:
            return _message(404, {"message": "Not Found"}, request_id)
        route, params = found
        jwt_ctx = None
        if route.authorizer and self.keys:
            try:
                jwt_ctx = self._authorize(req, route)
            except AuthError as exc:
                challenge = f'Bearer scope="" error="invalid_token" error_description="{exc.description}"'
                if exc.description == "missing":
                    challenge = "Bearer"
                return _message(401, {"message": "Unauthorized"}, request_id, {"www-authenticate": challenge})
            except PermissionError:
                return _message(403, {"message": "Forbidden"}, request_id)
        event = build_event(req, route, params, stage, request_id, jwt_ctx)
        try:
            result = self.invoke(route.function, event)
        except FunctionError as exc:  # what API Gateway answers when the integration fails
            log.warning("%s failed: %s", route.function, exc.payload.get("errorMessage"))
            return _message(500, {"message": "Internal Server Error"}, request_id)
        return to_response(result, request_id)

    def _authorize(self, req: Request, route: ApiRoute) -> dict[str, Any]:
        assert self.keys is not None
        header = req.headers.get("Authorization", "").strip()
        if not header:
            raise AuthError("missing")
        # API Gateway takes "Bearer <jwt>" and the bare token alike.
        token = header[7:].strip() if header.lower().startswith("bearer ") else header
        claims = self.keys.verify(token)
        token_scopes = str(claims.get("scope", claims.get("scp", ""))).split()
        if route.scopes and not set(route.scopes) & set(token_scopes):
            raise PermissionError("scope")
        return {"claims": gateway_claims(claims), "scopes": token_scopes if route.scopes else None}


def build_event(
    req: Request,
    route: ApiRoute,
    params: dict[str, str],
    stage: str,
    request_id: str,
    jwt_ctx: dict[str, Any] | None,
) -> dict[str, Any]:
    headers: dict[str, str] = {}
    for key, value in req.headers.items():
        if key.lower() != "cookie":
            k = key.lower()
            headers[k] = f"{headers[k]},{value}" if k in headers else value
    query = {k: ",".join(req.args.getlist(k)) for k in req.args}
    now = datetime.now(UTC)
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route.route_key,
        "rawPath": req.path,
        "rawQueryString": req.query_string.decode(),
        "headers": headers,
        "requestContext": {
            "accountId": ACCOUNT,
            "apiId": API_ID,
            "domainName": req.host,
            "domainPrefix": req.host.split(".")[0].split(":")[0],
            "http": {
                "method": req.method,
                "path": req.path,
                "protocol": req.environ.get("SERVER_PROTOCOL", "HTTP/1.1"),
                "sourceIp": req.remote_addr or "127.0.0.1",
                "userAgent": req.headers.get("User-Agent", ""),
            },
            "requestId": request_id,
            "routeKey": route.route_key,
            "stage": stage,
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(time.time() * 1000),
        },
        "isBase64Encoded": False,
    }
    if jwt_ctx:
        event["requestContext"]["authorizer"] = {"jwt": jwt_ctx}
    if req.cookies:
        event["cookies"] = [f"{k}={v}" for k, v in req.cookies.items(multi=True)]
    if query:
        event["queryStringParameters"] = query
    if params:
        event["pathParameters"] = params
    body = req.get_data()
    if body:
        text_type = bool(_TEXT_TYPES.search(req.content_type or ""))
        try:
            event["body"] = body.decode() if text_type else base64.b64encode(body).decode()
            event["isBase64Encoded"] = not text_type
        except UnicodeDecodeError:
            event["body"], event["isBase64Encoded"] = base64.b64encode(body).decode(), True
    return event


def to_response(result: Any, request_id: str) -> Response:
    """Payload v2.0 response rules, including the format inferred when there is no statusCode."""
    if not (isinstance(result, dict) and "statusCode" in result):
        body = result if isinstance(result, str) else json.dumps(result)
        return Response(body, 200, {"content-type": "application/json", "apigw-requestid": request_id})
    raw = result.get("body") or ""
    body: bytes | str = base64.b64decode(raw) if result.get("isBase64Encoded") else raw
    resp = Response(body, int(result["statusCode"]), {"apigw-requestid": request_id})
    resp.headers.remove("content-type")
    for key, value in (result.get("headers") or {}).items():
        resp.headers[key] = str(value)
    for key, values in (result.get("multiValueHeaders") or {}).items():
        resp.headers[key] = ",".join(str(v) for v in values)
    for cookie in result.get("cookies") or []:
        resp.headers.add("set-cookie", cookie)
    return resp


def _message(status: int, payload: Any, request_id: str, headers: dict[str, str] | None = None) -> Response:
    all_headers = {"apigw-requestid": request_id, **(headers or {})}
    return Response(json.dumps(payload), status, all_headers, content_type="application/json")


class GatewayServer:
    def __init__(self, gateway: Gateway, host: str = "127.0.0.1", port: int = 3000) -> None:
        self.server: BaseWSGIServer = make_server(host, port, gateway, threaded=True)
        self.url = f"http://{host}:{self.server.server_port}"
        self._thread = threading.Thread(
            target=self.server.serve_forever, args=(0.1,), name="http-api", daemon=True
        )

    def start(self) -> GatewayServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=5)
