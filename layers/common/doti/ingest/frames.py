"""Frames from a device (SPEC §4): checked, processed, stored with their index item, and the quota charged; each
once, whatever a retry repeats (device claims, doti.store.claims). Customers browse them through doti.viewing.frames."""

from __future__ import annotations

import dataclasses
import hashlib
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from doti import ids
from doti.clock import format_rfc3339, parse_rfc3339
from doti.contracts import registry, retention_policy, terms
from doti.entities import Camera, Contract, Device, Frame
from doti.errors import (
    Conflict,
    DotiError,
    NotFound,
    PayloadTooLarge,
    StorageError,
    UnsupportedMediaType,
    ValidationError,
)
from doti.ingest import activity, camera_events, usage
from doti.ingest.image_types import ImageLimits, ProcessedImage
from doti.ingest.masks import Polygons
from doti.ingest.media import media_type
from doti.observability import logger
from doti.store import claims, indexing, keys
from doti.store import frames as store
from doti.store import registry as registry_store
from doti.store.events import EventSink
from doti.store.objects import Storage

ACCEPTED_TYPES = ("image/jpeg", "image/png")
# An in-progress claim older than this belongs to a request that stopped (the function times out after 29 s).
CLAIM_STALE_AFTER = timedelta(minutes=2)
_DEVICE_FRAME_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")


# process(data, declared_content_type, limits, mask) -> ProcessedImage, where mask is the camera's privacy mask
# (normalized polygons, doti.ingest.masks) or None; doti.ingest.imaging.process_image in production.
ImageProcessor = Callable[[bytes, str, ImageLimits, Polygons | None], ProcessedImage]


@dataclass(frozen=True)
class FrameUpload:
    camera_id: str | None
    captured_at: str | None
    device_frame_id: str | None
    content_type: str | None
    body: bytes


@dataclass(frozen=True)
class IngestResult:
    frame: Frame
    created: bool  # False: a replay of a frame already stored


def require_frame_media_type(content_type: str | None, accepted_types: tuple[str, ...] = ACCEPTED_TYPES) -> str:
    """The frame's media type, or 415. Checked before authentication too: API Gateway hands any other type to
    Lambda as text, which alters the bytes, so the signature could not be verified and a 401 would mislead."""
    declared = media_type(content_type)
    if declared not in accepted_types:
        raise UnsupportedMediaType(
            f"frames must be {' or '.join(accepted_types)}", content_type=content_type or None, accepted=accepted_types
        )
    return declared


def _require_headers(upload: FrameUpload) -> tuple[str, str, str]:
    named = {
        "X-Doti-Camera": upload.camera_id,
        "X-Doti-Captured-At": upload.captured_at,
        "X-Doti-Frame-Id": upload.device_frame_id,
    }
    missing = [name for name, value in named.items() if not (value or "").strip()]
    if missing:
        raise ValidationError("missing required headers", missing=missing)
    device_frame_id = upload.device_frame_id.strip()  # type: ignore[union-attr]
    if not _DEVICE_FRAME_ID.match(device_frame_id):
        raise ValidationError(
            "X-Doti-Frame-Id must be 1-128 characters of letters, digits and . _ : -", field="X-Doti-Frame-Id"
        )
    return upload.camera_id.strip(), upload.captured_at.strip(), device_frame_id  # type: ignore[union-attr]


def _indexed_frame(claim: claims.Claim) -> Frame | None:
    """The frame a claim stands for if its index item exists (a consistent read: a retry arriving right after the
    first response must see the index item it wrote), else None."""
    try:
        return store.get_frame(claim.camera_id, claim.frame_id, consistent=True)
    except NotFound:
        return None


