"""Monthly byte quota of a contract's plan (Art. 7-⑩, SPEC §4): checked before a frame is stored, charged with the
frame's index item in one transaction, so only what was stored is counted, and once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from doti.clock import format_rfc3339
from doti.entities import Contract
from doti.errors import QuotaExceeded
from doti.store import usage as store


@dataclass(frozen=True)
class Charge:
    """What storing one frame adds to its contract's usage of one month."""

    contract_id: str
    period: str  # "2026-11"
    bytes: int  # original + thumbnail
    quota: int  # the plan's monthly_byte_quota when the frame was checked
    resets_at: datetime


def period_of(now: datetime) -> str:
    """The UTC calendar month that `now` falls in, e.g. "2026-11"."""
    return now.astimezone(UTC).strftime("%Y-%m")


def period_end(now: datetime) -> datetime:
    """The first instant of the UTC month after `now`'s: when the quota resets."""
    moment = now.astimezone(UTC)
    year, month = (moment.year + 1, 1) if moment.month == 12 else (moment.year, moment.month + 1)
    return datetime(year, month, 1, tzinfo=UTC)


def quota_exceeded(charge: Charge, used: int | None = None) -> QuotaExceeded:
    details: dict[str, object] = {
        "quota_bytes": charge.quota,
        "requested_bytes": charge.bytes,
        "period": charge.period,
        "resets_at": format_rfc3339(charge.resets_at),
    }
    if used is not None:
        details["used_bytes"] = used
    return QuotaExceeded("the contract's monthly byte quota would be exceeded", retry_at=charge.resets_at, **details)


def require_room(contract: Contract, size: int, now: datetime) -> Charge:
    """The charge for storing `size` more bytes this month, or 429 `quota_exceeded` if the plan has no room for it.

    A read, not a reservation: concurrent frames may all pass it, so the charge itself is conditional too
    (`store.charge_update`) and the last of them is refused there.
    """
    charge, used, fits = room_for(contract, [size], now)
    if not fits:
        raise quota_exceeded(charge, used)
    return charge


def room_for(contract: Contract, sizes: list[int], now: datetime) -> tuple[Charge, int, int]:
    """The month's charge for all of `sizes`, the bytes used so far, and how many of `sizes` (in order) fit in the
    plan's room: one read for a request's frames. As require_room, a read, not a reservation."""
    charge = Charge(contract.contract_id, period_of(now), sum(sizes), contract.monthly_byte_quota, period_end(now))
    used = store.bytes_used(charge.contract_id, charge.period)
    return charge, used, store.fitting(sizes, used, charge.quota)
