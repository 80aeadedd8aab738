"""Data access for the day timeline (doti.viewing.timeline): a camera's frames counted per 5-minute UTC slot.

Every UTC offset in use is a multiple of 15 minutes, so 5-minute UTC slots tile every local day, DST days included,
and a day is one key range of at most 300 slot items (25 hours), where its index items would be up to 17,280.

A slot is written in the transaction that indexes frames (doti.store.indexing) and in the one that deletes its index
item on a takedown (doti.oversight.takedown); it expires by TTL with its frames, and a purge deletes it by key. How
each field stays right when frames arrive out of order or at once, or a transaction is retried:

- `frames`: ADD 1 in the indexing transaction, ADD -1 in the takedown's. Each of those transactions is conditional
  on the index item (absent, present), so a transaction applied twice by a retry fails and counts nothing twice.
- `first_frame_id` and `max_activity`: an update expression has no min or max. Both only ever move one way (the
  smallest id of a slot only gets smaller, its highest score only higher), so the writer reads the slot first and
  SETs only the fields its frame improves, under the condition that the frame still improves them (the field
  absent, or still larger / smaller). A field the frame does not improve is left alone: no later write can make
  the frame improve it. If another frame improved a field between the read and the write, the condition cancels
  the transaction, which doti.store.indexing tries again from a new read. One item, one transaction: the cost is one
  strongly consistent read (1 RCU) per frame on top of the slot's write (2 WCU in a transaction, ≤ 1 KB).
- `expires_at`: SET to the slot's end plus the contract's retention, never earlier than any of its frames'
  expiries (a frame expires its retention after its capture); the timeline ignores slots before the contract's
  retention cutoff in any case, so a shortened retention hides old slots at once.

A takedown cannot lower `max_activity` without reading every frame of the slot: it keeps the highest score seen.
It does move `first_frame_id` on to the next frame of the slot when it takes the first one down.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pynamodb.exceptions import DoesNotExist, PutError, PynamoDBException
from pynamodb.transactions import TransactWrite

from doti import entities, ids
from doti.clock import ceil_to_second
from doti.errors import StorageError
from doti.store.conditions import is_condition_failure
from doti.store.models import FrameModel, TimelineSlotModel

SLOT = timedelta(minutes=5)
MAX_SLOTS = 300  # 25 hours: the longest local day
_SLOT_SECONDS = int(SLOT.total_seconds())


@dataclass(frozen=True)
class Slot:
    start: datetime
    frames: int
    max_activity: float | None
    first_frame_id: str | None


def slot_start(moment: datetime) -> datetime:
    """The UTC start of the 5-minute slot holding `moment`."""
    epoch = int(moment.astimezone(UTC).timestamp())
    return datetime.fromtimestamp(epoch - epoch % _SLOT_SECONDS, UTC)


def slot_key(start: datetime) -> str:
    return start.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_key(key: str) -> datetime:
    return datetime.strptime(key, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def _slot(item: TimelineSlotModel) -> Slot:
    score = item.max_activity
    return Slot(
        start=_parse_key(item.slot),
        frames=int(item.frames or 0),
        max_activity=float(score) if score is not None else None,
        first_frame_id=item.first_frame_id,
    )


def read_slot(camera_id: str, start: datetime) -> Slot | None:
    """The slot as it is now (a strongly consistent read: the writes below are conditional on what it says)."""
    try:
        return _slot(TimelineSlotModel.get(camera_id, slot_key(start), consistent_read=True))
    except DoesNotExist:
        return None
    except PynamoDBException as exc:
        raise StorageError("could not read the timeline") from exc


def add_frames(transaction: TransactWrite, frames: list[entities.Frame], seen: Slot | None) -> None:
    """Count `frames` (of one camera and slot) in their slot, in the transaction that indexes them; `seen` is the slot
    as read before (read_slot). One update for them all: the smallest id and highest score among them.

    Cancels the transaction (its condition) if another frame improved what these improve since `seen`."""
    first = min(frames, key=lambda frame: frame.frame_id)
    start = slot_start(first.captured_at)
    item = TimelineSlotModel(first.camera_id, slot_key(start))
    expires_at = max(slot_expiry(start, frame.captured_at, frame.expires_at) for frame in frames)
    actions: list[Any] = [TimelineSlotModel.frames.add(len(frames)), TimelineSlotModel.expires_at.set(expires_at)]
    condition = None
    if seen is None or seen.first_frame_id is None or first.frame_id < seen.first_frame_id:
        actions.append(TimelineSlotModel.first_frame_id.set(first.frame_id))
        condition = TimelineSlotModel.first_frame_id.does_not_exist() | (
            TimelineSlotModel.first_frame_id > first.frame_id
        )
    scores = [frame.activity_score for frame in frames if frame.activity_score is not None]
    score = max(scores) if scores else None
    if score is not None and (seen is None or seen.max_activity is None or score > seen.max_activity):
        actions.append(TimelineSlotModel.max_activity.set(score))
        higher = TimelineSlotModel.max_activity.does_not_exist() | (TimelineSlotModel.max_activity < score)
        condition = higher if condition is None else condition & higher
    transaction.update(item, actions=actions, condition=condition)


def next_frame_id(camera_id: str, start: datetime, after_id: str) -> str | None:
    """The smallest frame id of the slot above `after_id` (one key-range query of one item), or None."""
    upper = ids.frame_id_floor(start + SLOT)
    try:
        query = FrameModel.query(
            camera_id,
            range_key_condition=FrameModel.frame_id.between(after_id + "0", upper),
            attributes_to_get=["frame_id"],
            limit=2,
            page_size=2,
            consistent_read=True,
        )
        for item in query:
            if after_id < item.frame_id < upper:
                return item.frame_id
    except PynamoDBException as exc:
        raise StorageError("could not read the frame index") from exc
    return None


def add_removal(transaction: TransactWrite, frame: entities.Frame, seen: Slot, next_id: str | None) -> None:
    """Uncount `frame` from its slot, in the transaction that deletes its index item; `seen` is the slot as read
    before, and `next_id` the slot's next frame (next_frame_id) when `frame` was its first."""
    item = TimelineSlotModel(frame.camera_id, slot_key(seen.start))
    actions: list[Any] = [TimelineSlotModel.frames.add(-1)]
    condition = TimelineSlotModel.slot.exists()
    if seen.first_frame_id == frame.frame_id:
        field = TimelineSlotModel.first_frame_id
        actions.append(field.set(next_id) if next_id else field.remove())
        condition &= field == frame.frame_id  # a smaller frame that arrived since stays first
    transaction.update(item, actions=actions, condition=condition)


