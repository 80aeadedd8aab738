"""Time helpers: one format for every time the API reads or writes (RFC 3339 UTC, millisecond precision)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from doti.errors import ValidationError


def utcnow() -> datetime:
    """Now, truncated to milliseconds: frame ids and listings work at that precision."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond - now.microsecond % 1000)


def parse_rfc3339(value: str, field: str) -> datetime:
    """Parse an RFC 3339 time with an explicit offset; naive times are refused rather than guessed."""
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ValidationError(f"{field} is not an RFC 3339 time", field=field, value=value[:64]) from exc
    if parsed.tzinfo is None or "T" not in text.upper():
        raise ValidationError(f"{field} needs a date, a time and a UTC offset", field=field, value=value[:64])
    parsed = parsed.astimezone(UTC)
    return parsed.replace(microsecond=parsed.microsecond - parsed.microsecond % 1000)


def ceil_to_second(moment: datetime) -> datetime:
    """`moment` rounded up to a whole second: DynamoDB TTL holds epoch seconds, and an expiry rounded up never hides
    an item before its retention has passed (and reads back as the time first answered)."""
    whole = moment.replace(microsecond=0)
    return whole if whole == moment else whole + timedelta(seconds=1)


def format_rfc3339(value: datetime) -> str:
    """2026-11-25T12:00:00.123Z"""
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def format_optional(value: datetime | None) -> str | None:
    """format_rfc3339, or None for a time not set (JSON null)."""
    return format_rfc3339(value) if value is not None else None
