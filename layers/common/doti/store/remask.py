"""Data access for re-mask jobs: the job items, their queue, and the frame reads and writes a re-mask makes.

A slice holds the job under a lease token of its own. The token stays on the job when the slice gives the lease up
(only the lease's end moves to RELEASED), so every write of a slice is conditional on its token alone: botocore's
resend of a write that applied meets its own condition again and applies again (the same values), and a lease whose
answer was lost is known by its token when the job is read back. A slice that took the job over sets a new token, and
the old slice's writes fail their condition from then on.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from pynamodb.exceptions import DoesNotExist, PynamoDBException, UpdateError
from pynamodb.transactions import TransactWrite

from doti import entities
from doti.errors import NotFound, StorageError
from doti.store.conditions import is_condition_failure
from doti.store.frames import MASK_METADATA, _frame, get_frame
from doti.store.mapping import to_entity, to_item
from doti.store.models import FrameModel, RemaskJobModel

RELEASED = datetime(1970, 1, 1, tzinfo=UTC)  # lease_until of a lease its slice gave up: any slice may take the job


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
    expires_at: datetime
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
    return to_entity(RemaskJob, item, failed_frame_ids=list(item.failed_frame_ids or []))


# jobs


def add_new_job(transaction: TransactWrite, job: RemaskJob) -> None:
    """Store a new job, in the transaction of its "camera.remask_started" entry."""
    transaction.save(to_item(RemaskJobModel, job), condition=RemaskJobModel.job_id.does_not_exist())


def get_job(job_id: str) -> RemaskJob:
    try:
        return _job(RemaskJobModel.get(job_id, consistent_read=True))
    except DoesNotExist as exc:
        raise NotFound("re-mask job not found") from exc
    except PynamoDBException as exc:
        raise StorageError("could not read the re-mask job") from exc


def holds_lease(job_id: str, token: str) -> bool:
    """Whether the job is unfinished and its lease `token`'s (taken, not given up)."""
    job = get_job(job_id)
    return job.lease_token == token and job.status == "running" and job.lease_until not in (None, RELEASED)


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
    """Take the job for one slice under `token`: only while it is unfinished and nobody else's lease runs. None
    otherwise (and when there is no such job).

    The lease knows itself: when the write's answer is lost, or botocore's resend of the applied write fails its own
    condition (the lease is taken now, by us), the job read back under our token is ours."""
    free = RemaskJobModel.lease_until.does_not_exist() | (RemaskJobModel.lease_until < now)
    unfinished = RemaskJobModel.status.is_in("queued", "running")
    actions = [
        RemaskJobModel.lease_token.set(token),
        RemaskJobModel.lease_until.set(until),
        RemaskJobModel.status.set("running"),
        RemaskJobModel.slices.add(1),
        RemaskJobModel.updated_at.set(now),
    ]
    item = RemaskJobModel(job_id=job_id)
    try:
        item.update(actions=actions, condition=RemaskJobModel.job_id.exists() & free & unfinished)
    except UpdateError as exc:
        held = _find_job(job_id)
        if held is not None and held.lease_token == token:
            return held  # our lease applied; its answer was lost, or was a resend's failing its own condition
        if is_condition_failure(exc):
            return None
        raise StorageError("could not lease the re-mask job") from exc
    return _job(item)


def _find_job(job_id: str) -> RemaskJob | None:
    try:
        return get_job(job_id)
    except NotFound:
        return None


def _progress_actions(progress: Progress, now: datetime) -> list[Any]:
    return [
        RemaskJobModel.cursor.set(progress.cursor),
        RemaskJobModel.frames_masked.set(progress.frames_masked),
        RemaskJobModel.frames_skipped.set(progress.frames_skipped),
        RemaskJobModel.frames_failed.set(progress.frames_failed),
        RemaskJobModel.failed_frame_ids.set(progress.failed_frame_ids),
        RemaskJobModel.updated_at.set(now),
    ]


def save_progress(job_id: str, token: str, progress: Progress, now: datetime) -> bool:
    """Record the cursor and counts, if the lease is still ours (False: another slice took the job over)."""
    actions = _progress_actions(progress, now)
    return _update(job_id, actions, RemaskJobModel.lease_token == token, "record progress of") is not None


def end_slice(job_id: str, token: str, now: datetime) -> bool:
    """Give the lease up (the job stays unfinished: the next slice takes it at once). False if it was not ours."""
    actions = [RemaskJobModel.lease_until.set(RELEASED), RemaskJobModel.updated_at.set(now)]
    return _update(job_id, actions, RemaskJobModel.lease_token == token, "update") is not None


def add_finish(transaction: TransactWrite, job_id: str, token: str, status: str, now: datetime) -> None:
    """Finish the job with `status` and give the lease up, in the transaction of its "camera.remask_finished" entry,
    if the lease is still ours."""
    actions = [
        RemaskJobModel.status.set(status),
        RemaskJobModel.finished_at.set(now),
        RemaskJobModel.lease_until.set(RELEASED),
        RemaskJobModel.updated_at.set(now),
    ]
    transaction.update(RemaskJobModel(job_id=job_id), actions=actions, condition=RemaskJobModel.lease_token == token)


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


def add_masked_frame(
    transaction: TransactWrite,
    *,
    frame: entities.Frame,
    masked: entities.Frame,
    job_id: str,
    token: str,
    progress: Progress,
    now: datetime,
) -> None:
    """In `transaction`, the one of the frame's "frame.remasked" entry: point the index item at the rewritten objects
    (the new digest, sizes and mask version), and record the job's progress past it.

    Conditional on the item being as it was read (same digest and mask version) and on the lease still being
    `token`'s: the transaction is cancelled if the item changed or went (taken down, expired; see `is_unchanged`), or
    another slice took the job over (see `holds_lease`)."""
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
    transaction.update(FrameModel(frame.camera_id, frame.frame_id), actions=actions, condition=unchanged)
    transaction.update(
        RemaskJobModel(job_id=job_id),
        actions=_progress_actions(progress, now),
        condition=RemaskJobModel.lease_token == token,
    )


def is_unchanged(frame: entities.Frame) -> bool:
    """Whether the index item is still as `frame` was read (same digest and mask version)."""
    try:
        current = get_frame(frame.camera_id, frame.frame_id, consistent=True)
    except NotFound:
        return False
    return (current.sha256, current.mask_version) == (frame.sha256, frame.mask_version)


def frame_exists(camera_id: str, frame_id: str) -> bool:
    try:
        get_frame(camera_id, frame_id, consistent=True)
    except NotFound:
        return False
    return True


def job_expiry(created_at: datetime, days: int) -> datetime:
    return created_at + timedelta(days=days)
