"""The fault suite's stack and the retries the real system runs around a fault.

One moto, in process, holds template.yaml's buckets, tables, queues and keys for the whole process: creating them
takes about 4 s, so a run does not create them. Between runs `Stack.wipe` empties what they hold (straight in moto's
backends, in a millisecond); each run then seeds a fresh tenant with tests.support.make_world. The wipe is what keeps
runs comparable: the scheduled jobs walk every contract and every due work item, so a tenant a faulted run left
half-purged would change the calls of every later run.

moto in-process is not thread-safe: every AWS call is serialised by the injector's lock (tests.faults.inject), which
this stack installs before anything runs, so a handler's worker threads (s3transfer's uploads) never interleave
inside moto. The harness's own calls (seeding, Lambda's SQS poller, the reads that check invariants) go through the
same lock, paused: they are neither counted nor broken.

The retries are those of the real system, with the code's clock (`doti.clock.utcnow`, as each handler module
imported it) moved forward as they would wait:
- a device resends the same signed request while it gets no answer, a 5xx or a 409, backing off 1, 2, 4 … 64 s
  (DEVICE_ATTEMPTS tries over 191 s: past the 2-minute stale window of a crashed request's claim, within the 300 s
  a signature is valid);
- a person (customer or staff) tries again after an error only when what they asked for is not there, as someone
  looking at the console would (PERSON_ATTEMPTS tries);
- Lambda's event source mapping redelivers a message its function did not acknowledge once the queue's visibility
  timeout has passed, until the queue's maxReceiveCount moves it to the dead-letter queue (moto applies the
  redrive policy on receive);
- a scheduled job simply runs again at its next scheduled time.
A `Crash` (the process died right after a call) is a cold start: settings, clients and caches are built again.
"""

from __future__ import annotations

import copy
import importlib
import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import ModuleType
from typing import Any

from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.parameters.base import DEFAULT_PROVIDERS
from moto import mock_aws

from doti import clock as doti_clock
from doti import runtime
from doti.ingest.clip_encoding import InProcessClipEncoder
from doti.observability import metrics
from doti.store.aws import boto3_session, sqs_client
from infra.moto_memory import lean_transactions, untracked_instances
from infra.provision import provision
from infra.queues import failed_ids, queue_sources, sqs_event
from infra.template import functions, load_template, schedules
from tests.faults.inject import INJECTOR, Crash
from tests.support.moto import wipe_backends

ACCOUNT, REGION = "123456789012", "us-east-1"
DEVICE_ATTEMPTS = 9  # backoff 1, 2, 4, 8, 16, 32, 64, 64 s between them: 191 s in all
DEVICE_BACKOFF_CAP = timedelta(seconds=64)
PERSON_ATTEMPTS = 3
PERSON_PAUSE = timedelta(seconds=10)
MAX_DELIVERIES = 40  # receives per drain: a message that keeps failing reaches its DLQ long before
PUBLIC_BASE_URL = "https://doti.test"

# As tests/conftest.py: fake credentials, no endpoint (moto in-process), no X-Ray.
ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_METRICS_NAMESPACE": "doti",
    "POWERTOOLS_SERVICE_NAME": "doti-test",
}


# the clock


class Clock:
    """The code's clock: real time plus an offset that only moves forward within a run."""

    def __init__(self) -> None:
        self._real = doti_clock.utcnow
        self.offset = timedelta(0)
        self._patched: list[tuple[ModuleType, str]] = []

    def now(self) -> datetime:
        return self._real() + self.offset

    def advance(self, by: timedelta) -> None:
        self.offset += by

    def reset(self) -> None:
        self.offset = timedelta(0)

    def install(self) -> None:
        """Every module that imported doti.clock.utcnow (handlers, routes, tests.support) reads this clock instead;
        the handler modules are imported first, so none is missed."""
        for module in list(sys.modules.values()):
            if getattr(module, "utcnow", None) is self._real:
                module.utcnow = self.now  # type: ignore[attr-defined]
                self._patched.append((module, "utcnow"))

    def uninstall(self) -> None:
        for module, name in self._patched:
            setattr(module, name, self._real)
        self._patched.clear()


