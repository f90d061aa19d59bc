"""Run storms and check, from the sevDesk emulator's state and the API, what must hold after
each: one sevDesk invoice, at most one cancellation, one contact and one e-mail; every caller
done in time; the invoice's lease free."""

from __future__ import annotations

import json
import os
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import httpx

from devtools.storms.caller import Caller, CallerResult, answer_key
from devtools.storms.memory import MemoryWatch
from devtools.storms.shapes import StormShape, Timing, storm_shape
from devtools.storms.target import Target

REPO_ROOT = Path(__file__).resolve().parents[2]
HANDOVER: dict[str, Any] = json.loads(
    json.loads((REPO_ROOT / "events" / "billing_invoice_put.json").read_text())["body"]
)
CALLER_BOUND_SECONDS = 120.0
STUCK_BUSY_SECONDS = 60.0  # the invoice lease's lifetime: busy for longer means a lost release
# What the emulator keeps per storm: its answers for the storm's report when something failed.
DUPLICATE_KINDS = ("invoices", "cancellations", "contacts", "emails")


@dataclass
class StormResult:
    shape: StormShape
    invoice_id: str
    callers: list[CallerResult] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)  # sevDesk objects of the storm, by kind
    violations: list[str] = field(default_factory=list)
    probe: str = ""
    seconds: float = 0.0
    evidence: dict[str, Any] = field(default_factory=dict)  # events and sevDesk requests, on failure

    @property
    def answers(self) -> Counter[str]:
        return Counter(answer for caller in self.callers for answer in caller.answers)

    @property
    def stuck(self) -> bool:
        return any(v.startswith(("stuck", "lease")) for v in self.violations)

    def rerun(self) -> str:
        return f"python -m devtools.storms --seed {self.shape.seed} --only-storm {self.shape.index}"

    def headline(self) -> str:
        answers = ", ".join(f"{key}: {n}" for key, n in sorted(self.answers.items()))
        return (
            f"storm {self.shape.index} (seed {self.shape.seed}): {self.shape.describe()}; answers {answers}"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.shape.to_dict(),
            "invoiceId": self.invoice_id,
            "shape": self.shape.describe(),
            "callers": [caller.to_dict() for caller in self.callers],
            "counts": self.counts,
            "violations": self.violations,
            "probe": self.probe,
            "seconds": round(self.seconds, 2),
            "evidence": self.evidence,
        }


@dataclass
class Summary:
    storms: int = 0
    failed: list[StormResult] = field(default_factory=list)
    duplicates: Counter[str] = field(default_factory=Counter)
    stuck: int = 0
    answers: Counter[str] = field(default_factory=Counter)
    violations: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    interrupted: bool = False
    out_of_time: bool = False

    @property
    def ok(self) -> bool:
        return not self.failed and not self.interrupted

    def add(self, result: StormResult) -> None:
        self.storms += 1
        self.answers.update(result.answers)
        for violation in result.violations:
            self.violations[violation.split(":")[0]] += 1
        for kind in DUPLICATE_KINDS:
            if result.counts.get(kind, 0) > 1:
                self.duplicates[kind] += 1
        self.stuck += result.stuck
        if result.violations:
            self.failed.append(result)

    def render(self) -> str:
        duplicates = ", ".join(f"{kind} {self.duplicates[kind]}" for kind in DUPLICATE_KINDS)
        answers = ", ".join(f"{key}: {n}" for key, n in sorted(self.answers.items()))
        lines = [
            f"storms: {self.storms}, failing: {len(self.failed)}, stuck: {self.stuck}, "
            f"wall time: {self.seconds:.0f} s",
            f"storms with duplicates: {duplicates}",
            f"answers: {answers}",
        ]
        if self.violations:
            lines.append("violations: " + ", ".join(f"{k}: {n}" for k, n in sorted(self.violations.items())))
        if self.interrupted:
            lines.append("interrupted: the campaign stopped early")
        if self.out_of_time:
            lines.append("time bound reached: the campaign stopped before its last storm")
        return "\n".join(lines)


@dataclass
class Settings:
    seed: int
    storms: int
    callers: tuple[int, int] = (1, 8)
    parallel: int = 1
    max_minutes: float = 60.0
    only_storm: int | None = None
    rss_every: int = 50
    verbose: bool = False  # a line for every storm, not only the failing ones
    timing: Timing = field(default_factory=Timing)


