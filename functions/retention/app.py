"""Retention job (SPEC §5, §9): hourly, deletes frames past each contract's retention period and receipts it."""

from dataclasses import asdict
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from doti import runtime
from doti.clock import utcnow
from doti.jobs.outcome import record_outcome
from doti.jobs.retention import run_retention
from doti.observability import logger, metrics, tracer
from doti.subjects.deletion import run_request_deletions


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(_event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    runtime.init()
    report = run_retention(storage=runtime.storage(), now=utcnow(), remaining_ms=context.get_remaining_time_in_millis)
    metrics.add_metric(name="RetentionCamerasExamined", unit=MetricUnit.Count, value=report.cameras)
    metrics.add_metric(name="RetentionFramesDeleted", unit=MetricUnit.Count, value=report.frames_deleted)
    metrics.add_metric(name="RetentionNotesDeleted", unit=MetricUnit.Count, value=report.notes_deleted)
    metrics.add_metric(name="RetentionBytesFreed", unit=MetricUnit.Bytes, value=report.bytes_freed)
    metrics.add_metric(name="RetentionErrors", unit=MetricUnit.Count, value=report.objects_failed)
    found = report.reconciled
    metrics.add_metric(name="RetentionItemsExamined", unit=MetricUnit.Count, value=found.items_examined)
    metrics.add_metric(name="RetentionKeysListed", unit=MetricUnit.Count, value=found.keys_listed)
    metrics.add_metric(name="RetentionOrphansDeleted", unit=MetricUnit.Count, value=found.orphans_deleted)
    metrics.add_metric(name="RetentionOrphansHeld", unit=MetricUnit.Count, value=found.orphans_held)
    metrics.add_metric(name="RetentionItemsWithoutObjects", unit=MetricUnit.Count, value=found.items_without_objects)
    metrics.add_metric(name="RetentionTagMismatched", unit=MetricUnit.Count, value=found.tag_mismatched)
    # the footage that answers to requests from people filmed asked to delete (doti.subjects.deletion)
    deleted = run_request_deletions(
        storage=runtime.storage(), now=utcnow(), remaining_ms=context.get_remaining_time_in_millis
    )
    metrics.add_metric(name="RequestDeletionsDone", unit=MetricUnit.Count, value=deleted.requests_done)
    metrics.add_metric(name="RequestFramesDeleted", unit=MetricUnit.Count, value=deleted.frames_deleted)
    record_outcome(metrics, failed=report.objects_failed + deleted.failed)
    logger.info(
        "retention run finished",
        extra={**asdict(report), "reconciled": asdict(found), "request_deletions": asdict(deleted)},
    )
    return {**asdict(report), "request_deletions": asdict(deleted)}