# answers


@dataclass(frozen=True)
class Answer:
    """What a client got: a status and body, or 502 with `died` when the function crashed or raised (API Gateway
    answers 502 when the Lambda fails)."""

    status: int
    body: Any = None
    died: bool = False
    headers: dict[str, str] | None = None  # the first value of each header (a redirect's Location)

    @property
    def retryable(self) -> bool:
        return self.status >= 500


def _answer(response: dict[str, Any]) -> Answer:
    body = response.get("body")
    try:
        parsed = json.loads(body) if body else None
    except ValueError:
        parsed = body
    headers = {name: values[0] for name, values in (response.get("multiValueHeaders") or {}).items() if values}
    return Answer(response["statusCode"], parsed, headers=headers | (response.get("headers") or {}))


class LambdaContext:
    """What Powertools and the jobs read from a Lambda context; the time left is the function's whole timeout."""

    memory_limit_in_mb = 1024
    aws_request_id = "fault-run"

    def __init__(self, function_name: str, timeout_s: int) -> None:
        self.function_name = function_name
        self.invoked_function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{function_name}"
        self._remaining_ms = timeout_s * 1000.0

    def get_remaining_time_in_millis(self) -> float:
        return self._remaining_ms


@dataclass(frozen=True)
class Function:
    name: str  # the template's logical id
    handler: Callable[[dict[str, Any], Any], Any]
    timeout_s: int

    def context(self) -> LambdaContext:
        return LambdaContext(self.name, self.timeout_s)


@dataclass(frozen=True)
class QueueSpec:
    name: str  # logical id
    url: str
    arn: str
    function: Function
    batch_size: int
    report_failures: bool
    visibility: timedelta
    max_receives: int
    dead_letter_url: str


# the stack


