"""The environment of a Python process a test starts (the local stack, a shifted-clock run)."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CLOCK_SHIFT = ROOT / "tests" / "clock_shift"  # its sitecustomize moves the wall clock by DOTI_CLOCK_SHIFT


def python_path(environ: dict[str, str] | None = None) -> str:
    """The repo root and the shared layer, as on Lambda; with the clock-shift folder first when the run's clock is
    shifted, so a process started by a test sees the same moved clock as the test."""
    environ = os.environ if environ is None else environ
    entries = [ROOT, ROOT / "layers" / "common"]
    if environ.get("DOTI_CLOCK_SHIFT"):
        entries.insert(0, CLOCK_SHIFT)
    return os.pathsep.join(str(entry) for entry in entries)
