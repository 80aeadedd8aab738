"""What the cases that run handlers against moto in-process share: the environment, the template's resources in
moto, and AWS call counters."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

# As tests/conftest.py sets it: fake credentials, moto in-process (no endpoint), no X-Ray.
BENCH_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_METRICS_NAMESPACE": "doti",
    "POWERTOOLS_SERVICE_NAME": "bench",
}


@contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    """Set variables for the block and restore the whole environment after it."""
    saved = dict(os.environ)
    os.environ.pop("AWS_ENDPOINT_URL", None)
    os.environ.update(values)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


class CallCounter:
    """A botocore `before-call` handler that counts AWS API calls (boto3 and PynamoDB share one session)."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, **_: Any) -> None:
        self.count += 1


class CallTimer:
    """AWS calls, the milliseconds spent inside them, and the part of those that moto spent serving them.

    botocore events on the shared session: `before-call` to `after-call` is a whole call (build and sign the request,
    moto serves it, parse the response); `before-send` (registered first, so before moto's own handler) to
    `before-parse` is moto's part, which DynamoDB or S3 would replace with their own time and the network's. What is
    left of a run's time is our code's and the SDK's. moto's part is kept as wall time and as this thread's CPU time:
    CPU time is not inflated when other processes take the machine's cores.
    """

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.count = 0
        self.ms = 0.0
        self.server_ms = 0.0
        self.server_cpu_ms = 0.0
        self._call_started: float | None = None
        self._send_started: tuple[float, float] | None = None

    def _before_call(self, **_: Any) -> None:
        self.count += 1
        self._call_started = time.perf_counter()

    def _after_call(self, **_: Any) -> None:
        if self._call_started is not None:
            self.ms += (time.perf_counter() - self._call_started) * 1000
            self._call_started = None

    def _before_send(self, **_: Any) -> None:
        self._send_started = (time.perf_counter(), time.thread_time())

    def _before_parse(self, **_: Any) -> None:
        if self._send_started is not None:
            wall, cpu = self._send_started
            self.server_ms += (time.perf_counter() - wall) * 1000
            self.server_cpu_ms += (time.thread_time() - cpu) * 1000
            self._send_started = None

    def register(self, emitter: Any) -> None:
        emitter.register("before-call", self._before_call, unique_id="bench-before-call")
        emitter.register("after-call", self._after_call, unique_id="bench-after-call")
        emitter.register("after-call-error", self._after_call, unique_id="bench-after-call-error")
        emitter.register_first("before-send", self._before_send, unique_id="bench-before-send")
        emitter.register("before-parse", self._before_parse, unique_id="bench-before-parse")

    @staticmethod
    def unregister(emitter: Any) -> None:
        for event in ("before-call", "after-call", "after-call-error", "before-send", "before-parse"):
            emitter.unregister(event, unique_id=f"bench-{event}")


@contextmanager
def moto_stack(timer: CallTimer | None = None) -> Iterator[Any]:
    """moto in-process with template.yaml's resources and the functions' environment; yields the settings.

    `timer` sees every AWS call of the clients made inside the block (boto3's and PynamoDB's share one session)."""
    from moto import mock_aws

    from doti import runtime
    from doti.store.aws import boto3_session, botocore_session
    from infra.provision import provision
    from infra.template import load_template

    with environment(BENCH_ENV), mock_aws():
        runtime.reset()
        provisioned = provision(load_template(), session=boto3_session())
        functions_env = {k: v for k, v in provisioned.environment().items() if k != "POWERTOOLS_SERVICE_NAME"}
        emitter = botocore_session().get_component("event_emitter")
        if timer:
            timer.register(emitter)
        try:
            with environment(functions_env):
                runtime.reset()  # clients made from here on carry the hooks
                yield runtime.init()
        finally:
            if timer:
                timer.unregister(emitter)
            runtime.reset()


def frame_item(
    contract_id: str, camera: Any, frame_id: str, captured_at: Any, key: str, thumb: str, size: int, retention_days: int
) -> Any:
    """An index item for a seeded frame (seeding writes items in bulk; only the job under test is measured)."""
    from datetime import timedelta

    from doti.store.models import FrameModel

    return FrameModel(
        camera_id=camera.camera_id,
        frame_id=frame_id,
        contract_id=contract_id,
        site_id=camera.site_id,
        device_id="dev_bench",
        device_frame_id=frame_id,
        captured_at=captured_at,
        received_at=captured_at,
        content_type="image/jpeg",
        size=size,
        width=1280,
        height=720,
        sha256="0" * 64,
        object_key=key,
        thumb_key=thumb,
        thumb_size=size,
        thumb_width=320,
        thumb_height=180,
        retention_class=f"d{retention_days}",
        expires_at=captured_at + timedelta(days=retention_days),
    )
