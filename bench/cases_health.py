"""Camera health (issue 16 §6): the health job's cost follows the cameras that are due, and the events ingest may
produce cost the common path nothing.

`health.due`: a job run with 10 due cameras among 10,000 against a run with the same 10 due among 10; each due camera
sent its last frame 10 minutes ago with a 60 s interval (the heaviest item: camera.offline told, the camera marked,
the item removed). The 9,990 others are online cameras whose items are due an hour later, written once in batch
writes before the large runs (setup is not measured). AWS calls and DynamoDB requests are counted by a `before-call`
hook on the shared botocore session: the engine-independent measure, which should be exactly 1.0. moto answers a
key-range query by filtering the whole partition in Python, so the time ratio carries the 9,990 items it looks at;
DynamoDB reads only the keys in the range.

`ingest.events`: the ingest request of a camera already online, a still scene (no activity), with the events queue
set (events on) against EVENTS_QUEUE_URL unset (NoEvents), in alternating blocks with a warm-up after each switch.
"""

from __future__ import annotations

import io
import statistics
import time
from collections.abc import Iterator
from contextlib import redirect_stdout
from datetime import datetime, timedelta
from typing import Any

from bench.harness import Row, case, row, sized
from bench.moto_env import BENCH_ENV, CallTimer, moto_stack
from bench.moto_env import environment as bench_environment

DUE = 10
CAMERAS = 10_000
REPS = 7


class _Counts:
    """A `before-call` handler: AWS calls, and those of them to DynamoDB."""

    def __init__(self) -> None:
        self.calls = self.dynamodb = 0

    def __call__(self, model: Any, **_: Any) -> None:
        self.calls += 1
        self.dynamodb += model.service_model.service_name == "dynamodb"


def _cameras(camera_ids: list[str], contract_id: str, *, last_at: datetime, due_at: datetime) -> None:
    """Online cameras and their health items, as ingest would leave them (written in batches, not measured)."""
    from doti import ids
    from doti.jobs import schedule
    from doti.store.models import CameraModel, ScheduledWorkModel

    with CameraModel.batch_write() as cameras, ScheduledWorkModel.batch_write() as work:
        for camera_id in camera_ids:
            cameras.save(
                CameraModel(
                    camera_id=camera_id,
                    contract_id=contract_id,
                    site_id="sit_bench",
                    name="Bench camera",
                    created_at=last_at - timedelta(days=1),
                    last_frame_id=ids.frame_id(last_at, "dev_bench", camera_id),
                    health="online",
                    health_due_at=due_at,
                )
            )
            key = schedule.due_key(due_at, contract_id, camera_id)
            work.save(
                ScheduledWorkModel(schedule.CAMERA_HEALTH, key, contract_id=contract_id, ref=camera_id, due_at=due_at)
            )


def _timed_run(
    rep: int, label: str, contract_id: str, counts: _Counts, timer: CallTimer, now: datetime
) -> tuple[float, float, int, int]:
    """(ms, ms outside moto, AWS calls, DynamoDB requests) of one run over DUE fresh due cameras."""
    from doti import runtime
    from doti.jobs.health import run_health

    due_ids = [f"cam_bench{label}{rep:03d}due{n:03d}" for n in range(DUE)]
    _cameras(due_ids, contract_id, last_at=now - timedelta(minutes=10), due_at=now - timedelta(minutes=9))
    counts.calls = counts.dynamodb = 0
    timer.reset()
    started = time.perf_counter()
    report = run_health(now=now, events=runtime.events(), remaining_ms=lambda: 900_000.0)
    elapsed_ms = (time.perf_counter() - started) * 1000
    if report.outcomes != {"offline": DUE} or report.failed:
        raise RuntimeError(f"the bench run did not do its due work: {report}")
    return elapsed_ms, elapsed_ms - timer.server_ms, counts.calls, counts.dynamodb