def day_slots(camera_id: str, start: datetime, end: datetime) -> list[Slot]:
    """The camera's slots with start <= slot < end (one query of at most MAX_SLOTS items), oldest first."""
    last = end - timedelta(seconds=1)
    try:
        query = TimelineSlotModel.query(
            camera_id,
            range_key_condition=TimelineSlotModel.slot.between(slot_key(start), slot_key(last)),
            limit=MAX_SLOTS,
            page_size=MAX_SLOTS,
        )
        return [_slot(item) for item in query]
    except PynamoDBException as exc:
        raise StorageError("could not read the timeline") from exc


# the backfill of slots for frames indexed before ingest wrote them (doti.jobs.timeline_backfill)


@dataclass(frozen=True)
class IndexedFrame:
    frame_id: str
    captured_at: datetime
    expires_at: datetime
    activity_score: float | None


def indexed_frames(camera_id: str, start: datetime, end: datetime, *, page_size: int) -> Iterator[IndexedFrame]:
    """The camera's index items captured in [start, end), oldest first: one key-range query read page by page (never a
    scan), only the attributes a slot needs."""
    lower, upper = ids.frame_id_floor(start), ids.frame_id_floor(end)
    try:
        query = FrameModel.query(
            camera_id,
            range_key_condition=FrameModel.frame_id.between(lower, upper),
            attributes_to_get=["frame_id", "captured_at", "expires_at", "activity_score"],
            page_size=page_size,
        )
        for item in query:
            if start <= item.captured_at < end:
                score = item.activity_score
                yield IndexedFrame(
                    item.frame_id, item.captured_at, item.expires_at, float(score) if score is not None else None
                )
    except PynamoDBException as exc:
        raise StorageError("could not read the frame index") from exc


def slot_expiry(start: datetime, captured_at: datetime, frame_expires_at: datetime) -> datetime:
    """When a slot starting at `start` expires for a frame of it: the frame's expiry moved to the slot's end (its end
    plus the retention), to the second; a slot keeps the latest of its frames'."""
    return ceil_to_second(frame_expires_at + (start + SLOT - captured_at))


def put_slot_if_absent(camera_id: str, slot: Slot, expires_at: datetime) -> bool:
    """Write the slot only if the camera has none at its start (True); False if one exists, ingest's or an earlier
    backfill's: it is left as it is, so frames ingest counted are never counted twice. A retried put that had been
    applied finds its own slot, and says False."""
    item = TimelineSlotModel(
        camera_id,
        slot_key(slot.start),
        frames=slot.frames,
        max_activity=slot.max_activity,
        first_frame_id=slot.first_frame_id,
        expires_at=expires_at,
    )
    try:
        item.save(condition=TimelineSlotModel.slot.does_not_exist())
    except PutError as exc:
        if is_condition_failure(exc):
            return False
        raise StorageError("could not write the timeline") from exc
    return True
