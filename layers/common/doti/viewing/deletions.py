"""Deletion receipts (SPEC §5): per contract and UTC day, what retention and takedowns deleted, in all and per source.

Writers add with atomic counters, so concurrent jobs and takedowns never lose a count; customers read their own
contract's receipts at `GET /v1/deletions`, newest day first. Each ADD goes to the day's totals and to its source's
counts in one UpdateItem; `by_source` is null for a day whose split is unknown (counted, at least in part, before
sources were), never a guess.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from doti.contracts import terms
from doti.entities import User
from doti.errors import ValidationError
from doti.store import retention as store

MAX_PAGE = 366
_FIRST_DAY = "0000-01-01"
_LAST_DAY = "9999-12-31"


@dataclass(frozen=True)
class DeletionQuery:
    first_day: str | None = None  # "YYYY-MM-DD", included; checked by receipts_of
    last_day: str | None = None  # included
    limit: int = 31


def day_of(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d")


def add_takedown(transaction: Any, contract_id: str, now: datetime, *, frames: int, bytes_freed: int) -> None:
    """Count a takedown's frames in the transaction that removes their index items (doti.oversight.takedown)."""
    store.add_receipt_count(
        transaction, contract_id, day_of(now), source=store.TAKEDOWN, frames=frames, notes=0, bytes_=bytes_freed
    )


def record_takedown(contract_id: str, now: datetime, *, frames: int, bytes_freed: int, notes: int = 0) -> None:
    """Add what a takedown deleted now to the contract's receipt of the day (UTC), in its total and as a takedown's.
    (The retention job adds its own with its watermark: doti.store.retention.count_deletions.)"""
    store.add_to_receipt(
        contract_id, day_of(now), source=store.TAKEDOWN, frames=frames, notes=notes, bytes_=bytes_freed
    )


def _receipt(r: store.Receipt) -> dict[str, Any]:
    by_source = (
        None
        if r.by_source is None
        else {source: {"frames": c.frames, "notes": c.notes, "bytes": c.bytes} for source, c in r.by_source.items()}
    )
    return {"day": r.day, "frames": r.frames, "notes": r.notes, "bytes": r.bytes, "by_source": by_source}


def _parse_day(value: str, name: str) -> str:
    """A query's day, YYYY-MM-DD, or a ValidationError naming the parameter."""
    try:
        if len(value) == 10:
            return date.fromisoformat(value).isoformat()
    except ValueError:
        pass
    raise ValidationError(f"{name} must be a day, YYYY-MM-DD", field=name)


def receipts_of(user: User, query: DeletionQuery, *, now: datetime) -> list[dict[str, Any]]:
    """The user's contract's receipts within the query's days (both ends included), newest first; only while the
    contract serves (SPEC §3)."""
    terms.require_serving(terms.get_contract(user.contract_id), now)
    first = _parse_day(query.first_day, "from") if query.first_day else _FIRST_DAY
    last = _parse_day(query.last_day, "to") if query.last_day else _LAST_DAY
    if first > last:
        raise ValidationError("from must not be after to", field="from")
    limit = max(1, min(query.limit, MAX_PAGE))
    return [_receipt(r) for r in store.receipts(user.contract_id, first, last, limit)]
