"""Data access for the retention job: key ranges of the frame index, day-prefix listings, cursors and receipts.

Everything here is bounded by a key range: a camera's index between two frame ids, or one day's object prefix from
a frame id on. Nothing lists or queries what is stored beyond the range the caller asks for.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from pynamodb.exceptions import DoesNotExist, PutError, PynamoDBException, TransactWriteError
from pynamodb.transactions import TransactWrite

from doti.errors import StorageError
from doti.store.conditions import is_condition_failure
from doti.store.models import DeletionReceiptModel, FrameModel, ScheduledWorkModel
from doti.store.transactions import Transaction

CURSOR_KIND = "retention_cursor"  # one item per camera in the schedule table; never due work (no time in its key)
NOTES_CURSOR_KIND = "retention_notes_cursor"  # one item per notes partition (camera or site): its counted_to only


@dataclass(frozen=True)
class IndexedFrame:
    frame_id: str
    object_key: str
    thumb_key: str | None  # None: no stored thumbnail (rendered when viewed)
    retention_class: str


@dataclass(frozen=True)
class ListedObject:
    key: str
    frame_id: str
    size: int
    last_modified: datetime


RETENTION, TAKEDOWN = "retention", "takedown"  # the sources of a deletion, each counted apart in the receipt
SOURCES = (RETENTION, TAKEDOWN)


@dataclass(frozen=True)
class Counts:
    frames: int
    notes: int
    bytes: int


@dataclass(frozen=True)
class Receipt:
    day: str
    frames: int
    notes: int
    bytes: int
    by_source: dict[str, Counts] | None  # None: the day was (partly) counted before sources were, so unknown


# the index


def indexed_frames(camera_id: str, lower_id: str, upper_id: str, limit: int) -> list[IndexedFrame]:
    """Up to `limit` of a camera's index items with lower_id <= frame_id < upper_id, oldest first (one query)."""
    try:
        query = FrameModel.query(
            camera_id,
            range_key_condition=FrameModel.frame_id.between(lower_id, upper_id),
            attributes_to_get=["frame_id", "object_key", "thumb_key", "retention_class"],
            limit=limit + 1,  # between() includes upper_id itself, which is dropped below
            page_size=limit + 1,
        )
        found = [IndexedFrame(i.frame_id, i.object_key, i.thumb_key, i.retention_class) for i in query]
    except PynamoDBException as exc:
        raise StorageError("could not query the frame index") from exc
    return [frame for frame in found if frame.frame_id < upper_id][:limit]


def oldest_frame_id(camera_id: str) -> str | None:
    try:
        for item in FrameModel.query(camera_id, attributes_to_get=["frame_id"], limit=1, page_size=1):
            return item.frame_id
    except PynamoDBException as exc:
        raise StorageError("could not query the frame index") from exc
    return None


def delete_items(camera_id: str, frame_ids: Iterable[str]) -> None:
    try:
        with FrameModel.batch_write() as batch:
            for frame_id in frame_ids:
                batch.delete(FrameModel(camera_id, frame_id))
    except PynamoDBException as exc:
        raise StorageError("could not delete frame index items") from exc


# the objects


def list_day(s3: object, bucket: str, prefix: str, lower_id: str, upper_id: str, limit: int) -> list[ListedObject]:
    """Up to `limit` objects under a day prefix whose frame id (the file name) is >= lower_id and < upper_id.

    Keys under a day prefix sort by frame id, so the listing starts at lower_id and stops at upper_id: it reads
    only the range asked for, however much else the day holds.
    """
    found: list[ListedObject] = []
    token: str | None = None
    while len(found) < limit:
        args = {"Bucket": bucket, "Prefix": prefix, "MaxKeys": min(1000, limit - len(found))}
        args.update({"ContinuationToken": token} if token else {"StartAfter": prefix + lower_id})
        try:
            page = s3.list_objects_v2(**args)  # type: ignore[attr-defined]
        except (ClientError, BotoCoreError) as exc:
            raise StorageError("could not list objects", prefix=prefix) from exc
        for entry in page.get("Contents", []):
            frame_id = entry["Key"][len(prefix) :].split(".", 1)[0]
            if frame_id >= upper_id:
                return found
            if frame_id >= lower_id:
                found.append(ListedObject(entry["Key"], frame_id, int(entry["Size"]), entry["LastModified"]))
        token = page.get("NextContinuationToken")
        if not page.get("IsTruncated") or not token:
            break
    return found


# cursors: how far each camera's expiring range has been reconciled, and counted (notes: counted only)


@dataclass(frozen=True)
class Cursor:
    position: str | None  # everything of the camera below it is deleted
    counted_to: str | None  # everything below it is in the receipts (at or above `position`: it may be deleting)


def get_cursor(ref: str, kind: str = CURSOR_KIND) -> Cursor:
    """The cursor of a camera's frames (CURSOR_KIND), or of a camera's or site's notes (NOTES_CURSOR_KIND)."""
    try:
        item = ScheduledWorkModel.get(kind, ref, consistent_read=True)
    except DoesNotExist:
        return Cursor(None, None)
    except PynamoDBException as exc:
        raise StorageError("could not read the retention cursor") from exc
    return Cursor(item.ref, item.counted_to)