class Campaign:
    def __init__(
        self,
        target: Target,
        settings: Settings,
        out: TextIO,
        report: TextIO | None = None,
        stop: threading.Event | None = None,
    ) -> None:
        self.target = target
        self.settings = settings
        self.out = out
        self.report = report
        self.stop = stop or threading.Event()
        self.control = httpx.Client(base_url=target.control_url, timeout=30)
        self.api = httpx.Client(base_url=target.api_url, timeout=45)
        self.memory = MemoryWatch(target.pid)
        self.tag = os.urandom(2).hex()  # invoice ids stay fresh on a stack that ran storms before

    # ------------------------------------------------------------------ the campaign
    def run(self) -> Summary:
        settings, summary = self.settings, Summary()
        started = time.monotonic()
        ends = started + settings.max_minutes * 60
        indexes = [settings.only_storm] if settings.only_storm is not None else list(range(settings.storms))
        self._sample("start", started, show=True)
        results: list[StormResult] = []
        for wave_start in range(0, len(indexes), max(1, settings.parallel)):
            if self.stop.is_set():
                summary.interrupted = True
                break
            if time.monotonic() >= ends:
                summary.out_of_time = True
                break
            wave = indexes[wave_start : wave_start + max(1, settings.parallel)]
            for result in self.run_wave(wave):
                summary.add(result)
                self._print_result(result)
                results.append(result)
            if self.stop.is_set():
                summary.interrupted = True
                break
            every = settings.rss_every
            shown = every > 0 and summary.storms // every != (summary.storms - len(wave)) // every
            self._sample(f"after {summary.storms} storms", started, show=shown)
        if results and not self.stop.is_set():
            self._sweep(results, summary)
        summary.seconds = time.monotonic() - started
        self._sample("end", started, show=True)
        self.control.close()
        self.api.close()
        return summary

    def _sample(self, label: str, started: float, *, show: bool) -> None:
        self.memory.sample(time.monotonic() - started)
        if show:
            print(self.memory.line(label), file=self.out, flush=True)

    def _print_result(self, result: StormResult) -> None:
        if self.report is not None:
            self.report.write(json.dumps(result.to_dict()) + "\n")
            self.report.flush()
        if self.settings.verbose and not result.violations:
            print(f"ok   {result.headline()} ({result.seconds:.1f} s)", file=self.out, flush=True)
        if result.violations:
            print(f"FAIL {result.headline()}", file=self.out)
            for violation in result.violations:
                print(f"    {violation}", file=self.out)
            print(f"    re-run alone: {result.rerun()}", file=self.out, flush=True)

    # ------------------------------------------------------------------ one wave of storms
    def run_wave(self, indexes: list[int]) -> list[StormResult]:
        """Storms at once (one unless --parallel); faults are global in the emulator, so each
        storm's fault may also meet the others' requests. Checks run once all have ended."""
        settings = self.settings
        shapes = [storm_shape(settings.seed, k, settings.callers, settings.timing) for k in indexes]
        results = [StormResult(shape, f"STORM-{shape.seed}-{shape.index}-{self.tag}") for shape in shapes]
        self.control.delete("/faults").raise_for_status()
        self.control.delete("/requests").raise_for_status()
        for result in results:
            self._hand_over(result)
        for result in results:
            self.control.post("/faults", json=result.shape.fault.rule()).raise_for_status()
        started = time.monotonic()
        threads = [thread for result in results for thread in self._start_callers(result)]
        for thread in threads:
            while thread.is_alive() and not self.stop.is_set():
                thread.join(0.2)
        self.control.delete("/faults").raise_for_status()
        if self.stop.is_set():
            return []
        for result in results:
            result.seconds = time.monotonic() - started
            self._check(result)
        return results

    def _hand_over(self, result: StormResult) -> None:
        shape = result.shape
        company = {**HANDOVER["company"], "id": f"st-{shape.seed}-{shape.index}-{self.tag}"}
        body = {**HANDOVER, "company": company, "invoiceNumber": f"RE-STORM-{shape.seed}-{shape.index}"}
        response = self.api.put(
            f"/api/billing/invoices/{result.invoice_id}", json=body, headers=self._auth(result, "owner")
        )
        if response.status_code not in (200, 201):
            raise RuntimeError(
                f"hand-over of {result.invoice_id} failed: {response.status_code} {response.text}"
            )

    def _auth(self, result: StormResult, who: str) -> dict[str, str]:
        # A user per caller: the per-user limiter (20 requests / 60 s) stays out of the storm.
        sub = f"storm-{result.shape.seed}-{result.shape.index}-{self.tag}-{who}"
        return {"Authorization": f"Bearer {self.target.mint(sub, ['staff'])}"}

    def _start_callers(self, result: StormResult) -> list[threading.Thread]:
        deadline = time.monotonic() + CALLER_BOUND_SECONDS
        threads = []
        for number, (action, offset) in enumerate(
            zip(result.shape.actions, result.shape.offsets, strict=True)
        ):
            user = f"storm-{result.shape.seed}-{result.shape.index}-{self.tag}-caller{number}"
            caller = Caller(
                self.target.api_url,
                self.target.mint(user, ["staff"]),
                user,
                result.invoice_id,
                action,
                deadline=deadline,
                stop=self.stop,
            )
            result.callers.append(caller.result)
            # Daemon threads: Ctrl-C ends the campaign without waiting for a caller's request.
            thread = threading.Thread(target=caller.run, args=(offset,), daemon=True)
            thread.start()
            threads.append(thread)
        return threads

    # ------------------------------------------------------------------ checks
    def _check(self, result: StormResult) -> None:
        violations = result.violations
        for caller in result.callers:
            if not caller.finished:
                violations.append(
                    f"stuck: {caller.user} ({caller.action}) not done within {CALLER_BOUND_SECONDS:.0f} s; "
                    f"last answers {caller.answers[-3:]}"
                )
            elif caller.longest_busy > STUCK_BUSY_SECONDS:
                violations.append(f"stuck: {caller.user} got invoice_busy for {caller.longest_busy:.0f} s")
            if any(answer.startswith("500") for answer in caller.answers):
                violations.append(f"internal_error: {caller.user} got a 500: {caller.answers}")
        lease = self.target.lease(result.invoice_id)
        if lease:
            violations.append(f"lease_held: after every caller ended, the lease is still held: {lease}")
        self._count(result)
        published = any(caller.published for caller in result.callers)
        if published and result.counts["invoices"] == 0:
            violations.append("lost_invoice: a publish answered 200 but sevDesk has no invoice")
        self._probe(result)
        self._count(result)
        for kind in DUPLICATE_KINDS:
            if result.counts[kind] > 1:
                violations.append(f"duplicate_{kind}: {result.counts[kind]} in sevDesk")
        if violations:
            result.evidence = self._evidence(result)

    def _probe(self, result: StormResult) -> None:
        """Without faults, one more publish must get through: the invoice is not stuck (a held
        lease or an unsettled write would show here), and it leaves one sevDesk invoice."""
        caller = Caller(
            self.target.api_url,
            self.target.mint(f"storm-{result.shape.seed}-{result.shape.index}-{self.tag}-probe", ["staff"]),
            "probe",
            result.invoice_id,
            "publish",
            deadline=time.monotonic() + CALLER_BOUND_SECONDS,
            stop=self.stop,
        ).run()
        result.probe = caller.finals[-1] if caller.finals else ""
        if self.stop.is_set():
            return
        if not caller.published:
            result.violations.append(f"probe: a publish without faults ended {caller.answers}")
        elif caller.longest_busy > STUCK_BUSY_SECONDS:
            result.violations.append(f"stuck: the probe got invoice_busy for {caller.longest_busy:.0f} s")

    def _sweep(self, results: list[StormResult], summary: Summary) -> None:
        """A write held by a latency fault may land after its storm was checked: once all are
        done and the longest hold is over, count every storm's sevDesk objects again."""
        timing = self.settings.timing
        self.stop.wait(max(timing.timeout_delay, timing.latency_max) + 1)
        state = self.control.get("/state").json()
        for result in results:
            before = dict(result.counts)
            self._count(result, state)
            late = [kind for kind in DUPLICATE_KINDS if before[kind] <= 1 < result.counts[kind]]
            if late:
                result.violations += [f"late_duplicate_{kind}: {result.counts[kind]}" for kind in late]
                summary.duplicates.update(late)
                summary.violations.update(f"late_duplicate_{kind}" for kind in late)
                if result not in summary.failed:
                    summary.failed.append(result)
                self._print_result(result)

    def _count(self, result: StormResult, state: dict[str, Any] | None = None) -> None:
        state = state or self.control.get("/state").json()
        marker = f"R1-INVOICE:{result.invoice_id}"
        ours = [i for i in state["invoices"].values() if i.get("customerInternalNote") == marker]
        originals = {str(i["id"]) for i in ours if i.get("invoiceType") == "RE"}
        customer = f"R1-CO-st-{result.shape.seed}-{result.shape.index}-{self.tag}"
        result.counts = {
            "invoices": len(originals),
            "cancellations": sum(1 for i in ours if i.get("invoiceType") == "SR"),
            "contacts": sum(1 for c in state["contacts"].values() if c.get("customerNumber") == customer),
            "emails": sum(1 for e in state["emails"] if str((e.get("object") or {}).get("id")) in originals),
        }

    def _evidence(self, result: StormResult) -> dict[str, Any]:
        """What explains a failing storm: the invoice's event log and the sevDesk requests."""
        events = self.api.get(
            f"/api/billing/invoices/{result.invoice_id}/events", headers=self._auth(result, "owner")
        )
        requests = self.control.get("/requests").json() if self.settings.parallel == 1 else []
        return {
            "events": events.json() if events.status_code == 200 else answer_key(events.status_code, None),
            "sevdeskRequests": [f"{r['method']} {r['path']}" for r in requests],
        }


def run_campaign(
    target: Target,
    settings: Settings,
    out: TextIO,
    report: TextIO | None = None,
    stop: threading.Event | None = None,
    on_start: Callable[[Campaign], None] | None = None,
) -> tuple[Summary, MemoryWatch]:
    campaign = Campaign(target, settings, out, report, stop)
    if on_start:
        on_start(campaign)
    summary = campaign.run()
    return summary, campaign.memory
