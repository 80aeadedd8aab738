"""Data access for the retention job: key ranges of the frame index, day-prefix listings, cursors and receipts.

Everything here is bounded by a key range: a camera's index between two frame ids, or one day's object prefix from
a frame id on. Nothing lists or queries what is stored beyond the range the caller asks for.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from botocore.exceptions import BotoCoreError, ClientError
from pynamodb.exceptions import DoesNotExist, PynamoDBException

from doti.errors import StorageError
from doti.store.models import DeletionReceiptModel, FrameModel, ScheduledWorkModel

CURSOR_KIND = "retention_cursor"  # one item per camera in the schedule table; never due work (no time in its key)


@dataclass(frozen=True)
class IndexedFrame:
    frame_id: str
    object_key: str
    thumb_key: str
    retention_class: str


@dataclass(frozen=True)
class ListedObject:
    key: str
    frame_id: str
    size: int
    last_modified: datetime


@dataclass(frozen=True)
class Receipt:
    day: str
    frames: int
    notes: int
    bytes: int


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


# cursors: how far each camera's expiring range has been reconciled


def get_cursor(camera_id: str) -> str | None:
    try:
        return ScheduledWorkModel.get(CURSOR_KIND, camera_id).ref
    except DoesNotExist:
        return None
    except PynamoDBException as exc:
        raise StorageError("could not read the retention cursor") from exc


def put_cursor(camera_id: str, contract_id: str, position: str, now: datetime) -> None:
    item = ScheduledWorkModel(CURSOR_KIND, camera_id, contract_id=contract_id, ref=position, due_at=now)
    try:
        item.save()
    except PynamoDBException as exc:
        raise StorageError("could not save the retention cursor") from exc


# deletion receipts


def add_to_receipt(contract_id: str, day: str, *, frames: int, notes: int, bytes_: int) -> None:
    """Atomic ADDs to the contract's receipt of the day (creates it on first use)."""
    try:
        DeletionReceiptModel(contract_id, day).update(
            actions=[
                DeletionReceiptModel.frames.add(frames),
                DeletionReceiptModel.notes.add(notes),
                DeletionReceiptModel.bytes.add(bytes_),
            ]
        )
    except PynamoDBException as exc:
        raise StorageError("could not record the deletion receipt") from exc


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
        return [Receipt(i.day, int(i.frames), int(i.notes), int(i.bytes)) for i in query]
    except PynamoDBException as exc:
        raise StorageError("could not read deletion receipts") from exc
