"""One storm caller: a user clicking publish, then perhaps send or cancel, retrying like a
frontend. It never asks for `resend`: any second e-mail is the service's doing."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

# Answers a frontend waits out and repeats: another action holds the invoice, a limiter said
# when, or sevDesk may still be applying an earlier write (503 with Retry-After).
BUSY_CODES = frozenset({"invoice_busy", "contact_busy"})
# A 5xx without Retry-After: a "try again" button, pressed a few times.
TRY_AGAIN = 3
REQUEST_TIMEOUT = 45.0  # longer than a function may run (29 s), so a slow answer still arrives
MAX_WAIT = 10.0


def answer_key(status: int | None, body: Any) -> str:
    """'200', '409 invoice_busy', 'timeout', ...: how answers are counted and shown."""
    if status is None:
        return "no answer"
    code = None
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        code = body["error"].get("code")
    return f"{status} {code}" if code else str(status)


@dataclass
class CallerResult:
    user: str
    action: str
    answers: list[str] = field(default_factory=list)  # every answer, in order
    finals: list[str] = field(default_factory=list)  # the last answer of each step
    published: bool = False
    finished: bool = False
    seconds: float = 0.0
    longest_busy: float = 0.0  # the longest run of invoice_busy answers, seconds

    def to_dict(self) -> dict[str, Any]:
        return {
            "user": self.user,
            "action": self.action,
            "finals": self.finals,
            "answers": self.answers,
            "published": self.published,
            "finished": self.finished,
            "seconds": round(self.seconds, 2),
            "longestBusy": round(self.longest_busy, 2),
        }


class Caller:
    def __init__(
        self,
        api_url: str,
        token: str,
        user: str,
        invoice_id: str,
        action: str,
        *,
        deadline: float,
        stop: threading.Event,
    ) -> None:
        self.invoice_id = invoice_id
        self.result = CallerResult(user, action)
        self._deadline = deadline
        self._stop = stop
        self._http = httpx.Client(
            base_url=api_url,
            headers={"Authorization": f"Bearer {token}"},
            timeout=REQUEST_TIMEOUT,
        )
        self._busy_since: float | None = None

    def run(self, delay: float = 0.0) -> CallerResult:
        started = time.monotonic()
        try:
            if delay:
                self._stop.wait(delay)
            steps = self.result.action.split("+")
            for step in steps:
                status = self._step(step)
                if step == "publish":
                    self.result.published = status == 200
                if status != 200:
                    break  # a frontend does not send or cancel what did not publish
            self.result.finished = not self._stop.is_set() and time.monotonic() < self._deadline
        finally:
            self.result.seconds = time.monotonic() - started
            self._http.close()
        return self.result

    def _step(self, step: str) -> int | None:
        path = f"/api/sevdesk/invoices/{self.invoice_id}/{step}"
        body = {} if step == "send" else None
        errors = 0
        while True:
            sent = time.monotonic()
            status, answer, retry_after = self._post(path, body)
            key = answer_key(status, answer)
            self.result.answers.append(key)
            self._track_busy(key, sent)
            wait = self._retry_wait(status, key, retry_after, errors)
            if wait is None or self._stop.is_set() or time.monotonic() + wait > self._deadline:
                self.result.finals.append(f"{step}: {key}")
                return status
            if status is None or (status >= 500 and retry_after is None):
                errors += 1
            self._stop.wait(wait)

    def _post(self, path: str, body: Any) -> tuple[int | None, Any, float | None]:
        try:
            response = self._http.post(path, json=body) if body is not None else self._http.post(path)
        except httpx.HTTPError:
            return None, None, None
        try:
            answer = response.json()
        except ValueError:
            answer = None
        retry_after = response.headers.get("Retry-After")
        try:
            hint = float(retry_after) if retry_after is not None else None
        except ValueError:
            hint = None
        return response.status_code, answer, hint

    @staticmethod
    def _retry_wait(status: int | None, key: str, retry_after: float | None, errors: int) -> float | None:
        """Seconds to wait before repeating the request, or None when the answer is final."""
        if status is not None and status < 300:
            return None
        code = key.partition(" ")[2]
        if status == 409 and code in BUSY_CODES:
            return min(retry_after or 1.0, MAX_WAIT)
        if status in (429, 503) and retry_after is not None:
            return min(retry_after, MAX_WAIT)
        if (status is None or status >= 500) and errors < TRY_AGAIN:
            return 1.0
        return None

    def _track_busy(self, key: str, sent: float) -> None:
        """A run of invoice_busy answers lasts from the first one's request (the service waited
        for the lease before it answered) to the last one's answer."""
        if key.partition(" ")[2] == "invoice_busy":
            self._busy_since = self._busy_since or sent
            self.result.longest_busy = max(self.result.longest_busy, time.monotonic() - self._busy_since)
        else:
            self._busy_since = None
