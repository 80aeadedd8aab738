"""Health job (issue 16 §1): every minute, marks offline the cameras whose health item is due and that sent nothing
within their expected interval, telling camera.offline (doti.jobs.health)."""

from dataclasses import asdict
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from doti import runtime
from doti.clock import utcnow
from doti.contracts import camera_health
from doti.jobs.health import run_health
from doti.jobs.outcome import record_outcome
from doti.observability import logger, metrics, tracer


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(_event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    runtime.init()
    report = run_health(now=utcnow(), events=runtime.events(), remaining_ms=context.get_remaining_time_in_millis)
    metrics.add_metric(name="HealthItemsExamined", unit=MetricUnit.Count, value=report.examined)
    metrics.add_metric(
        name="CamerasWentOffline", unit=MetricUnit.Count, value=report.outcomes.get(camera_health.WENT_OFFLINE, 0)
    )
    metrics.add_metric(name="HealthItemsFailed", unit=MetricUnit.Count, value=report.failed)
    record_outcome(metrics, failed=report.failed)
    logger.info("health run finished", extra=asdict(report))
    return asdict(report)
