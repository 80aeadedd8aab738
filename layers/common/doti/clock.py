"""Time helpers: one format for every time the API reads or writes (RFC 3339 UTC, millisecond precision)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from doti.errors import ValidationError

# The times the service accepts from anyone: [EARLIEST, LATEST). The floor is the Unix epoch, below which nothing we
# store can lie (frame and note ids are milliseconds since it, DynamoDB TTLs are epoch seconds). The ceiling leaves
# a thousand years below datetime.max for the arithmetic done on a time received (retention days, link lifetimes,
# the termination job's 100-year horizon), so no sum overflows, and keeps ids' 48-bit milliseconds (to 10889) valid.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)


def utcnow() -> datetime:
    """Now, truncated to milliseconds: frame ids and listings work at that precision."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond - now.microsecond % 1000)


def parse_rfc3339(value: str, field: str) -> datetime:
    """Parse an RFC 3339 time with an explicit offset; naive times are refused rather than guessed, and times outside
    [EARLIEST, LATEST) are refused (422) before any arithmetic can overflow on them."""
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ValidationError(f"{field} is not an RFC 3339 time", field=field, value=value[:64]) from exc
    if parsed.tzinfo is None or "T" not in text.upper():
        raise ValidationError(f"{field} needs a date, a time and a UTC offset", field=field, value=value[:64])
    # The local year is checked first: converting year 1 or 9999 to UTC can leave datetime's range (OverflowError).
    if EARLIEST.year - 1 <= parsed.year <= LATEST.year:
        parsed = parsed.astimezone(UTC)
        if EARLIEST <= parsed < LATEST:
            return parsed.replace(microsecond=parsed.microsecond - parsed.microsecond % 1000)
    raise ValidationError(
        f"{field} is outside the times the service accepts",
        field=field,
        value=value[:64],
        earliest=format_rfc3339(EARLIEST),
        latest=format_rfc3339(LATEST - timedelta(milliseconds=1)),
    )


def ceil_to_second(moment: datetime) -> datetime:
    """`moment` rounded up to a whole second: DynamoDB TTL holds epoch seconds, and an expiry rounded up never hides
    an item before its retention has passed (and reads back as the time first answered)."""
    whole = moment.replace(microsecond=0)
    return whole if whole == moment else whole + timedelta(seconds=1)


def floor_to_second(moment: datetime) -> datetime:
    """`moment` rounded down to a whole second, for an expiry of a link or a request: what DynamoDB TTL keeps, and
    never later than the time answered."""
    return moment.replace(microsecond=0)


def format_rfc3339(value: datetime) -> str:
    """2026-11-25T12:00:00.123Z"""
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def format_optional(value: datetime | None) -> str | None:
    """format_rfc3339, or None for a time not set (JSON null)."""
    return format_rfc3339(value) if value is not None else None
