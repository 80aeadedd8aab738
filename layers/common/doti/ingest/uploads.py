"""Large uploads (SPEC §1, §4, §12): a device asks for an upload grant, POSTs the file straight to S3 under
incoming/, and the processor runs the direct route's pipeline (doti.ingest.frames.ingest_frame) on it from the queue.

The grant makes every check the direct route makes before it sees pixels (camera of the device's site, contract
serving, size within the plan, capture time, monthly quota) and pins what the processor will trust in the POST
policy: the exact key, content type and byte range, and the camera, device, frame id and capture time as object
metadata. S3 refuses any upload that differs, so the processor can take the metadata as the device's signed word;
it still re-checks everything at processing time (the device may have been revoked, the contract suspended).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import unquote_plus

from doti import ids
from doti.clock import format_rfc3339
from doti.contracts.registry import DEVICE_ACTIVE
from doti.entities import Device
from doti.errors import DotiError, NotFound, Unauthorized, UnsupportedMediaType, ValidationError
from doti.ingest import frames, usage
from doti.ingest.media import media_type
from doti.json_body import parse_json_body
from doti.store import keys
from doti.store import registry as registry_store
from doti.store import uploads as store
from doti.store.events import EventSink
from doti.store.objects import Storage

UPLOAD_TYPES = ("image/jpeg", "image/png", "video/mp4")
GRANT_TTL = timedelta(minutes=15)
# Object metadata the POST policy pins (sent as x-amz-meta-<name>, read back without the prefix).
META_CAMERA, META_DEVICE, META_FRAME_ID, META_CAPTURED_AT = "camera-id", "device-id", "frame-id", "captured-at"
_META_PREFIX = "x-amz-meta-"
_REQUEST_FIELDS = frozenset({"camera_id", "content_type", "size", "captured_at", "frame_id"})
_MAX_FIELD_LENGTH = 128


@dataclass(frozen=True)
class UploadRequest:
    camera_id: str
    content_type: str
    size: int  # bytes the device will send; the POST policy allows 1..size
    captured_at: str
    frame_id: str  # the device's id for the frame: the idempotency key, as X-Doti-Frame-Id on the direct route


@dataclass(frozen=True)
class UploadGrant:
    url: str
    fields: dict[str, str]  # form fields to send before the file, as they are
    expires_at: datetime
    key: str


def parse_upload_request(body: bytes, content_type: str | None) -> UploadRequest:
    """The grant request in a device's JSON body, or 415 (not JSON) or 422 naming every problem found."""
    if media_type(content_type) != "application/json":
        raise UnsupportedMediaType("upload requests must be application/json", content_type=content_type or None)
    data = parse_json_body(body)
    if not isinstance(data, dict):
        raise ValidationError("the body must be a JSON object")
    problems = [{"field": name, "problem": "unknown field"} for name in sorted(set(data) - _REQUEST_FIELDS)]
    for name in sorted(_REQUEST_FIELDS - {"size"}):
        value = data.get(name)
        if not isinstance(value, str) or not value.strip():
            problems.append({"field": name, "problem": "required, a non-empty string"})
        elif len(value) > _MAX_FIELD_LENGTH:
            problems.append({"field": name, "problem": f"at most {_MAX_FIELD_LENGTH} characters"})
    size = data.get("size")
    if not isinstance(size, int) or isinstance(size, bool):
        problems.append({"field": "size", "problem": "required, a whole number of bytes"})
    elif size < 1:
        problems.append({"field": "size", "problem": "at least 1 byte"})
    if problems:
        raise ValidationError("the upload request is not valid", problems=problems)
    return UploadRequest(data["camera_id"], data["content_type"], size, data["captured_at"], data["frame_id"])


def grant_upload(request: UploadRequest, device: Device, *, storage: Storage, now: datetime) -> UploadGrant:
    """A presigned POST for one frame or clip, or the error the direct route would give for it (SPEC §10).

    Nothing is stored: the object appears only if the device uploads it, and incoming/ expires within a day.
    """
    if request.size < 1:
        raise ValidationError("size must be at least 1 byte", field="size")
    described = frames.FrameUpload(
        camera_id=request.camera_id,
        captured_at=request.captured_at,
        device_frame_id=request.frame_id,
        content_type=request.content_type,
        body=b"",
    )
    admitted = frames.admit_frame(described, device, now, size=request.size, accepted_types=UPLOAD_TYPES)
    usage.require_room(admitted.contract, request.size, now)
    key = keys.incoming_key(device.contract_id, device.device_id, ids.new_id("upl"))
    pinned = {
        "Content-Type": admitted.media_type,
        _META_PREFIX + META_CAMERA: admitted.camera.camera_id,
        _META_PREFIX + META_DEVICE: device.device_id,
        _META_PREFIX + META_FRAME_ID: admitted.device_frame_id,
        _META_PREFIX + META_CAPTURED_AT: format_rfc3339(admitted.captured_at),
    }
    ttl_seconds = int(GRANT_TTL.total_seconds())
    post = store.presign_post(
        storage.s3, storage.bucket, key, fields=pinned, max_bytes=request.size, ttl_seconds=ttl_seconds
    )
    return UploadGrant(url=post.url, fields=post.fields, expires_at=now + GRANT_TTL, key=key)


# processing


