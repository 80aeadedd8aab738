"""One slice of a re-mask job (doti.jobs.remask): frames in frame-id order from the job's cursor, until the time is
short.

A slice takes the job's lease (so a duplicate SQS delivery or a second message never works the same job at the same
time), and for each frame:
  1. skips it if its index item already carries the job's mask version (a rerun changes nothing);
  2. reads the original and blacks the job's polygons out through the processor's pipeline (doti.ingest.video: a still
     re-encoded in its format, a clip's every frame re-encoded by the clip function, its poster the thumbnail), unless
     the object's
     metadata says an earlier slice already rewrote it and stopped before the index (then only its thumbnail is
     derived again);
  3. rewrites the original and its stored thumbnail, if it has one, in place: same keys, same retention tag, the
     content type it had (a still stored since thumbnails are rendered when viewed has none: its renders come from
     the masked original);
  4. commits in one transaction the audit entry with the old and the new SHA-256 (customer-visible), the index
     item's new digest, sizes and mask version (capture time and frame id never change), and the job's cursor.
A slice stopped anywhere leaves work the next one finishes, and writes nothing twice: a frame's entry exists exactly
when its index item carries the job's mask version, which step 1 skips. The job ends (completed, superseded) together
with its "camera.remask_finished" entry, so the slice that finds the job finished finds its entry too. Before the
reserve runs out it gives the lease up and queues the next slice; a clip, whose cost grows with its pixels, starts only
with its estimated time left over the reserve, else the next slice starts with it. A frame whose original no longer
decodes, or a clip too long or too large for any slice, cannot be masked: it is counted and listed on the job (staff
take it down), and the job goes on.

A job's first message is sent before the job is stored (doti.jobs.remask.jobs.start_remask): a first delivery that finds
no job may have overtaken the start's commit and comes back; a later one finds that the start failed (or the contract
was purged since), and the message is dropped, counted (outcome "no_job").
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import partial

from doti.contracts import retention_policy
from doti.entities import Frame
from doti.errors import CorruptImage, NotFound, PayloadTooLarge, UnsupportedMediaType
from doti.ingest import imaging, video
from doti.ingest.clips import ClipEncoder
from doti.ingest.image_types import ImageLimits, ProcessedImage
from doti.jobs.remask.jobs import COMPLETED, SUPERSEDED, JobQueue
from doti.observability import logger
from doti.oversight import audit
from doti.store import frames as frame_store
from doti.store import keys
from doti.store import registry as registry_store
from doti.store import remask as store
from doti.store.objects import Storage
from doti.store.remask import Progress, RemaskJob

ACTOR = audit.job_actor("remask")
RESERVE_MS = 20_000  # stop this long before the Lambda timeout: a 4K frame takes about a second end to end
# A clip's masking decodes every frame here (OpenCV) and waits for the clip function to decode, mask and re-encode it
# (H.264 at x264's "veryfast": 17 ms of CPU per megapixel on noisy 720p footage, measured on one x86_64 core). Ten
# times that covers a slower arm64 core and worse footage, and still lets one slice of the function's 900 s mask the
# longest clip the processor accepts (MAX_DECODED_PIXELS: 400 s), so no clip is listed as failed for its length.
CLIP_MS_PER_MEGAPIXEL = 200
CLIP_MS_PER_MEGABYTE = 40  # reading the clip from S3 and writing it back
# The clip, its masked copy and OpenCV fit the function's 1024 MB; both files fit its 512 MB of /tmp.
MAX_CLIP_BYTES = 200 * 1024 * 1024
BATCH = 25
MAX_LISTED_FAILURES = 100  # failed frame ids kept on the job (the count goes on)
MASKED, SKIPPED, FAILED = "masked", "skipped", "failed"
DEFERRED = "deferred"  # a clip the time left does not cover: the next slice starts with it
LOST_LEASE = "lost_lease"  # another slice took the job over: this one stops
NO_JOB = "no_job"  # a message whose job was never stored (its start failed) or is gone (purged)


@dataclass
class SliceReport:
    job_id: str
    outcome: str = "worked"  # worked | completed | superseded | busy | finished_already | lost_lease | no_job
    masked: int = 0
    skipped: int = 0
    failed: int = 0
    continued: bool = False
    failures: list[str] = field(default_factory=list)


@dataclass
class _Slice:
    job: RemaskJob
    token: str
    storage: Storage
    now: datetime
    report: SliceReport
    progress: Progress
    remaining_ms: Callable[[], float]
    encoder: ClipEncoder


class _LeaseLost(Exception):
    """Another slice took the job over: what this one was about to commit is no longer its to commit."""


def _still_leased(job: RemaskJob, token: str) -> None:
    if not store.holds_lease(job.job_id, token):
        raise _LeaseLost()


class _FrameChanged(Exception):
    """The frame's index item changed (or went) since the slice read it."""


