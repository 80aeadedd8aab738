"""Data access for frames: the index in DynamoDB and the objects in S3."""

from __future__ import annotations

import base64
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from pynamodb.exceptions import DoesNotExist, PynamoDBException
from pynamodb.transactions import TransactWrite

from doti import entities
from doti.errors import NotFound, StorageError
from doti.store.mapping import to_entity
from doti.store.models import FrameModel

S3_DELETE_BATCH = 1000  # DeleteObjects takes at most 1000 keys
MASK_METADATA = "mask-version"
# A listing filtered on activity reads DynamoDB pages of this many items, and answers with what it found and a
# cursor once it has read MAX_EXAMINED without filling the page: a quiet camera's long history never runs a
# request into its timeout.
FILTERED_PAGE_SIZE = 200
MAX_EXAMINED = 2000


@dataclass(frozen=True)
class StoredObject:
    key: str
    body: bytes
    content_type: str
    sha256_hex: str
    mask_version: str | None = None  # the privacy mask the body is blacked out under (object metadata MASK_METADATA)


@dataclass(frozen=True)
class ExpiredFrame:
    camera_id: str
    frame_id: str
    object_key: str
    thumb_key: str | None  # None: no stored thumbnail (rendered when viewed)
    bytes: int


def _frame(item: FrameModel) -> entities.Frame:
    return to_entity(entities.Frame, item)


def get_frame(camera_id: str, frame_id: str, *, consistent: bool = False) -> entities.Frame:
    """One index item; `consistent` for a read that must see a write just made (an ingest replay)."""
    try:
        return _frame(FrameModel.get(camera_id, frame_id, consistent_read=consistent))
    except DoesNotExist as exc:
        raise NotFound("frame not found") from exc
    except PynamoDBException as exc:
        raise StorageError("could not read the frame") from exc


def query_frames(
    camera_id: str,
    lower_id: str,
    upper_id: str,
    *,
    newest_first: bool,
    limit: int,
    start_after: str | None,
    now: datetime,
    min_activity: float | None = None,
) -> tuple[list[entities.Frame], str | None]:
    """One page of a camera's frames with lower_id <= frame_id < upper_id, hiding items past expires_at.

    With `min_activity`, only frames whose activity score is at least that: a filter inside the camera's key range,
    so the page fills across DynamoDB pages, or comes back short with a cursor after MAX_EXAMINED items.
    Returns the page and the frame id to continue after (None on the last page). `start_after` must lie in
    [lower_id, upper_id): DynamoDB answers a start key outside the key condition with a ValidationException (moto
    does not), so callers check a client's cursor against the range first.
    """
    # between() is inclusive; frame ids are fixed-width, so the largest id below upper_id ends in 'Z's.
    condition = FrameModel.frame_id.between(lower_id, _predecessor(upper_id))
    last_key = {"camera_id": {"S": camera_id}, "frame_id": {"S": start_after}} if start_after else None
    # Expired-but-not-yet-TTL'd items are filtered out, so a page may need several DynamoDB pages.
    shown = FrameModel.expires_at > now
    if min_activity is not None:
        shown &= FrameModel.activity_score >= min_activity  # frames without a score (None) never match
    items: list[entities.Frame] = []
    try:
        pages = FrameModel.query(
            camera_id,
            range_key_condition=condition,
            filter_condition=shown,
            scan_index_forward=not newest_first,
            last_evaluated_key=last_key,
            page_size=limit if min_activity is None else max(limit, FILTERED_PAGE_SIZE),
        ).page_iter
        for page in pages:
            found = page.get("Items", [])
            for position, raw in enumerate(found, start=1):
                items.append(_frame(FrameModel.from_raw_data(raw)))
                if len(items) == limit:
                    more = position < len(found) or pages.last_evaluated_key is not None
                    return items, (items[-1].frame_id if more else None)
            if pages.last_evaluated_key is None:
                break
            if min_activity is not None and pages.total_scanned_count >= MAX_EXAMINED:
                return items, pages.last_evaluated_key["frame_id"]["S"]
    except PynamoDBException as exc:
        raise StorageError("could not list frames") from exc
    return items, None