@dataclass
class Stack:
    provisioned: Any  # infra.provision.Provisioned
    clock: Clock
    functions: dict[str, Function]
    queues: dict[str, QueueSpec]
    schedules: dict[str, timedelta]  # function logical id -> period
    log: list[str] = field(default_factory=list)  # what the retries did in the current run

    def ref(self, logical_id: str) -> str:
        return self.provisioned.refs[logical_id]

    # state

    def wipe(self) -> None:
        """Empty every table, bucket, queue and SES outbox (the resources stay), start the clock afresh, and forget
        the values functions cache (a parameter, for 300 s of real time), which would otherwise make a run's calls
        depend on the runs before it. Clients and settings stay: making them makes no call (a full cold start,
        after a crash, rebinds 26 models: 0.5 s)."""

        wipe_backends()
        self.clock.reset()
        self.log = []
        self._forget_cached_values()

    def cold_start(self) -> None:
        """What a new Lambda execution environment has after a crash: nothing the dead one held in memory.

        The values a process keeps across requests are dropped (opened device secrets, parameters, the clients'
        holders in doti.runtime); the botocore clients and the settings' model bindings are kept, as they hold no
        state and make no call, and rebuilding them (26 PynamoDB connections) would cost 0.5 s per crash.
        """
        for holder in (runtime.storage, runtime.secret_box, runtime.mailer, runtime.remask_queue):
            holder.cache_clear()
        self._forget_cached_values()

    def _forget_cached_values(self) -> None:
        for provider in DEFAULT_PROVIDERS.values():
            provider.clear_cache()
        # the thumbnail links' key of the day (one KMS GenerateMac per process and day), held by the storage
        runtime.render_links.cache_clear()
        runtime.storage.cache_clear()
        metrics.clear_metrics()

    # invocations

    def invoke(self, function: str, event: dict[str, Any]) -> Any:
        """The function on `event`; a Crash is a cold start and re-raised, as is any other failure."""
        spec = self.functions[function]
        try:
            return spec.handler(copy.deepcopy(event), spec.context())
        except Crash:
            self.cold_start()
            raise

    def api(self, function: str, event: dict[str, Any]) -> Answer:
        """One request through API Gateway: the function's answer, or 502 when it died or raised."""
        try:
            return _answer(self.invoke(function, event))
        except Crash:
            return Answer(502, None, died=True)
        except Exception as exc:  # the Lambda failed: API Gateway answers 502
            self.log.append(f"{function} raised {type(exc).__name__}")
            return Answer(502, None, died=True)

    def device(self, function: str, event: dict[str, Any]) -> list[Answer]:
        """A device sending one signed request: the same request again while the answer is missing, a 5xx or a 409,
        with exponential backoff. Returns every answer it got, the last one last."""
        pause, answers = timedelta(seconds=1), []
        for attempt in range(1, DEVICE_ATTEMPTS + 1):
            answers.append(self.api(function, event))
            if not (answers[-1].retryable or answers[-1].status == 409):
                break
            self.log.append(f"device attempt {attempt}: {answers[-1].status}")
            if attempt < DEVICE_ATTEMPTS:
                self.clock.advance(pause)
                pause = min(pause * 2, DEVICE_BACKOFF_CAP)
        return answers

    def person(self, function: str, make_event: Callable[[], dict[str, Any]], done: Callable[[], bool]) -> Answer:
        """A customer or staff member: after an error they look, and ask again only if what they asked for is not
        there (`done`, read as they would see it)."""
        answer = Answer(502, None, died=True)
        for attempt in range(1, PERSON_ATTEMPTS + 1):
            answer = self.api(function, make_event())
            if not answer.retryable:
                return answer
            self.log.append(f"person attempt {attempt}: {answer.status}")
            with INJECTOR.paused():
                if done():
                    return answer
            self.clock.advance(PERSON_PAUSE)
        return answer

    def job(self, function: str, event: dict[str, Any]) -> Any:
        """One scheduled run of a job; None when it died or raised (the next scheduled run is the retry)."""
        try:
            return self.invoke(function, event)
        except Crash:
            self.log.append(f"{function} crashed")
        except Exception as exc:
            self.log.append(f"{function} raised {type(exc).__name__}")
        return None

    def next_run(self, function: str) -> None:
        """Move the clock to the job's next scheduled run."""
        self.clock.advance(self.schedules[function])

    def drain(self, queue: str) -> int:
        """Lambda's event source mapping on `queue` until it is empty: receive a batch, invoke, delete what succeeded;
        what failed comes back after the visibility timeout (the clock moves by it) until the redrive policy moves it
        to the dead-letter queue. Returns the number of invocations."""

        spec = self.queues[queue]
        invocations = 0
        while invocations < MAX_DELIVERIES:
            with INJECTOR.paused():
                messages = self._receive(spec)
            if not messages:
                return invocations
            invocations += 1
            ids = [m["MessageId"] for m in messages]
            try:
                response = self.invoke(spec.function.name, sqs_event(messages, spec.arn, REGION))
                failed = failed_ids(response, ids, spec.report_failures)
            except Crash:
                self.log.append(f"{spec.function.name} crashed on {queue}")
                failed = set(ids)
            except Exception as exc:  # an invocation error fails the whole batch
                self.log.append(f"{spec.function.name} raised {type(exc).__name__} on {queue}")
                failed = set(ids)
            with INJECTOR.paused():
                self._delete(spec, [m for m in messages if m["MessageId"] not in failed])
            if failed:
                self.log.append(f"{len(failed)} message(s) of {queue} not acknowledged")
                self.clock.advance(spec.visibility)
        return invocations

    def _receive(self, spec: QueueSpec) -> list[dict[str, Any]]:
        return (
            sqs_client(REGION)
            .receive_message(
                QueueUrl=spec.url,
                MaxNumberOfMessages=min(10, spec.batch_size),
                VisibilityTimeout=0,  # the clock, not moto's, says when a failed message is back
                MessageSystemAttributeNames=["All"],
            )
            .get("Messages", [])
        )

    def _delete(self, spec: QueueSpec, messages: list[dict[str, Any]]) -> None:
        if messages:
            entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)]
            sqs_client(REGION).delete_message_batch(QueueUrl=spec.url, Entries=entries)

    def dead_letters(self, queue: str) -> list[dict[str, Any]]:
        """Messages of `queue` that ended in its dead-letter queue (read without taking them)."""

        spec = self.queues[queue]
        found = sqs_client(REGION).receive_message(
            QueueUrl=spec.dead_letter_url, MaxNumberOfMessages=10, VisibilityTimeout=0
        )
        return found.get("Messages", [])