def _settle_with(held: claims.Claim, wanted: claims.Claim, now: datetime) -> IngestResult | claims.Claim:
    """What to do about a frame id another request has claimed: a replay, a conflict, or a stale claim to take over.

    Stored (its index item exists): the same body is a replay of the first frame (its capture time stands); another
    body is a conflict. Completed without its index item: the frame was deleted, and the id stays used. In progress:
    the first request is still storing it (409 in_progress) unless it stopped more than CLAIM_STALE_AFTER ago, or gave
    the claim up after a failure; then a retry with the same body takes it over, unless the frame it names is past
    its retention (a deleted frame is never stored again).
    """
    same_body = held.body_sha256 == wanted.body_sha256
    stored = _indexed_frame(held) if held.frame_id else None
    if stored is not None or held.status == claims.COMPLETED:
        if not same_body:
            raise Conflict("this frame id was already used for a different image", frame_id=held.frame_id)
        if stored is None:
            raise _no_longer_stored(held)
        return IngestResult(frame=stored, created=False)
    stale = held.claimed_at <= now - CLAIM_STALE_AFTER
    if not same_body:
        if stale:
            raise Conflict("this frame id was already used for a different image", frame_id=held.frame_id)
        raise Conflict("this frame id is being stored with a different image", frame_id=held.frame_id, in_progress=True)
    if not stale:
        raise Conflict("this frame id is being stored by another request", frame_id=held.frame_id, in_progress=True)
    if held.expires_at <= now:
        raise _no_longer_stored(held)
    return claims.take_over(held, now, wanted.token)


def _no_longer_stored(held: claims.Claim) -> Conflict:
    return Conflict("this frame id was already used for a frame that is no longer stored", frame_id=held.frame_id)


def _claim_frame_id(wanted: claims.Claim, now: datetime) -> IngestResult | claims.Claim:
    held = claims.acquire(wanted)
    return wanted if held is None else _settle_with(held, wanted, now)


@dataclass(frozen=True)
class Admission:
    """What the checks that need no pixels found; the frame may be stored as far as they can tell."""

    camera: Camera
    contract: Contract
    captured_at: datetime
    device_frame_id: str
    media_type: str


def _require_direct_size(size: int) -> None:
    """The direct route carries a frame inside the Lambda event; larger media take a presigned upload."""
    if size > terms.DIRECT_UPLOAD_MAX_BYTES:
        raise PayloadTooLarge(
            "too large for a direct upload; ask POST /v1/device/uploads for a presigned upload",
            size=size,
            max_bytes=terms.DIRECT_UPLOAD_MAX_BYTES,
            upload_route="/v1/device/uploads",
        )


class Lookups:
    """The device's contract and cameras as one request reads them: once each, however many of its frames name them
    (a batch), and never kept past the request, so a suspension or a camera's change applies from the next one."""

    def __init__(self, device: Device) -> None:
        self._device = device
        self._contract: Contract | None = None
        self._cameras: dict[str, Camera | NotFound] = {}

    def contract(self) -> Contract:
        if self._contract is None:
            self._contract = terms.get_contract(self._device.contract_id)
        return self._contract

    def camera(self, camera_id: str) -> Camera:
        """The camera if it is of the device's site, else NotFound (a device relays only its own site's cameras)."""
        if camera_id not in self._cameras:
            try:
                camera = registry.camera_of_contract(self._device.contract_id, camera_id)
                found: Camera | NotFound = camera if camera.site_id == self._device.site_id else NotFound("camera")
            except NotFound as exc:
                found = exc
            self._cameras[camera_id] = found
        found = self._cameras[camera_id]
        if isinstance(found, NotFound):
            raise NotFound("camera not found")
        return found


def admit_frame(
    upload: FrameUpload,
    device: Device,
    now: datetime,
    *,
    size: int,
    accepted_types: tuple[str, ...] = ACCEPTED_TYPES,
    lookups: Lookups | None = None,
) -> Admission:
    """Every check on a frame that needs no pixels: ids, media type, camera of the device's site, contract serving,
    size within the plan, capture time. The direct route runs them before decoding; the upload grant
    (doti.ingest.uploads) runs them before the bytes exist, with the size the device declares."""
    camera_id, captured_text, device_frame_id = _require_headers(upload)
    declared = require_frame_media_type(upload.content_type, accepted_types)
    lookups = lookups or Lookups(device)
    camera = lookups.camera(camera_id)
    contract = lookups.contract()
    terms.require_serving(contract, now)
    if size > contract.max_object_bytes:
        raise PayloadTooLarge(
            "frame is larger than the contract allows", size=size, max_bytes=contract.max_object_bytes
        )
    captured_at = parse_rfc3339(captured_text, "X-Doti-Captured-At")
    window = retention_policy.capture_window(contract, now)
    if window.in_future(captured_at):
        raise ValidationError("captured_at is in the future", captured_at=format_rfc3339(captured_at))
    if window.too_old(captured_at):
        raise ValidationError("captured_at is older than the retention period", retention_days=contract.retention_days)
    return Admission(camera, contract, captured_at, device_frame_id, declared)


