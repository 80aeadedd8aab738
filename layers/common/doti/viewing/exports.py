"""Backup exports (Art. 10-4; SPEC §6): a ZIP of one camera's frames in a time window, built asynchronously.

`POST /v1/exports` records the export (queued) and sends its id to the export queue; the same request asked again
(after an error, or no answer) gets the same export back while it is queued, building or just ready, and sends a
queued one's message again, rather than build a second. The exporter function builds the ZIP: the camera's frames
in [from, to), read by key range page by page, each original streamed from S3 in chunks into the archive, which
itself streams into an S3 multipart upload, so neither the archive nor a whole frame is ever held in memory (at most
one part plus one chunk). `manifest.csv` lists each frame's capture time, type, size, SHA-256 and file name; each
frame's bytes are checked against its recorded SHA-256 as they stream, and an export with a frame that no longer
matches fails rather than hand over altered footage. A run claims the export before building it, under a token of
its own: a duplicate delivery of the message while that run builds builds nothing and hands the message back to the
queue (acknowledging it could leave the export with nobody to finish it), and only a claim older than the exporter's
timeout (a run that stopped) is taken over by the message's redelivery. An export ends ready or failed together with
its audit entry; a message is acknowledged only when its export has ended, and on its last receive before the
dead-letter queue the export is failed rather than left building.

The archive lives at `exports/<contract_id>/<export_id>.zip`; the bucket's `exports/` lifecycle rule and the item's
TTL remove both after EXPORT_LIFETIME, and a purge removes them with the rest of the contract.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import tempfile
import uuid
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import IO, TYPE_CHECKING, Any

from doti import cursors, ids
from doti.accounts import roles
from doti.clock import floor_to_second, format_rfc3339
from doti.contracts import contract_states, registry, terms
from doti.entities import Contract, Export, Frame, User
from doti.errors import DotiError, NotFound, StorageError, ValidationError
from doti.observability import logger
from doti.oversight import audit
from doti.store import exports as store
from doti.store import frames as frame_store
from doti.store import keys, requests
from doti.store.events import EventSink
from doti.store.exports import FAILED, QUEUED, READY
from doti.store.objects import Storage
from doti.store.signing import SignedUrl, presign_get
from doti.webhooks import producers

if TYPE_CHECKING:
    from doti.store.transactions import Transaction

# Mirrors the exports-expiry lifecycle rule of template.yaml (a test compares them).
EXPORT_LIFETIME = timedelta(days=7)
PART_SIZE = 8 * 1024 * 1024  # S3's minimum part is 5 MiB
READ_CHUNK = 1024 * 1024
QUERY_PAGE = 200
# One Lambda run builds one export: beyond these, the customer is asked to split the window.
# The exporter's timeout (template.yaml; a test compares them): a build claimed longer ago than this has stopped.
BUILD_TIMEOUT = timedelta(seconds=900)
# ExportQueue's maxReceiveCount (template.yaml; a test compares them): the receive after which the message goes to
# the dead-letter queue, and so the last on which a run may leave the export unfinished.
MAX_RECEIVES = 3
# An export ready since less than this is the answer to its request asked again; later, the same request builds a
# new one (frames captured in the window may have arrived since, from a device that was offline).
REPEAT_WINDOW = timedelta(minutes=15)
MAX_EXPORT_BYTES = 4 * 1024**3
MAX_LIST = 100  # exports per page of GET /v1/exports
LIST_EXAMINED = 5  # a page reads at most this many times its limit (exports of other sites are skipped)
RESERVE_MS = 60_000
MANIFEST_COLUMNS = ("frame_id", "captured_at", "content_type", "size", "sha256", "file_name")
JOB_ACTOR = audit.job_actor("exporter")
_SPOOL_IN_MEMORY = 1024 * 1024  # the manifest rolls over to /tmp beyond this


class ExportTooLarge(DotiError):
    """The window holds more than one run can export."""

    code, status = "export_too_large", 422


class FrameAltered(DotiError):
    """A stored frame no longer matches its recorded SHA-256."""

    code, status = "integrity_error", 409


@dataclass(frozen=True)
class ExportQueue:
    sqs: Any
    url: str


@dataclass(frozen=True)
class ExportStatus:
    export: Export
    download: SignedUrl | None  # only when ready


def _serving_user(user: User, now: datetime) -> Contract:
    roles.require(user, roles.Permission.EXPORT)
    contract = terms.get_contract(user.contract_id)
    contract_states.require(contract, contract_states.Capability.EXPORT, now)
    return contract


def export_key(contract_id: str, export_id: str) -> str:
    return f"exports/{contract_id}/{export_id}.zip"


class _AskedAgain(Exception):
    """The request was made before and its export still answers it."""

    def __init__(self, export: Export) -> None:
        super().__init__(export.export_id)
        self.export = export


def request_export(
    user: User, camera_id: str, start: datetime, end: datetime, *, queue: ExportQueue, now: datetime
) -> Export:
    """Record an export of a camera the user may see and queue it for the exporter; returns it (queued).

    The same request asked again (the same user, camera and window) while its export is queued, building or ready
    since less than REPEAT_WINDOW gets that export back, not a second one: a customer who asks again after an error
    or no answer wants the export they asked for. A queued export found so is sent to the queue again, as its first
    message may never have been sent (the request died after the export was recorded, or the send's answer was
    lost); a second message is harmless, as the exporter claims an export before it builds it.
    """
    _serving_user(user, now)
    camera = registry.camera_for_user(user, camera_id)
    if start >= end:
        raise ValidationError("'from' must be before 'to'", field="from")
    window = [moment.astimezone(UTC).isoformat() for moment in (start, end)]
    key = requests.request_key("export", user.contract_id, user.user_id, camera.camera_id, *window)
    nonce = requests.new_nonce()
    export = Export(
        export_id=requests.answer_id("exp", key, nonce),
        contract_id=user.contract_id,
        site_id=camera.site_id,
        camera_id=camera.camera_id,
        window_start=start,
        window_end=end,
        status=QUEUED,
        requested_by=user.user_id,
        created_at=now,
        updated_at=now,
        expires_at=floor_to_second(now + EXPORT_LIFETIME),
    )
    details = {"camera_id": export.camera_id, "from": format_rfc3339(start), "to": format_rfc3339(end)}

    def prepare() -> audit.StateWrite:
        # Read on every attempt: a transaction cancelled because the same request committed meanwhile finds it here.
        seen = requests.answering_nonce(key)
        earlier = _still_answering(requests.answer_id("exp", key, seen), now) if seen is not None else None
        if earlier is not None:
            raise _AskedAgain(earlier)

        def add(transaction: Transaction) -> None:
            store.add_new_export(transaction, export)
            requests.add_answer(transaction, key, nonce, expires_at=export.expires_at, replacing=seen)

        return audit.StateWrite(add, details)

    try:
        audit.record_with(
            export.contract_id,
            actor=f"user:{user.user_id}",
            action="export.requested",
            subject=export.export_id,
            now=now,
            prepare=prepare,
        )
    except _AskedAgain as again:
        export = again.export
        if export.status != QUEUED:
            return export
    _send(queue, export)
    return export


def _still_answering(export_id: str, now: datetime) -> Export | None:
    """The earlier export of a request, if it still answers the request asked again: not failed, not expired, and
    not ready for so long that the customer may be asking for frames that arrived since."""
    try:
        export = store.get_export(export_id)
    except NotFound:
        return None
    if export.expires_at <= now or export.status == FAILED:
        return None
    if export.status == READY and now - export.updated_at >= REPEAT_WINDOW:
        return None
    return export


def _send(queue: ExportQueue, export: Export) -> None:
    """Send the export's id to the queue. A failed send leaves the export queued, not failed: the message may have
    been sent all the same (only its answer lost), and the customer's next request for it sends it again."""
    try:
        store.send_request(queue.sqs, queue.url, export.export_id)
    except StorageError as exc:
        raise StorageError("the export could not be queued; ask for it again", export_id=export.export_id) from exc


