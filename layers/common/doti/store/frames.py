"""Data access for frames: the index in DynamoDB and the objects in S3."""

from __future__ import annotations

import base64
import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from pynamodb.exceptions import DoesNotExist, PynamoDBException

from doti import entities
from doti.errors import NotFound, StorageError
from doti.store.models import FrameModel

S3_DELETE_BATCH = 1000  # DeleteObjects takes at most 1000 keys


@dataclass(frozen=True)
class StoredObject:
    key: str
    body: bytes
    content_type: str
    sha256_hex: str


@dataclass(frozen=True)
class ExpiredFrame:
    camera_id: str
    frame_id: str
    object_key: str
    thumb_key: str
    bytes: int


def _frame(item: FrameModel) -> entities.Frame:
    names = [f.name for f in dataclasses.fields(entities.Frame) if f.name != "expires_at"]
    return entities.Frame(
        **{name: getattr(item, name) for name in names}, expires_at=datetime.fromtimestamp(item.expires_at, UTC)
    )


def get_frame(camera_id: str, frame_id: str) -> entities.Frame:
    try:
        return _frame(FrameModel.get(camera_id, frame_id))
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
) -> tuple[list[entities.Frame], str | None]:
    """One page of a camera's frames with lower_id <= frame_id < upper_id, hiding items past expires_at.

    Returns the page and the frame id to continue after (None on the last page).
    """
    # between() is inclusive; frame ids are fixed-width, so the largest id below upper_id ends in 'Z's.
    condition = FrameModel.frame_id.between(lower_id, _predecessor(upper_id))
    last_key = {"camera_id": {"S": camera_id}, "frame_id": {"S": start_after}} if start_after else None
    items: list[entities.Frame] = []
    try:
        # Expired-but-not-yet-TTL'd items are filtered out, so a page may need several DynamoDB pages.
        query = FrameModel.query(
            camera_id,
            range_key_condition=condition,
            filter_condition=FrameModel.expires_at > int(now.timestamp()),
            scan_index_forward=not newest_first,
            last_evaluated_key=last_key,
            page_size=limit,
        )
        for item in query:
            items.append(_frame(item))
            if len(items) == limit:
                break
        more = len(items) == limit and query.last_evaluated_key is not None
    except PynamoDBException as exc:
        raise StorageError("could not list frames") from exc
    return items, (items[-1].frame_id if more else None)


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
            Metadata={"sha256": obj.sha256_hex},
        )
    except (ClientError, BotoCoreError) as exc:
        raise StorageError("could not store the object") from exc


def delete_objects(s3: Any, bucket: str, keys: list[str]) -> list[str]:
    """Delete keys in batches of 1000; returns the keys S3 reported as failed (the next run retries them)."""
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