def ingest_direct(
    upload: FrameUpload,
    *,
    authenticate: Callable[[bytes], Device],
    storage: Storage,
    process: ImageProcessor,
    events: EventSink,
    now: datetime,
) -> IngestResult:
    """The direct route (POST /v1/device/frames): the device's signature over the body (`authenticate`) before any
    other answer, then the media type, then the size a Lambda event may carry, then ingest_frame."""
    device = authenticate(upload.body)
    require_frame_media_type(upload.content_type)
    _require_direct_size(len(upload.body))
    return ingest_frame(upload, device, storage=storage, process=process, events=events, now=now)


def ingest_frame(
    upload: FrameUpload,
    device: Device,
    *,
    storage: Storage,
    process: ImageProcessor,
    events: EventSink,
    now: datetime,
    accepted_types: tuple[str, ...] = ACCEPTED_TYPES,
) -> IngestResult:
    """Validate, claim and store one frame (SPEC §4, §12): ingest_frames with one frame, its refusal raised."""
    prepared = prepare_frame(upload, device, process=process, now=now, accepted_types=accepted_types)
    outcome = ingest_frames([prepared], device, storage=storage, events=events, now=now)[0]
    if isinstance(outcome, DotiError):
        raise outcome
    return outcome


@dataclass(frozen=True)
class PreparedFrame:
    """A frame that passed every check that needs nothing stored, processed, with the claim it will ask for."""

    admission: Admission
    image: ProcessedImage
    wanted: claims.Claim


def prepare_frame(
    upload: FrameUpload,
    device: Device,
    *,
    process: ImageProcessor,
    now: datetime,
    accepted_types: tuple[str, ...] = ACCEPTED_TYPES,
    token: str | None = None,
    lookups: Lookups | None = None,
) -> PreparedFrame:
    """Every check on one frame before anything is stored (headers, camera, contract state, byte and pixel limits,
    the image itself), its processing, and the claim on (device, frame id) it will ask for under `token` (the
    request's; a new one if None)."""
    admitted = admit_frame(upload, device, now, size=len(upload.body), accepted_types=accepted_types, lookups=lookups)
    # Art. 2-4: blacked out before anything is stored; the thumbnail and the activity signature are of the masked image.
    mask = admitted.camera.privacy_mask or None
    image = process(
        upload.body,
        media_type(upload.content_type),
        ImageLimits(admitted.contract.max_object_bytes, admitted.contract.max_pixels),
        mask,
    )
    # The claim holds the digest of the body received, which a replay sends again; under a mask the stored
    # original (image.sha256) is the re-encoded one.
    received_sha256 = image.sha256 if image.original is upload.body else _sha256_hex(upload.body)
    frame_id = ids.frame_id(admitted.captured_at, device.device_id, admitted.device_frame_id)
    wanted = claims.Claim(
        claim_id=claims.claim_id(device.device_id, admitted.device_frame_id),
        status=claims.IN_PROGRESS,
        body_sha256=received_sha256,
        camera_id=admitted.camera.camera_id,
        frame_id=frame_id,
        captured_at=admitted.captured_at,
        claimed_at=now,
        expires_at=retention_policy.expires_at(admitted.captured_at, admitted.contract),
        token=token or uuid.uuid4().hex,  # the request's: its own write, read back, is known as its own
    )
    return PreparedFrame(admitted, image, wanted)


Outcome = IngestResult | DotiError