def put_cursor(camera_id: str, contract_id: str, position: str, now: datetime, counted_to: str | None = None) -> bool:
    """Save the camera's cursor: its position, and counted_to (None: nothing is counted beyond the position). False,
    with nothing saved, when another run has counted beyond `counted_to` meanwhile: that run saves its own."""
    item = ScheduledWorkModel(
        CURSOR_KIND, camera_id, contract_id=contract_id, ref=position, due_at=now, counted_to=counted_to
    )
    not_overtaken = (
        None
        if counted_to is None
        else ScheduledWorkModel.counted_to.does_not_exist() | (ScheduledWorkModel.counted_to <= counted_to)
    )
    try:
        item.save(condition=not_overtaken)
    except PutError as exc:
        if is_condition_failure(exc):
            return False
        raise StorageError("could not save the retention cursor") from exc
    except PynamoDBException as exc:
        raise StorageError("could not save the retention cursor") from exc
    return True


def count_deletions(
    contract_id: str,
    kind: str,
    ref: str,
    day: str,
    *,
    frames: int = 0,
    notes: int = 0,
    bytes_: int = 0,
    counted_from: str | None,
    counted_to: str,
    now: datetime,
) -> bool:
    """In one transaction: add to the contract's receipt of the day, and move the counted_to of the cursor (kind,
    ref) from `counted_from` to `counted_to`. False, with nothing written, when counted_to is no longer
    `counted_from` (another run counted meanwhile)."""
    cursor = ScheduledWorkModel(kind, ref)
    unchanged = (
        ScheduledWorkModel.counted_to.does_not_exist()
        if counted_from is None
        else ScheduledWorkModel.counted_to == counted_from
    )
    try:
        with TransactWrite(connection=ScheduledWorkModel._get_connection().connection) as transaction:
            transaction.update(
                DeletionReceiptModel(contract_id, day),
                actions=_receipt_adds(RETENTION, frames=frames, notes=notes, bytes_=bytes_),
            )
            transaction.update(
                cursor,
                actions=[
                    ScheduledWorkModel.counted_to.set(counted_to),
                    ScheduledWorkModel.contract_id.set(contract_id),
                    ScheduledWorkModel.due_at.set(now),
                ],
                condition=unchanged,
            )
    except TransactWriteError as exc:
        reasons = [reason.code if reason else None for reason in (exc.cancellation_reasons or [])]
        if "ConditionalCheckFailed" in reasons:
            return False
        raise StorageError("could not record the deletion receipt") from exc
    return True


# deletion receipts


def _receipt_adds(source: str, *, frames: int, notes: int, bytes_: int) -> list[Any]:
    """The ADDs of one deletion: to the day's totals and to its source's counts, so that one UpdateItem writes both
    and they never disagree for what was counted since sources were."""
    if source not in SOURCES:
        raise ValueError(f"unknown deletion source {source!r}")
    m = DeletionReceiptModel
    per_source = {
        RETENTION: (m.retention_frames, m.retention_notes, m.retention_bytes),
        TAKEDOWN: (m.takedown_frames, m.takedown_notes, m.takedown_bytes),
    }[source]
    values = (frames, notes, bytes_)
    return [attr.add(value) for attr, value in zip((m.frames, m.notes, m.bytes), values, strict=True)] + [
        attr.add(value) for attr, value in zip(per_source, values, strict=True)
    ]


def add_to_receipt(contract_id: str, day: str, *, source: str, frames: int, notes: int, bytes_: int) -> None:
    """Atomic ADDs to the contract's receipt of the day, totals and the source's counts (creates it on first use)."""
    actions = _receipt_adds(source, frames=frames, notes=notes, bytes_=bytes_)
    try:
        DeletionReceiptModel(contract_id, day).update(actions=actions)
    except PynamoDBException as exc:
        raise StorageError("could not record the deletion receipt") from exc


def add_receipt_count(
    transaction: Transaction, contract_id: str, day: str, *, source: str, frames: int, notes: int, bytes_: int
) -> None:
    """The same ADDs, in the transaction that deletes what they count: counted if and only if deleted."""
    actions = _receipt_adds(source, frames=frames, notes=notes, bytes_=bytes_)
    transaction.update(DeletionReceiptModel(contract_id, day), actions=actions)


def _by_source(item: DeletionReceiptModel) -> dict[str, Counts] | None:
    """The day's counts per source, or None when they are not known: a day stored before sources were counted has
    none, and a day begun before has totals its sources do not add up to. Never a guess."""
    found = {
        source: tuple(getattr(item, f"{source}_{name}") for name in ("frames", "notes", "bytes")) for source in SOURCES
    }
    if all(value is None for values in found.values() for value in values):
        return None
    split = {source: Counts(*(int(v or 0) for v in values)) for source, values in found.items()}
    totals = (int(item.frames), int(item.notes), int(item.bytes))
    added = tuple(sum(getattr(c, name) for c in split.values()) for name in ("frames", "notes", "bytes"))
    return split if added == totals else None


def receipts(contract_id: str, first_day: str, last_day: str, limit: int) -> list[Receipt]:
    """The contract's receipts from first_day to last_day (both included), newest first."""
    try:
        query = DeletionReceiptModel.query(
            contract_id,
            range_key_condition=DeletionReceiptModel.day.between(first_day, last_day),
            scan_index_forward=False,
            limit=limit,
            page_size=limit,
        )
        return [Receipt(i.day, int(i.frames), int(i.notes), int(i.bytes), _by_source(i)) for i in query]
    except PynamoDBException as exc:
        raise StorageError("could not read deletion receipts") from exc
