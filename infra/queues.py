"""Delivers the template's SQS event sources locally: moto stores queues and messages but never invokes a function.

For every function event of Type SQS, a thread long-polls the queue on the embedded AWS and invokes the function's
handler with the event Lambda's event source mapping would send: up to BatchSize records. As Lambda does, it deletes
the records that succeeded (all of them, or all but the batchItemFailures when the function reports partial
failures) and leaves the rest, which return after the visibility timeout; the queue's own redrive policy (which moto
applies on receive) moves a message to its dead-letter queue after maxReceiveCount receives.

Locally the visibility timeout of each receive may be shortened (`visibility_timeout`), so a failing message is
retried, and reaches its dead-letter queue, in seconds rather than the deployed queue's minutes.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from infra.gateway import LocalFunction

log = logging.getLogger("doti.local.queues")
SQS_MAX_BATCH = 10  # ReceiveMessage returns at most 10 messages, DeleteMessageBatch takes at most 10
DEFAULT_BATCH_SIZE = 10  # Lambda's default for standard queues


@dataclass(frozen=True)
class QueueSource:
    function: str
    queue: str  # logical id of the AWS::SQS::Queue
    batch_size: int
    report_failures: bool  # FunctionResponseTypes has ReportBatchItemFailures


@dataclass(frozen=True)
class Delivery:
    received: int
    deleted: int
    failed: int


def queue_sources(template: Mapping[str, Any]) -> list[QueueSource]:
    """Every SQS event source of the template's functions, in template order."""
    found = []
    for name, resource in template["Resources"].items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        for event in resource["Properties"].get("Events", {}).values():
            if event["Type"] != "SQS":
                continue
            props = event["Properties"]
            queue = props["Queue"]
            if not (isinstance(queue, dict) and "Fn::GetAtt" in queue and queue["Fn::GetAtt"][1] == "Arn"):
                raise ValueError(f"{name}: an SQS event's Queue must be !GetAtt <queue>.Arn locally, not {queue!r}")
            found.append(
                QueueSource(
                    function=name,
                    queue=queue["Fn::GetAtt"][0],
                    batch_size=int(props.get("BatchSize", DEFAULT_BATCH_SIZE)),
                    report_failures="ReportBatchItemFailures" in props.get("FunctionResponseTypes", []),
                )
            )
    return found


def sqs_event(messages: list[dict[str, Any]], queue_arn: str, region: str) -> dict[str, Any]:
    """The event an SQS event source mapping sends a Lambda function."""
    return {
        "Records": [
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "attributes": message.get("Attributes", {}),
                "messageAttributes": message.get("MessageAttributes", {}),
                "md5OfBody": message["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": region,
            }
            for message in messages
        ]
    }


def failed_ids(response: Any, message_ids: list[str], report_failures: bool) -> set[str]:
    """The messages Lambda would leave on the queue after this response.

    Without ReportBatchItemFailures a returning invocation succeeds for the whole batch. With it, the listed
    items fail; a response Lambda cannot read (an id not in the batch, an empty id) fails the whole batch.
    """
    if not report_failures or not isinstance(response, dict):
        return set()
    failures = response.get("batchItemFailures")
    if not failures:
        return set()
    if not isinstance(failures, list):
        return set(message_ids)
    ids = {item.get("itemIdentifier") if isinstance(item, dict) else None for item in failures}
    return ids if ids <= set(message_ids) else set(message_ids)


class QueuePump:
    """Polls each SQS event source's queue on a thread and invokes its function, as Lambda's poller does."""

    def __init__(
        self,
        sources: Iterable[QueueSource],
        functions: Mapping[str, LocalFunction],
        queue_urls: Mapping[str, str],
        sqs: Any,
        *,
        region: str,
        visibility_timeout: int | None = None,
        wait_seconds: int = 1,
    ):
        self._sources = list(sources)
        self._functions = functions
        self._urls = queue_urls
        self._sqs = sqs
        self._region = region
        self._visibility = visibility_timeout  # None: each queue's own VisibilityTimeout
        self._wait = wait_seconds  # long-poll wait; short, so stop() returns promptly
        self._arns: dict[str, str] = {}
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def _arn(self, queue: str) -> str:
        if queue not in self._arns:
            attributes = self._sqs.get_queue_attributes(QueueUrl=self._urls[queue], AttributeNames=["QueueArn"])
            self._arns[queue] = attributes["Attributes"]["QueueArn"]
        return self._arns[queue]

    def _receive(self, source: QueueSource) -> list[dict[str, Any]]:
        """One long poll for up to BatchSize messages (at most 10: a BatchSize above 10, which needs a batching
        window on Lambda, arrives here in batches of 10)."""
        request: dict[str, Any] = {
            "QueueUrl": self._urls[source.queue],
            "MaxNumberOfMessages": min(SQS_MAX_BATCH, source.batch_size),
            "WaitTimeSeconds": self._wait,
            "MessageSystemAttributeNames": ["All"],
            "MessageAttributeNames": ["All"],
        }
        if self._visibility is not None:
            request["VisibilityTimeout"] = self._visibility
        return self._sqs.receive_message(**request).get("Messages", [])

    def deliver(self, source: QueueSource) -> Delivery:
        """One receive and one invocation: what Lambda's poller does each time messages are waiting."""
        messages = self._receive(source)
        if not messages:
            return Delivery(0, 0, 0)
        ids = [message["MessageId"] for message in messages]
        event = sqs_event(messages, self._arn(source.queue), self._region)
        try:
            response = self._functions[source.function].invoke(event)
        except Exception:  # Lambda treats an invocation error as the whole batch failing
            log.exception("%s failed on a batch of %d from %s", source.function, len(messages), source.queue)
            failed = set(ids)
        else:
            failed = failed_ids(response, ids, source.report_failures)
        done = [
            {"Id": str(index), "ReceiptHandle": message["ReceiptHandle"]}
            for index, message in enumerate(messages)
            if message["MessageId"] not in failed
        ]
        url = self._urls[source.queue]
        for start in range(0, len(done), SQS_MAX_BATCH):
            self._sqs.delete_message_batch(QueueUrl=url, Entries=done[start : start + SQS_MAX_BATCH])
        if failed:
            log.warning("%s: %d of %d messages from %s failed", source.function, len(failed), len(ids), source.queue)
        return Delivery(received=len(ids), deleted=len(done), failed=len(failed))

    def _loop(self, source: QueueSource) -> None:
        while not self._stop.is_set():
            try:
                self.deliver(source)
            except Exception:  # the embedded AWS went away or hiccupped: keep polling, as Lambda's poller does
                log.exception("polling %s for %s failed", source.queue, source.function)
                self._stop.wait(1.0)

    def start(self) -> None:
        for source in self._sources:
            thread = threading.Thread(
                target=self._loop, args=(source,), name=f"queue-{source.function}-{source.queue}", daemon=True
            )
            thread.start()
            self._threads.append(thread)
        for line in self.describe():
            log.info("delivering %s", line)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=self._wait + 5)

    def describe(self) -> list[str]:
        visibility = f"visibility {self._visibility}s" if self._visibility is not None else "queue's visibility"
        return [
            f"{s.queue} -> {s.function} (batches of {s.batch_size}, {visibility}"
            + (", partial failures)" if s.report_failures else ")")
            for s in self._sources
        ]
