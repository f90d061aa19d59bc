"""Sustained load: does the stack's memory stay flat?

Steady (the default): 48 invoices are handed over and taken to an end state first (published and
sent, or cancelled); then six users send a mix of every invoice request (hand-over again, get,
events, list, pdf, publish, send, cancel) against them for the given minutes, under a fixed pool of
identities. Those requests add little stored data (the first cancel of a sent invoice makes a
cancellation, each PDF download logs an event: the items are printed), so memory that keeps
growing is per-request state: a leak. The verdict compares the stack's own process (moto,
emulator, gateway) at half time and at the end.

Growing (`new_invoices`): a fresh invoice every few requests, so memory grows with the data the
stack stores (moto's items, the emulator's objects); the report prints the cost per invoice, which
is what a long `make local` session pays.
"""

from __future__ import annotations

import itertools
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import TextIO

import httpx

from devtools.sevdesk_emulator.request_log import DEFAULT_REQUEST_LOG_SIZE
from devtools.storms.caller import answer_key
from devtools.storms.campaign import HANDOVER
from devtools.storms.memory import MemoryWatch
from devtools.storms.target import Target

USERS = 6
IDENTITIES_PER_USER = 24  # a user cycles through them: each stays under the limit of 20 / 60 s
WORKING_SET = 8  # invoices per user in steady mode
# A flat process may still move by the allocator's arenas and a full request log; a leak of one
# KB per request is 10 MB per 10,000 requests.
FLAT_MB = 8.0
# (weight, operation): mostly reads, like a busy billing screen.
STEADY_MIX = (
    (1, "hand_over"), (3, "publish"), (4, "get"), (3, "events"), (1, "list"), (1, "send"), (2, "pdf"),
    (1, "cancel"),
)  # fmt: skip
GROWING_MIX = (
    (2, "hand_over"), (3, "publish"), (4, "get"), (3, "events"), (1, "send"), (2, "pdf"), (1, "cancel"),
)  # fmt: skip


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
    def __init__(self, number: int, target: Target, load: Load, new_invoices: bool) -> None:
        super().__init__(daemon=True, name=f"sustain-{number}")
        self.number, self.target, self.load, self.new_invoices = number, target, load, new_invoices
        self.rng = random.Random(number)
        self.tag = random.Random().getrandbits(16)
        subs = (f"sustain-{self.tag}-{number}-{k}" for k in range(IDENTITIES_PER_USER))
        self.tokens = itertools.cycle([target.mint(sub, ["staff"]) for sub in subs])
        self.ids = itertools.count()
        self.invoices: list[str] = []
        self.http = httpx.Client(base_url=target.api_url, timeout=45)
        self.ends = 0.0
        self.stop = threading.Event()

    def prepare(self) -> None:
        """Steady mode: hand over this user's invoices and take each to an end state."""
        for k in range(WORKING_SET):
            invoice_id = self._hand_over()
            self._post(f"/api/sevdesk/invoices/{invoice_id}/publish", "publish")
            then = "cancel" if k % 2 else "send"
            self._post(f"/api/sevdesk/invoices/{invoice_id}/{then}", then, {} if then == "send" else None)

    def run(self) -> None:
        weights, operations = zip(*(GROWING_MIX if self.new_invoices else STEADY_MIX), strict=True)
        while time.monotonic() < self.ends and not self.stop.is_set():
            operation = self.rng.choices(operations, weights)[0]
            if (operation == "hand_over" and self.new_invoices) or not self.invoices:
                self._hand_over()
            elif operation == "hand_over":
                self._hand_over(self.rng.choice(self.invoices))
            else:
                self._on_invoice(operation, self.rng.choice(self.invoices))
        self.http.close()

    def _hand_over(self, invoice_id: str | None = None) -> str:
        invoice_id = invoice_id or f"SUSTAIN-{self.tag}-{self.number}-{next(self.ids)}"
        company = {**HANDOVER["company"], "id": f"sus-{self.tag}-{self.number % 3}"}
        body = {**HANDOVER, "company": company, "invoiceNumber": invoice_id}
        status = self._request("PUT", f"/api/billing/invoices/{invoice_id}", "hand_over", body)
        if status == 201:
            self.invoices.append(invoice_id)
            del self.invoices[:-20]  # work on recent invoices, like a screen does
        return invoice_id

    def _on_invoice(self, operation: str, invoice_id: str) -> None:
        billing, sevdesk = f"/api/billing/invoices/{invoice_id}", f"/api/sevdesk/invoices/{invoice_id}"
        paths = {
            "get": ("GET", billing),
            "events": ("GET", f"{billing}/events"),
            "list": ("GET", "/api/billing/invoices?limit=20"),
            "pdf": ("GET", f"{sevdesk}/pdf"),
        }
        if operation in paths:
            self._request(*paths[operation], operation)
        else:
            self._post(f"{sevdesk}/{operation}", operation, {} if operation == "send" else None)

    def _post(self, path: str, operation: str, body: object = None) -> int | None:
        return self._request("POST", path, operation, body)

    def _request(self, method: str, path: str, operation: str, body: object = None) -> int | None:
        headers = {"Authorization": f"Bearer {next(self.tokens)}"}
        try:
            response = self.http.request(method, path, json=body, headers=headers)
        except httpx.HTTPError as error:
            self.load.count(f"{operation} {type(error).__name__}")
            return None
        self.load.count(f"{operation} {answer_key(response.status_code, _json(response))}")
        return response.status_code


