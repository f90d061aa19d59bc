"""python -m devtools.storms: see devtools/storms/__init__.py."""

from __future__ import annotations

import argparse
import random
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from types import FrameType
from typing import TextIO

from devtools.storms import __doc__ as DOC
from devtools.storms.campaign import Settings, run_campaign
from devtools.storms.shapes import Timing
from devtools.storms.target import REPO_ROOT, Target, local_stack, running_stack


def _callers(text: str) -> tuple[int, int]:
    low, _, high = text.partition("-")
    bounds = int(low), int(high or low)
    if not 1 <= bounds[0] <= bounds[1]:
        raise argparse.ArgumentTypeError("callers: N or LOW-HIGH with 1 <= LOW <= HIGH")
    return bounds


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m devtools.storms",
        description=(DOC or "").split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--storms", type=int, default=200)
    parser.add_argument("--seed", type=int, default=None, help="default: a random one, printed")
    parser.add_argument("--max-minutes", type=float, default=30.0, help="start no storm after this")
    parser.add_argument("--callers", type=_callers, default=(1, 8), help="callers per storm: N or LOW-HIGH")
    parser.add_argument("--parallel", type=int, default=1, help="storms at once (faults are global)")
    parser.add_argument("--only-storm", type=int, default=None, help="run storm K of --seed alone")
    parser.add_argument("--report", type=Path, default=None, help="one JSON line per storm")
    parser.add_argument("--verbose", action="store_true", help="a line for every storm")
    parser.add_argument("--rss-every", type=int, default=50, help="print the RSS every N storms")
    parser.add_argument(
        "--sustain-minutes",
        type=float,
        default=None,
        help="sustained load on a fixed set of invoices instead: is memory flat?",
    )
    parser.add_argument(
        "--new-invoices",
        action="store_true",
        help="with --sustain-minutes: a fresh invoice every few requests (memory per stored invoice)",
    )
    parser.add_argument(
        "--target",
        type=Path,
        default=None,
        help="state dir of a running `python -m devtools.local up` (e.g. .local) instead of an own "
        "stack; start it with SEVDESK_TIMEOUT_SECONDS and AMBIGUOUS_WRITE_GRACE_SECONDS set short",
    )
    parser.add_argument(
        "--client-timeout",
        type=float,
        default=Timing.client_timeout,
        help="the stack's SEVDESK_TIMEOUT_SECONDS: timeout faults hold longer, latency stays below",
    )
    parser.add_argument("--log", type=Path, default=REPO_ROOT / ".local" / "storms.log")
    return parser


@contextmanager
def _stopping_on_signals(stop: threading.Event, out: TextIO) -> Iterator[None]:
    """Ctrl-C or SIGTERM: stop starting requests, stop the stack, print what was done."""

    def handle(signum: int, _frame: FrameType | None) -> None:
        if stop.is_set():  # a second signal: leave now
            raise SystemExit(128 + signum)
        print(f"\n{signal.Signals(signum).name}: stopping", file=out, flush=True)
        stop.set()

    previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def main(argv: list[str] | None = None) -> int:
    from devtools.logsink import output_to

    args = _parser().parse_args(argv)
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1, 10**6)
    timing = Timing(args.client_timeout, args.client_timeout + 1, args.client_timeout + 1)
    stop = threading.Event()
    started = time.monotonic()
    with ExitStack() as context:
        out = context.enter_context(output_to(args.log))
        context.enter_context(_stopping_on_signals(stop, out))
        where = f"the stack of {args.target}" if args.target else "an own local stack"
        print(f"storms: logs in {args.log}; against {where}", file=out, flush=True)
        target: Target = (
            running_stack(args.target) if args.target else context.enter_context(local_stack(timing))
        )
        print(f"storms: stack ready in {time.monotonic() - started:.1f} s", file=out, flush=True)
        if args.sustain_minutes is not None:
            from devtools.storms.sustain import sustain

            ok = sustain(target, args.sustain_minutes, out, stop, new_invoices=args.new_invoices)
            return 0 if ok else 1
        settings = Settings(
            seed=seed,
            storms=args.storms,
            callers=args.callers,
            parallel=max(1, args.parallel),
            max_minutes=args.max_minutes,
            only_storm=args.only_storm,
            rss_every=args.rss_every,
            verbose=args.verbose,
            timing=timing,
        )
        count = 1 if args.only_storm is not None else args.storms
        print(
            f"storms: {count} storms, seed {seed}, callers {settings.callers[0]}-{settings.callers[1]}, "
            f"parallel {settings.parallel}, at most {settings.max_minutes:g} min",
            file=out,
            flush=True,
        )
        report = context.enter_context(args.report.open("w")) if args.report else None
        summary, memory = run_campaign(target, settings, out, report, stop)
        print(summary.render(), file=out)
        print(memory.summary(), file=out)
        for failed in summary.failed:
            print(f"failing: {failed.headline()}\n    {failed.rerun()}", file=out)
        stopping = time.monotonic()
        context.pop_all().close()  # the stack stops here
        if stop.is_set():
            print(f"storms: stopped in {time.monotonic() - stopping:.1f} s", file=sys.stdout, flush=True)
    return 0 if summary.ok else 1


if __name__ == "__main__":
    sys.exit(main())
