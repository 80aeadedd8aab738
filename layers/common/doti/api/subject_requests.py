"""The viewer's bodies for requests from people filmed (issue 15 point 5): GET /v1/requests, GET /v1/requests/{id},
POST /v1/requests/{id}/answer."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from doti.api.fields import Omittable, ResponseModel, Time
from doti.subjects.requests import RequestView


class RequestAnswer(ResponseModel):
    action: str = Field(description="disclose | refuse | delete | reply")
    at: Time
    text: str | None
    share_id: Omittable[str] = Field(description="a disclosure's one-time link (shown to the requester only)")
    frame_id: Omittable[str]
    frames_deleted: Omittable[int] = Field(description="when a deletion has been carried out")

    @classmethod
    def of(cls, answer: dict[str, Any]) -> RequestAnswer:
        return cls(
            action=answer["action"],
            at=answer["at"],
            text=answer.get("text"),
            share_id=answer.get("share_id"),
            frame_id=answer.get("frame_id"),
            frames_deleted=answer.get("frames_deleted"),
        )


class SubjectRequestItem(ResponseModel):
    request_id: str
    kind: str = Field(description="disclosure | stop_or_delete | question")
    status: str = Field(description="open | deleting | answered")
    site_id: str
    site_name: str
    camera_id: str | None
    camera_name: str | None
    from_: Time | None = Field(alias="from", description="the window the person gave, if any")
    to: Time | None
    created_at: Time
    due_at: Time
    overdue: bool = Field(description="open after its due date")
    answers: list[RequestAnswer]
    text: Omittable[str] = Field(description="what the person asked (the one request's view)")
    contact: Omittable[str] = Field(description="how to reach them (the one request's view; never logged)")

    @classmethod
    def of(cls, view: RequestView, *, whole: bool = False) -> SubjectRequestItem:
        request = view.request
        return cls(
            request_id=request.request_id,
            kind=request.kind,
            status=request.status,
            site_id=request.site_id,
            site_name=view.site_name,
            camera_id=request.camera_id,
            camera_name=view.camera_name,
            from_=request.window_start,
            to=request.window_end,
            created_at=request.created_at,
            due_at=request.due_at,
            overdue=view.overdue,
            answers=[RequestAnswer.of(a) for a in request.answers],
            text=request.text if whole else None,
            contact=view.contact if whole else None,
        )


class SubjectRequestPage(ResponseModel):
    items: list[SubjectRequestItem]
    cursor: Omittable[str] = Field(description="absent on the last page")
