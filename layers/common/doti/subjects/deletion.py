"""Deleting the footage a request's answer named (issue 15 point 5): the retention job's work, by the takedown path.

An owner or manager answers "delete": the request becomes `deleting` and a REQUEST_DELETE item is due at once. The
retention job takes it: the camera's frames captured in the request's window, a batch at a time: objects first, then
each index item with its timeline slot (doti.oversight.takedown.unindex) in one transaction with its count in the
day's receipt (as a takedown) and on the request, so a run stopped anywhere leaves only frames still listed for the
next run, and each frame is counted exactly once. When none is left, the
request is answered with the number of frames deleted, in one transaction with its customer-visible
"subject_request.footage_deleted" entry, and the item is done.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from doti import ids
from doti.clock import format_rfc3339
from doti.entities import Frame
from doti.errors import Conflict, DotiError, NotFound, StorageError
from doti.jobs import schedule
from doti.observability import logger
from doti.oversight import audit, takedown
from doti.store import frames as frame_store
from doti.store import subject_requests as store
from doti.store.objects import Storage
from doti.subjects import requests
from doti.viewing import deletions

JOB = "retention"
ACTOR = audit.job_actor(JOB)
BATCH = 100
RESERVE_MS = 15_000


@dataclass
class DeletionReport:
    requests_done: int = 0
    frames_deleted: int = 0
    failed: int = 0
    stopped_early: bool = False


def run_request_deletions(
    *, storage: Storage, now: datetime, remaining_ms: Callable[[], float], reserve_ms: float = RESERVE_MS
) -> DeletionReport:
    report = DeletionReport()
    failed: set[str] = set()
    while due := schedule.due_work(schedule.REQUEST_DELETE, now, 20, skip=failed):
        for work in due:
            try:
                if _delete_for(work, storage, now, report, remaining_ms, reserve_ms):
                    schedule.done_work(work)
            except DotiError as exc:
                failed.add(work.due_key)
                report.failed += 1
                logger.exception("request deletion failed", extra={"request_id": work.ref, "code": exc.code})
            if report.stopped_early:
                return report
    return report


def _delete_for(
    work: schedule.ScheduledWork,
    storage: Storage,
    now: datetime,
    report: DeletionReport,
    remaining_ms: Callable[[], float],
    reserve_ms: float,
) -> bool:
    """True when the request's deletion is finished (or moot); False when the run stopped before it was."""
    try:
        request = store.get_request(work.ref or "")
    except NotFound:
        return True  # purged
    if request.status != requests.DELETING or request.camera_id is None or request.window_start is None:
        return True
    assert request.window_end is not None
    lower, upper = ids.frame_id_floor(request.window_start), ids.frame_id_floor(request.window_end)
    while True:
        if remaining_ms() < reserve_ms:
            report.stopped_early = True
            return False
        frames, _ = frame_store.query_frames(
            request.camera_id, lower, upper, newest_first=False, limit=BATCH, start_after=None, now=now
        )
        if not frames:
            break
        keys = [key for frame in frames for key in (frame.object_key, frame.thumb_key) if key]
        if frame_store.delete_objects(storage.s3, storage.bucket, keys):
            raise StorageError("could not delete the footage's objects; the next run tries again")
        for frame in frames:
            # the receipt's count and the request's own, in the transaction that removes the index item
            if takedown.unindex(frame, partial(_count, request.request_id, request.contract_id, frame, now)):
                report.frames_deleted += 1
    _finish(request.request_id, now)
    report.requests_done += 1
    return True


def _count(request_id: str, contract_id: str, frame: Frame, now: datetime, transaction: Any) -> None:
    freed = frame.size + frame.thumb_size
    deletions.add_takedown(transaction, contract_id, now, frames=1, bytes_freed=freed)
    store.add_deleted_frame(transaction, request_id)


def _finish(request_id: str, now: datetime) -> None:
    def prepare() -> audit.StateWrite:
        seen = store.get_request(request_id)
        if seen.status != requests.DELETING:
            raise Conflict("the request is not being deleted", status=seen.status)
        count = seen.frames_deleted or 0
        entry: dict[str, Any] = {"action": requests.DELETE, "at": format_rfc3339(now), "text": None}
        entry["frames_deleted"] = count

        def add(transaction: Any) -> None:
            store.add_change(transaction, seen, status=requests.ANSWERED, answers=[*seen.answers, entry])

        return audit.StateWrite(add, {"camera_id": seen.camera_id, "frames_deleted": count})

    try:
        audit.record_with(
            store.get_request(request_id).contract_id,
            actor=ACTOR,
            action="subject_request.footage_deleted",
            subject=request_id,
            now=now,
            prepare=prepare,
        )
    except Conflict:
        return  # finished by an earlier run whose answer was lost
