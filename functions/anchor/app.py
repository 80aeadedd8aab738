"""Audit anchor job (issue 14 §4): daily, writes a digest of every audit chain's head to the Object Lock bucket."""

from dataclasses import asdict
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from doti import runtime
from doti.clock import utcnow
from doti.jobs.outcome import record_outcome
from doti.observability import logger, metrics, tracer
from doti.oversight.anchor import anchor


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(_event: dict[str, Any], _context: LambdaContext) -> dict[str, Any]:
    runtime.init()
    run = anchor(runtime.digest_store(), now=utcnow())
    metrics.add_metric(name="AuditAnchorChains", unit=MetricUnit.Count, value=run.chains)
    metrics.add_metric(name="AuditAnchorDigestsWritten", unit=MetricUnit.Count, value=0 if run.number is None else 1)
    record_outcome(metrics, failed=0)  # a run that could not write its digest raised instead
    logger.info("audit anchor run finished", extra=asdict(run))
    return asdict(run)