def run_slice(
    job_id: str,
    *,
    storage: Storage,
    queue: JobQueue,
    now: datetime,
    remaining_ms: Callable[[], float],
    redelivered: bool,
    encoder: ClipEncoder,
) -> SliceReport:
    """Work on the job until RESERVE_MS is left, then queue the next slice (or finish the job).

    A slice that fails (storage) gives its lease up before it raises, so the message's retry resumes at once. A
    message whose job is not stored raises NotFound on its first delivery (the start may not have committed yet: the
    message comes back) and is dropped when `redelivered` (outcome NO_JOB). `encoder` re-encodes masked clips
    (doti.ingest.clips); its failure is a storage failure, retried like one.
    """
    report = SliceReport(job_id)
    token = secrets.token_hex(8)
    job = store.acquire_lease(job_id, token, now + timedelta(milliseconds=remaining_ms()), now)
    if job is None:
        return _not_leased(report, redelivered)
    try:
        continues = _work(job, token, storage, now, remaining_ms, report, encoder)
    except Exception:
        store.end_slice(job_id, token, now)
        raise
    if continues and store.end_slice(job_id, token, now):
        queue.send(job_id)
        report.continued = True
    return report


def _not_leased(report: SliceReport, redelivered: bool) -> SliceReport:
    try:
        current = store.get_job(report.job_id)
    except NotFound:
        if not redelivered:
            raise  # the message is sent before its job is stored: it may have overtaken the commit
        report.outcome = NO_JOB
        return report
    report.outcome = "finished_already" if current.status in (COMPLETED, SUPERSEDED) else "busy"
    return report


def _work(
    job: RemaskJob,
    token: str,
    storage: Storage,
    now: datetime,
    remaining_ms: Callable[[], float],
    report: SliceReport,
    encoder: ClipEncoder,
) -> bool:
    """The slice's frames; True when time ran short with frames left."""
    try:
        camera_version, last_frame_id = _camera_state(job.camera_id)
    except NotFound:
        camera_version = last_frame_id = None  # the camera is gone (purged), and its frames with it
    if camera_version != job.mask_version:
        # Staff changed or cleared the mask since: a newer job (if any) applies the mask the camera has now.
        _finish(job, token, SUPERSEDED, report, now)
        return False
    progress = Progress(
        job.cursor or "", job.frames_masked, job.frames_skipped, job.frames_failed, job.failed_frame_ids
    )
    work = _Slice(job, token, storage, now, report, progress, remaining_ms, encoder)
    while remaining_ms() >= RESERVE_MS:
        frames = store.frames_after(job.camera_id, work.progress.cursor or None, job.upper_id, BATCH)
        if not frames:
            _finish(job, token, COMPLETED, report, now, work.progress)
            return False
        for frame in frames:
            if remaining_ms() < RESERVE_MS:
                break
            outcome = _remask_frame(work, frame, last_frame_id)
            if outcome == DEFERRED:
                return True
            if outcome == LOST_LEASE or not _advance(work, frame, outcome):
                report.outcome = LOST_LEASE
                return False
    return True


def _camera_state(camera_id: str) -> tuple[str | None, str | None]:
    camera = registry_store.get_camera(camera_id)
    return camera.mask_version, camera.last_frame_id


def _progressed(p: Progress, frame: Frame, outcome: str) -> Progress:
    """The job's progress once `frame` ended with `outcome`."""
    failed_ids = p.failed_frame_ids
    if outcome == FAILED and len(failed_ids) < MAX_LISTED_FAILURES:
        failed_ids = [*failed_ids, frame.frame_id]
    return Progress(
        cursor=frame.frame_id,
        frames_masked=p.frames_masked + (outcome == MASKED),
        frames_skipped=p.frames_skipped + (outcome == SKIPPED),
        frames_failed=p.frames_failed + (outcome == FAILED),
        failed_frame_ids=failed_ids,
    )


