"""infra.queues: the local stack's SQS event sources, delivered as Lambda's event source mapping delivers them."""

from __future__ import annotations

import threading
from typing import Any

import boto3
import pytest

from infra.gateway import LocalFunction
from infra.queues import QueuePump, QueueSource, failed_ids, queue_sources
from infra.template import ROOT, FunctionSpec

# Isolated (moto emptied before each test): every test pumps the same queue and counts what waits in it.
pytestmark = pytest.mark.isolated

REGION = "us-east-1"


def local_function(handler) -> LocalFunction:
    spec = FunctionSpec("FakeFunction", ROOT / "functions", "app.lambda_handler", 60, 128, ())
    return LocalFunction(spec, handler, threading.Lock())


@pytest.fixture
def queue(aws) -> dict[str, str]:
    """A queue of its own (no event source of the template polls it), with three messages waiting."""
    sqs = boto3.client("sqs", region_name=REGION)
    url = sqs.create_queue(QueueName="doti-test-pumped")["QueueUrl"]
    for body in ("one", "two", "three"):
        sqs.send_message(QueueUrl=url, MessageBody=body)
    return {"Pumped": url}


def pump_with(handler, queue: dict[str, str], *, report_failures: bool = True) -> tuple[QueuePump, QueueSource]:
    source = QueueSource("FakeFunction", "Pumped", batch_size=10, report_failures=report_failures)
    sqs = boto3.client("sqs", region_name=REGION)
    pump = QueuePump([source], {"FakeFunction": local_function(handler)}, queue, sqs, region=REGION, wait_seconds=0)
    return pump, source


def waiting(queue: dict[str, str]) -> int:
    sqs = boto3.client("sqs", region_name=REGION)
    attributes = sqs.get_queue_attributes(
        QueueUrl=queue["Pumped"],
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])


def test_every_sqs_event_of_the_template_is_a_source(template):
    expected = {
        (name, event["Properties"]["Queue"]["Fn::GetAtt"][0])
        for name, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Serverless::Function"
        for event in resource["Properties"].get("Events", {}).values()
        if event["Type"] == "SQS"
    }

    sources = queue_sources(template)

    assert {(s.function, s.queue) for s in sources} == expected
    incoming = next(s for s in sources if s.queue == "IncomingQueue")
    assert (incoming.function, incoming.batch_size, incoming.report_failures) == ("ProcessorFunction", 10, True)


def test_the_function_gets_an_sqs_event_and_only_its_reported_failures_stay(queue):
    # Given a function that fails the message "two"
    seen: list[dict[str, Any]] = []

    def handler(event: dict[str, Any], _context: Any) -> dict[str, Any]:
        seen.append(event)
        failed = [r["messageId"] for r in event["Records"] if r["body"] == "two"]
        return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in failed]}

    pump, source = pump_with(handler, queue)

    # When the pump delivers
    delivery = pump.deliver(source)

    # Then the function saw an SQS event of the three messages, as Lambda sends it
    (event,) = seen
    assert sorted(r["body"] for r in event["Records"]) == ["one", "three", "two"]
    record = event["Records"][0]
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"].endswith(":doti-test-pumped")
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    # And only the failed one is left on the queue
    assert (delivery.received, delivery.deleted, delivery.failed) == (3, 2, 1)
    assert waiting(queue) == 1


def test_an_invocation_error_leaves_the_whole_batch(queue):
    def handler(_event: dict[str, Any], _context: Any) -> dict[str, Any]:
        raise RuntimeError("crashed")

    pump, source = pump_with(handler, queue)

    delivery = pump.deliver(source)

    assert (delivery.received, delivery.deleted, delivery.failed) == (3, 0, 3)
    assert waiting(queue) == 3


def test_without_reported_failures_a_returning_invocation_deletes_the_batch(queue):
    pump, source = pump_with(
        lambda _event, _context: {"batchItemFailures": [{"itemIdentifier": "x"}]}, queue, report_failures=False
    )

    delivery = pump.deliver(source)

    assert (delivery.deleted, delivery.failed) == (3, 0)
    assert waiting(queue) == 0


@pytest.mark.parametrize(
    ("response", "failed"),
    [
        (None, set()),
        ({}, set()),
        ({"batchItemFailures": []}, set()),
        ({"batchItemFailures": [{"itemIdentifier": "a"}]}, {"a"}),
        ({"batchItemFailures": [{"itemIdentifier": "zzz"}]}, {"a", "b"}),  # not in the batch: all fail
        ({"batchItemFailures": [{"itemIdentifier": ""}]}, {"a", "b"}),
        ({"batchItemFailures": "a"}, {"a", "b"}),
    ],
)
def test_failed_ids_read_responses_as_lambda_does(response, failed):
    assert failed_ids(response, ["a", "b"], report_failures=True) == failed


def test_the_pump_runs_on_threads_until_stopped(queue):
    bodies: list[str] = []
    done = threading.Event()

    def handler(event: dict[str, Any], _context: Any) -> None:
        bodies.extend(r["body"] for r in event["Records"])
        if len(bodies) >= 3:
            done.set()

    pump, _ = pump_with(handler, queue, report_failures=False)

    pump.start()
    try:
        assert done.wait(10)
    finally:
        pump.stop()

    assert sorted(bodies) == ["one", "three", "two"]
    assert waiting(queue) == 0
    assert pump.describe() == ["Pumped -> FakeFunction (batches of 10, queue's visibility)"]
