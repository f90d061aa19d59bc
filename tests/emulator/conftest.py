"""Fixtures for the emulator's own tests: an emulator, an in-process client and an HTTP server."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from devtools.sevdesk_emulator import EmulatorServer, SevdeskEmulator
from tests.emulator.helpers import TOKEN


@pytest.fixture
def emu() -> SevdeskEmulator:
    return SevdeskEmulator(token=TOKEN)


@pytest.fixture
def client(emu: SevdeskEmulator) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=emu.base_url, transport=emu.transport(), headers={"Authorization": TOKEN}
    ) as http:
        yield http


@pytest.fixture
def server(emu: SevdeskEmulator) -> Iterator[EmulatorServer]:
    running = emu.serve(host="127.0.0.1", port=0)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def http(server: EmulatorServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, headers={"Authorization": TOKEN}, timeout=5) as real:
        yield real
