"""Identifiers. Frame ids sort by capture time, so a camera's frames form one DynamoDB key range."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_TIME_CHARS = 10  # 48 bits of milliseconds since the epoch (until the year 10889)
_RANDOM_CHARS = 16  # 80 bits
FRAME_ID_MIN = "0" * (_TIME_CHARS + _RANDOM_CHARS)
FRAME_ID_MAX = "Z" * (_TIME_CHARS + _RANDOM_CHARS)


def _encode(value: int, length: int) -> str:
    chars = []
    for _ in range(length):
        value, rem = divmod(value, 32)
        chars.append(_CROCKFORD[rem])
    return "".join(reversed(chars))


def _millis(moment: datetime) -> int:
    return int(moment.astimezone(UTC).timestamp() * 1000)


def id_time(value: str) -> datetime:
    """The time a time-sorted id (a frame id, a note id, or a position between them) encodes, to the millisecond."""
    millis = 0
    for char in value[:_TIME_CHARS]:
        millis = millis * 32 + _CROCKFORD.index(char)
    return datetime.fromtimestamp(millis / 1000, UTC)


def new_id(prefix: str) -> str:
    """An opaque random id for registry entities (contracts, sites, cameras, devices, users)."""
    return f"{prefix}_{_encode(secrets.randbits(100), 20).lower()}"


def frame_id(captured_at: datetime, device_id: str, device_frame_id: str) -> str:
    """A ULID-shaped id: capture time, then 80 bits derived from the device's own frame id.

    Derived rather than random so that a device retrying the same frame lands on the same id and key.
    """
    digest = hashlib.sha256(f"{device_id}\n{device_frame_id}".encode()).digest()
    return _encode(_millis(captured_at), _TIME_CHARS) + _encode(int.from_bytes(digest[:10], "big"), _RANDOM_CHARS)


def time_sorted_id(moment: datetime) -> str:
    """A ULID-shaped id that sorts by `moment`, with 80 random bits (notices, suspensions, audit-free records)."""
    return _encode(_millis(moment), _TIME_CHARS) + _encode(secrets.randbits(80), _RANDOM_CHARS)


def frame_id_floor(moment: datetime) -> str:
    """The smallest frame id captured at or after `moment`: the key-range bound for time queries."""
    return _encode(max(_millis(moment), 0), _TIME_CHARS) + "0" * _RANDOM_CHARS


def is_frame_id(value: object) -> bool:
    return isinstance(value, str) and len(value) == _TIME_CHARS + _RANDOM_CHARS and all(c in _CROCKFORD for c in value)
