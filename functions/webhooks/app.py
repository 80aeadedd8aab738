"""Webhooks function (issue 16): takes events off the events queue and fans each out to the contract's endpoints (one
delivery message each) and to the owners' e-mail alerts; takes delivery messages off the deliveries queue and makes
one attempt each, scheduling the retry or giving up (doti.webhooks.dispatch).

A record that raises goes back to its queue and, after its queue's receives, to its dead-letter queue; a failed
attempt is not a raise: it is logged and retried on its own schedule."""

import json
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from doti import runtime
from doti.clock import utcnow
from doti.observability import logger, metrics, tracer
from doti.webhooks import alerts, dispatch
from doti.webhooks.events import from_message

processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


def record_handler(record: SQSRecord) -> None:
    message = json.loads(record.body)
    if "webhook_id" in message:  # a delivery message (the deliveries queue)
        logger.append_keys(webhook_id=message["webhook_id"], event_id=message["event"]["id"])
        outcome = dispatch.deliver(message, deliverer=runtime.deliverer(), now=utcnow())
        metrics.add_metric(name=f"WebhookDeliveries_{outcome}", unit=MetricUnit.Count, value=1)
        return
    event = from_message(message)  # an event (the events queue)
    logger.append_keys(event_id=event.event_id, event_type=event.type)
    queued = dispatch.fan_out(event, queue=runtime.deliveries())
    metrics.add_metric(name="WebhookDeliveriesQueued", unit=MetricUnit.Count, value=queued)
    # after the fan-out: a mail is marked sent before it goes, so a retry of this record never mails twice
    mailed = alerts.send_mail_alerts(event, mailer=runtime.mailer(), now=utcnow())
    metrics.add_metric(name="AlertMailsSent", unit=MetricUnit.Count, value=mailed)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    runtime.init()
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
