"""Backfill of the day timeline's slots (doti.store.timeline) for frames indexed before ingest wrote slots.

Ingest counts each frame in its 5-minute slot in the transaction that indexes it; frames stored before that release
have no slots, so their days show empty bars. An operator runs this for one camera and a range of UTC days
(`python -m infra.backfill_timeline`):

- it reads the camera's frame index over the range by key range, page by page (never a scan), oldest first, and
  tallies each 5-minute slot as ingest would have: the count, the smallest frame id, the highest activity score, and
  an expiry no earlier than any of its frames' (slot end + the time each frame had left);
- it writes a slot **only where the camera has none** (a put conditional on the slot's absence). A slot that exists
  holds frames ingest counted (or an earlier run wrote it): it is left alone, so no frame is ever counted twice. A
  frame ingest indexes while the run reads makes its slot in the same transaction, so either the run's put finds that
  slot and stands back, or the run's slot exists first and ingest adds the frame to it;
- frames already past their expiry are not counted (their slots would be hidden by the retention cutoff anyway);
- it stops before its time budget runs out and returns where to resume (a slot key): everything before that is
  written; running again from there, or from the start, changes nothing already written.

What it cannot repair: a slot that ingest began after the release, in the same 5 minutes as frames stored before it,
keeps ingest's partial count (the backfill never rewrites an existing slot, which is what keeps it from counting a
frame twice). That is at most the one slot per camera that straddles the release.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from doti.errors import ValidationError
from doti.store import registry as registry_store
from doti.store import timeline as store

MAX_DAYS = 400  # a range an operator means: more than a year of retention is not sold
PAGE_SIZE = 500  # index items per page of the query (about 60 KB with the four attributes read)


@dataclass(frozen=True)
class BackfillRun:
    camera_id: str
    frames_read: int  # index items read (expired ones included)
    slots_written: int
    slots_present: int  # slots that existed already: left as they were
    resume_from: str | None  # the slot key to resume from; None once the range is done


@dataclass
class _Tally:
    start: datetime
    frames: int = 0
    first_frame_id: str | None = None
    max_activity: float | None = None
    expires_at: datetime | None = None

    def add(self, frame: store.IndexedFrame) -> None:
        self.frames += 1
        if self.first_frame_id is None or frame.frame_id < self.first_frame_id:
            self.first_frame_id = frame.frame_id
        score = frame.activity_score
        if score is not None and (self.max_activity is None or score > self.max_activity):
            self.max_activity = score
        expires = store.slot_expiry(self.start, frame.captured_at, frame.expires_at)  # as ingest sets it
        self.expires_at = expires if self.expires_at is None else max(self.expires_at, expires)

    def slot(self) -> store.Slot:
        return store.Slot(self.start, self.frames, self.max_activity, self.first_frame_id)


def _range(first_day: date, last_day: date, resume_from: str | None) -> tuple[datetime, datetime]:
    if last_day < first_day:
        raise ValidationError("the last day must not be before the first", field="last_day")
    if (last_day - first_day).days + 1 > MAX_DAYS:
        raise ValidationError(f"at most {MAX_DAYS} days at a time", field="last_day")
    start = datetime.combine(first_day, datetime.min.time(), UTC)
    end = datetime.combine(last_day + timedelta(days=1), datetime.min.time(), UTC)
    if resume_from is not None:
        try:
            resumed = datetime.strptime(resume_from, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        except ValueError as exc:
            raise ValidationError("resume_from must be a slot key (YYYY-MM-DDTHH:MM:SSZ)", field="resume_from") from exc
        if not start <= resumed <= end or store.slot_start(resumed) != resumed:
            raise ValidationError("resume_from must be a slot start within the range", field="resume_from")
        start = resumed
    return start, end


def backfill_camera(
    camera_id: str,
    first_day: date,
    last_day: date,
    *,
    now: datetime,
    budget: timedelta,
    resume_from: str | None = None,
    clock: Callable[[], float] = time.monotonic,
    page_size: int = PAGE_SIZE,
) -> BackfillRun:
    """Write the missing slots of the camera's UTC days first_day..last_day (both included), within `budget`."""
    registry_store.get_camera(camera_id)  # NotFound for an unknown camera, rather than an empty run
    start, end = _range(first_day, last_day, resume_from)
    deadline = clock() + budget.total_seconds()
    read = written = present = 0

    def finish(resume: datetime | None) -> BackfillRun:
        return BackfillRun(camera_id, read, written, present, store.slot_key(resume) if resume else None)

    tally: _Tally | None = None
    for frame in store.indexed_frames(camera_id, start, end, page_size=page_size):
        read += 1
        if frame.expires_at <= now:
            continue
        slot_start = store.slot_start(frame.captured_at)
        if tally is not None and tally.start != slot_start:
            if clock() >= deadline:
                return finish(tally.start)
            wrote = _write(camera_id, tally)
            written, present = written + wrote, present + (not wrote)
            tally = None
        tally = tally or _Tally(slot_start)
        tally.add(frame)
    if tally is not None:
        if clock() >= deadline:
            return finish(tally.start)
        wrote = _write(camera_id, tally)
        written, present = written + wrote, present + (not wrote)
    return finish(None)


def _write(camera_id: str, tally: _Tally) -> bool:
    expires_at = tally.expires_at or tally.start + store.SLOT  # a tally holds at least one frame, so it has one
    return store.put_slot_if_absent(camera_id, tally.slot(), expires_at)
