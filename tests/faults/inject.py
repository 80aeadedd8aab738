"""Fault injection at the one boundary every AWS call crosses: botocore's `BaseClient._make_api_call`.

boto3 clients (S3, SQS, SES, KMS) and PynamoDB's connection all send their requests through it, after botocore has
built them and before its own retry loop returns, so one hook sees every call the code makes, in order. The hook
counts the calls made while a plan is armed and, at call N, injects one of five faults:

- `err`:   a service error (throttling), not applied;
- `conn`:  a connection error, not applied;
- `lost`:  applied, then a read timeout: the caller cannot tell whether it happened;
- `crash`: applied, then the process dies (`Crash`, a BaseException nothing in doti catches);
- `dup`:   applied, the response lost, and botocore's own retry sends it again: the caller sees the second answer
           (a conditional write fails its own condition). A client configured without retries never resends, so
           there `dup` is `lost`. The second send is the same request, as botocore's retry resends it: the
           parameters as they were before the first send (botocore rewrites some in place: a bytes body becomes a
           stream that the first send reads to its end) and a file body rewound to where the first send started.

moto in-process is not thread-safe (its backends are plain dicts), so every call through the hook is serialised by
one lock: a handler's worker threads (e.g. PynamoDB batch writes from a thread pool) cannot interleave inside moto.

`paused()` lets a harness make its own calls inside an armed block (seeding, Lambda's SQS poller, reading the state
it checks) without counting or breaking them: they are not the code under test, and counting them would shift N.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from botocore.client import BaseClient
from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError

MODES = ("err", "conn", "lost", "crash", "dup")
_ENDPOINT = "https://aws.fault.test"


class Crash(BaseException):
    """The process died right after an AWS call was applied. Derives from BaseException so no handler catches it."""


@dataclass(frozen=True)
class Call:
    service: str  # botocore's service name: "s3", "dynamodb", "sqs", "ses", "kms"
    operation: str  # "PutObject", "TransactWriteItems", ...

    def __str__(self) -> str:
        return f"{self.service}.{self.operation}"


@dataclass
class Plan:
    """Inject `mode` at call number `at` (0-based) of the calls made while this plan is armed."""

    mode: str | None = None
    at: int = -1
    calls: list[Call] = field(default_factory=list)  # every call made while armed, in order
    fired: Call | None = None  # the call the fault was injected at, once it was

    def __post_init__(self) -> None:
        if self.mode is not None and self.mode not in MODES:
            raise ValueError(f"unknown fault mode {self.mode!r}")


def _retries(client: BaseClient) -> bool:
    """Whether botocore resends a request this client sent (a read timeout is retryable in every retry mode)."""
    retries = client.meta.config.retries or {}
    if "total_max_attempts" in retries:
        return retries["total_max_attempts"] > 1
    return retries.get("max_attempts", 1) > 0


def _service_error(call: Call) -> ClientError:
    code = "SlowDown" if call.service == "s3" else "ThrottlingException"
    status = 503 if call.service == "s3" else 400
    error = {"Error": {"Code": code, "Message": "injected fault"}, "ResponseMetadata": {"HTTPStatusCode": status}}
    return ClientError(error, call.operation)  # type: ignore[arg-type]


class Injector:
    """Installs the hook once; `armed(plan)` counts calls and injects the plan's fault while the block runs."""

    def __init__(self) -> None:
        self._lock = threading.RLock()  # serialises moto; re-entrant as a call may make nested calls
        self._plan: Plan | None = None
        self._paused = False
        self._original: Any = None

    def install(self) -> None:
        if self._original is not None:
            return
        original = BaseClient._make_api_call
        injector = self

        def make_api_call(client: BaseClient, operation_name: str, api_params: dict[str, Any]) -> Any:
            with injector._lock:
                return injector._call(client, original, operation_name, api_params)

        self._original = original
        BaseClient._make_api_call = make_api_call  # type: ignore[method-assign]

    def uninstall(self) -> None:
        if self._original is not None:
            BaseClient._make_api_call = self._original  # type: ignore[method-assign]
            self._original = None

    @contextmanager
    def armed(self, plan: Plan) -> Iterator[Plan]:
        """Count (and, if the plan says so, break) the calls made inside the block; plans do not nest."""
        self.install()
        with self._lock:
            if self._plan is not None:
                raise RuntimeError("a fault plan is already armed")
            self._plan = plan
        try:
            yield plan
        finally:
            with self._lock:
                self._plan = None

    @contextmanager
    def paused(self) -> Iterator[None]:
        """Calls made inside the block (on any thread) are neither counted nor broken; for the harness's own calls,
        made while no handler runs. Nests."""
        with self._lock:
            was, self._paused = self._paused, True
        try:
            yield
        finally:
            with self._lock:
                self._paused = was

    def _call(self, client: BaseClient, original: Any, operation: str, params: dict[str, Any]) -> Any:
        plan = self._plan
        if plan is None or self._paused:
            return original(client, operation, params)
        call = Call(client.meta.service_model.service_name, operation)
        number = len(plan.calls)
        plan.calls.append(call)
        if number != plan.at or plan.mode is None:
            return original(client, operation, params)
        plan.fired = call
        mode = plan.mode
        if mode == "err":
            raise _service_error(call)
        if mode == "conn":
            raise EndpointConnectionError(endpoint_url=_ENDPOINT)
        again = dict(params)  # the request as sent, before botocore rewrites parameters in place
        body = params.get("Body")
        start = body.tell() if hasattr(body, "seek") and hasattr(body, "tell") else None
        original(client, operation, params)  # applied
        if mode == "crash":
            raise Crash(str(call))
        if mode == "dup" and _retries(client):
            if start is not None:
                body.seek(start)  # type: ignore[union-attr]  # botocore rewinds a body before it resends it
            return original(client, operation, again)  # botocore's retry: the second answer is the one seen
        raise ReadTimeoutError(endpoint_url=_ENDPOINT)  # lost (or dup on a client that never resends)


INJECTOR = Injector()
