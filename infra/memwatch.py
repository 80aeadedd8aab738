"""Where the local stack's memory goes: tracemalloc snapshots, diffed against a baseline, logged on a timer.

A debugging aid for `python -m infra.local --tracemalloc SECONDS`: the local stack runs moto, the gateway and every
function in one process, so the allocation sites that grow between snapshots name the component that keeps data.
tracemalloc sees Python's allocations (numpy's buffers included, OpenCV's not) and costs time and memory itself, so
resident sizes taken with it on are not the ones to report; bench/local_memory.py measures those without it.
"""

from __future__ import annotations

import logging
import threading
import tracemalloc
from pathlib import Path

log = logging.getLogger("doti.local.memory")
FRAMES = 12  # traceback depth kept per allocation: deep enough to reach our code or moto's from a library


def resident_bytes(pid: int | str = "self") -> int:
    """VmRSS of a process (Linux), in bytes; 0 where /proc is missing."""
    try:
        status = Path(f"/proc/{pid}/status").read_text(encoding="ascii")
    except OSError:
        return 0
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def _snapshot() -> tracemalloc.Snapshot:
    return tracemalloc.take_snapshot().filter_traces(
        (tracemalloc.Filter(False, tracemalloc.__file__), tracemalloc.Filter(False, "<frozen importlib._bootstrap*"))
    )


def growth_report(baseline: tracemalloc.Snapshot, current: tracemalloc.Snapshot, top: int) -> list[str]:
    """The allocation sites that grew most since the baseline, each with its innermost frames."""
    lines = []
    grown = [stat for stat in current.compare_to(baseline, "traceback") if stat.size_diff > 0]
    for stat in sorted(grown, key=lambda s: s.size_diff, reverse=True)[:top]:  # compare_to sorts by |diff|
        head = f"+{stat.size_diff / 1024:,.0f} KiB in {stat.count_diff:+,} blocks"
        lines.append(f"{head} (now {stat.size / 1024:,.0f} KiB)")
        lines.extend(f"      {frame.filename}:{frame.lineno}" for frame in list(stat.traceback)[-FRAMES:])
    return lines


class MemoryWatch:
    """Logs, every `interval` seconds, the resident size and the allocation sites grown since the first report."""

    def __init__(self, interval: float, top: int = 8):
        self._interval = interval
        self._top = top
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="memory-watch", daemon=True)
        self._baseline: tracemalloc.Snapshot | None = None

    def start(self) -> None:
        if not tracemalloc.is_tracing():
            tracemalloc.start(FRAMES)
        self._thread.start()

    def report(self) -> list[str]:
        current = _snapshot()
        traced, _peak = tracemalloc.get_traced_memory()
        head = f"rss {resident_bytes() / 2**20:,.1f} MiB, traced {traced / 2**20:,.1f} MiB"
        if self._baseline is None:
            self._baseline = current
            return [head + " (baseline)"]
        return [head, *growth_report(self._baseline, current, self._top)]

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            log.info("memory\n%s", "\n".join(self.report()))

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
