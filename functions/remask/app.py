"""Remask: slices of re-mask jobs (Art. 2-4; doti.jobs.remask). Each SQS message names a job; its slice blacks out the
camera's stored frames from the job's cursor until the time is short, then queues the next slice. A message whose
slice failed on storage returns to the queue and resumes from the cursor (the dead-letter queue takes it after five
tries); a malformed message fails every try and ends there too. A job's first message is sent before the job is
stored: on its first delivery a message without a job comes back, on a later one it is dropped and counted
(RemaskMessagesWithoutJob)."""

from dataclasses import asdict
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from doti import runtime
from doti.clock import utcnow
from doti.jobs.remask import jobs
from doti.jobs.remask.slices import NO_JOB, run_slice
from doti.observability import logger, metrics, tracer

processor = BatchProcessor(event_type=EventType.SQS)


def record_handler(record: SQSRecord, lambda_context: LambdaContext) -> None:
    job_id = jobs.parse_message(record.body)
    logger.append_keys(job_id=job_id)
    report = run_slice(
        job_id,
        storage=runtime.storage(),
        queue=runtime.remask_queue(),
        encoder=runtime.clip_encoder(),
        now=utcnow(),
        remaining_ms=lambda_context.get_remaining_time_in_millis,
        redelivered=int(record.attributes.approximate_receive_count) > 1,
    )
    if report.outcome == NO_JOB:
        metrics.add_metric(name="RemaskMessagesWithoutJob", unit=MetricUnit.Count, value=1)
        logger.warning("re-mask message dropped: its job was never stored, or is gone", extra={"job_id": job_id})
    metrics.add_metric(name="RemaskFramesMasked", unit=MetricUnit.Count, value=report.masked)
    metrics.add_metric(name="RemaskFramesSkipped", unit=MetricUnit.Count, value=report.skipped)
    metrics.add_metric(name="RemaskFramesFailed", unit=MetricUnit.Count, value=report.failed)
    logger.info("re-mask slice finished", extra=asdict(report))


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    runtime.init()
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
