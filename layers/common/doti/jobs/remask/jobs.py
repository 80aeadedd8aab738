"""Re-mask jobs (Art. 2-4): staff black out a camera's already-stored frames under its current privacy mask.

Ingest masks every frame that arrives once a mask is set; frames stored before stay as they were until staff start a
re-mask. The job snapshots the mask (polygons and version) and covers the camera's frames with ids below
`upper_id`, the id of a frame captured FUTURE_TOLERANCE after the start: anything stored later was masked at ingest.
It runs in slices, one SQS message each (doti.jobs.remask.slices); this module starts jobs and reports on them, without
touching any image, so the staff API needs no imaging layer.

Masking adds and never removes: a re-mask draws its polygons over what earlier masks already blacked out, and a
cleared mask cannot be applied (409): what a mask hid is gone.

A job's first message is sent before the job is stored, and the job commits with its "camera.remask_started" entry:
a job staff can see started always has its message, whatever fails or dies after the commit. A start that failed
after the send leaves a message without a job; the slice that receives it again finds no job and drops it
(doti.jobs.remask.slices.run_slice).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from functools import partial
from typing import Protocol

from doti import ids
from doti.contracts.retention_policy import FUTURE_TOLERANCE
from doti.errors import Conflict
from doti.oversight import audit
from doti.store import registry as registry_store
from doti.store import remask as store
from doti.store.remask import RemaskJob

QUEUED, RUNNING, COMPLETED, SUPERSEDED = "queued", "running", "completed", "superseded"
JOB_TTL_DAYS = 366  # a job's record outlives the frames it rewrote; the audit log keeps the per-frame digests
MAX_REASON = 1000


class JobQueue(Protocol):
    def send(self, job_id: str) -> None: ...


def start_remask(camera_id: str, *, reason: str, actor: str, queue: JobQueue, now: datetime) -> RemaskJob:
    """Queue the job's first slice, then store the job with its audit entry on the camera's contract
    (customer-visible). A failure raises with no job stored (nor audited): staff start it again."""
    camera = registry_store.get_camera(camera_id)
    if not camera.privacy_mask or not camera.mask_version:
        raise Conflict("the camera has no privacy mask to apply", camera_id=camera_id)
    job = RemaskJob(
        job_id=ids.new_id("rmk"),
        contract_id=camera.contract_id,
        camera_id=camera_id,
        mask_version=camera.mask_version,
        polygons=camera.privacy_mask,
        upper_id=ids.frame_id_floor(now + FUTURE_TOLERANCE + timedelta(milliseconds=1)),
        status=QUEUED,
        reason=reason,
        created_by=actor,
        created_at=now,
        updated_at=now,
        expires_at=store.job_expiry(now, JOB_TTL_DAYS),
    )
    queue.send(job.job_id)
    details = {"job_id": job.job_id, "mask_version": job.mask_version, "reason": reason}
    audit.record_with(
        camera.contract_id,
        actor=actor,
        action="camera.remask_started",
        subject=camera_id,
        now=now,
        prepare=lambda: audit.StateWrite(partial(store.add_new_job, job=job), details),
    )
    return job


def parse_message(body: str) -> str:
    """The job id of a queue message ({"job_id": ...}); ValueError for anything else."""
    try:
        job_id = json.loads(body)["job_id"]
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError("not a re-mask message") from exc
    if not isinstance(job_id, str) or not job_id:
        raise ValueError("not a re-mask message")
    return job_id


def get_job(job_id: str) -> RemaskJob:
    return store.get_job(job_id)