def _predecessor(frame_id: str) -> str:
    """The largest fixed-width Crockford id strictly below frame_id (ids compare as strings)."""
    alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
    chars = list(frame_id)
    for i in range(len(chars) - 1, -1, -1):
        pos = alphabet.index(chars[i])
        if pos > 0:
            chars[i] = alphabet[pos - 1]
            return "".join(chars[: i + 1]) + alphabet[-1] * (len(chars) - i - 1)
        chars[i] = alphabet[-1]
    return ""


def frames_by_key(keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], entities.Frame]:
    """The frames stored under these (camera_id, frame_id) keys, in batches of 100; missing ones are left out."""
    try:
        return {(item.camera_id, item.frame_id): _frame(item) for item in FrameModel.batch_get(list(keys))}
    except PynamoDBException as exc:
        raise StorageError("could not read the frames") from exc


def expired_frames(camera_id: str, before_id: str, limit: int) -> list[ExpiredFrame]:
    """The oldest frames of a camera with frame_id < before_id: a key-range query, never a scan."""
    try:
        query = FrameModel.query(
            camera_id,
            range_key_condition=FrameModel.frame_id < before_id,
            attributes_to_get=["camera_id", "frame_id", "object_key", "thumb_key", "size", "thumb_size"],
            limit=limit,
            page_size=limit,
        )
        return [
            ExpiredFrame(i.camera_id, i.frame_id, i.object_key, i.thumb_key, int(i.size) + int(i.thumb_size))
            for i in query
        ]
    except PynamoDBException as exc:
        raise StorageError("could not query expired frames") from exc


def add_index_removal(transaction: TransactWrite, camera_id: str, frame_id: str) -> None:
    """Delete one index item in a transaction, conditional on its being there: a transaction applied twice (its
    answer lost, or a repeated takedown) fails rather than doing what goes with the delete twice."""
    transaction.delete(FrameModel(camera_id, frame_id), condition=FrameModel.frame_id.exists())


def frame_indexed(camera_id: str, frame_id: str) -> bool:
    """Whether the index item is there now (a consistent read)."""
    try:
        get_frame(camera_id, frame_id, consistent=True)
    except NotFound:
        return False
    return True


def delete_frame_items(frames: Iterable[ExpiredFrame]) -> None:
    """Batch-delete index items (PynamoDB sends them 25 at a time and retries unprocessed ones)."""
    try:
        with FrameModel.batch_write() as batch:
            for frame in frames:
                batch.delete(FrameModel(frame.camera_id, frame.frame_id))
    except PynamoDBException as exc:
        raise StorageError("could not delete frame index items") from exc


# objects


def put_object(s3: Any, bucket: str, obj: StoredObject, tagging: str) -> None:
    """Store one object with its lifecycle tag; S3 verifies the body against our SHA-256 on arrival.

    Only the holder of the frame id's claim writes a frame's keys (doti.store.claims), so a plain put is enough: a
    retry that took the claim over writes the same bytes over whatever the stopped request left.
    """
    try:
        s3.put_object(
            Bucket=bucket,
            Key=obj.key,
            Body=obj.body,
            ContentType=obj.content_type,
            Tagging=tagging,
            ChecksumSHA256=base64.b64encode(bytes.fromhex(obj.sha256_hex)).decode(),
            Metadata={"sha256": obj.sha256_hex, **({MASK_METADATA: obj.mask_version} if obj.mask_version else {})},
        )
    except (ClientError, BotoCoreError) as exc:
        raise StorageError("could not store the object") from exc


def delete_objects(s3: Any, bucket: str, keys: Sequence[str | None]) -> list[str]:
    """Delete keys in batches of 1000; returns the keys S3 reported as failed (the next run retries them). A None
    key is skipped: a frame's thumb_key when its thumbnail is rendered when viewed, never stored."""
    keys = [key for key in keys if key]
    failed: list[str] = []
    for start in range(0, len(keys), S3_DELETE_BATCH):
        chunk = keys[start : start + S3_DELETE_BATCH]
        try:
            response = s3.delete_objects(
                Bucket=bucket, Delete={"Objects": [{"Key": key} for key in chunk], "Quiet": True}
            )
        except (ClientError, BotoCoreError) as exc:
            raise StorageError("could not delete objects") from exc
        failed.extend(error["Key"] for error in response.get("Errors", []))
    return failed
