"""Text data on a camera (SPEC §4, §6): device events and customer notes, as JSON strings only."""

from typing import Annotated, Literal

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayRouter
from pydantic import BaseModel, ConfigDict, Field

from doti import openapi
from doti.api.content import Note, NotePage
from doti.clock import utcnow
from doti.http import json_response
from doti.ingest import notes
from viewer_routes.common import session, window

router = APIGatewayRouter()


class NoteCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    text: str = Field(
        min_length=1, max_length=notes.MAX_TEXT, description="plain text; newline and tab are the only controls"
    )
    at: str | None = Field(
        default=None,
        max_length=40,
        json_schema_extra=openapi.TIME,
        description="RFC 3339: the time on the camera the note is about (default now)",
    )


@router.get("/v1/cameras/<camera_id>/notes", responses=openapi.answers(200, 404))
def list_notes(
    camera_id: str,
    from_: Annotated[str | None, Query(alias="from", max_length=40, json_schema_extra=openapi.TIME)] = None,
    to: Annotated[str | None, Query(max_length=40, json_schema_extra=openapi.TIME)] = None,
    order: Annotated[Literal["newest", "oldest"], Query()] = "newest",
    limit: Annotated[int, Query(ge=1, le=notes.MAX_PAGE)] = 50,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> Response[NotePage]:
    _, user = session(router)
    start, end = window(from_, to)
    query = notes.NoteQuery(
        start=start,
        end=end,
        newest_first=order == "newest",
        limit=limit,
        cursor=cursor,
    )
    page = notes.list_notes(user, camera_id, query, now=utcnow())
    return json_response(200, NotePage(items=[Note.of(note) for note in page.items], cursor=page.cursor))


@router.post("/v1/cameras/<camera_id>/notes", responses=openapi.answers(201, 404, 409))
def add_note(camera_id: str, body: NoteCreate) -> Response[Note]:
    _, user = session(router)
    note = notes.add_note(user, camera_id, body.text, body.at, now=utcnow())
    return json_response(201, Note.of(note))
