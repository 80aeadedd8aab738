"""Data access for re-mask jobs: the job items, their queue, and the frame reads and writes a re-mask makes."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from pynamodb.exceptions import DoesNotExist, PutError, PynamoDBException, UpdateError

from doti import entities
from doti.errors import NotFound, StorageError
from doti.store.conditions import is_condition_failure
from doti.store.frames import MASK_METADATA, _frame, get_frame
from doti.store.models import FrameModel, RemaskJobModel


@dataclass(frozen=True)
class RemaskJob:
    job_id: str
    contract_id: str
    camera_id: str
    mask_version: str
    polygons: list
    upper_id: str
    status: str
    reason: str
    created_by: str
    created_at: datetime
    updated_at: datetime
    expires_at: int
    cursor: str | None = None
    frames_masked: int = 0
    frames_skipped: int = 0
    frames_failed: int = 0
    failed_frame_ids: list[str] = dataclasses.field(default_factory=list)
    slices: int = 0
    lease_token: str | None = None
    lease_until: datetime | None = None
    finished_at: datetime | None = None


@dataclass(frozen=True)
class Progress:
    cursor: str
    frames_masked: int
    frames_skipped: int
    frames_failed: int
    failed_frame_ids: list[str]


@dataclass(frozen=True)
class StoredOriginal:
    body: bytes
    mask_version: str | None  # what the object's metadata says it is blacked out under


def _job(item: RemaskJobModel) -> RemaskJob:
    values = {f.name: getattr(item, f.name) for f in dataclasses.fields(RemaskJob)}
    values.update(
        expires_at=int(item.expires_at),
        frames_masked=int(item.frames_masked or 0),
        frames_skipped=int(item.frames_skipped or 0),
        frames_failed=int(item.frames_failed or 0),
        failed_frame_ids=list(item.failed_frame_ids or []),
        slices=int(item.slices or 0),
    )
    return RemaskJob(**values)


# jobs


def put_job(job: RemaskJob) -> None:
    try:
        RemaskJobModel(**dataclasses.asdict(job)).save(condition=RemaskJobModel.job_id.does_not_exist())
    except PutError as exc:
        raise StorageError("could not store the re-mask job") from exc


def get_job(job_id: str) -> RemaskJob:
    try:
        return _job(RemaskJobModel.get(job_id, consistent_read=True))
    except DoesNotExist as exc:
        raise NotFound("re-mask job not found") from exc
    except PynamoDBException as exc:
        raise StorageError("could not read the re-mask job") from exc


def _update(job_id: str, actions: list[Any], condition: Any, what: str) -> RemaskJob | None:
    """Apply a conditional update; None when the condition did not hold."""
    item = RemaskJobModel(job_id=job_id)
    try:
        item.update(actions=actions, condition=RemaskJobModel.job_id.exists() & condition)
    except UpdateError as exc:
        if is_condition_failure(exc):
            return None
        raise StorageError(f"could not {what} the re-mask job") from exc
    return _job(item)


def acquire_lease(job_id: str, token: str, until: datetime, now: datetime) -> RemaskJob | None:
    """Take the job for one slice: only while it is unfinished and nobody else's lease runs. None otherwise."""
    free = RemaskJobModel.lease_until.does_not_exist() | (RemaskJobModel.lease_until < now)
    unfinished = RemaskJobModel.status.is_in("queued", "running")
    actions = [
        RemaskJobModel.lease_token.set(token),
        RemaskJobModel.lease_until.set(until),
        RemaskJobModel.status.set("running"),
        RemaskJobModel.slices.add(1),
        RemaskJobModel.updated_at.set(now),
    ]
    return _update(job_id, actions, free & unfinished, "lease")


def save_progress(job_id: str, token: str, progress: Progress, now: datetime) -> bool:
    """Record the cursor and counts, if the lease is still ours (False: another slice took the job over)."""
    actions = [
        RemaskJobModel.cursor.set(progress.cursor),
        RemaskJobModel.frames_masked.set(progress.frames_masked),
        RemaskJobModel.frames_skipped.set(progress.frames_skipped),
        RemaskJobModel.frames_failed.set(progress.frames_failed),
        RemaskJobModel.failed_frame_ids.set(progress.failed_frame_ids),
        RemaskJobModel.updated_at.set(now),
    ]
    return _update(job_id, actions, RemaskJobModel.lease_token == token, "record progress of") is not None


