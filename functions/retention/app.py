"""Retention job (SPEC §5, §9): hourly, deletes frames past each contract's retention period."""

from dataclasses import asdict
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from doti import runtime
from doti.clock import utcnow
from doti.observability import logger, metrics, tracer
from doti.retention import run_retention
from doti.settings import get_settings


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(_event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    get_settings()
    report = run_retention(storage=runtime.storage(), now=utcnow(), remaining_ms=context.get_remaining_time_in_millis)
    metrics.add_metric(name="RetentionCamerasExamined", unit=MetricUnit.Count, value=report.cameras)
    metrics.add_metric(name="RetentionFramesDeleted", unit=MetricUnit.Count, value=report.frames_deleted)
    metrics.add_metric(name="RetentionBytesFreed", unit=MetricUnit.Bytes, value=report.bytes_freed)
    metrics.add_metric(name="RetentionErrors", unit=MetricUnit.Count, value=report.objects_failed)
    logger.info("retention run finished", extra=asdict(report))
    return asdict(report)
