"""Termination job (SPEC §9): hourly, ends contracts whose cancellation took effect, revokes ended contracts'
devices, sessions and share links, and purges contracts past the grace period with a deletion certificate."""

from dataclasses import asdict
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from doti import runtime
from doti.clock import utcnow
from doti.jobs.outcome import record_outcome
from doti.jobs.termination import run_termination
from doti.observability import logger, metrics, tracer


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(_event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings = runtime.init()
    report = run_termination(
        storage=runtime.storage(),
        mailer=runtime.receipt_mailer(),  # the only mail the job sends: the deletion receipt, at most once
        now=utcnow(),
        remaining_ms=context.get_remaining_time_in_millis,
        purge_grace_days=settings.purge_grace_days,
    )
    metrics.add_metric(name="TerminationItemsExamined", unit=MetricUnit.Count, value=report.examined)
    metrics.add_metric(name="TerminationItemsChanged", unit=MetricUnit.Count, value=report.changed)
    metrics.add_metric(name="TerminationItemsFailed", unit=MetricUnit.Count, value=report.failed)
    metrics.add_metric(name="TerminationContractsTerminated", unit=MetricUnit.Count, value=report.terminated)
    metrics.add_metric(name="TerminationContractsPurged", unit=MetricUnit.Count, value=report.purged)
    metrics.add_metric(name="TerminationPurgesIncomplete", unit=MetricUnit.Count, value=report.purges_incomplete)
    metrics.add_metric(name="TerminationReceiptsUnconfirmed", unit=MetricUnit.Count, value=report.receipts_unconfirmed)
    metrics.add_metric(name="TerminationItemsDeleted", unit=MetricUnit.Count, value=report.items_deleted)
    metrics.add_metric(name="TerminationBytesFreed", unit=MetricUnit.Bytes, value=report.bytes_freed)
    record_outcome(metrics, failed=report.failed)
    logger.info("termination run finished", extra=asdict(report))
    return asdict(report)
