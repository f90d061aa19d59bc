"""The API docs page of the local stack: Swagger UI over docs/openapi.json at /docs, without auth.

Dev tooling only (API Gateway never serves it). The Swagger UI files come from the swagger-ui-py
package, so the page works offline. For a browser on this machine the page is pre-authorized
with a fresh dev admin token: "Try it out" works at once.
"""

from __future__ import annotations

import importlib.util
import ipaddress
import json
from collections.abc import Callable
from pathlib import Path

from werkzeug.exceptions import NotFound
from werkzeug.utils import send_from_directory
from werkzeug.wrappers import Request, Response

PREFIX = "/docs"
OPENAPI = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"
# The one security scheme of docs/openapi.json (http bearer): the token the page pre-fills.
SECURITY_SCHEME = "jwt"

_PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>sevDesk integration API (local)</title>
  <link rel="stylesheet" href="{prefix}/swagger-ui.css">
  <link rel="icon" type="image/png" href="{prefix}/favicon-32x32.png">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="{prefix}/swagger-ui-bundle.js"></script>
  <script>
    const devToken = {token};
    window.ui = SwaggerUIBundle({{
      url: "{prefix}/openapi.json",
      dom_id: "#swagger-ui",
      deepLinking: true,
      displayRequestDuration: true,
      validatorUrl: null,
      onComplete: () => {{
        if (devToken) window.ui.preauthorizeApiKey("{scheme}", devToken);
      }},
    }});
  </script>
</body>
</html>
"""


def swagger_ui_dir() -> Path | None:
    """swagger-ui-py's copy of swagger-ui's dist files (found without importing its framework glue)."""
    spec = importlib.util.find_spec("swagger_ui")
    if spec is None or spec.origin is None:
        return None
    static = Path(spec.origin).parent / "static"
    return static if (static / "swagger-ui-bundle.js").is_file() else None


class ApiDocs:
    """Answers /docs, /docs/openapi.json and the Swagger UI assets; None for every other path."""

    def __init__(self, dev_token: Callable[[], str] | None = None, openapi: Path = OPENAPI) -> None:
        self.dev_token = dev_token
        self.openapi = openapi
        self.assets = swagger_ui_dir()

    def handle(self, req: Request) -> Response | None:
        if req.path != PREFIX and not req.path.startswith(PREFIX + "/"):
            return None
        if req.method not in ("GET", "HEAD"):
            return _text(405, "method not allowed")
        name = req.path[len(PREFIX) :].lstrip("/")
        if name in ("", "index.html"):
            return self._page(req)
        if name == "openapi.json":
            if not self.openapi.is_file():
                return _text(404, f"{self.openapi.name} not found (make openapi writes it)")
            return Response(self.openapi.read_bytes(), 200, {"cache-control": "no-cache"}, "application/json")
        if self.assets is None:
            return _text(404, "swagger-ui-py is not installed (make setup)")
        try:
            return send_from_directory(self.assets, name, req.environ, max_age=3600)
        except NotFound:
            return _text(404, "not found")

    def _page(self, req: Request) -> Response:
        if self.assets is None:
            return _text(503, "the API docs page needs swagger-ui-py: run make setup")
        # The token is an admin credential of this stack: only a browser on this machine gets it.
        token = self.dev_token() if self.dev_token and _is_loopback(req.remote_addr) else None
        html = _PAGE.format(
            prefix=PREFIX, scheme=SECURITY_SCHEME, token=json.dumps(token).replace("</", "<\\/")
        )
        return Response(html, 200, {"cache-control": "no-store"}, content_type="text/html; charset=utf-8")


def _is_loopback(address: str | None) -> bool:
    try:
        return ipaddress.ip_address(address or "").is_loopback
    except ValueError:
        return False


def _text(status: int, message: str) -> Response:
    return Response(message + "\n", status, content_type="text/plain; charset=utf-8")
