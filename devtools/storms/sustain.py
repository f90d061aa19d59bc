"""Sustained load: several users send a steady mix of requests (hand-over, publish, get, events,
send, pdf, cancel) for some minutes, no faults; prints requests done and the stack's RSS over
time, so a leak shows as a rising line."""

from __future__ import annotations

import itertools
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import TextIO

import httpx

from devtools.storms.caller import answer_key
from devtools.storms.campaign import HANDOVER
from devtools.storms.memory import MemoryWatch
from devtools.storms.target import Target

USERS = 6
REQUESTS_PER_IDENTITY = 15  # below the per-user limit of 20 per 60 s
# (weight, operation): mostly reads, like a busy billing screen.
MIX = ((2, "hand_over"), (3, "publish"), (4, "get"), (3, "events"), (1, "send"), (2, "pdf"), (1, "cancel"))


@dataclass
class Load:
    requests: int = 0
    answers: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, key: str) -> None:
        with self.lock:
            self.requests += 1
            self.answers[key] += 1


class _User(threading.Thread):
    def __init__(self, number: int, target: Target, load: Load, ends: float, stop: threading.Event) -> None:
        super().__init__(daemon=True, name=f"sustain-{number}")
        self.number = number
        self.target = target
        self.load = load
        self.ends = ends
        self.stop = stop
        self.rng = random.Random(number)
        self.invoices: list[str] = []
        self.sent = 0
        self.token = ""
        self.ids = itertools.count()
        self.tag = random.Random().getrandbits(16)

    def run(self) -> None:
        weights, operations = zip(*MIX, strict=True)
        with httpx.Client(base_url=self.target.api_url, timeout=45) as http:
            while time.monotonic() < self.ends and not self.stop.is_set():
                operation = self.rng.choices(operations, weights)[0]
                if operation != "hand_over" and not self.invoices:
                    operation = "hand_over"
                self._request(http, operation)

    def _headers(self) -> dict[str, str]:
        if self.sent % REQUESTS_PER_IDENTITY == 0:
            identity = self.sent // REQUESTS_PER_IDENTITY
            self.token = self.target.mint(f"sustain-{self.tag}-{self.number}-{identity}", ["staff"])
        self.sent += 1
        return {"Authorization": f"Bearer {self.token}"}

    def _request(self, http: httpx.Client, operation: str) -> None:
        headers = self._headers()
        try:
            if operation == "hand_over":
                invoice_id = f"SUSTAIN-{self.tag}-{self.number}-{next(self.ids)}"
                company = {**HANDOVER["company"], "id": f"sus-{self.tag}-{self.number % 3}"}
                body = {**HANDOVER, "company": company, "invoiceNumber": invoice_id}
                response = http.put(f"/api/billing/invoices/{invoice_id}", json=body, headers=headers)
                if response.status_code in (200, 201):
                    self.invoices.append(invoice_id)
                    del self.invoices[:-20]  # work on recent invoices, like a screen does
            else:
                invoice_id = self.rng.choice(self.invoices)
                response = self._on_invoice(http, operation, invoice_id, headers)
            key = f"{operation} {answer_key(response.status_code, _json(response))}"
        except httpx.HTTPError as error:
            key = f"{operation} {type(error).__name__}"
        self.load.count(key)

    @staticmethod
    def _on_invoice(
        http: httpx.Client, operation: str, invoice_id: str, headers: dict[str, str]
    ) -> httpx.Response:
        billing, sevdesk = f"/api/billing/invoices/{invoice_id}", f"/api/sevdesk/invoices/{invoice_id}"
        if operation == "get":
            return http.get(billing, headers=headers)
        if operation == "events":
            return http.get(f"{billing}/events", headers=headers)
        if operation == "pdf":
            return http.get(f"{sevdesk}/pdf", headers=headers)
        if operation == "send":
            return http.post(f"{sevdesk}/send", json={}, headers=headers)
        return http.post(f"{sevdesk}/{operation}", headers=headers)


def _json(response: httpx.Response) -> object:
    try:
        return response.json()
    except ValueError:
        return None


def sustain(target: Target, minutes: float, out: TextIO, stop: threading.Event, every: float = 30.0) -> bool:
    """Run the load; True unless a request got a 500 (our bug) or the run was interrupted."""
    load, memory = Load(), MemoryWatch(target.pid)
    started = time.monotonic()
    ends = started + minutes * 60
    memory.sample(0.0)
    print(f"sustain: {USERS} users for {minutes:g} min; {memory.line('start')}", file=out, flush=True)
    users = [_User(n, target, load, ends, stop) for n in range(USERS)]
    for user in users:
        user.start()
    next_line = started + every
    while any(user.is_alive() for user in users) and not stop.is_set():
        stop.wait(0.5)
        if time.monotonic() < next_line:
            continue
        next_line += every
        elapsed = time.monotonic() - started
        memory.sample(elapsed)
        print(
            f"  {elapsed:6.0f} s  {load.requests:7d} requests  {load.requests / elapsed:5.1f}/s  "
            f"{memory.line('now')}",
            file=out,
            flush=True,
        )
    memory.sample(time.monotonic() - started)
    elapsed = time.monotonic() - started
    print(
        f"sustain: {load.requests} requests in {elapsed / 60:.1f} min; {memory.summary()}",
        file=out,
    )
    for key, count in sorted(load.answers.items()):
        print(f"  {count:7d}  {key}", file=out)
    server_errors = sum(n for key, n in load.answers.items() if key.split(" ")[1] == "500")
    return server_errors == 0 and not stop.is_set()