def ingest_frames(
    prepared: list[PreparedFrame], device: Device, *, storage: Storage, events: EventSink, now: datetime
) -> list[Outcome]:
    """Claim and store frames of one device that prepare_frame passed, each with its own outcome, in their order.

    Each frame is claimed on (device, frame id) first: a replay answers the first frame, a duplicate in progress or
    another body is a conflict. Holding the claims: the originals, tagged for lifecycle expiry, then one transaction
    for them all that indexes them, charges their bytes and counts them in their slots (doti.store.indexing). A
    failure before that transaction leaves only tagged objects nobody can see; the claim is given up (or, after a
    crash, goes stale) and the retry takes it over, reusing its frame id, capture time and keys. A refusal after
    the claim (the quota) deletes it: nothing is stored, and the frame id is free again.
    """
    outcomes: list[Outcome | None] = [None] * len(prepared)
    held: list[tuple[int, claims.Claim]] = []
    for n, frame in enumerate(prepared):
        try:
            claimed = _claim_frame_id(frame.wanted, now)
        except DotiError as exc:
            outcomes[n] = exc
            continue
        if isinstance(claimed, IngestResult):
            outcomes[n] = claimed
        else:
            held.append((n, claimed))
    try:
        _store_claimed(prepared, held, outcomes, device, storage, now)
    except Exception:
        for n, claim in held:
            if outcomes[n] is None:
                claims.release(claim)
        raise
    done = [outcome for outcome in outcomes if outcome is not None]
    _move_camera_pointers(prepared, outcomes, events, now)
    assert len(done) == len(prepared)  # every frame has its outcome
    return done


def _store_claimed(
    prepared: list[PreparedFrame],
    held: list[tuple[int, claims.Claim]],
    outcomes: list[Outcome | None],
    device: Device,
    storage: Storage,
    now: datetime,
) -> None:
    """Store the objects of the claimed frames and index them together, filling in their outcomes."""
    if not held:
        return
    contract = prepared[held[0][0]].admission.contract
    sizes = [_charged(prepared[n].image) for n, _ in held]
    charge, used, fitting = usage.room_for(contract, sizes, now)
    for (n, claim), size in zip(held[fitting:], sizes[fitting:], strict=True):
        claims.discard(claim)  # nothing of it is stored: the frame id is free again
        outcomes[n] = usage.quota_exceeded(dataclasses.replace(charge, bytes=size), used)
    held = held[:fitting]
    scores = _activity_scores(prepared)
    stored: list[tuple[int, claims.Claim, Frame]] = []
    for n, claim in held:
        try:
            frame = _store_objects(
                prepared[n].image,
                claim,
                contract,
                prepared[n].admission.camera.site_id,
                device,
                storage,
                now,
                activity_score=scores[n],
                mask_version=_mask_version(prepared[n].admission.camera),
            )
        except DotiError as exc:
            _give_up(claim, exc)
            outcomes[n] = exc
            continue
        stored.append((n, claim, frame))
    if not stored:
        return
    token = stored[0][1].token
    try:
        result = indexing.index_frames(
            [frame for _, _, frame in stored], token, period=charge.period, quota=charge.quota
        )
    except DotiError as exc:
        for n, claim, _ in stored:
            _give_up(claim, exc)
            outcomes[n] = exc
        return
    for n, claim, frame in stored:
        if frame in result.indexed:
            outcomes[n] = IngestResult(frame=frame, created=True)
        elif frame in result.taken:  # a request that took the claim over stored the same body first
            outcomes[n] = IngestResult(frame=_indexed_frame(claim) or frame, created=False)
        else:
            # another frame took the month's last room between the check and the charge: this one is not stored.
            # Its objects go before its claim, which guards their keys.
            _discard_objects(storage, frame)
            claims.discard(claim)
            outcomes[n] = usage.quota_exceeded(charge)


def _mask_version(camera: Camera) -> str | None:
    return camera.mask_version if camera.privacy_mask else None


def _charged(image: ProcessedImage) -> int:
    return image.size + len(image.thumbnail or b"")


def _activity_scores(prepared: list[PreparedFrame]) -> list[float | None]:
    """Each frame scored against the one captured before it, the camera's newest stored frame for the first."""
    scores: list[float | None] = [None] * len(prepared)
    previous: dict[str, bytes | None] = {}
    for n in sorted(range(len(prepared)), key=lambda m: prepared[m].admission.captured_at):
        camera = prepared[n].admission.camera
        last = previous.get(camera.camera_id, camera.last_signature)
        scores[n] = activity.score(last, prepared[n].image.signature)
        previous[camera.camera_id] = prepared[n].image.signature
    return scores


