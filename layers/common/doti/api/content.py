"""Frames and notes as every API answers with them (SPEC §12)."""

from __future__ import annotations

from pydantic import Field

from doti.api.fields import Number, Omittable, ResponseModel, Time
from doti.entities import Note as NoteEntity
from doti.viewing.frames import SignedFrame


class Frame(ResponseModel):
    """A stored frame with short-lived signed URLs of its image and thumbnail."""

    frame_id: str = Field(description="the server's id")
    device_frame_id: str = Field(description="the device's id for the frame")
    camera_id: str
    captured_at: Time
    content_type: str
    size: int
    width: int
    height: int
    sha256: str
    activity_score: Number | None = Field(description="null: nothing to compare with")
    thumbnail_url: str
    image_url: str
    url_expires_at: Time
    download_url: Omittable[str] = Field(
        description="one frame (GET /v1/cameras/{camera_id}/frames/{frame_id}) only: the original as an attachment "
        "named <camera name>_<capture time, Asia/Tokyo>, signed like image_url"
    )
    duration_ms: Omittable[int] = Field(description="clips only")
    frame_count: Omittable[int] = Field(description="clips only")

    @classmethod
    def of(cls, signed: SignedFrame) -> Frame:
        return cls.from_entity(
            signed.frame,
            thumbnail_url=signed.thumbnail_url,
            image_url=signed.image_url,
            url_expires_at=signed.url_expires_at,
            download_url=signed.download_url,
        )


class FramePage(ResponseModel):
    items: list[Frame]
    cursor: Omittable[str] = Field(description="absent on the last page")


class NoteAuthor(ResponseModel):
    type: str = Field(description="device or user")
    id: str
    name: str


class Note(ResponseModel):
    """Text data on a camera: a device event or a customer note; `text` exactly as stored, to be shown as text."""

    note_id: str
    kind: str
    camera_id: str | None = Field(description="null: a device event about the whole site")
    site_id: str
    at: Time
    text: str
    author: NoteAuthor
    event_id: str | None = Field(description="the device's own id for an event")
    created_at: Time
    expires_at: Time

    @classmethod
    def of(cls, note: NoteEntity) -> Note:
        return cls.from_entity(note, author=NoteAuthor(type=note.author_type, id=note.author_id, name=note.author_name))


class NotePage(ResponseModel):
    items: list[Note]
    cursor: Omittable[str] = Field(description="absent on the last page")