@case("health.due")
def health_job_scale() -> Iterator[Row]:
    from moto import mock_aws

    from doti import runtime
    from doti.clock import utcnow
    from doti.contracts import terms
    from doti.store.aws import boto3_session, botocore_session
    from infra.provision import provision
    from infra.template import load_template

    counts, timer = _Counts(), CallTimer()
    with bench_environment(BENCH_ENV), mock_aws():
        runtime.reset()
        provisioned = provision(load_template(), session=boto3_session())
        environment = {k: v for k, v in provisioned.environment().items() if k != "POWERTOOLS_SERVICE_NAME"}
        botocore_session().register("before-call", counts, unique_id="bench-health-calls")
        timer.register(botocore_session().get_component("event_emitter"))
        try:
            with bench_environment(environment):
                runtime.reset()
                runtime.init()
                now = utcnow()
                contract = terms.create_contract(
                    name="Bench shop",
                    contact_email="owner@bench.example",
                    plan=terms.Plan(),
                    security_contract_id=None,
                    now=now - timedelta(days=30),
                )
                cameras, reps = sized(CAMERAS, DUE + 10), sized(REPS, 1)

                def run(rep: int, label: str) -> tuple[float, float, int, int]:
                    return _timed_run(rep, label, contract.contract_id, counts, timer, now)

                run(0, "w")  # warm-up: first clients, imports
                small = [run(rep, "s") for rep in range(1, reps + 1)]
                others = [f"cam_benchother{n:05d}" for n in range(cameras - DUE)]
                _cameras(others, contract.contract_id, last_at=now, due_at=now + timedelta(hours=1))
                big = [run(rep, "b") for rep in range(1, reps + 1)]
        finally:
            botocore_session().unregister("before-call", unique_id="bench-health-calls")
            timer.unregister(botocore_session().get_component("event_emitter"))
            runtime.reset()
    ms_big, ms_small = (statistics.median(r[0] for r in runs) for runs in (big, small))
    own_big, own_small = (statistics.median(r[1] for r in runs) for runs in (big, small))
    calls_big, calls_small = (statistics.median(r[2] for r in runs) for runs in (big, small))
    ddb_big, ddb_small = (statistics.median(r[3] for r in runs) for runs in (big, small))
    note = f"baseline: {DUE} cameras, {DUE} due; median of {reps}"
    yield row("health.due", f"run ms, {cameras:,} cameras, {DUE} due", ms_big, ms_small, note=f"{note}; moto included")
    yield row(
        "health.due",
        f"run ms outside moto, {cameras:,} cameras, {DUE} due",
        own_big,
        own_small,
        note=f"{note}; our code and the SDK, without the time moto spends serving the calls",
    )
    yield row("health.due", f"AWS calls, {cameras:,} cameras, {DUE} due", calls_big, calls_small, note=note)
    yield row("health.due", f"DynamoDB requests, {cameras:,} cameras, {DUE} due", ddb_big, ddb_small, note=note)


CASE_INGEST = "ingest.events"
BLOCK = 10


@case(CASE_INGEST)
def ingest_with_events() -> Iterator[Row]:
    timer = CallTimer()
    with moto_stack(timer) as settings:
        yield from _measure_ingest(settings, timer)


def _measure_ingest(settings: Any, timer: CallTimer) -> Iterator[Row]:
    import os

    from bench.cases_imaging import frame_bytes
    from doti import runtime
    from functions.ingest import app as ingest
    from tests.support import LambdaContext, frame_event, make_world

    blocks = sized(4, 1)
    body = frame_bytes(1280, 720, "image/jpeg")
    world = make_world()
    queue_url = settings.events_queue_url
    numbered = iter(range(1_000_000))

    def request() -> tuple[float, int]:
        event = frame_event(world, body, frame_id=f"bench-{next(numbered)}")  # signed now: the device's work
        timer.reset()
        started = time.perf_counter()
        with redirect_stdout(io.StringIO()):  # Powertools prints the EMF metrics, as to CloudWatch on Lambda
            response = ingest.lambda_handler(event, LambdaContext())
        elapsed = time.perf_counter() - started
        if response["statusCode"] != 201:
            raise RuntimeError(f"the bench frame was not stored: {response['body']}")
        return elapsed, timer.count

    def events_on(on: bool) -> None:
        """Switch the function's events queue setting, as a deployment with or without it would have it."""
        if on:
            os.environ["EVENTS_QUEUE_URL"] = queue_url
        else:
            os.environ.pop("EVENTS_QUEUE_URL", None)
        runtime.reset()
        runtime.init()

    measured: dict[bool, list[tuple[float, int]]] = {True: [], False: []}
    for _ in range(blocks):
        for on in (True, False):
            events_on(on)
            request()  # warm-up after the switch: new clients
            measured[on] += [request() for _ in range(sized(BLOCK, 2))]
    events_on(True)
    on_ms, off_ms = (statistics.median(s for s, _ in measured[on]) * 1000 for on in (True, False))
    on_calls, off_calls = (statistics.median(c for _, c in measured[on]) for on in (True, False))
    note = f"camera online, still scene; median of {len(measured[True])} per side, blocks of {sized(BLOCK, 2)}"
    yield row(CASE_INGEST, "request ms, events on", on_ms, off_ms, note=f"{note}; baseline: EVENTS_QUEUE_URL unset")
    yield row(CASE_INGEST, "AWS calls/request, events on", on_calls, off_calls, note="baseline: events off")