@dataclass(frozen=True)
class Refusal:
    """Why an upload was refused for good, and whose it was: the device of its key, the camera and frame id of the
    metadata the POST policy pinned (never the bytes)."""

    code: str
    message: str
    camera_id: str | None
    device_id: str | None
    device_frame_id: str | None


@dataclass(frozen=True)
class ProcessedUpload:
    key: str
    # None: the object was already gone (processed or refused by an earlier delivery), or it is refused now
    result: frames.IngestResult | None
    refusal: Refusal | None = None


def is_final(error: DotiError) -> bool:
    """A 4xx refusal is about the upload itself (corrupt, unsupported, too large, over quota, device revoked, camera
    gone, metadata not matching its key) and would be refused again; retrying it would only decode it again. A 409
    in_progress is the exception: another delivery is storing the same frame id, and a retry gets its result."""
    return 400 <= error.status < 500 and not error.details.get("in_progress")


def incoming_keys(notification: Mapping[str, Any], bucket: str) -> list[str]:
    """The incoming/ keys an S3 event notification (one SQS message body) names; none for S3's s3:TestEvent.

    Anything else is refused, so a message that is not ours ends in the dead-letter queue instead of vanishing.
    """
    if not isinstance(notification, Mapping):
        raise ValidationError("the message is not an S3 event notification")
    if notification.get("Event") == "s3:TestEvent":
        return []
    records = notification.get("Records")
    if not isinstance(records, list) or not records:
        raise ValidationError("the message is not an S3 event notification")
    found = []
    for record in records:
        try:
            created = str(record["eventName"]).startswith("ObjectCreated:")
            record_bucket, raw_key = record["s3"]["bucket"]["name"], record["s3"]["object"]["key"]
        except (KeyError, TypeError) as exc:
            raise ValidationError("the message has a malformed S3 event record") from exc
        key = unquote_plus(raw_key)  # S3 URL-encodes keys in notifications
        if not created or record_bucket != bucket or keys.incoming_owner(key) is None:
            raise ValidationError("the S3 event is not an upload to incoming/", event=record.get("eventName"))
        found.append(key)
    return found


def _uploading_device(key: str, metadata: Mapping[str, str]) -> Device:
    """The device the POST policy named, still active and still the key's contract's."""
    owner = keys.incoming_owner(key)
    if owner is None or metadata.get(META_DEVICE) != owner[1]:
        raise ValidationError("the uploaded object's metadata does not match its key", key=key)
    try:
        device = registry_store.get_device(owner[1])
    except NotFound as exc:
        raise Unauthorized("the uploading device no longer exists") from exc
    if device.status != DEVICE_ACTIVE or device.contract_id != owner[0]:
        raise Unauthorized("the uploading device is revoked")
    return device


def process_incoming(
    key: str,
    *,
    storage: Storage,
    pipeline: Callable[[str], frames.ImageProcessor],
    events: EventSink,
    now: datetime,
) -> ProcessedUpload:
    """Run one uploaded object through the direct route's pipeline, then delete it from incoming/.

    Safe to repeat: the frame id's claim makes a second run a replay of the first frame, and a run that finds the
    object gone has nothing left to do. A final refusal (is_final) stores nothing, deletes the object and is
    returned; anything else raises and leaves the object, so the message is retried and, failing still, ends in the
    dead-letter queue (the incoming/ lifecycle rule removes the object). `pipeline(key)` processes the object read
    from `key` (doti.ingest.video.pipeline: a masked clip is re-encoded from that key).
    """
    incoming = store.read_incoming(storage.s3, storage.bucket, key)
    if incoming is None:
        return ProcessedUpload(key=key, result=None)
    upload = frames.FrameUpload(
        camera_id=incoming.metadata.get(META_CAMERA),
        captured_at=incoming.metadata.get(META_CAPTURED_AT),
        device_frame_id=incoming.metadata.get(META_FRAME_ID),
        content_type=incoming.content_type,
        body=incoming.body,
    )
    try:
        device = _uploading_device(key, incoming.metadata)
        result = frames.ingest_frame(
            upload,
            device,
            storage=storage,
            process=pipeline(key),
            events=events,
            now=now,
            accepted_types=UPLOAD_TYPES,
        )
    except DotiError as exc:
        if not is_final(exc):
            raise
        store.delete_incoming(storage.s3, storage.bucket, key)
        owner = keys.incoming_owner(key)  # the key, not the metadata, says which device the grant was for
        device_id = owner[1] if owner else None
        refusal = Refusal(exc.code, exc.message, upload.camera_id, device_id, upload.device_frame_id)
        return ProcessedUpload(key=key, result=None, refusal=refusal)
    store.delete_incoming(storage.s3, storage.bucket, key)
    return ProcessedUpload(key=key, result=result)


def process_notification(
    notification: Mapping[str, Any],
    *,
    storage: Storage,
    pipeline: Callable[[str], frames.ImageProcessor],
    events: EventSink,
    now: datetime,
) -> list[ProcessedUpload]:
    """Every upload one S3 notification names, in order, each stored or refused for good. A message that is not an
    upload notification raises, as does the first transient failure, which stops and fails the whole message (the
    uploads before it are done and find their work done when the message returns)."""
    return [
        process_incoming(key, storage=storage, pipeline=pipeline, events=events, now=now)
        for key in incoming_keys(notification, storage.bucket)
    ]