def _handler_module(spec: Any) -> ModuleType:
    """functions/<name>/app.py as the unit tests import it (functions.<name>.app)."""
    return importlib.import_module(f"functions.{spec.code_uri.name}.app")


def _queue_specs(template: dict[str, Any], provisioned: Any, functions: dict[str, Function]) -> dict[str, QueueSpec]:
    specs = {}
    for source in queue_sources(template):
        props = template["Resources"][source.queue]["Properties"]
        redrive = props["RedrivePolicy"]
        dead_letter = redrive["deadLetterTargetArn"]["Fn::GetAtt"][0]
        specs[source.queue] = QueueSpec(
            name=source.queue,
            url=provisioned.refs[source.queue],
            arn=provisioned.arns[source.queue],
            function=functions[source.function],
            batch_size=source.batch_size,
            report_failures=source.report_failures,
            visibility=timedelta(seconds=int(props.get("VisibilityTimeout", 30))),
            max_receives=int(redrive["maxReceiveCount"]),
            dead_letter_url=provisioned.refs[dead_letter],
        )
    return specs


@contextmanager
def fault_stack() -> Iterator[Stack]:
    """The process's moto with template.yaml's resources and the functions' environment, the injector installed
    and the code's clock in the harness's hands; everything is put back on exit."""
    saved_environment = dict(os.environ)
    os.environ.pop("AWS_ENDPOINT_URL", None)
    os.environ.update(ENVIRONMENT)

    template = load_template()
    specs = functions(template)
    loaded = {name: Function(name, _handler_module(spec).lambda_handler, spec.timeout) for name, spec in specs.items()}
    importlib.import_module("tests.support")
    clock = Clock()
    with ExitStack() as exits:
        exits.enter_context(mock_aws())
        exits.enter_context(untracked_instances())  # moto would keep every object of every run for its dashboard
        exits.enter_context(lean_transactions())  # and copy whole tables on every TransactWriteItems
        provisioned = provision(template, session=boto3_session(), parameters={"PublicBaseUrl": PUBLIC_BASE_URL})
        for name, value in provisioned.environment().items():
            if name != "POWERTOOLS_SERVICE_NAME":
                os.environ[name] = value
        stack = Stack(
            provisioned=provisioned,
            clock=clock,
            functions=loaded,
            queues=_queue_specs(template, provisioned, loaded),
            schedules={s.function: timedelta(seconds=s.seconds) for s in schedules(template)},
        )
        parameters.clear_caches()  # providers made before this moto
        runtime.reset()
        # No clip function to invoke on moto (its Lambda needs Docker): masked clips are encoded in this process, as in
        # the tests and the local stack. The sweep runs outside pytest, so tests/conftest.py has not done it.
        runtime.encode_clips_in_process(InProcessClipEncoder)
        runtime.init()  # bound to this moto before the injector counts calls
        INJECTOR.install()
        clock.install()
        try:
            yield stack
        finally:
            clock.uninstall()
            INJECTOR.uninstall()
            runtime.reset()
            parameters.clear_caches()
            os.environ.clear()
            os.environ.update(saved_environment)