def _store_objects(
    image: ProcessedImage,
    claim: claims.Claim,
    contract: Contract,
    site_id: str,
    device: Device,
    storage: Storage,
    now: datetime,
    *,
    activity_score: float | None,
    mask_version: str | None,
) -> Frame:
    """Write the original, and a clip's poster thumbnail, at the claim's keys; returns the index item to write with
    them. A still has no stored thumbnail (thumb_key None): it is rendered when viewed (doti.viewing.renders), which
    saves a PutObject per frame that most frames never repay.

    Plain puts: only the claim's holder writes these keys, and a holder that took a claim over writes the same
    bytes (same body digest) over what the stopped request may have left.
    """
    tagging = keys.retention_tagging(contract.retention_days)
    object_key = keys.frame_key(
        contract.contract_id, claim.camera_id, claim.captured_at, claim.frame_id, image.content_type
    )
    store.put_object(
        storage.s3,
        storage.bucket,
        store.StoredObject(object_key, image.original, image.content_type, image.sha256, mask_version),
        tagging,
    )
    thumb_key = None
    if image.thumbnail is not None:
        thumb_key = keys.thumb_key(contract.contract_id, claim.camera_id, claim.captured_at, claim.frame_id)
        thumb_sha = _sha256_hex(image.thumbnail)
        store.put_object(
            storage.s3,
            storage.bucket,
            store.StoredObject(thumb_key, image.thumbnail, "image/jpeg", thumb_sha, mask_version),
            tagging,
        )
    return Frame(
        camera_id=claim.camera_id,
        frame_id=claim.frame_id,
        contract_id=contract.contract_id,
        site_id=site_id,
        device_id=device.device_id,
        device_frame_id=claim.claim_id.split("#", 1)[1],
        captured_at=claim.captured_at,
        received_at=now,
        content_type=image.content_type,
        size=image.size,
        width=image.width,
        height=image.height,
        sha256=image.sha256,
        object_key=object_key,
        thumb_key=thumb_key,
        thumb_size=len(image.thumbnail or b""),
        thumb_width=image.thumb_width,
        thumb_height=image.thumb_height,
        retention_class=retention_policy.contract_class(contract),
        expires_at=claim.expires_at,
        duration_ms=image.duration_ms,
        frame_count=image.frame_count,
        activity_score=activity_score,
        mask_version=mask_version,
    )


def _discard_objects(storage: Storage, frame: Frame) -> None:
    """Delete a refused frame's objects now rather than at the end of its retention (best effort: they are tagged,
    so lifecycle removes them anyway, and no index item ever points at them)."""
    try:
        store.delete_objects(storage.s3, storage.bucket, [frame.object_key, frame.thumb_key])
    except StorageError:
        logger.warning("could not delete a refused frame's objects", extra={"frame_id": frame.frame_id})


def _move_camera_pointers(
    prepared: list[PreparedFrame], outcomes: list[Outcome | None], events: EventSink, now: datetime
) -> None:
    """Move each camera's newest-frame pointer and its activity signature (the next frame is scored against it) to
    its newest frame stored or replayed here, then tell what the frames changed about the camera
    (doti.ingest.camera_events): a convenience, moved again on replay, never failing a stored frame."""
    by_camera: dict[str, list[tuple[Frame, bytes]]] = {}
    for frame, outcome in zip(prepared, outcomes, strict=True):
        if isinstance(outcome, IngestResult):
            by_camera.setdefault(outcome.frame.camera_id, []).append((outcome.frame, frame.image.signature))
    for camera_id, found in by_camera.items():
        found.sort(key=lambda pair: pair[0].frame_id)
        newest, signature = found[-1]
        try:
            camera = registry_store.set_camera_last_frame(camera_id, newest.frame_id, signature)
        except StorageError:
            logger.warning("could not move the camera's last frame pointer", extra={"camera_id": camera_id})
            continue
        if camera is not None:  # None: a newer frame holds the pointer, and told what it changed
            camera_events.after_frames(camera, [frame for frame, _ in found], events, now)


def _give_up(claim: claims.Claim, refusal: DotiError) -> None:
    """After the claim, a refusal (4xx, such as the quota) means nothing was stored and the frame id is free for
    whatever the device sends next: the claim is deleted. A failure (5xx) keeps it, given up, so the retry takes it
    over and reuses its keys. A conflict means the claim is no longer ours to touch."""
    if refusal.status < 500 and not isinstance(refusal, Conflict):
        claims.discard(claim)
    else:
        claims.release(claim)


def _sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
