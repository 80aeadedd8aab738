"""The exporter under a single fault at any AWS call (issue 11, defects 3 and 4), with SQS's real redelivery.

An export requested through the viewer is delivered to the exporter by the local stack's queue pump (the event
source mapping: a receive, the handler, a delete of what succeeded; moto moves a message to the dead-letter queue
after maxReceiveCount receives). One delivery is broken at one call; then the pump delivers until the queue is empty,
and between deliveries the queue's visibility timeout passes (a claim the broken run left is that old by then).

Whatever broke, the export ends ready with its archive, or failed visibly (never queued or building with its message
gone), its "export.requested" and "export.ready" entries are in the chain once each, and no delivery acknowledged a
message whose export had not ended.

The request itself is broken the same way: the customer, answered with an error or not at all, asks again for the
same window, and gets the one export there is, built once.
"""

from __future__ import annotations

import itertools
import threading
from datetime import datetime, timedelta
from typing import Any

import boto3
import pytest

from doti.clock import utcnow
from doti.oversight import audit
from doti.store.models import ExportModel
from doti.viewing import exports
from functions.exporter import app as exporter
from infra.gateway import LocalFunction
from infra.provision import Provisioned
from infra.queues import Delivery, QueuePump, queue_sources
from infra.template import functions
from tests.faults.inject import MODES, Call, Plan
from tests.faults.points import sweep
from tests.support import body_of
from tests.support.exports import read_archive, request_export, requested
from tests.support.processor import counted_codes
from tests.support.viewer import ingest_frame, owner_token

# Isolated (moto emptied before each test): the export and incoming queues are drained whole.
pytestmark = pytest.mark.isolated

REGION = "us-east-1"
ENDED = ("ready", "failed")
READY = Call("dynamodb", "TransactWriteItems")  # the export ready, with its export.ready entry


def sqs() -> Any:
    return boto3.client("sqs", region_name=REGION)


def deliver(aws: Provisioned, template: dict) -> Delivery:
    """One delivery by the local stack's pump for the exporter (a new one each time, so each makes the same calls),
    with no visibility timeout: a message comes back at once (the test moves the export's clock instead, see
    `visibility_timeout_passes`)."""
    spec = functions(template)["ExporterFunction"]
    (source,) = [s for s in queue_sources(template) if s.function == "ExporterFunction"]
    local = LocalFunction(spec, exporter.lambda_handler, threading.Lock())
    pump = QueuePump(
        [source], {"ExporterFunction": local}, aws.refs, sqs(), region=REGION, visibility_timeout=0, wait_seconds=0
    )
    return pump.deliver(source)


def visibility_timeout_passes(export_id: str, template: dict) -> None:
    """A message comes back after the queue's visibility timeout: a claim taken before it is that much older."""
    seconds = int(template["Resources"]["ExportQueue"]["Properties"]["VisibilityTimeout"])
    item = ExportModel.get(export_id, consistent_read=True)
    if item.status == "building":
        item.update(actions=[ExportModel.updated_at.set(item.updated_at - timedelta(seconds=seconds))])


def status_of(export_id: str) -> str:
    return ExportModel.get(export_id, consistent_read=True).status


def waiting(aws: Provisioned, queue: str) -> int:
    attributes = sqs().get_queue_attributes(
        QueueUrl=aws.refs[queue],
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])


def drain(aws: Provisioned, queue: str) -> int:
    """Remove what the queue holds (the dead letters of one case must not meet the next); how many there were."""
    count = 0
    while batch := sqs().receive_message(QueueUrl=aws.refs[queue], MaxNumberOfMessages=10).get("Messages"):
        for message in batch:
            sqs().delete_message(QueueUrl=aws.refs[queue], ReceiptHandle=message["ReceiptHandle"])
        count += len(batch)
    return count


def entries_of(contract_id: str, export_id: str) -> list[str]:
    entries, _ = audit.entries(contract_id, limit=100)
    return [e.action for e in reversed(entries) if e.subject == export_id]


def max_receives(template: dict) -> int:
    return int(template["Resources"]["ExportQueue"]["Properties"]["RedrivePolicy"]["maxReceiveCount"])


def test_the_exporters_last_attempt_is_the_queues_last_receive(template):
    # The exporter fails an export on the message's last receive: the one after which the queue gives it up
    assert max_receives(template) == exports.MAX_RECEIVES


