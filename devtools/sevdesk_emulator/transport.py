"""In-process httpx transport: no sockets, faults become the exceptions httpx would raise."""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx

from devtools.sevdesk_emulator.routing import Request

if TYPE_CHECKING:
    from devtools.sevdesk_emulator.emulator import SevdeskEmulator


class EmulatorTransport(httpx.BaseTransport):
    def __init__(self, emulator: SevdeskEmulator) -> None:
        self.emulator = emulator

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        origin = f"{request.url.scheme}://{request.url.netloc.decode('ascii')}"
        outcome = self.emulator.handle(
            Request(
                method=request.method,
                path=request.url.path,
                query=dict(request.url.params),
                headers={name.lower(): value for name, value in request.headers.items()},
                body=request.read(),
                origin=origin,
            )
        )
        if outcome.drop == "timeout":
            raise httpx.ReadTimeout("The read operation timed out", request=request)
        if outcome.drop == "lost":
            raise httpx.RemoteProtocolError(
                "Server disconnected without sending a response.", request=request
            )
        response = outcome.response
        content = iter(response.stream) if response.stream is not None else response.content()
        return httpx.Response(
            response.status, headers=response.all_headers(), content=content, request=request
        )