def _json(response: httpx.Response) -> object:
    try:
        return response.json()
    except ValueError:
        return None


@dataclass(frozen=True)
class Stored:
    """What the stack stores: the table's items, the emulator's invoices and logged requests."""

    items: int | None = None
    invoices: int | None = None
    logged: int | None = None

    def __str__(self) -> str:
        parts = [f"{self.items} items"] if self.items is not None else []
        if self.invoices is not None:
            parts.append(f"{self.invoices} sevDesk invoices, {self.logged} sevDesk requests logged")
        return ", ".join(parts) or "stored data n/a"


def _stored(target: Target) -> Stored:
    items = target.item_count()
    try:
        state = httpx.get(f"{target.control_url}/state", timeout=30).json()
        # The emulator logs the newest 10,000 requests: the log stops growing there.
        return Stored(items, len(state["invoices"]), min(state["requests_total"], DEFAULT_REQUEST_LOG_SIZE))
    except (httpx.HTTPError, ValueError, KeyError):
        return Stored(items)


def sustain(
    target: Target,
    minutes: float,
    out: TextIO,
    stop: threading.Event,
    every: float = 30.0,
    new_invoices: bool = False,
) -> bool:
    """Run the load; True unless a request got a 500 (our bug), the run was interrupted, or (in
    steady mode) the stack's own process grew by more than FLAT_MB in the second half."""
    load, memory = Load(), MemoryWatch(target.pid)
    users = [_User(n, target, load, new_invoices) for n in range(USERS)]
    mode = "growing: a fresh invoice every few requests" if new_invoices else "steady"
    if not new_invoices:
        preparing = [threading.Thread(target=user.prepare, daemon=True) for user in users]
        for thread in preparing:
            thread.start()
        for thread in preparing:
            thread.join()
        mode += f": {USERS * WORKING_SET} invoices published and sent or cancelled, then worked on"
    started, stored = time.monotonic(), _stored(target)
    memory.sample(0.0)
    print(f"sustain ({mode}), {USERS} users for {minutes:g} min", file=out)
    print(f"  {'start':>6}  {memory.line('now')}; {stored}", file=out, flush=True)
    for user in users:
        user.ends, user.stop = started + minutes * 60, stop
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
            f"  {elapsed:4.0f} s  {load.requests:7d} requests  {load.requests / elapsed:5.1f}/s  "
            f"{memory.line('now')}; {_stored(target)}",
            file=out,
            flush=True,
        )
    elapsed = time.monotonic() - started
    memory.sample(elapsed)
    print(f"sustain: {load.requests} requests in {elapsed / 60:.1f} min; {memory.summary()}", file=out)
    print(f"  stored at the end: {_stored(target)}", file=out)
    handed_over = load.answers["hand_over 201"]
    for key, count in sorted(load.answers.items()):
        print(f"  {count:7d}  {key}", file=out)
    server_errors = sum(n for key, n in load.answers.items() if key.split(" ")[1] == "500")
    if new_invoices:
        _per_invoice(memory, handed_over, out)
    flat = new_invoices or _verdict(memory, out)
    return server_errors == 0 and flat and not stop.is_set()


def _per_invoice(memory: MemoryWatch, handed_over: int, out: TextIO) -> None:
    """Growing mode: the own process's growth per invoice handed over (and published, sent or
    cancelled by the mix), which is what a long `make local` session pays per invoice."""
    own = memory.root_samples
    if handed_over and len(own) >= 2:
        grown = (own[-1] - own[0]) / 2**10
        print(
            f"memory per stored invoice: {grown / handed_over:.0f} KB "
            f"({grown / 2**10:+.0f} MB for {handed_over} new invoices)",
            file=out,
        )


def _verdict(memory: MemoryWatch, out: TextIO) -> bool:
    """Steady mode: the own process's growth from the middle sample to the last one."""
    own = memory.root_samples
    if len(own) < 3:
        print("memory: too short a run to judge (fewer than three samples)", file=out)
        return True
    middle, end = own[len(own) // 2] / 2**20, own[-1] / 2**20
    flat = end - middle <= FLAT_MB
    verdict = "flat" if flat else "GROWING"
    print(
        f"memory {verdict}: the stack's own process {middle:.0f} MB at half time, {end:.0f} MB at the end "
        f"({end - middle:+.1f} MB; flat means at most +{FLAT_MB:g} MB)",
        file=out,
    )
    return flat
