"""The storm campaign's own rules: shapes reproducible from (seed, storm), a frontend's retry
policy, and how results count (devtools/storms)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from devtools.storms.caller import Caller, answer_key
from devtools.storms.campaign import StormResult, Summary
from devtools.storms.memory import tree_rss
from devtools.storms.shapes import TARGETS, Timing, storm_shape


def test_a_storm_shape_depends_only_on_seed_and_index() -> None:
    first = [storm_shape(11, k, (1, 8), Timing()) for k in range(50)]
    again = [storm_shape(11, k, (1, 8), Timing()) for k in range(50)]

    assert first == again
    assert first != [storm_shape(12, k, (1, 8), Timing()) for k in range(50)]
    assert all(1 <= len(shape.actions) <= 8 for shape in first)
    assert {len(shape.actions) for shape in first} >= {1, 8}


def test_every_fault_is_on_a_path_the_storm_uses() -> None:
    steps_of = {label: steps for _, _, label, steps in TARGETS}
    for k in range(200):
        shape = storm_shape(3, k, (1, 8), Timing())
        steps = {step for action in shape.actions for step in action.split("+")}
        assert steps_of[shape.fault.label] & steps, shape.describe()
        assert 1 <= shape.fault.times <= 3


def test_timeout_faults_outlast_the_client() -> None:
    timing = Timing()
    shapes = [storm_shape(5, k, (1, 8), timing) for k in range(300)]
    held = [s.fault for s in shapes if s.fault.kind == "timeout"]
    slow = [s.fault for s in shapes if s.fault.kind == "latency"]

    assert held and all(f.delay > timing.client_timeout for f in held)
    assert slow and all(0 < f.delay <= timing.latency_max for f in slow)


@pytest.mark.parametrize(
    ("status", "key", "retry_after", "errors", "wait"),
    [
        (200, "200", None, 0, None),
        (409, "409 invoice_busy", None, 0, 1.0),
        (409, "409 contact_busy", 3.0, 0, 3.0),
        (429, "429 rate_limited", 7.0, 0, 7.0),
        (503, "503 sevdesk_outcome_pending", 4.0, 5, 4.0),
        (503, "503 send_outcome_unknown", None, 0, 1.0),
        (503, "503 send_outcome_unknown", None, 3, None),
        (409, "409 send_outcome_unknown", None, 0, None),  # only `resend` would repeat it
        (409, "409 invoice_cancelled", None, 0, None),
        (422, "422 unprocessable", None, 0, None),
        (None, "no answer", None, 1, 1.0),
    ],
)
def test_a_caller_retries_like_a_frontend(
    status: int | None, key: str, retry_after: float | None, errors: int, wait: float | None
) -> None:
    assert Caller._retry_wait(status, key, retry_after, errors) == wait


def test_answers_are_counted_by_status_and_code() -> None:
    assert answer_key(409, {"error": {"code": "invoice_busy", "message": "..."}}) == "409 invoice_busy"
    assert answer_key(200, {"invoiceId": "x"}) == "200"
    assert answer_key(500, {"message": "Internal Server Error"}) == "500"
    assert answer_key(None, None) == "no answer"


def test_a_summary_counts_duplicates_by_kind_and_stuck_storms() -> None:
    clean = StormResult(storm_shape(1, 0, (1, 8), Timing()), "A", counts={"invoices": 1, "emails": 1})
    twice = StormResult(
        storm_shape(1, 1, (1, 8), Timing()),
        "B",
        counts={"invoices": 1, "emails": 2},
        violations=["duplicate_emails: 2 in sevDesk", "stuck: caller0 got invoice_busy for 75 s"],
    )
    summary = Summary()
    summary.add(clean)
    summary.add(twice)

    assert summary.storms == 2
    assert summary.duplicates == {"emails": 1}
    assert summary.stuck == 1
    assert summary.failed == [twice]
    assert not summary.ok
    assert "--seed 1 --only-storm 1" in twice.rerun()


def test_the_rss_of_a_process_tree_includes_its_children() -> None:
    alone, processes = tree_rss()
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        with_child, more = tree_rss()
    finally:
        child.kill()
        child.wait()

    assert alone > 0 and processes >= 1
    assert more == processes + 1 and with_child > alone
