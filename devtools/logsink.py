"""Send a long-running tool's logs to a file and keep its report on the terminal."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO


@contextmanager
def output_to(log: Path) -> Iterator[TextIO]:
    """The stack's and the handlers' logs go to `log` (also from worker processes, which inherit
    the file descriptors); the report goes to the real stdout, which this yields."""
    log.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with log.open("w") as sink:
        os.dup2(sink.fileno(), 1)
        os.dup2(sink.fileno(), 2)
        try:
            with os.fdopen(os.dup(saved[0]), "w") as report:
                yield report
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in saved:
                os.close(fd)