def _visible(user: User, export: Export, now: datetime) -> bool:
    """An export of the user's contract and sites that has not expired (the table's TTL deletes late)."""
    return export.contract_id == user.contract_id and roles.in_scope(user, export.site_id) and export.expires_at > now


def export_status(user: User, export_id: str, *, storage: Storage, now: datetime) -> ExportStatus:
    """An export of the user's contract and sites, with a download link signed for the contract's TTL once ready."""
    contract = _serving_user(user, now)
    export = store.get_export(export_id)
    if not _visible(user, export, now):
        raise NotFound("export not found")
    return _with_link(contract, export, storage, now)


def list_exports(
    user: User, *, limit: int, cursor: str | None, storage: Storage, now: datetime
) -> tuple[list[ExportStatus], str | None]:
    """A page of the user's contract's exports (of the user's sites, unexpired), newest first, each as
    export_status gives it, and the cursor of the next page (None: the last page).

    The contract's by_contract index is read at most LIST_EXAMINED times `limit` items per page: a user with a site
    scope may skip many exports of other sites, so a page may come back short, with a cursor, rather than read on."""
    contract = _serving_user(user, now)
    if not 1 <= limit <= MAX_LIST:
        raise ValidationError(f"limit must be between 1 and {MAX_LIST}", field="limit")
    after = _decode_list_cursor(cursor) if cursor else None
    found: list[ExportStatus] = []
    last: Export | None = None
    for examined, export in enumerate(store.exports_of_contract(user.contract_id, after=after, page_size=limit), 1):
        last = export
        if _visible(user, export, now):
            found.append(_with_link(contract, export, storage, now))
        if len(found) == limit or examined == limit * LIST_EXAMINED:
            break
    else:
        last = None  # the index holds no more
    return found, (_encode_list_cursor(last) if last is not None else None)


