"""Expected deletion receipts (GET /v1/deletions), per source: retention and takedown, and the totals they add to."""

from __future__ import annotations

from typing import Any


def counts(frames: int = 0, notes: int = 0, bytes_: int = 0) -> dict[str, int]:
    return {"frames": frames, "notes": notes, "bytes": bytes_}


def receipt(
    day: str, *, retention: dict[str, int] | None = None, takedown: dict[str, int] | None = None
) -> dict[str, Any]:
    """A day's receipt as the API gives it: the totals are the sum of the two sources."""
    split = {"retention": retention or counts(), "takedown": takedown or counts()}
    totals = {name: split["retention"][name] + split["takedown"][name] for name in ("frames", "notes", "bytes")}
    return {"day": day, **totals, "by_source": split}


def retained(day: str, *, frames: int = 0, notes: int = 0, bytes_: int = 0) -> dict[str, Any]:
    """A day on which only the retention job deleted."""
    return receipt(day, retention=counts(frames, notes, bytes_))


def taken_down(day: str, *, frames: int = 0, notes: int = 0, bytes_: int = 0) -> dict[str, Any]:
    """A day on which only takedowns deleted."""
    return receipt(day, takedown=counts(frames, notes, bytes_))
