"""Cameras and their frames (SPEC §6): every image a short-lived signed S3 URL."""

from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayRouter
from aws_lambda_powertools.metrics import MetricUnit

from doti import contracts, frames, registry, runtime
from doti.clock import parse_rfc3339, utcnow
from doti.http import json_response
from doti.observability import metrics
from viewer_routes.common import session

router = APIGatewayRouter()


@router.get("/v1/cameras")
def list_cameras() -> Response[dict[str, Any]]:
    _, user = session(router)
    contracts.require_serving(contracts.get_contract(user.contract_id), utcnow())
    cameras = registry.visible_cameras(user.contract_id, user)
    items = [{"camera_id": c.camera_id, "site_id": c.site_id, "name": c.name} for c in cameras]
    return json_response(200, {"items": items})


@router.get("/v1/cameras/<camera_id>/frames")
def list_frames(
    camera_id: str,
    from_: Annotated[str | None, Query(alias="from", max_length=40)] = None,
    to: Annotated[str | None, Query(max_length=40)] = None,
    order: Annotated[Literal["newest", "oldest"], Query()] = "newest",
    limit: Annotated[int, Query(ge=1, le=frames.MAX_PAGE)] = 50,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> Response[dict[str, Any]]:
    _, user = session(router)
    query = frames.FrameQuery(
        start=parse_rfc3339(from_, "from") if from_ else None,
        end=parse_rfc3339(to, "to") if to else None,
        newest_first=order == "newest",
        limit=limit,
        cursor=cursor,
    )
    page = frames.list_frames(user, camera_id, query, storage=runtime.storage(), now=utcnow())
    metrics.add_metric(name="SignedUrlsIssued", unit=MetricUnit.Count, value=2 * len(page.items))
    body: dict[str, Any] = {"items": [frames.frame_view(item) for item in page.items]}
    if page.cursor:
        body["cursor"] = page.cursor
    return json_response(200, body)


@router.get("/v1/cameras/<camera_id>/frames/<frame_id>")
def get_frame(camera_id: str, frame_id: str) -> Response[dict[str, Any]]:
    _, user = session(router)
    signed = frames.get_frame(user, camera_id, frame_id, storage=runtime.storage(), now=utcnow())
    metrics.add_metric(name="SignedUrlsIssued", unit=MetricUnit.Count, value=2)
    return json_response(200, frames.frame_view(signed))
