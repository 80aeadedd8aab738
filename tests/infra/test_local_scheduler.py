"""The local scheduler fails as Lambda does (issue 14: jobs never fail silently): a run that raises is retried the
template's number of times, then its event lands in the job's dead-letter queue, here moto's.

The functions are stand-ins that count their calls and raise on demand: what is under test is the scheduler's
retry and dead-letter path, not a job (the jobs' own failures are tested with their storage failing, tests/faults).
"""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from infra.provision import Provisioned
from infra.scheduler import Scheduler
from infra.template import load_template, schedules

SCHEDULES = {s.function: s for s in schedules(load_template())}


class _Job:
    def __init__(self, failures: int):
        self.failures = failures
        self.calls: list[dict[str, Any]] = []

    def invoke(self, event: dict[str, Any]) -> dict[str, Any]:
        self.calls.append(event)
        if len(self.calls) <= self.failures:
            raise RuntimeError(f"storage unavailable (call {len(self.calls)})")
        return {"examined": 0}


def _drain(sqs: Any, url: str) -> list[dict[str, Any]]:
    found = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"])
    return found.get("Messages", [])


@pytest.fixture
def sqs(aws: Provisioned) -> Any:
    return boto3.client("sqs", region_name="us-east-1")


def _scheduler(job: _Job, function: str, aws: Provisioned, sqs: Any) -> Scheduler:
    return Scheduler(
        [SCHEDULES[function]], {function: job}, region="us-east-1", account="123456789012", sqs=sqs, queue_urls=aws.refs
    )


@pytest.mark.parametrize("function", sorted(SCHEDULES))
def test_given_the_template_then_each_job_retries_and_names_its_dead_letter_queue(function: str):
    schedule = SCHEDULES[function]
    assert schedule.retries == 2
    assert schedule.dead_letter_queue == "JobsDeadLetterQueue"


@pytest.mark.isolated
def test_given_a_run_that_keeps_failing_when_fired_then_it_is_retried_and_its_event_is_dead_lettered(aws, sqs):
    # Given the suspension job failing on every call
    job = _Job(failures=99)

    # When the schedule fires once
    result = _scheduler(job, "SuspensionFunction", aws, sqs).fire(SCHEDULES["SuspensionFunction"])

    # Then it ran once and was retried twice, with the same event, and that event waits in the dead-letter queue
    assert result is None
    assert len(job.calls) == 3
    assert all(call == job.calls[0] for call in job.calls)
    (message,) = _drain(sqs, aws.refs["JobsDeadLetterQueue"])
    assert json.loads(message["Body"]) == job.calls[0]
    attributes = message["MessageAttributes"]
    assert attributes["ErrorMessage"]["StringValue"] == "RuntimeError: storage unavailable (call 3)"
    assert attributes["RequestID"]["StringValue"]


@pytest.mark.isolated
def test_given_a_run_that_fails_once_when_fired_then_the_retry_succeeds_and_nothing_is_dead_lettered(aws, sqs):
    job = _Job(failures=1)

    result = _scheduler(job, "RetentionFunction", aws, sqs).fire(SCHEDULES["RetentionFunction"])

    assert result == {"examined": 0}
    assert len(job.calls) == 2
    assert _drain(sqs, aws.refs["JobsDeadLetterQueue"]) == []


@pytest.mark.isolated
def test_given_a_run_that_succeeds_then_it_runs_once(aws, sqs):
    job = _Job(failures=0)

    assert _scheduler(job, "TerminationFunction", aws, sqs).fire(SCHEDULES["TerminationFunction"]) == {"examined": 0}
    assert len(job.calls) == 1
    assert _drain(sqs, aws.refs["JobsDeadLetterQueue"]) == []
