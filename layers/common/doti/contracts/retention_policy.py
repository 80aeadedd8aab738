"""Retention (SPEC §5) as one policy: how long a contract keeps its frames and notes, and what follows from it.

A contract keeps everything for `retention_days`, one of the retention classes. From that one number:

- a frame or a note expires `retention_days` after its capture time (rounded up to the second DynamoDB TTL holds);
- ingest accepts capture times in the window [now - retention, now + FUTURE_TOLERANCE] (a device's clock may run
  a little ahead; anything older would be expired on arrival);
- the retention job deletes everything captured before the cutoff, now - retention: the contract's *current*
  retention, so a shortened one applies on the next run;
- objects carry their class's tag, and the bucket's lifecycle rule for the class (template.yaml; a test compares
  them) expires them after the same number of days: the floor under the job.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from doti import ids
from doti.clock import ceil_to_second
from doti.entities import Contract, Frame, Note

RETENTION_CLASSES: tuple[int, ...] = (1, 7, 14, 31, 62, 93, 186, 366)
# How far ahead of the server's clock a capture (or event) time may be: device clocks drift.
FUTURE_TOLERANCE = timedelta(minutes=5)


def retention_class(days: int) -> str:
    """The lifecycle class of a retention period, e.g. 7 -> "d7" (the objects' tag value and the rule's name)."""
    if days not in RETENTION_CLASSES:
        raise ValueError(f"retention_days must be one of {RETENTION_CLASSES}")
    return f"d{days}"


def contract_class(contract: Contract) -> str:
    """The class the contract's objects are tagged with now."""
    return retention_class(contract.retention_days)


def retention(contract: Contract) -> timedelta:
    return timedelta(days=contract.retention_days)


def expires_at(captured_at: datetime, contract: Contract) -> datetime:
    """When a frame or note captured at `captured_at` expires: rounded up to the whole second DynamoDB TTL holds,
    so it is never hidden before its retention has passed."""
    return ceil_to_second(captured_at + retention(contract))


def is_expired(record: Frame | Note, now: datetime) -> bool:
    """Whether a frame or note is past its retention (hidden, though the job or TTL may not have removed it yet)."""
    return record.expires_at <= now


def cutoff(contract: Contract, now: datetime) -> datetime:
    """Everything captured before this is past the contract's retention."""
    return now - retention(contract)


def cutoff_position(contract: Contract, now: datetime) -> str:
    """The cutoff as a frame-id position: the retention job deletes the key range below it."""
    return ids.frame_id_floor(cutoff(contract, now))


@dataclass(frozen=True)
class CaptureWindow:
    """The capture times a contract accepts now: [earliest, latest]."""

    earliest: datetime
    latest: datetime

    def too_old(self, moment: datetime) -> bool:
        return moment < self.earliest

    def in_future(self, moment: datetime) -> bool:
        return moment > self.latest


def capture_window(contract: Contract, now: datetime) -> CaptureWindow:
    return CaptureWindow(earliest=cutoff(contract, now), latest=now + FUTURE_TOLERANCE)


def day_of(position: str) -> datetime:
    """Midnight (UTC) of the day a frame id (or a position between ids) falls on."""
    moment = ids.id_time(position)
    return datetime(moment.year, moment.month, moment.day, tzinfo=UTC)
