"""A small benchmark registry: cases yield rows measured against a baseline taken in the same run.

A ratio to a same-process baseline survives a slow or noisy machine far better than absolute milliseconds.
"""

from __future__ import annotations

import json
import platform
import statistics
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / ".doti" / "bench.json"
T = TypeVar("T")


@dataclass(frozen=True)
class Row:
    case: str
    metric: str
    value: float | None
    baseline: float | None
    ratio: float | None
    note: str = ""


def row(case: str, metric: str, value: float, baseline: float, note: str = "") -> Row:
    """A measured row; the ratio is value/baseline, so lower is better and 1.0 means "as costly as the baseline"."""
    return Row(case, metric, value, baseline, value / baseline if baseline else None, note)


Case = Callable[[], Iterable[Row]]
CASES: dict[str, Case] = {}
_SMOKE = {"on": False}


def sized(full: T, smoke: T) -> T:
    """`full` in a benchmark run; `smoke` when the tests run every case once at a tiny size (see `run`)."""
    return smoke if _SMOKE["on"] else full


def case(name: str) -> Callable[[Case], Case]:
    """Register a case under `name`; `python -m bench <prefix>` runs the cases whose names start with a prefix."""

    def register(fn: Case) -> Case:
        CASES[name] = fn
        return fn

    return register


def median_ms_interleaved(fns: list[Callable[[], object]], reps: int = 50, warmup: int = 5) -> list[float]:
    """Median milliseconds of each of `fns`, run in turn within every repetition so drift hits them alike."""
    for _ in range(warmup):
        for fn in fns:
            fn()
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(reps):
        for fn, fn_times in zip(fns, times, strict=True):
            started = time.perf_counter()
            fn()
            fn_times.append(time.perf_counter() - started)
    return [statistics.median(fn_times) * 1000 for fn_times in times]


def run(prefixes: list[str], *, smoke: bool = False) -> list[Row]:
    """Run the selected cases; `smoke` runs each at a tiny size, only to prove the bench code still works."""
    selected = [name for name in CASES if not prefixes or name.startswith(tuple(prefixes))]
    if not selected:
        raise SystemExit(f"no bench case matches {prefixes}; cases: {', '.join(CASES)}")
    _SMOKE["on"] = smoke
    try:
        return [r for name in selected for r in CASES[name]()]
    finally:
        _SMOKE["on"] = False


def _cell(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def format_table(rows: list[Row]) -> str:
    header = ("case", "metric", "value", "baseline", "ratio", "note")
    cells = [(r.case, r.metric, _cell(r.value), _cell(r.baseline), _cell(r.ratio), r.note) for r in rows]
    widths = [max(len(line[i]) for line in [header, *cells]) for i in range(len(header))]
    numeric = {2, 3, 4}
    lines = []
    for line in [header, *cells]:
        parts = [c.rjust(w) if i in numeric else c.ljust(w) for i, (c, w) in enumerate(zip(line, widths, strict=True))]
        lines.append("  ".join(parts).rstrip())
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def write_results(rows: list[Row], path: Path = RESULTS) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "rows": [asdict(r) for r in rows],
    }
    path.write_text(json.dumps(payload, indent=2) + "\n")
    return path
