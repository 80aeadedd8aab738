"""Backup exports (Art. 10-4; SPEC §6, §12): request a ZIP of a camera's frames in a window, then poll it for the
signed download link. The exporter function builds it."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayRouter
from pydantic import BaseModel, ConfigDict, Field

from doti import openapi, runtime
from doti.api.customer import Export, ExportAccepted, ExportPage
from doti.clock import parse_rfc3339, utcnow
from doti.http import json_response
from doti.settings import get_settings
from doti.store.aws import sqs_client
from doti.viewing import exports
from viewer_routes.common import session

router = APIGatewayRouter()


class ExportBody(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    camera_id: str = Field(min_length=1, max_length=64)
    from_: str = Field(alias="from", max_length=40, json_schema_extra=openapi.TIME, description="RFC 3339, inclusive")
    to: str = Field(max_length=40, json_schema_extra=openapi.TIME, description="RFC 3339, exclusive")


@router.post("/v1/exports", responses=openapi.answers(202, 404, 409))
def request_export(body: ExportBody) -> Response[ExportAccepted]:
    """202 with the export; the same camera and window asked again while that export is queued, building or just
    ready is 202 with the same export, not a second one."""
    _, user = session(router)
    settings = get_settings()
    export = exports.request_export(
        user,
        body.camera_id,
        parse_rfc3339(body.from_, "from"),
        parse_rfc3339(body.to, "to"),
        queue=exports.ExportQueue(sqs_client(settings.region), settings.export_queue_url),
        now=utcnow(),
    )
    return json_response(202, ExportAccepted(export_id=export.export_id, status=export.status))


@router.get("/v1/exports", responses=openapi.answers(200))
def list_exports(
    limit: Annotated[int, Query(ge=1, le=exports.MAX_LIST)] = 20,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> Response[ExportPage]:
    """The contract's exports of the user's sites, newest first, each as GET /v1/exports/{export_id} gives it."""
    _, user = session(router)
    found, next_cursor = exports.list_exports(user, limit=limit, cursor=cursor, storage=runtime.storage(), now=utcnow())
    return json_response(200, ExportPage(items=[Export.of(status) for status in found], cursor=next_cursor))


@router.get("/v1/exports/<export_id>", responses=openapi.answers(200, 404))
def get_export(export_id: str) -> Response[Export]:
    _, user = session(router)
    status = exports.export_status(user, export_id, storage=runtime.storage(), now=utcnow())
    return json_response(200, Export.of(status))
