"""Resident memory of a process and all its descendants (the stack and its function instances),
read from /proc; on a system without /proc the figures are 0."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

PROC = Path("/proc")


def _children_by_parent() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in PROC.iterdir() if PROC.is_dir() else ():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # gone meanwhile
            continue
        # The command name is in parentheses and may hold spaces: the fields follow the last ")".
        fields = stat[stat.rfind(")") + 2 :].split()
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    return children


def _rss_bytes(pid: int) -> int:
    try:
        for line in (PROC / str(pid) / "status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def tree_rss(root: int | None = None) -> tuple[int, int]:
    """(bytes resident, number of processes) of `root` (default: this process) and its descendants."""
    root = root or os.getpid()
    children = _children_by_parent()
    total, count, todo = 0, 0, [root]
    while todo:
        pid = todo.pop()
        total += _rss_bytes(pid)
        count += 1
        todo.extend(children.get(pid, ()))
    return total, count


def own_rss(root: int | None = None) -> int:
    """Bytes resident in `root` alone: the stack's servers (moto, emulator, gateway) without
    the function instances, whose number comes and goes with the load."""
    return _rss_bytes(root or os.getpid())


@dataclass
class MemoryWatch:
    """Samples of the tree's RSS: start, peak, latest."""

    root: int | None = None
    samples: list[tuple[float, int, int]] = field(default_factory=list)  # (at, bytes, processes)
    root_samples: list[int] = field(default_factory=list)

    def sample(self, at: float) -> tuple[int, int]:
        rss, processes = tree_rss(self.root)
        self.samples.append((at, rss, processes))
        self.root_samples.append(own_rss(self.root))
        return rss, processes

    @property
    def start_mb(self) -> float:
        return self.samples[0][1] / 2**20 if self.samples else 0.0

    @property
    def peak_mb(self) -> float:
        return max((s[1] for s in self.samples), default=0) / 2**20

    @property
    def end_mb(self) -> float:
        return self.samples[-1][1] / 2**20 if self.samples else 0.0

    def line(self, label: str) -> str:
        if not self.samples:
            return f"rss {label}: n/a"
        _, rss, processes = self.samples[-1]
        return (
            f"rss {label}: {rss / 2**20:.0f} MB in {processes} processes (peak {self.peak_mb:.0f} MB; "
            f"the stack's own process {self.root_samples[-1] / 2**20:.0f} MB)"
        )

    def summary(self) -> str:
        if not self.root_samples:
            return "rss: n/a"
        own = self.root_samples
        own_mb = " / ".join(f"{b / 2**20:.0f}" for b in (own[0], max(own), own[-1]))
        return (
            f"rss start/peak/end: {self.start_mb:.0f} / {self.peak_mb:.0f} / {self.end_mb:.0f} MB with the "
            f"function instances; the stack's own process {own_mb} MB"
        )