def _advance(work: _Slice, frame: Frame, outcome: str) -> bool:
    """Count the frame; False when the lease was lost. A masked frame's progress committed with it."""
    work.progress = _progressed(work.progress, frame, outcome)
    setattr(work.report, outcome, getattr(work.report, outcome) + 1)  # each outcome names its counter
    if outcome == FAILED:
        work.report.failures.append(frame.frame_id)
    if outcome == MASKED:
        return True
    return store.save_progress(work.job.job_id, work.token, work.progress, work.now)


def _finish(
    job: RemaskJob, token: str, status: str, report: SliceReport, now: datetime, progress: Progress | None = None
) -> None:
    """End the job with `status` together with its "camera.remask_finished" entry, if the lease is still ours."""
    counts = progress or Progress(job.cursor or "", job.frames_masked, job.frames_skipped, job.frames_failed, [])
    details = {
        "job_id": job.job_id,
        "mask_version": job.mask_version,
        "status": status,
        "frames_masked": counts.frames_masked,
        "frames_skipped": counts.frames_skipped,
        "frames_failed": counts.frames_failed,
        "started_by": job.created_by,
    }
    finish = partial(store.add_finish, job_id=job.job_id, token=token, status=status, now=now)
    try:
        audit.record_with(
            job.contract_id,
            actor=ACTOR,
            action="camera.remask_finished",
            subject=job.camera_id,
            now=now,
            prepare=lambda: audit.StateWrite(finish, details),
            recheck=partial(_still_leased, job, token),
        )
    except _LeaseLost:
        report.outcome = LOST_LEASE
        return
    report.outcome = status


def _remask_frame(work: _Slice, frame: Frame, last_frame_id: str | None) -> str:
    job, storage = work.job, work.storage
    if frame.mask_version == job.mask_version or retention_policy.is_expired(frame, work.now):
        return SKIPPED  # already masked with this mask, or past its retention (the retention job deletes it)
    if frame.content_type == video.MP4 and (held := _clip_held(work, frame)):
        return held
    try:
        stored = store.read_original(storage.s3, storage.bucket, frame.object_key)
    except NotFound:
        return SKIPPED  # nothing left to mask; the retention job reconciles the index item
    rewritten = stored.mask_version == job.mask_version  # an earlier slice stopped after writing it
    try:
        image = video.process_media(
            stored.body,
            frame.content_type,
            ImageLimits(max_bytes=len(stored.body), max_pixels=max(frame.width * frame.height, 1)),
            None if rewritten else job.polygons,
            masking=video.ClipMasking(work.encoder, frame.object_key),
        )
    except (CorruptImage, UnsupportedMediaType, PayloadTooLarge) as exc:
        # An original that no longer decodes whole: listed for staff to act on.
        logger.warning("a stored frame cannot be masked", extra={"frame_id": frame.frame_id, "code": exc.code})
        return FAILED
    thumbnail = _stored_thumbnail(frame, image)
    masked = replace(
        frame,
        size=image.size,
        width=image.width,
        height=image.height,
        sha256=image.sha256,
        thumb_size=len(thumbnail) if thumbnail is not None else 0,
        thumb_width=image.thumb_width,
        thumb_height=image.thumb_height,
        mask_version=job.mask_version,
    )
    _write_objects(storage, frame, image, thumbnail, job.mask_version, rewrite_original=not rewritten)
    if frame.frame_id == last_frame_id:
        # Before the commit: a retry skips a frame whose index item is masked, and would not write it then.
        registry_store.replace_camera_signature(frame.camera_id, frame.frame_id, image.signature)
    return _commit_masked(work, frame, masked)


