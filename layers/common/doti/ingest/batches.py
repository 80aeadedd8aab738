"""Several frames in one signed request (POST /v1/device/frames/batch): what a gateway sends when it has more than one
frame at hand, e.g. a site's cameras at the same tick, or a camera's frames it held while the line was down.

Each frame is the direct route's (doti.ingest.frames): the same checks, the same claim on (device, frame id) as its
idempotency key, the same answer (201 stored, 200 a replay, or its error), one per frame, in the request's order. The
frames share what a request costs once: the signature, the reads of device and contract, one transaction that
indexes them all and charges their bytes to the month (doti.store.indexing), and one pointer write per camera. That
is what brings a frame under $8 per million (README, "What a frame costs").
"""

from __future__ import annotations

import base64
import binascii
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from doti.contracts import terms
from doti.entities import Device
from doti.errors import DotiError, PayloadTooLarge, UnsupportedMediaType, ValidationError
from doti.ingest import frames
from doti.ingest.media import media_type
from doti.json_body import parse_json_body
from doti.store.events import EventSink
from doti.store.objects import Storage

MAX_FRAMES = 20  # one transaction holds at most 100 items: 20 index items, the usage item and up to 20 slots
# The body is capped like a direct frame's (4 MiB, which the API's firewall enforces in front of both routes); the
# images in it, base64 in JSON, are then about 3 MiB together.
MAX_BODY_BYTES = terms.DIRECT_UPLOAD_MAX_BYTES
MAX_BYTES = (MAX_BODY_BYTES - 64 * 1024) * 3 // 4
_FRAME_FIELDS = frozenset({"camera_id", "captured_at", "frame_id", "content_type", "data"})
_TEXT_FIELDS = ("camera_id", "captured_at", "frame_id", "content_type")
_MAX_FIELD_LENGTH = 256


@dataclass(frozen=True)
class BatchItem:
    """One frame's answer: its device frame id, and the stored frame or the refusal."""

    device_frame_id: str
    outcome: frames.Outcome


def parse_batch(body: bytes, content_type: str | None) -> list[frames.FrameUpload]:
    """The frames of a batch body `{"frames": [{camera_id, captured_at, frame_id, content_type, data}]}` (data: the
    image bytes in base64), or 415 (not JSON), 413 (more frames or bytes than a batch carries) or 422 naming every
    problem found. A frame id twice in one batch is a 422: the two could not both be the one frame it names."""
    if media_type(content_type) != "application/json":
        raise UnsupportedMediaType("frame batches must be application/json", content_type=content_type or None)
    data = parse_json_body(body, max_bytes=MAX_BODY_BYTES)
    if not isinstance(data, dict) or set(data) != {"frames"} or not isinstance(data["frames"], list):
        raise ValidationError('the body must be a JSON object {"frames": [...]}', field="frames")
    listed = data["frames"]
    if not listed:
        raise ValidationError("a batch has at least one frame", field="frames")
    if len(listed) > MAX_FRAMES:
        raise PayloadTooLarge(f"a batch has at most {MAX_FRAMES} frames", frames=len(listed), max_frames=MAX_FRAMES)
    problems: list[dict[str, Any]] = []
    uploads = [_frame(n, item, problems) for n, item in enumerate(listed)]
    seen: set[str] = set()
    for n, upload in enumerate(uploads):
        frame_id = (upload.device_frame_id or "").strip() if upload is not None else None
        if frame_id is not None and frame_id in seen:
            problems.append({"field": f"frames[{n}].frame_id", "problem": "already in this batch"})
        elif frame_id is not None:
            seen.add(frame_id)
    if problems:
        raise ValidationError("the batch is not valid", problems=problems)
    size = sum(len(upload.body) for upload in uploads if upload is not None)
    if size > MAX_BYTES:
        raise PayloadTooLarge(
            "the batch's frames are too large together; send fewer, or ask POST /v1/device/uploads for large ones",
            size=size,
            max_bytes=MAX_BYTES,
        )
    return [upload for upload in uploads if upload is not None]


def _frame(n: int, item: object, problems: list[dict[str, Any]]) -> frames.FrameUpload | None:
    where = f"frames[{n}]"
    if not isinstance(item, dict):
        problems.append({"field": where, "problem": "must be an object"})
        return None
    found = len(problems)
    problems += [{"field": f"{where}.{name}", "problem": "unknown field"} for name in sorted(set(item) - _FRAME_FIELDS)]
    for name in _TEXT_FIELDS:
        value = item.get(name)
        if not isinstance(value, str) or not value.strip() or len(value) > _MAX_FIELD_LENGTH:
            problems.append(
                {"field": f"{where}.{name}", "problem": f"required, 1-{_MAX_FIELD_LENGTH} characters of text"}
            )
    body = _decoded(item.get("data"))
    if body is None:
        problems.append({"field": f"{where}.data", "problem": "required, the image bytes in base64"})
    if len(problems) > found or body is None:
        return None
    return frames.FrameUpload(
        camera_id=item["camera_id"],
        captured_at=item["captured_at"],
        device_frame_id=item["frame_id"],
        content_type=item["content_type"],
        body=body,
    )


def _decoded(value: object) -> bytes | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return base64.b64decode(value, validate=True) or None
    except (binascii.Error, ValueError):
        return None


def ingest_batch(
    uploads: list[frames.FrameUpload],
    device: Device,
    *,
    storage: Storage,
    process: frames.ImageProcessor,
    events: EventSink,
    now: datetime,
) -> list[BatchItem]:
    """Each frame's outcome, in order. The contract's state is checked once, first: a suspended contract refuses the
    whole request, as it would each frame. Then every frame is checked and processed; those that pass are stored
    together (doti.ingest.frames.ingest_frames) under one request token."""
    lookups = frames.Lookups(device)
    terms.require_serving(lookups.contract(), now)
    token = uuid.uuid4().hex
    outcomes: list[frames.Outcome | None] = [None] * len(uploads)
    prepared: list[frames.PreparedFrame] = []
    places: list[int] = []
    for n, upload in enumerate(uploads):
        try:
            prepared.append(
                frames.prepare_frame(upload, device, process=process, now=now, token=token, lookups=lookups)
            )
        except DotiError as exc:
            outcomes[n] = exc
            continue
        places.append(n)
    stored = frames.ingest_frames(prepared, device, storage=storage, events=events, now=now) if prepared else []
    for n, outcome in zip(places, stored, strict=True):
        outcomes[n] = outcome
    return [
        BatchItem(upload.device_frame_id or "", outcome)
        for upload, outcome in zip(uploads, outcomes, strict=True)
        if outcome is not None
    ]
