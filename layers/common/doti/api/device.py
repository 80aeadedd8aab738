"""The device API's bodies (SPEC §12)."""

from __future__ import annotations

from doti.api.fields import ResponseModel, Time
from doti.entities import Frame
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