def _commit_masked(work: _Slice, frame: Frame, masked: Frame) -> str:
    """Commit the frame's index item, its "frame.remasked" entry and the job's progress in one transaction: MASKED;
    SKIPPED if the item changed meanwhile (taken down, expired, masked by another slice); LOST_LEASE."""
    job, token = work.job, work.token
    progress = _progressed(work.progress, frame, MASKED)
    details = {
        "job_id": job.job_id,
        "started_by": job.created_by,
        "camera_id": frame.camera_id,
        "frame_id": frame.frame_id,
        "mask_version": job.mask_version,
        "old_sha256": frame.sha256,
        "new_sha256": masked.sha256,
    }
    add = partial(
        store.add_masked_frame,
        frame=frame,
        masked=masked,
        job_id=job.job_id,
        token=token,
        progress=progress,
        now=work.now,
    )

    def recheck() -> None:
        # A retry follows a cancelled transaction: the head moved, or the lease or the frame did.
        _still_leased(job, token)
        if not store.is_unchanged(frame):
            raise _FrameChanged()

    try:
        audit.record_with(
            job.contract_id,
            actor=ACTOR,
            action="frame.remasked",
            subject=frame.frame_id,
            now=work.now,
            prepare=lambda: audit.StateWrite(add, details),
            recheck=recheck,
        )
    except _LeaseLost:
        return LOST_LEASE
    except _FrameChanged:
        return _settle_changed(work.storage, frame)
    return MASKED


def _clip_held(work: _Slice, frame: Frame) -> str | None:
    """None when the time left covers masking the clip. Else the next slice starts with it (DEFERRED), unless this
    slice started with it: no slice has more time than that, so it is FAILED, as is a clip too large to hold."""
    needed_ms = RESERVE_MS + _clip_ms(frame)
    fits = frame.size <= MAX_CLIP_BYTES
    if fits and work.remaining_ms() >= needed_ms:
        return None
    first = not (work.report.masked or work.report.skipped or work.report.failed)
    if fits and not first:
        return DEFERRED
    logger.warning(
        "a stored clip is too long or too large to re-mask in one run",
        extra={"frame_id": frame.frame_id, "size": frame.size, "needed_ms": round(needed_ms)},
    )
    return FAILED


def _clip_ms(frame: Frame) -> float:
    """The estimated time to mask a clip: its decoded pixels (the worst a clip may have if the index lacks its frame
    count), and its bytes in and out of S3."""
    pixels = frame.frame_count * frame.width * frame.height if frame.frame_count else video.MAX_DECODED_PIXELS
    return pixels / 1e6 * CLIP_MS_PER_MEGAPIXEL + frame.size / 1e6 * CLIP_MS_PER_MEGABYTE


def _stored_thumbnail(frame: Frame, image: ProcessedImage) -> bytes | None:
    """The masked thumbnail to write over the frame's stored one; None when it has none (rendered when viewed, from
    the original this job masks). A still stored before that change keeps its stored thumbnail until its retention
    ends, so it is rendered here from the masked original, as ingest made it then."""
    if frame.thumb_key is None:
        return None
    if image.thumbnail is not None:
        return image.thumbnail  # a clip's poster
    return imaging.render_thumbnail(image.original, image.content_type, image.width, image.height)


def _write_objects(
    storage: Storage,
    frame: Frame,
    image: ProcessedImage,
    thumbnail: bytes | None,
    version: str,
    *,
    rewrite_original: bool,
) -> None:
    """Overwrite the frame's objects at their keys, tagged with the retention class they were stored under."""
    tagging = f"{keys.RETENTION_TAG}={frame.retention_class}"
    if rewrite_original:
        original = frame_store.StoredObject(frame.object_key, image.original, frame.content_type, image.sha256, version)
        frame_store.put_object(storage.s3, storage.bucket, original, tagging)
    if frame.thumb_key is None or thumbnail is None:
        return
    thumb_sha = hashlib.sha256(thumbnail).hexdigest()
    thumb = frame_store.StoredObject(frame.thumb_key, thumbnail, "image/jpeg", thumb_sha, version)
    frame_store.put_object(storage.s3, storage.bucket, thumb, tagging)


def _settle_changed(storage: Storage, frame: Frame) -> str:
    """The index item changed while the frame was rewritten: taken down or deleted by retention (then the objects
    just written are removed again), or masked by another slice (then there is nothing more to do)."""
    if not store.frame_exists(frame.camera_id, frame.frame_id):
        frame_store.delete_objects(storage.s3, storage.bucket, [frame.object_key, frame.thumb_key])
    return SKIPPED
