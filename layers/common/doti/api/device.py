"""The device API's bodies (SPEC §12)."""

from __future__ import annotations

from typing import Any

from doti.api.fields import Omittable, ResponseModel, Time
from doti.entities import Frame
from doti.errors import DotiError, error_body
from doti.ingest.batches import BatchItem
from doti.ingest.uploads import UploadGrant as Grant


class IngestedFrame(ResponseModel):
    """A frame as stored from a device's upload: the same body for a replay."""

    frame_id: str
    device_frame_id: str
    camera_id: str
    captured_at: Time
    received_at: Time
    content_type: str
    size: int
    width: int
    height: int
    sha256: str
    expires_at: Time

    @classmethod
    def of(cls, frame: Frame) -> IngestedFrame:
        return cls.from_entity(frame)


class UploadGrant(ResponseModel):
    """A presigned POST: send `fields` as they are, then the file, to `url` before `expires_at`."""

    url: str
    fields: dict[str, str]
    expires_at: Time

    @classmethod
    def of(cls, grant: Grant) -> UploadGrant:
        return cls.from_entity(grant)


class BatchAnswer(ResponseModel):
    """One frame of a batch: `status` is what the direct route would have answered for it (201 stored, 200 a replay,
    else its error's status), with `frame` or `error` (SPEC §10's shape)."""

    frame_id: str  # the device's id for the frame, as sent
    status: int
    frame: Omittable[IngestedFrame]
    error: Omittable[dict[str, Any]]

    @classmethod
    def of(cls, item: BatchItem) -> BatchAnswer:
        outcome = item.outcome
        if isinstance(outcome, DotiError):
            return cls(
                frame_id=item.device_frame_id,
                status=outcome.status,
                error=error_body(outcome.code, outcome.message, outcome.details)["error"],
            )
        return cls(
            frame_id=item.device_frame_id,
            status=201 if outcome.created else 200,
            frame=IngestedFrame.of(outcome.frame),
        )


class BatchResult(ResponseModel):
    """A batch's answers, one per frame in the request's order."""

    items: list[BatchAnswer]