def end_slice(job_id: str, token: str, now: datetime, *, status: str | None = None) -> bool:
    """Give the lease up, and finish the job with `status` if given."""
    actions = [RemaskJobModel.lease_token.remove(), RemaskJobModel.lease_until.remove()]
    actions.append(RemaskJobModel.updated_at.set(now))
    if status:
        actions += [RemaskJobModel.status.set(status), RemaskJobModel.finished_at.set(now)]
    return _update(job_id, actions, RemaskJobModel.lease_token == token, "update") is not None


class SqsJobQueue:
    """The re-mask queue: one message per slice of a job."""

    def __init__(self, sqs: Any, queue_url: str) -> None:
        self._sqs = sqs
        self._queue_url = queue_url

    def send(self, job_id: str) -> None:
        try:
            self._sqs.send_message(QueueUrl=self._queue_url, MessageBody=json.dumps({"job_id": job_id}))
        except (ClientError, BotoCoreError) as exc:
            raise StorageError("could not queue the re-mask job") from exc


# frames


def frames_after(camera_id: str, after: str | None, upper_id: str, limit: int) -> list[entities.Frame]:
    """Up to `limit` of the camera's frames with after < frame_id < upper_id, oldest first: a key-range query."""
    last_key = {"camera_id": {"S": camera_id}, "frame_id": {"S": after}} if after else None
    try:
        query = FrameModel.query(
            camera_id,
            range_key_condition=FrameModel.frame_id < upper_id,
            scan_index_forward=True,
            consistent_read=True,
            last_evaluated_key=last_key,
            limit=limit,
            page_size=limit,
        )
        return [_frame(item) for item in query]
    except PynamoDBException as exc:
        raise StorageError("could not list the camera's frames") from exc


def read_original(s3: Any, bucket: str, key: str) -> StoredOriginal:
    """The frame's original and the mask version its metadata records; NotFound when it is gone.

    Only a 404 means gone. S3 answers a missing key with 403 AccessDenied to a caller without s3:ListBucket (the
    function has it, on frames/ and thumbs/), and a 403 may as well be a real denial: taking it for gone would leave
    a frame unmasked, so it fails the slice like any storage error and the message is retried.
    """
    try:
        response = s3.get_object(Bucket=bucket, Key=key)
        body = response["Body"].read()
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
            raise NotFound("the frame's original is not stored") from exc
        raise StorageError("could not read the frame's original") from exc
    except BotoCoreError as exc:
        raise StorageError("could not read the frame's original") from exc
    return StoredOriginal(body=body, mask_version=response.get("Metadata", {}).get(MASK_METADATA))


def record_masked_frame(frame: entities.Frame, masked: entities.Frame) -> bool:
    """Point the index item at the rewritten objects: the new digest, sizes and mask version. Conditional on the
    item being as it was read (same digest and mask version); False if it changed or went (taken down, expired)."""
    unchanged = FrameModel.sha256 == frame.sha256
    unchanged &= (
        FrameModel.mask_version.does_not_exist()
        if frame.mask_version is None
        else FrameModel.mask_version == frame.mask_version
    )
    actions = [
        FrameModel.sha256.set(masked.sha256),
        FrameModel.size.set(masked.size),
        FrameModel.width.set(masked.width),
        FrameModel.height.set(masked.height),
        FrameModel.thumb_size.set(masked.thumb_size),
        FrameModel.thumb_width.set(masked.thumb_width),
        FrameModel.thumb_height.set(masked.thumb_height),
        FrameModel.mask_version.set(masked.mask_version),
    ]
    try:
        FrameModel(frame.camera_id, frame.frame_id).update(actions=actions, condition=unchanged)
    except UpdateError as exc:
        if is_condition_failure(exc):
            return False
        raise StorageError("could not update the frame index") from exc
    return True


def frame_exists(camera_id: str, frame_id: str) -> bool:
    try:
        get_frame(camera_id, frame_id)
    except NotFound:
        return False
    return True


def job_expiry(created_at: datetime, days: int) -> int:
    return int(created_at.astimezone(UTC).timestamp()) + days * 86_400
