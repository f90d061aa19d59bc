"""Routes from the template reach their handlers with a real payload v2.0 event; 404, CORS, responses."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import pytest

from devtools.local.stack import LocalStack
from tests.e2e.e2e_support import REPO_ROOT, bearer

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]
HAS_CONFIG_GET = (REPO_ROOT / "functions" / "config_get" / "app.py").exists()


def test_every_template_route_is_served(stack: LocalStack) -> None:
    keys = {r.route_key for r in stack.template.routes()}
    assert "GET /api/sevdesk/config" in keys
    for route in stack.template.routes():
        assert stack.gateway.server.app.match(route.method, route.path.replace("{", "x").replace("}", ""))


def test_route_builds_an_api_gateway_v2_event(api: httpx.Client, stack: LocalStack) -> None:
    seen: list[dict[str, Any]] = []

    def fake(event: dict[str, Any], context: Any) -> dict[str, Any]:
        seen.append(event)
        return {"statusCode": 200, "headers": {"content-type": "application/json"}, "body": '{"ok": true}'}

    with stack.functions.override("ConfigGetFunction", fake):
        resp = api.get(
            "/api/sevdesk/config?a=1&a=2&b=x", headers={**bearer(stack.admin_token), "X-Custom": "Yes"}
        )
    assert resp.status_code == 200
    assert resp.json() == {"ok": True}
    event = seen[0]
    assert event["version"] == "2.0"
    assert event["routeKey"] == "GET /api/sevdesk/config"
    assert event["rawPath"] == "/api/sevdesk/config"
    assert event["rawQueryString"] == "a=1&a=2&b=x"
    assert event["queryStringParameters"] == {"a": "1,2", "b": "x"}
    assert event["headers"]["x-custom"] == "Yes"
    ctx = event["requestContext"]
    assert ctx["http"]["method"] == "GET"
    assert ctx["http"]["sourceIp"] == "127.0.0.1"
    assert ctx["stage"] == "$default"
    claims = ctx["authorizer"]["jwt"]["claims"]
    assert claims["sub"] == "dev-admin"
    assert claims["roles"] == "[admin staff]"  # API Gateway's flattened array form
    assert claims["user_type"] == "internal"
    assert isinstance(claims["exp"], str)


def test_named_stage_prefix_is_routed_too(api: httpx.Client, stack: LocalStack) -> None:
    seen: list[dict[str, Any]] = []
    with stack.functions.override("ConfigGetFunction", lambda e, c: seen.append(e) or {"statusCode": 204}):
        resp = api.get(f"/{stack.template.stage()}/api/sevdesk/config", headers=bearer(stack.admin_token))
    assert resp.status_code == 204
    assert seen[0]["requestContext"]["stage"] == stack.template.stage()


def test_binary_body_and_response(api: httpx.Client, stack: LocalStack) -> None:
    pdf = b"%PDF-1.4\n\xe2\xe3\xcf\xd3\n%%EOF"
    seen: list[dict[str, Any]] = []

    def fake(event: dict[str, Any], context: Any) -> dict[str, Any]:
        seen.append(event)
        return {
            "statusCode": 200,
            "headers": {"content-type": "application/pdf"},
            "cookies": ["a=1", "b=2"],
            "body": base64.b64encode(pdf).decode(),
            "isBase64Encoded": True,
        }

    with stack.functions.override("ConnectionTestFunction", fake):
        resp = api.post(
            "/api/sevdesk/test-connection",
            content=b"\x00\x01binary",
            headers={**bearer(stack.admin_token), "content-type": "application/octet-stream"},
        )
    assert resp.content == pdf
    assert resp.headers["content-type"] == "application/pdf"
    assert resp.headers.get_list("set-cookie") == ["a=1", "b=2"]
    assert seen[0]["isBase64Encoded"] is True
    assert base64.b64decode(seen[0]["body"]) == b"\x00\x01binary"


def test_handler_crash_is_500_like_api_gateway(api: httpx.Client, stack: LocalStack) -> None:
    def boom(event: Any, context: Any) -> Any:
        raise RuntimeError("boom")

    with stack.functions.override("ConfigGetFunction", boom):
        resp = api.get("/api/sevdesk/config", headers=bearer(stack.admin_token))
    assert resp.status_code == 500
    assert resp.json() == {"message": "Internal Server Error"}


def test_unknown_route_is_404(api: httpx.Client, stack: LocalStack) -> None:
    for resp in (
        api.get("/api/sevdesk/nope", headers=bearer(stack.admin_token)),
        api.get("/api/sevdesk/nope"),  # routing comes before the authorizer
        api.delete("/api/sevdesk/config", headers=bearer(stack.admin_token)),
    ):
        assert resp.status_code == 404
        assert resp.json() == {"message": "Not Found"}


def test_cors_preflight_follows_the_template(api: httpx.Client, stack: LocalStack) -> None:
    cors = stack.template.http_api()["CorsConfiguration"]
    origin = cors["AllowOrigins"][0]
    resp = api.options(
        "/api/sevdesk/config",
        headers={"Origin": origin, "Access-Control-Request-Method": "PUT"},
    )
    assert resp.status_code == 204
    assert resp.headers["access-control-allow-origin"] == origin
    assert set(resp.headers["access-control-allow-methods"].split(",")) == set(cors["AllowMethods"])
    assert "authorization" in resp.headers["access-control-allow-headers"]
    assert resp.headers["access-control-max-age"] == str(cors["MaxAge"])

    foreign = api.options(
        "/api/sevdesk/config",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
    )
    assert "access-control-allow-origin" not in foreign.headers


def test_cors_headers_on_actual_responses(api: httpx.Client, stack: LocalStack) -> None:
    origin = stack.template.http_api()["CorsConfiguration"]["AllowOrigins"][0]
    resp = api.get("/api/sevdesk/config", headers={"Origin": origin})
    assert resp.status_code == 401
    assert resp.headers["access-control-allow-origin"] == origin
    assert "retry-after" in resp.headers["access-control-expose-headers"]


@pytest.mark.skipif(not HAS_CONFIG_GET, reason="functions/config_get/app.py not written yet")
def test_config_get_as_admin_staff_and_external(api: httpx.Client, stack: LocalStack) -> None:
    admin = api.get("/api/sevdesk/config", headers=bearer(stack.admin_token))
    assert admin.status_code == 200, admin.text
    assert admin.headers["content-type"].startswith("application/json")
    assert admin.json()["tokenConfigured"] is True  # the secret got the local token

    assert api.get("/api/sevdesk/config", headers=bearer(stack.staff_token)).status_code == 403
    external = stack.mint_token("ext-1", ["admin", "staff"], user_type="external")
    assert api.get("/api/sevdesk/config", headers=bearer(external)).status_code == 403


def test_connection_test_reaches_the_emulator(api: httpx.Client, stack: LocalStack) -> None:
    if not stack.emulator_url or not (REPO_ROOT / "functions" / "connection_test" / "app.py").exists():
        pytest.skip("sevDesk emulator or functions/connection_test not available")
    resp = api.post("/api/sevdesk/test-connection", headers=bearer(stack.admin_token))
    assert resp.status_code == 200, resp.text
    assert resp.json()["isConnected"] is True
    control = stack.emulator_url.rsplit("/api/", 1)[0] + "/__emulator__/requests"
    assert any(r["path"] == "/SevUser" for r in httpx.get(control).json())