def _encode_list_cursor(export: Export) -> str:
    return cursors.pack({"t": export.created_at.astimezone(UTC).isoformat(), "e": export.export_id})


def _decode_list_cursor(cursor: str) -> store.ListPosition:
    """The position a cursor of list_exports names; 422 when it is not one."""
    data = cursors.unpack(cursor)
    try:
        export_id, created_at = data["e"], datetime.fromisoformat(data["t"])
    except (ValueError, KeyError, TypeError) as exc:
        raise ValidationError("cursor is not valid", field="cursor") from exc
    if not isinstance(export_id, str) or not 1 <= len(export_id) <= 64 or created_at.tzinfo is None:
        raise ValidationError("cursor is not valid", field="cursor")
    return store.ListPosition(created_at.astimezone(UTC), export_id)


def _with_link(contract: Contract, export: Export, storage: Storage, now: datetime) -> ExportStatus:
    """The export, with a download link signed for the contract's TTL (never beyond the export's life) once ready."""
    if export.status != READY or export.object_key is None:
        return ExportStatus(export, None)
    ttl = min(contract.signed_url_ttl, int((export.expires_at - now).total_seconds()))
    link = presign_get(
        storage.s3,
        storage.bucket,
        export.object_key,
        content_type="application/zip",
        filename=_download_name(export),
        ttl_seconds=ttl,
        now=now,
        disposition="attachment",
    )
    return ExportStatus(export, link)


def _download_name(export: Export) -> str:
    return f"doti-export-{export.export_id}.zip"


# building (the exporter function)


def parse_request(body: str) -> str:
    """The export id of a queue message (`{"export_id": ...}`)."""
    try:
        export_id = json.loads(body)["export_id"]
    except (ValueError, KeyError, TypeError) as exc:
        raise ValidationError("not an export request") from exc
    if not isinstance(export_id, str) or not export_id:
        raise ValidationError("not an export request")
    return export_id


@dataclass
class _Archive:
    frames: int = 0
    frame_bytes: int = 0


class ExportInProgress(DotiError):
    """Another run holds the export's claim: the message goes back to the queue rather than be acknowledged while
    that run may still stop (its redelivery, after the visibility timeout, finds the export done, or the claim stale
    and takes it over)."""

    code, status = "export_in_progress", 409


class _ClaimLost(Exception):
    """The export is no longer this run's to finish: its claim was taken over or it was failed meanwhile."""


def build_export(
    export_id: str,
    *,
    storage: Storage,
    events: EventSink,
    now: datetime,
    remaining_ms: Callable[[], float],
    part_size: int = PART_SIZE,
    last_attempt: bool = False,
) -> Export | None:
    """Build one export's ZIP and mark it ready; returns the export as it ends, or None for a message with nothing
    (left) to do. Raises when the message must come back: the work is not finished.

    The run claims the export under a token of its own, so a claim whose write was resent or whose answer was lost is
    still known as ours. A storage failure gives the claim up (the export is queued again) and is raised again, so
    the queue redelivers the message and a later run builds it; on the message's `last_attempt` (its last receive
    before the dead-letter queue) it fails the export instead, visibly. Any other failure is final for the export.
    The export's end (ready, failed) commits with its audit entry; a ready export is then told to `events` as
    `export.ready` (a run that stops in between loses that event, never the export).
    """
    try:
        export = store.get_export(export_id)
    except NotFound:
        logger.info("export request for an export that no longer exists", extra={"export_id": export_id})
        return None
    if export.status == READY or export.expires_at <= now:
        return None
    token = uuid.uuid4().hex
    if not store.start_building(export_id, token, now, stale_after=BUILD_TIMEOUT):
        return _not_claimed(export, now, last_attempt)
    try:
        contract_states.require(terms.get_contract(export.contract_id), contract_states.Capability.EXPORT, now)
        key = export_key(export.contract_id, export.export_id)
        upload = store.MultipartUpload(
            storage.s3,
            storage.bucket,
            key,
            part_size=part_size,
            content_type="application/zip",
            disposition=f'attachment; filename="{_download_name(export)}"',
        )
        try:
            archive = _write_archive(upload, export, storage, now, remaining_ms)
            upload.complete()
        except BaseException:
            upload.abort()
            raise
    except StorageError as exc:
        _retry_later(export, token, exc, now, last_attempt)
        raise
    except DotiError as exc:
        _fail(export, token, exc.code, exc.message, now)
        return store.get_export(export_id)
    except Exception:
        _fail(export, token, "internal_error", "the export could not be built", now)
        raise
    _ready(export, token, key, upload, archive, now)
    # as stored (not read again: a failed read now would send a finished export's message back)
    ready = replace(
        export,
        status=READY,
        object_key=key,
        size=upload.size,
        frames=archive.frames,
        sha256=upload.sha256,
        updated_at=now,
    )
    producers.tell(events, [producers.export_ready(ready)])  # once ready is committed; never fails the message
    return ready