@pytest.mark.parametrize("mode", MODES)
def test_an_export_under_any_single_fault_ends_ready_or_failed_and_audited_once(aws, world, template, mode):
    # Given a camera with a frame, and its owner, who asks for an export of a window around it (a new window for
    # each fault: the same window asked for again is the export made before, ready, whose delivery breaks nothing)
    base_time = utcnow().replace(microsecond=0) - timedelta(hours=1)
    ingest_frame(world, base_time)
    token = owner_token(world)
    windows = itertools.count(1)

    def queued_export() -> str:
        start = base_time - timedelta(seconds=next(windows))
        return requested(token, world.camera_id, start, base_time + timedelta(minutes=1))

    def check(export_id: str, plan: Plan, outcome: Any) -> None:
        # (the broken delivery acknowledged its message only if the export had ended)
        if not isinstance(outcome, BaseException) and outcome.deleted:
            assert status_of(export_id) in ENDED, (plan, outcome)
        # When SQS delivers the message again, after each visibility timeout, until the queue is empty
        for _ in range(max_receives(template) + 1):
            if not waiting(aws, "ExportQueue"):
                break
            visibility_timeout_passes(export_id, template)
            status_before = status_of(export_id)
            delivery = deliver(aws, template)
            assert not delivery.deleted or status_of(export_id) in ENDED, (plan, status_before, delivery)
        # Then the queue is empty, and the export has ended: ready with its archive, or failed for all to see
        assert waiting(aws, "ExportQueue") == 0, plan
        item = ExportModel.get(export_id, consistent_read=True)
        assert item.status in ENDED, (plan, item.status)
        actions = entries_of(world.contract_id, export_id)
        if item.status == "ready":
            assert actions == ["export.requested", "export.ready"], (plan, actions)
            assert "export.json" in read_archive(aws, item.object_key).namelist()
        else:
            assert actions == ["export.requested", "export.failed"], (plan, actions, item.error_code)
        assert audit.verify_chain(world.contract_id).intact
        drain(aws, "ExportDeadLetterQueue")

    # When one delivery of its message is broken at each sampled call in turn, and always at the claim (the first
    # write: defect 3) and at the transaction that ends the export ready with its entry (defect 4)
    sweep(mode, queued_export, lambda _export_id: deliver(aws, template), check, keep=(READY,))


@pytest.mark.parametrize("mode", MODES)
def test_an_export_requested_under_any_single_fault_and_asked_again_is_one_export_built_once(
    aws, world, template, mode
):
    # Given a camera with a frame, and its owner, who asks for a window around it (a new window for each fault)
    base_time = utcnow().replace(microsecond=0) - timedelta(hours=1)
    ingest_frame(world, base_time)
    token = owner_token(world)
    windows = itertools.count(1)

    def a_window() -> tuple[datetime, datetime]:
        return base_time - timedelta(seconds=next(windows)), base_time + timedelta(minutes=1)

    def ask(window: tuple[datetime, datetime]) -> dict[str, Any]:
        return request_export(token, world.camera_id, *window)

    def check(window: tuple[datetime, datetime], plan: Plan, outcome: Any) -> None:
        # When the customer, answered with an error or not at all, asks again for the same window
        answer = outcome
        if not isinstance(outcome, dict) or outcome["statusCode"] != 202:
            answer = ask(window)
        assert answer["statusCode"] == 202, (plan, answer["body"])
        # and SQS delivers what the queue holds to the exporter
        for _ in range(2 * max_receives(template)):
            if not waiting(aws, "ExportQueue"):
                break
            deliver(aws, template)
        # Then there is one export of the window, the one answered, built once, each entry once
        of_window = [e for e in exports_of(world.contract_id) if e.window_start == window[0]]
        assert [e.export_id for e in of_window] == [body_of(answer)["export_id"]], (plan, outcome)
        (export,) = of_window
        assert export.status == "ready", (plan, outcome, export.status, export.error_code)
        assert entries_of(world.contract_id, export.export_id) == ["export.requested", "export.ready"], plan
        assert (waiting(aws, "ExportQueue"), drain(aws, "ExportDeadLetterQueue")) == (0, 0), plan
        assert audit.verify_chain(world.contract_id).intact

    # When the request is broken at each sampled call in turn
    sweep(mode, a_window, ask, check)


def exports_of(contract_id: str) -> list[ExportModel]:
    return list(ExportModel.scan(ExportModel.contract_id == contract_id, consistent_read=True))


def test_an_export_that_fails_on_every_receive_is_failed_when_its_message_goes_to_the_dead_letters(
    aws,
    world,
    template,
    aws_faults,
    capsys,
):
    # Given an export whose archive S3 refuses to start on every delivery of its message
    base_time = utcnow().replace(microsecond=0) - timedelta(hours=1)
    ingest_frame(world, base_time)
    export_id = requested(owner_token(world), world.camera_id, base_time, base_time + timedelta(minutes=1))
    for _ in range(max_receives(template)):
        aws_faults.fail("s3", "CreateMultipartUpload")

    # When SQS delivers the message until the queue gives it up
    deliveries = [deliver(aws, template) for _ in range(max_receives(template) + 1)]

    # Then each receive handed the message back unfinished, and said so in the exporter's metrics
    assert [d.failed for d in deliveries] == [1] * max_receives(template) + [0]
    assert counted_codes(capsys.readouterr().out, "ExportsUnfinished") == [None] * max_receives(template)
    # and the last one failed the export for the customer to see, with its audit entry, before the message went
    # to the dead-letter queue: never left queued or building behind a dead letter
    item = ExportModel.get(export_id, consistent_read=True)
    assert (item.status, item.error_code) == ("failed", "storage_unavailable")
    assert entries_of(world.contract_id, export_id) == ["export.requested", "export.failed"]
    assert waiting(aws, "ExportQueue") == 0
    assert drain(aws, "ExportDeadLetterQueue") == 1
