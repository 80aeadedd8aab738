"""The device API's bodies (SPEC §12)."""

from __future__ import annotations

from doti.api.fields import ResponseModel, Time
from doti.entities import Frame
from doti.uploads import UploadGrant as Grant


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
        return cls(
            frame_id=frame.frame_id,
            device_frame_id=frame.device_frame_id,
            camera_id=frame.camera_id,
            captured_at=frame.captured_at,
            received_at=frame.received_at,
            content_type=frame.content_type,
            size=frame.size,
            width=frame.width,
            height=frame.height,
            sha256=frame.sha256,
            expires_at=frame.expires_at,
        )


class UploadGrant(ResponseModel):
    """A presigned POST: send `fields` as they are, then the file, to `url` before `expires_at`."""

    url: str
    fields: dict[str, str]
    expires_at: Time

    @classmethod
    def of(cls, grant: Grant) -> UploadGrant:
        return cls(url=grant.url, fields=grant.fields, expires_at=grant.expires_at)