def _not_claimed(export: Export, now: datetime, last_attempt: bool) -> Export | None:
    """A message whose export this run could not claim: done (ready or failed for good), or another run's."""
    current = store.get_export(export.export_id)
    if current.status == READY or (current.status == FAILED and current.error_code != store.RETRYABLE_ERROR):
        logger.info("export already finished", extra={"export_id": export.export_id, "status": current.status})
        return None
    if last_attempt and (holder := store.holder(export.export_id)) is not None:
        # The message goes to the dead-letter queue now: the export must not stay building with nobody to finish it.
        _fail(export, holder, "export_failed", "the export could not be built; request it again", now)
    raise ExportInProgress("the export is being built by another run", export_id=export.export_id)


def _retry_later(export: Export, token: str, exc: StorageError, now: datetime, last_attempt: bool) -> None:
    if last_attempt:
        _fail(export, token, exc.code, "the export could not be built; request it again", now)
    elif not store.release(export.export_id, token, now):
        logger.warning("export claim lost before it could be given up", extra={"export_id": export.export_id})


def _ready(
    export: Export, token: str, key: str, upload: store.MultipartUpload, archive: _Archive, now: datetime
) -> None:
    ready = partial(
        store.add_ready,
        export_id=export.export_id,
        token=token,
        object_key=key,
        size=upload.size,
        frames=archive.frames,
        sha256=upload.sha256,
        now=now,
    )
    details = _details(export, {"frames": archive.frames, "bytes": upload.size})
    try:
        audit.record_with(
            export.contract_id,
            actor=JOB_ACTOR,
            action="export.ready",
            subject=export.export_id,
            now=now,
            prepare=lambda: audit.StateWrite(ready, details),
            recheck=partial(_still_held, export, token),
        )
    except _ClaimLost as exc:
        # Another run took the export over (or failed it) meanwhile: it finishes it, and its message says so.
        raise ExportInProgress("the export was taken over by another run", export_id=export.export_id) from exc


def _fail(export: Export, token: str, code: str, message: str, now: datetime) -> None:
    """Fail the export with its audit entry, if the claim is still `token`'s."""

    failed = partial(store.add_failed, export_id=export.export_id, held_by=token, code=code, message=message, now=now)
    details = _details(export, {"code": code})
    try:
        audit.record_with(
            export.contract_id,
            actor=JOB_ACTOR,
            action="export.failed",
            subject=export.export_id,
            now=now,
            prepare=lambda: audit.StateWrite(failed, details),
            recheck=partial(_still_held, export, token),
        )
    except _ClaimLost:
        logger.warning("export not failed: another run holds it now", extra={"export_id": export.export_id})


def _still_held(export: Export, token: str) -> None:
    # A retry follows a cancelled transaction: the head moved, or the claim did (then it is no longer ours).
    if store.holder(export.export_id) != token:
        raise _ClaimLost()


def _details(export: Export, details: dict[str, Any]) -> dict[str, Any]:
    return {"camera_id": export.camera_id, **details}


def _frames_in_window(export: Export, now: datetime) -> Iterator[Frame]:
    """The camera's frames in [from, to), oldest first, one key-range page at a time."""
    lower, upper = ids.frame_id_floor(export.window_start), ids.frame_id_floor(export.window_end)
    if upper == ids.FRAME_ID_MIN:
        return
    after: str | None = None
    while True:
        page, after = frame_store.query_frames(
            export.camera_id, lower, upper, newest_first=False, limit=QUERY_PAGE, start_after=after, now=now
        )
        yield from (f for f in page if export.window_start <= f.captured_at < export.window_end)
        if after is None:
            return


