"""Cameras, their purposes (Art. 2-4) and their frames (SPEC §6): every image a short-lived signed S3 URL."""

from typing import Annotated, Literal

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayRouter
from aws_lambda_powertools.metrics import MetricUnit

from doti import openapi, runtime
from doti.api.content import Frame, FramePage
from doti.api.customer import Camera, CameraList, Timeline
from doti.api.purposes import PurposesBody
from doti.clock import utcnow
from doti.contracts import purpose_registry
from doti.http import json_response
from doti.observability import metrics
from doti.viewing import cameras, frames, timeline
from viewer_routes.common import session, window

router = APIGatewayRouter()


@router.get("/v1/cameras", responses=openapi.answers(200))
def list_cameras() -> Response[CameraList]:
    _, user = session(router)
    cards = cameras.cameras_for(user, storage=runtime.storage(), now=utcnow())
    metrics.add_metric(name="SignedUrlsIssued", unit=MetricUnit.Count, value=2 * sum(1 for c in cards if c.last_frame))
    return json_response(200, CameraList(items=[Camera.of(card) for card in cards]))


@router.get("/v1/cameras/<camera_id>", responses=openapi.answers(200, 404))
def get_camera(camera_id: str) -> Response[Camera]:
    """One camera as the listing shows it: status, last_frame_at, site name and its newest frame's thumbnail."""
    _, user = session(router)
    card = cameras.camera_for(user, camera_id, storage=runtime.storage(), now=utcnow())
    metrics.add_metric(name="SignedUrlsIssued", unit=MetricUnit.Count, value=2 if card.last_frame else 0)
    return json_response(200, Camera.of(card))


@router.put("/v1/cameras/<camera_id>/purposes", responses=openapi.answers(200, 403, 404))
def set_purposes(camera_id: str, body: PurposesBody) -> Response[Camera]:
    """Art. 2-4: the owner registers why the camera records, what it covers and whether it films people."""
    _, user = session(router)
    card = purpose_registry.register_by_owner(user, camera_id, body.fields(), storage=runtime.storage(), now=utcnow())
    metrics.add_metric(name="SignedUrlsIssued", unit=MetricUnit.Count, value=2 if card.last_frame else 0)
    return json_response(200, Camera.of(card))


@router.get("/v1/cameras/<camera_id>/frames", responses=openapi.answers(200, 404))
def list_frames(
    camera_id: str,
    from_: Annotated[str | None, Query(alias="from", max_length=40, json_schema_extra=openapi.TIME)] = None,
    to: Annotated[str | None, Query(max_length=40, json_schema_extra=openapi.TIME)] = None,
    order: Annotated[Literal["newest", "oldest"], Query()] = "newest",
    limit: Annotated[int, Query(ge=1, le=frames.MAX_PAGE)] = 50,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
    activity: Annotated[bool, Query(description="only frames at or above the camera's activity threshold")] = False,
) -> Response[FramePage]:
    _, user = session(router)
    start, end = window(from_, to)
    query = frames.FrameQuery(
        start=start,
        end=end,
        newest_first=order == "newest",
        limit=limit,
        cursor=cursor,
        activity=activity,
    )
    page = frames.list_frames(user, camera_id, query, storage=runtime.storage(), now=utcnow())
    metrics.add_metric(name="SignedUrlsIssued", unit=MetricUnit.Count, value=2 * len(page.items))
    return json_response(200, FramePage(items=[Frame.of(item) for item in page.items], cursor=page.cursor))


@router.get("/v1/cameras/<camera_id>/frames/<frame_id>", responses=openapi.answers(200, 404))
def get_frame(camera_id: str, frame_id: str) -> Response[Frame]:
    _, user = session(router)
    signed = frames.get_frame(user, camera_id, frame_id, storage=runtime.storage(), now=utcnow())
    metrics.add_metric(name="SignedUrlsIssued", unit=MetricUnit.Count, value=3)
    return json_response(200, Frame.of(signed))


@router.get("/v1/cameras/<camera_id>/timeline", responses=openapi.answers(200, 404))
def day_timeline(
    camera_id: str,
    date: Annotated[str | None, Query(max_length=10, description="YYYY-MM-DD, local to tz; today if absent")] = None,
    tz: Annotated[str | None, Query(max_length=64, description=f"IANA zone; {timeline.DEFAULT_ZONE} if absent")] = None,
) -> Response[Timeline]:
    """One local day of the camera in 15-minute buckets, with the day's device events and notes as markers."""
    _, user = session(router)
    day = timeline.day_timeline(user, camera_id, date, tz, now=utcnow())
    return json_response(200, Timeline.of(day))
