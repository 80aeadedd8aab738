"""Ingest: frames from alarm devices (SPEC §4, §12). Signed device routes only."""

# No `from __future__ import annotations`: Powertools reads the route signatures for OpenAPI validation,
# and string annotations behind decorators (tracer) cannot be resolved.
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from doti import openapi, runtime
from doti.api.content import Note
from doti.api.device import BatchAnswer, BatchResult, IngestedFrame, UploadGrant
from doti.api.device_requests import BATCH_REQUEST, EVENT_REQUEST, FRAME_REQUEST, UPLOAD_REQUEST
from doti.auth.device import SignedRequest, authenticate_device, presented_signature
from doti.clock import utcnow
from doti.entities import Device
from doti.http import client_path, json_response, lower_headers, make_resolver, openapi_response, raw_body
from doti.ingest import batches, frames, imaging, notes, uploads
from doti.observability import logger, metrics, tracer
from doti.store import registry

app = make_resolver()


def _signed_query() -> dict[str, list[str]]:
    """Every value of every query parameter, decoded, as API Gateway delivers them: the signature covers them all."""
    event = app.current_event
    return event.multi_value_query_string_parameters or {k: [v] for k, v in event.query_string_parameters.items()}


def _authenticated_device(body: bytes) -> Device:
    request = SignedRequest(
        method="POST", path=client_path(app), headers=lower_headers(app), body=body, query=_signed_query()
    )
    device = authenticate_device(
        request, load_device=registry.get_device, open_secret=runtime.secret_box().open, now=utcnow()
    )
    logger.append_keys(device_id=device.device_id, contract_id=device.contract_id)
    return device


# A replay answers 200 with the first frame; 409 while the first is still being stored (SPEC §12).
@app.post(
    "/v1/device/frames",
    responses=openapi.answers(200, 201, 404, 409, 413, 415, 422, 429),
    openapi_extensions=FRAME_REQUEST,
)
def post_frame() -> Response[IngestedFrame]:
    headers = lower_headers(app)
    upload = frames.FrameUpload(
        camera_id=headers.get("x-doti-camera"),
        captured_at=headers.get("x-doti-captured-at"),
        device_frame_id=headers.get("x-doti-frame-id"),
        content_type=headers.get("content-type"),
        body=raw_body(app),
    )
    result = frames.ingest_direct(
        upload,
        authenticate=_authenticated_device,
        storage=runtime.storage(),
        process=imaging.process_image,
        events=runtime.events(),
        now=utcnow(),
    )
    if result.created:
        metrics.add_metric(name="FramesIngested", unit=MetricUnit.Count, value=1)
        metrics.add_metric(name="BytesIngested", unit=MetricUnit.Bytes, value=result.frame.size)
    else:
        metrics.add_metric(name="FrameReplays", unit=MetricUnit.Count, value=1)
    return json_response(201 if result.created else 200, IngestedFrame.of(result.frame))


@app.post(
    "/v1/device/frames/batch",
    responses=openapi.answers(200, 404, 413, 415, 422),
    openapi_extensions=BATCH_REQUEST,
)
def post_frame_batch() -> Response[BatchResult]:
    """Up to 20 frames in one signed JSON body; 200 with each frame's own answer (doti.ingest.batches)."""
    body = raw_body(app)
    device = _authenticated_device(body)
    uploads = batches.parse_batch(body, lower_headers(app).get("content-type"))
    items = batches.ingest_batch(
        uploads,
        device,
        storage=runtime.storage(),
        process=imaging.process_image,
        events=runtime.events(),
        now=utcnow(),
    )
    answers = [BatchAnswer.of(item) for item in items]
    created = [answer.frame for answer in answers if answer.status == 201 and answer.frame is not None]
    metrics.add_metric(name="FramesIngested", unit=MetricUnit.Count, value=len(created))
    metrics.add_metric(name="BytesIngested", unit=MetricUnit.Bytes, value=sum(frame.size for frame in created))
    metrics.add_metric(name="FrameReplays", unit=MetricUnit.Count, value=sum(a.status == 200 for a in answers))
    return json_response(200, BatchResult(items=answers))


@app.post(
    "/v1/device/uploads",
    responses=openapi.answers(201, 404, 409, 413, 415, 422, 429),
    openapi_extensions=UPLOAD_REQUEST,
)
def post_upload() -> Response[UploadGrant]:
    """A presigned POST for a large frame or clip: JSON `{camera_id, content_type, size, captured_at, frame_id}`."""
    body = raw_body(app)
    device = _authenticated_device(body)
    request = uploads.parse_upload_request(body, lower_headers(app).get("content-type"))
    grant = uploads.grant_upload(request, device, storage=runtime.storage(), now=utcnow())
    metrics.add_metric(name="UploadsGranted", unit=MetricUnit.Count, value=1)
    return json_response(201, UploadGrant.of(grant))


@app.post(
    "/v1/device/events",
    responses=openapi.answers(200, 201, 404, 409, 415, 422),
    openapi_extensions=EVENT_REQUEST,
)
def post_event() -> Response[Note]:
    """Event text from the site: JSON `{camera_id?, occurred_at, text, event_id?}` (see doti.ingest.notes)."""
    body = raw_body(app)
    device = _authenticated_device(body)
    headers = lower_headers(app)
    event = notes.parse_device_event(body, headers.get("content-type"))
    result = notes.record_event(
        event, device, signature=presented_signature(headers), events=runtime.events(), now=utcnow()
    )
    metrics.add_metric(name="EventsRecorded" if result.created else "EventReplays", unit=MetricUnit.Count, value=1)
    return json_response(201 if result.created else 200, Note.of(result.note))


@app.get("/v1/device/openapi.json", responses=openapi.DOCUMENT)
def openapi_document() -> Response[dict[str, Any]]:
    return openapi_response(app, "doti device API", openapi.DEVICE, public={"/v1/device/openapi.json"})


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    runtime.init()
    return app.resolve(event, context)
