"""The outcome of a scheduled run, as one metric the template's <Job>NotSucceededAlarm watches.

A run that finishes with nothing failed emits JobSucceeded = 1; one that finishes with failures emits 0. A run that
crashes, times out or never starts emits nothing, so the alarm treats missing data as breaching: any of these, for
long enough, is "the job did not succeed in its period".
"""

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit

JOB_SUCCEEDED = "JobSucceeded"


def record_outcome(metrics: Metrics, *, failed: int) -> None:
    metrics.add_metric(name=JOB_SUCCEEDED, unit=MetricUnit.Count, value=0 if failed else 1)
