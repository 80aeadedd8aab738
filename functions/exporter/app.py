"""Exporter: backup exports (Art. 10-4; SPEC §6). Each SQS message names one export, whose ZIP this builds by
streaming the camera's frames into an S3 multipart upload (doti.viewing.exports). A message is acknowledged only once
its export has ended, ready or failed: one that failed on storage, or whose export another run is building, returns to
the queue (counted as ExportsUnfinished), and on its last receive the export is failed rather than left building
behind a dead letter. Any other failure is final and recorded on the export."""

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from doti import runtime
from doti.clock import utcnow
from doti.observability import logger, metrics, tracer
from doti.viewing import exports

# A batch whose every record failed is reported like any other (each item listed), not raised as an invocation error.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


def record_handler(record: SQSRecord, lambda_context: LambdaContext) -> None:
    export_id = exports.parse_request(record.body)
    logger.append_keys(export_id=export_id)
    last_attempt = int(record.attributes.approximate_receive_count) >= exports.MAX_RECEIVES
    try:
        built = exports.build_export(
            export_id,
            storage=runtime.storage(),
            events=runtime.events(),
            now=utcnow(),
            remaining_ms=lambda_context.get_remaining_time_in_millis,
            last_attempt=last_attempt,
        )
    except Exception as exc:
        # Not finished: the message goes back to the queue (to the dead-letter queue after its last receive).
        metrics.add_metric(name="ExportsUnfinished", unit=MetricUnit.Count, value=1)
        logger.warning(
            "export not finished; its message goes back to the queue",
            extra={"code": getattr(exc, "code", "unexpected"), "last_attempt": last_attempt},
        )
        raise
    if built is None:
        return
    metrics.add_metric(name=f"Exports_{built.status}", unit=MetricUnit.Count, value=1)
    if built.status == exports.READY:
        metrics.add_metric(name="ExportFrames", unit=MetricUnit.Count, value=built.frames or 0)
        metrics.add_metric(name="ExportBytes", unit=MetricUnit.Bytes, value=built.size or 0)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    runtime.init()
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
