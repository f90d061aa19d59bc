"""What a storm is: its callers and their actions, and the one sevDesk fault it meets.

A storm's shape depends only on (seed, index), so `--only-storm K --seed S` re-runs storm K of a
campaign alone with the same callers, actions and fault (the timing is the machine's).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

ACTIONS = ("publish", "publish+send", "publish+cancel")
# sevDesk paths the invoice actions use, as the emulator matches them (relative to /api/v1), and
# the steps that use them.
TARGETS: tuple[tuple[str, str, str, frozenset[str]], ...] = (
    ("POST", "^/Invoice/Factory/saveInvoice$", "saveInvoice", frozenset({"publish"})),
    ("PUT", r"^/Invoice/\d+/sendBy$", "sendBy", frozenset({"publish"})),
    ("POST", r"^/Invoice/\d+/sendViaEmail$", "sendViaEmail", frozenset({"send"})),
    ("POST", r"^/Invoice/\d+/cancelInvoice$", "cancelInvoice", frozenset({"cancel"})),
    ("PUT", r"^/Invoice/\d+/changeParameter$", "changeParameter", frozenset({"publish", "cancel"})),
    ("GET", "^/Invoice$", "GET /Invoice (lists)", frozenset({"publish", "cancel"})),
    ("GET", r"^/Invoice/\d+$", "GET /Invoice/{id}", frozenset({"publish", "send", "cancel"})),
    ("POST", "^/Contact$", "POST /Contact", frozenset({"publish"})),
    ("GET", "^/Contact$", "GET /Contact", frozenset({"publish"})),
    ("POST", "^/ContactAddress$", "POST /ContactAddress", frozenset({"publish"})),
    ("POST", "^/CommunicationWay$", "POST /CommunicationWay", frozenset({"publish"})),
    ("GET", "^/SevUser$", "GET /SevUser", frozenset({"publish"})),
    ("DELETE", r"^/Invoice/\d+$", "DELETE /Invoice/{id}", frozenset({"cancel"})),
)
# The one write of a follow-up step is where its duplicates would come from: chosen more often.
FOLLOW_UP_WEIGHT = 4
# (kind, applied): the fault kinds of devtools/sevdesk_emulator/faults.py, applied or not.
FAULT_KINDS = (
    ("status", True),
    ("status", False),
    ("rate_limit", False),
    ("timeout", True),
    ("timeout", False),
    ("lost_response", True),
    ("latency", True),
)


@dataclass(frozen=True)
class Timing:
    """The stack's sevDesk client timeout and how long held and slow answers take: a timeout
    fault outlasts the client; a latency fault may (its write then lands after the client gave
    up, which the ambiguous-write grace period must cover)."""

    client_timeout: float = 2.0
    timeout_delay: float = 3.0
    latency_max: float = 3.0


@dataclass(frozen=True)
class FaultShape:
    method: str
    path: str
    label: str
    kind: str
    apply: bool
    times: int
    status: int = 500
    delay: float = 0.0

    def rule(self) -> dict[str, Any]:
        """The body for POST {control_url}/faults."""
        rule: dict[str, Any] = {
            "method": self.method,
            "path": self.path,
            "kind": self.kind,
            "apply": self.apply,
            "times": self.times,
            "status": self.status,
            "retry_after": 1,
        }
        if self.delay:
            rule["delay"] = self.delay
        return rule

    def describe(self) -> str:
        kind = self.kind
        if self.kind == "status":
            kind = f"status {self.status}"
        if self.kind in ("status", "timeout"):
            kind += " (applied)" if self.apply else " (not applied)"
        if self.delay:
            kind += f" {self.delay:.1f}s"
        return f"{kind} x{self.times} on {self.label}"


@dataclass(frozen=True)
class StormShape:
    seed: int
    index: int
    actions: tuple[str, ...]  # one per caller
    offsets: tuple[float, ...]  # each caller's start, seconds after the storm's
    fault: FaultShape

    def describe(self) -> str:
        counts: dict[str, int] = {}
        for action in self.actions:
            counts[action] = counts.get(action, 0) + 1
        callers = ", ".join(f"{n} {action}" for action, n in counts.items())
        return f"{len(self.actions)} callers ({callers}); fault {self.fault.describe()}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "storm": self.index,
            "actions": list(self.actions),
            "offsets": list(self.offsets),
            "fault": self.fault.rule() | {"label": self.fault.label},
        }


def storm_shape(seed: int, index: int, callers: tuple[int, int], timing: Timing) -> StormShape:
    rng = random.Random(f"storm:{seed}:{index}")
    count = rng.randint(*callers)
    # Mostly one action for every caller (the storms), sometimes a mix.
    if rng.random() < 0.75:
        actions = (rng.choice(ACTIONS),) * count
    else:
        actions = tuple(rng.choice(ACTIONS) for _ in range(count))
    offsets = tuple(round(rng.uniform(0.0, 0.3), 2) for _ in range(count))
    return StormShape(seed, index, actions, offsets, _fault(rng, actions, timing))


def _fault(rng: random.Random, actions: tuple[str, ...], timing: Timing) -> FaultShape:
    """A fault on a path one of the storm's steps uses (a fault nobody meets tests nothing)."""
    steps = {step for action in actions for step in action.split("+")}
    used = [target for target in TARGETS if target[3] & steps]
    weights = [FOLLOW_UP_WEIGHT if target[2] in ("sendViaEmail", "cancelInvoice") else 1 for target in used]
    method, path, label, _ = rng.choices(used, weights)[0]
    kind, applied = rng.choice(FAULT_KINDS)
    times = rng.randint(1, 3)
    status = rng.choice((500, 502, 503)) if kind == "status" else 500
    delay = 0.0
    if kind == "timeout":
        delay = timing.timeout_delay
    elif kind == "latency":
        delay = round(rng.uniform(0.2, timing.latency_max), 1)
    return FaultShape(method, path, label, kind, applied, times, status, delay)
