"""The emulator as a real HTTP server (threaded werkzeug), for the local stack and end-to-end tests."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request as WsgiRequest
from werkzeug.wrappers import Response as WsgiResponse

from devtools.sevdesk_emulator.routing import Request

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

    from devtools.sevdesk_emulator.emulator import SevdeskEmulator

CHUNK = 64 * 1024


class _QuietHandler(WSGIRequestHandler):
    """No access log lines: the emulator keeps its own request log."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None


class EmulatorServer:
    """Runs in a daemon thread; `stop()` shuts it down and wakes requests held by timeout faults."""

    def __init__(self, emulator: SevdeskEmulator, host: str, port: int) -> None:
        self.emulator = emulator
        self._stopping = threading.Event()
        self._server = make_server(host, port, self._wsgi, threaded=True, request_handler=_QuietHandler)
        self.host = host
        self.port: int = self._server.server_port
        self.base_url = f"http://{host}:{self.port}/api/v1"
        self.control_url = f"http://{host}:{self.port}/__emulator__"
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="sevdesk-emulator",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> EmulatorServer:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def _wsgi(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        incoming = WsgiRequest(environ)
        outcome = self.emulator.handle(
            Request(
                method=incoming.method,
                path=incoming.path,
                query=dict(incoming.args.items()),
                headers={name.lower(): value for name, value in incoming.headers.items()},
                body=incoming.get_data(),
                origin=incoming.host_url.rstrip("/"),
            )
        )
        if outcome.drop == "lost":
            _drop_connection(environ)
        if outcome.drop == "timeout":
            self._stopping.wait(outcome.delay)  # hold the connection like a hung upstream
        answer = outcome.response
        if answer.stream is not None:  # streamed as produced, never held in memory
            response = WsgiResponse(answer.stream, status=answer.status, headers=answer.all_headers())
            response.direct_passthrough = True
            return response(environ, start_response)
        content = answer.content()
        response = WsgiResponse(_chunks(content), status=answer.status, headers=answer.all_headers())
        response.headers["Content-Length"] = str(len(content))
        return response(environ, start_response)


def _chunks(content: bytes) -> Iterable[bytes]:
    # stream big bodies (DATEV zips) in pieces, like S3 would
    for start in range(0, len(content), CHUNK):
        yield content[start : start + CHUNK]


def _drop_connection(environ: dict[str, Any] | WSGIEnvironment) -> None:
    """Close the socket without answering; werkzeug treats the ConnectionError as a dropped client."""
    connection: socket.socket = environ["werkzeug.socket"]
    try:
        connection.shutdown(socket.SHUT_RDWR)
    finally:
        connection.close()
    raise ConnectionResetError("emulator fault: response lost")
