"""Randomized concurrency campaign ("storms") against the local stack, with sevDesk faults.

Each storm hands over a fresh invoice (with a fresh company), then 1-8 users at once publish it,
publish then send it, or publish then cancel it, retrying like a frontend (busy, 429, 503 with
Retry-After, a few 5xx) and never asking for `resend`; meanwhile one random fault (5xx applied or
not, 429, timeout applied or not, lost answer, latency) hits one sevDesk path 1-3 times. After
each storm: at most one sevDesk invoice (exactly one once a publish said 200), cancellation,
contact and e-mail; every caller done within 120 s and never busy for longer than the lease
lives; the lease free; a publish without faults gets through.

    python -m devtools.storms --storms 200 --seed 7 --max-minutes 30   # or: make storms
    python -m devtools.storms --seed 7 --only-storm 42                  # one failing storm again
    python -m devtools.storms --sustain-minutes 10                      # is memory flat under load?
    python -m devtools.storms --sustain-minutes 10 --new-invoices       # memory per stored invoice

The shape of storm K depends only on (seed, K). Prints a summary (storms, duplicates by kind,
stuck storms, wall time, answers by code, the stack's RSS start/peak/end) and every failing
storm's shape with the command that re-runs it; exits 1 on any violation.
"""
