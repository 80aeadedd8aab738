"""The harness's retries and state: what the sweep's verdicts rest on."""

from __future__ import annotations

import json
from datetime import timedelta

from doti.store.aws import sqs_client
from doti.store.models import ContractModel
from functions.ingest import app as ingest
from tests.faults.harness import REGION, Stack
from tests.faults.scenarios import new_tenant


def test_a_message_that_keeps_failing_ends_in_its_dead_letter_queue_after_max_receive_count(stack: Stack):
    # Given a message the exporter fails on every time (an export that does not parse)
    stack.wipe()
    queue = stack.queues["ExportQueue"]
    sqs_client(REGION).send_message(QueueUrl=queue.url, MessageBody=json.dumps({"export_id": 7}))

    # When Lambda's event source mapping delivers it until the queue is empty
    invocations = stack.drain("ExportQueue")

    # Then it was tried maxReceiveCount times, a visibility timeout apart, and waits in the dead-letter queue
    assert invocations == queue.max_receives == 3
    assert stack.clock.offset == 3 * queue.visibility
    assert len(stack.dead_letters("ExportQueue")) == 1


def test_the_handlers_read_the_harness_clock(stack: Stack):
    stack.wipe()
    before = ingest.utcnow()
    stack.clock.advance(timedelta(days=31))
    assert ingest.utcnow() - before >= timedelta(days=31)


def test_a_wipe_leaves_no_tenant_and_the_clock_at_now(stack: Stack):
    # Given a tenant, and time moved on
    new_tenant(stack)
    stack.clock.advance(timedelta(hours=1))

    # When the stack is wiped / Then nothing of it is left
    stack.wipe()
    assert list(ContractModel.scan()) == []
    assert stack.clock.offset == timedelta(0)
