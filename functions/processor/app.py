"""Processor: large uploads (SPEC §1, §4). Each SQS message is an S3 notification for objects under incoming/; each
runs through the direct route's pipeline (doti.ingest.uploads).

An upload refused for good (a 4xx: corrupt, unsupported, too large, over quota, device revoked, camera gone) is
deleted, logged and counted, and its message acknowledged: retrying would only decode it again. Only a message that
is not an upload notification, or one that failed transiently (storage, the clip function, an unexpected error),
returns to the queue, and after the queue's maxReceiveCount receives ends in the dead-letter queue. A masked clip is
encoded by the clip function (doti.ingest.clips); one it cannot decode is refused as corrupt, like any other.
"""

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from doti import runtime
from doti.clock import utcnow
from doti.errors import DotiError
from doti.ingest import uploads, video
from doti.observability import logger, metrics, tracer

# A batch whose every record failed is reported like any other (each item listed), not raised as an invocation error.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
# A record started with less time than this left could be cut off by the timeout, which would fail the whole batch;
# it is handed back to the queue instead (one receive of its maxReceiveCount). A masked clip needs this much: the
# processor's own decode of the longest clip it accepts (a few seconds), then up to the clip function's 30 s timeout.
RECORD_TIME_RESERVE_MS = 40_000


class NoTimeLeft(Exception):
    """Not enough of the invocation left to process another record safely."""


def record_handler(record: SQSRecord, lambda_context: LambdaContext) -> None:
    if lambda_context.get_remaining_time_in_millis() < RECORD_TIME_RESERVE_MS:
        metrics.add_metric(name="UploadsDeferred", unit=MetricUnit.Count, value=1)
        raise NoTimeLeft(record.message_id)
    try:
        processed = uploads.process_notification(
            record.json_body,
            storage=runtime.storage(),
            pipeline=video.pipeline(runtime.clip_encoder()),
            events=runtime.events(),
            now=utcnow(),
        )
    except DotiError as exc:
        _count_by_code("UploadsFailed", exc.code)
        logger.warning(
            "upload message failed; it goes back to the queue",
            extra={"message_id": record.message_id, "code": exc.code, "error": exc.message},
        )
        raise
    except Exception:
        _count_by_code("UploadsFailed", "unexpected")
        logger.exception("upload failed; the message goes back to the queue", extra={"message_id": record.message_id})
        raise
    for upload in processed:
        if upload.refusal is not None:
            _refused(record.message_id, upload.key, upload.refusal)
        elif upload.result is None:
            metrics.add_metric(name="UploadsAlreadyProcessed", unit=MetricUnit.Count, value=1)
        elif upload.result.created:
            metrics.add_metric(name="FramesIngested", unit=MetricUnit.Count, value=1)
            metrics.add_metric(name="BytesIngested", unit=MetricUnit.Bytes, value=upload.result.frame.size)
        else:
            metrics.add_metric(name="FrameReplays", unit=MetricUnit.Count, value=1)


def _refused(message_id: str, key: str, refusal: uploads.Refusal) -> None:
    _count_by_code("UploadsRefused", refusal.code)
    logger.warning(
        "upload refused; deleted from incoming/ and not retried",
        extra={
            "message_id": message_id,
            "key": key,
            "code": refusal.code,
            "error": refusal.message,
            "device_id": refusal.device_id,
            "camera_id": refusal.camera_id,
            "device_frame_id": refusal.device_frame_id,
        },
    )


def _count_by_code(name: str, code: str) -> None:
    """One count with the error code as a dimension (its own EMF record: the batch's other metrics have none)."""
    with single_metric(name=name, unit=MetricUnit.Count, value=1, default_dimensions=metrics.default_dimensions) as m:
        m.add_dimension(name="code", value=code)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    runtime.init()
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
