"""A camera's day timeline (SPEC §6, §12): one local day's frames counted in 15-minute buckets, with the device
events and notes of that day as markers.

The counts come from the 5-minute slots ingest writes with each frame (doti.store.timeline), never from the frame
index: a day of a camera sending every 5 s is 17,280 index items (about 1,700 read units), but at most 300 slots.
The day is local to an IANA zone (Asia/Tokyo unless named), built with zoneinfo, so a DST day has 92 or 100 buckets;
every offset in use is a multiple of 15 minutes, so buckets of UTC slots tile any local day exactly.

Markers are the camera's notes and its site's device events of that day (two key ranges of the notes table), oldest
first, at most MAX_MARKERS (`markers_truncated` says when more were left out).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from doti import ids
from doti.accounts import roles
from doti.accounts.roles import Permission
from doti.contracts import registry, retention_policy, terms
from doti.entities import User
from doti.errors import ValidationError
from doti.store import notes as notes_store
from doti.store import timeline as store

DEFAULT_ZONE = "Asia/Tokyo"
BUCKET = timedelta(minutes=15)
MAX_MARKERS = 500
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ZONE = re.compile(r"^[A-Za-z][A-Za-z0-9_+\-]*(/[A-Za-z0-9_+\-]+)*$")  # IANA names; never a path out of the tzdata


@dataclass(frozen=True)
class Bucket:
    start: datetime
    count: int
    max_activity: float | None
    first_frame_id: str | None


@dataclass(frozen=True)
class Marker:
    at: datetime
    kind: str  # event | note
    text: str


@dataclass(frozen=True)
class Timeline:
    date: date
    tz: str
    start: datetime
    end: datetime
    buckets: list[Bucket]
    markers: list[Marker]
    markers_truncated: bool


def parse_zone(name: str | None) -> ZoneInfo:
    """The IANA zone named (Asia/Tokyo if none); 422 naming `tz` otherwise."""
    name = DEFAULT_ZONE if name is None else name
    if len(name) > 64 or not _ZONE.match(name):
        raise ValidationError("tz must be an IANA time zone name such as Asia/Tokyo", field="tz")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationError("tz must be an IANA time zone name such as Asia/Tokyo", field="tz") from exc


def parse_date(text: str | None, zone: ZoneInfo, now: datetime) -> date:
    """The day asked for (YYYY-MM-DD; today in the zone if none); 422 naming `date` otherwise."""
    if text is None:
        return now.astimezone(zone).date()
    try:
        if not _DATE.match(text):
            raise ValueError(text)
        return date.fromisoformat(text)
    except ValueError as exc:
        raise ValidationError("date must be a calendar date YYYY-MM-DD", field="date") from exc


def local_day(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The UTC bounds [start, end) of the local day: 23, 24 or 25 hours."""
    start = datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)
    return start, end


def day_timeline(user: User, camera_id: str, day: str | None, tz: str | None, *, now: datetime) -> Timeline:
    """The camera's frames of one local day in 15-minute buckets, and that day's markers (module docstring)."""
    contract = terms.get_contract(user.contract_id)
    terms.require_serving(contract, now)
    roles.require(user, Permission.VIEW)
    camera = registry.camera_for_user(user, camera_id)
    zone = parse_zone(tz)
    wanted = parse_date(day, zone, now)
    start, end = local_day(wanted, zone)
    cutoff = retention_policy.cutoff(contract, now)
    if end <= cutoff:
        raise ValidationError(
            "date is older than the retention period", field="date", retention_days=contract.retention_days
        )
    if start > now + retention_policy.FUTURE_TOLERANCE:
        raise ValidationError("date is in the future", field="date")
    # A slot that ended before the cutoff holds only frames past retention (TTL may not have removed it yet).
    slots = [slot for slot in store.day_slots(camera.camera_id, start, end) if slot.start + store.SLOT > cutoff]
    markers, truncated = _markers(camera.camera_id, camera.site_id, start, end, now)
    return Timeline(
        date=wanted,
        tz=zone.key,
        start=start,
        end=end,
        buckets=_buckets(start, end, slots),
        markers=markers,
        markers_truncated=truncated,
    )


def _buckets(start: datetime, end: datetime, slots: list[store.Slot]) -> list[Bucket]:
    by_bucket: dict[int, list[store.Slot]] = {}
    for slot in slots:
        if slot.frames > 0:  # 0: every frame of it taken down
            by_bucket.setdefault((slot.start - start) // BUCKET, []).append(slot)
    return [_bucket(start + i * BUCKET, by_bucket.get(i, [])) for i in range((end - start) // BUCKET)]


def _bucket(at: datetime, slots: list[store.Slot]) -> Bucket:
    scores = [slot.max_activity for slot in slots if slot.max_activity is not None]
    firsts = [slot.first_frame_id for slot in slots if slot.first_frame_id is not None]
    return Bucket(at, sum(slot.frames for slot in slots), max(scores, default=None), min(firsts, default=None))


def _markers(camera_id: str, site_id: str, start: datetime, end: datetime, now: datetime) -> tuple[list[Marker], bool]:
    lower, upper = ids.frame_id_floor(start), ids.frame_id_floor(end)
    found = []
    more = False
    for partition in (camera_id, site_id):
        notes, partition_more = notes_store.query_notes(
            partition, lower, upper, newest_first=False, limit=MAX_MARKERS, now=now
        )
        found.extend(notes)
        more = more or partition_more
    found.sort(key=lambda note: note.note_id)
    kept = found[:MAX_MARKERS]
    return [Marker(at=note.at, kind=note.kind, text=note.text) for note in kept], more or len(found) > MAX_MARKERS
