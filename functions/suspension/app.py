"""Suspension job (SPEC §9): every 5 minutes, applies and lifts planned suspensions, starts pending contracts,
suspends contracts whose security-service contract ended and flags contracts idle for three months."""

from dataclasses import asdict
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from doti import runtime
from doti.clock import utcnow
from doti.jobs.outcome import record_outcome
from doti.jobs.suspension import run_suspension
from doti.observability import logger, metrics, tracer


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(_event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    runtime.init()
    report = run_suspension(
        now=utcnow(),
        mailer=runtime.mailer(),
        events=runtime.events(),
        remaining_ms=context.get_remaining_time_in_millis,
    )
    metrics.add_metric(name="SuspensionItemsExamined", unit=MetricUnit.Count, value=report.examined)
    metrics.add_metric(name="SuspensionItemsChanged", unit=MetricUnit.Count, value=report.changed)
    metrics.add_metric(name="SuspensionItemsFailed", unit=MetricUnit.Count, value=report.failed)
    metrics.add_metric(name="SuspensionNoticesUnconfirmed", unit=MetricUnit.Count, value=report.notices_unconfirmed)
    record_outcome(metrics, failed=report.failed)
    logger.info("suspension run finished", extra=asdict(report))
    return asdict(report)