def file_name(frame: Frame) -> str:
    """e.g. 20261125T120000.123Z_<frame id>.jpg (.png, .mp4 as stored): sorted by capture time in any file browser."""
    moment = frame.captured_at.astimezone(UTC)
    stamp = moment.strftime("%Y%m%dT%H%M%S") + f".{moment.microsecond // 1000:03d}Z"
    return f"{stamp}_{frame.frame_id}.{keys.extension(frame.content_type)}"


def _zip_info(name: str, moment: datetime, size: int, compress: int) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=moment.astimezone(UTC).timetuple()[:6])
    info.compress_type = compress
    info.external_attr = 0o644 << 16
    info.file_size = size
    return info


def _write_archive(
    upload: store.MultipartUpload, export: Export, storage: Storage, now: datetime, remaining_ms: Callable[[], float]
) -> _Archive:
    """Write the ZIP into the upload. On failure the archive is left unfinished (no central directory is written
    into an upload that is about to be aborted)."""
    archive = _Archive()
    zipped = zipfile.ZipFile(upload, "w")  # type: ignore[arg-type]  # a write-only stream: zipfile needs write and tell
    with tempfile.SpooledTemporaryFile(max_size=_SPOOL_IN_MEMORY) as manifest:
        manifest.write(_csv_line(MANIFEST_COLUMNS))
        for frame in _frames_in_window(export, now):
            if remaining_ms() < RESERVE_MS or archive.frame_bytes + frame.size > MAX_EXPORT_BYTES:
                raise ExportTooLarge("the window holds too much footage for one export; split it into shorter ones")
            name = file_name(frame)
            if _copy_frame(zipped, storage, frame, name):
                archive.frames += 1
                archive.frame_bytes += frame.size
                manifest.write(_csv_line([_manifest_row(frame, name)[column] for column in MANIFEST_COLUMNS]))
        _copy_spool(zipped, manifest, now)
    about = json.dumps(_about(export, archive, now), ensure_ascii=False, indent=2).encode()
    zipped.writestr(_zip_info("export.json", now, len(about), zipfile.ZIP_DEFLATED), about)
    zipped.close()
    return archive


def _csv_line(values: Any) -> bytes:
    line = io.StringIO()
    csv.writer(line, lineterminator="\n").writerow(values)
    return line.getvalue().encode()


def _copy_frame(zipped: zipfile.ZipFile, storage: Storage, frame: Frame, name: str) -> bool:
    """Stream one original into the archive, checking its SHA-256 on the way; False if it is gone (retention or a
    takedown removed it after the listing)."""
    chunks = store.read_chunks(storage.s3, storage.bucket, frame.object_key, READ_CHUNK)
    if chunks is None:
        logger.info("frame gone before it was exported", extra={"frame_id": frame.frame_id})
        return False
    digest, size = hashlib.sha256(), 0
    # JPEG, PNG and MP4 are compressed already: stored, not deflated again.
    with zipped.open(_zip_info(name, frame.captured_at, frame.size, zipfile.ZIP_STORED), "w") as entry:
        for chunk in chunks:
            digest.update(chunk)
            size += len(chunk)
            entry.write(chunk)
    if digest.hexdigest() != frame.sha256 or size != frame.size:
        raise FrameAltered("a stored frame no longer matches its recorded SHA-256", frame_id=frame.frame_id)
    return True


def _manifest_row(frame: Frame, name: str) -> dict[str, Any]:
    return {
        "frame_id": frame.frame_id,
        "captured_at": format_rfc3339(frame.captured_at),
        "content_type": frame.content_type,
        "size": frame.size,
        "sha256": frame.sha256,
        "file_name": name,
    }


def _copy_spool(zipped: zipfile.ZipFile, spool: IO[bytes], now: datetime) -> None:
    size = spool.tell()
    spool.seek(0)
    with zipped.open(_zip_info("manifest.csv", now, size, zipfile.ZIP_DEFLATED), "w") as entry:
        for chunk in iter(lambda: spool.read(READ_CHUNK), b""):
            entry.write(chunk)


def _about(export: Export, archive: _Archive, now: datetime) -> dict[str, Any]:
    return {
        "export_id": export.export_id,
        "contract_id": export.contract_id,
        "camera_id": export.camera_id,
        "from": format_rfc3339(export.window_start),
        "to": format_rfc3339(export.window_end),
        "frames": archive.frames,
        "built_at": format_rfc3339(now),
        "manifest": "manifest.csv lists each frame's capture time (UTC), content type, size, SHA-256 and file name",
    }
