"""The retention job's cost follows what expires, not what is stored (SPEC §5; issue 4, 10(c)).

One process, moto in-process with the template's resources. Two 7-day contracts with four cameras each: the lean one
stores only the 100 frames that expire; the stocked one stores the same 100 plus 99,900 young frames on the same
cameras. Each repetition re-seeds the 100 expiring frames (index items and both objects) of the contract measured,
clears its cameras' cursors so the job walks the same range again, and leaves the other contract `purged` (the job
skips purged contracts), so both runs see the same registry. Setup is not measured. AWS calls are counted by a
`before-call` hook on the shared botocore session.

Seeding: the young frames are index items only, by FrameModel batch writes in the same partitions (cameras) as the
expiring ones, so the job's key-range queries run over full partitions. Their objects are not written: the job lists
only the day prefixes of the expiring range, from the range's first frame id, and stops at the cutoff, so it never
lists a younger key (tests/jobs/test_retention_complete.py proves it with young objects on the cutoff's own day, by
counting calls); writing ~200,000 objects would only slow the setup. Expiring frames get both objects, written
straight into moto's S3 backend. Each camera's cursor is rewound to the start of the expiring day, as an hourly run
leaves it.

Reading the rows: AWS calls and items+keys read are engine-independent and must be 1.0: they are the proof. Wall time
is not, under moto: moto answers every Query by iterating all items of the table and sorting the partition, so the
job's index queries cost more with 100,000 stored (DynamoDB reads only the key range). So each run's time is split
with botocore's events (bench/moto_env.py CallTimer) into moto's serving time and the rest, our code's and the SDK's,
which DynamoDB would not change; the rest is counted in CPU time, which other processes on the machine do not inflate.
Runs alternate (lean first, then stocked first) and each row is a median. The seeded items live in this process's heap
(moto's tables), where DynamoDB's do not: they are frozen out of the garbage collector after seeding, so a full
collection over them cannot land inside one run.
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.harness import Row, case, row, sized
from bench.moto_env import CallTimer, frame_item, moto_stack

EXPIRING = 100
STORED = 100_000
CAMERAS = 4
REPS = 5
RETENTION_DAYS = 7
BODY = b"\xff\xd8" + b"\0" * 254 + b"\xff\xd9"


CASE = "retention.expiring_vs_stored"


@case(CASE)
def retention_scale() -> Iterator[Row]:
    timer = CallTimer()
    with moto_stack(timer) as settings:
        yield from _measure(settings, timer)


def _measure(settings: Any, timer: CallTimer) -> Iterator[Row]:
    stored, reps = sized(STORED, EXPIRING + 40), sized(REPS, 1)
    now = datetime.now(UTC)
    started = time.perf_counter()
    lean = _tenant("Lean", now)
    stocked = _tenant("Stocked", now)
    _seed_young(stocked, now, stored)
    seed_s = time.perf_counter() - started
    gc.collect()
    gc.freeze()  # the seeded moto items: see the module's docstring
    try:
        _timed_run(settings, lean, [stocked], now, 0, timer)  # warm-up: clients, imports
        big: list[Run] = []
        small: list[Run] = []
        for rep in range(1, reps + 1):  # alternate, so drift hits both alike
            order = [(small, lean, stocked), (big, stocked, lean)]
            for runs, tenant, other in order if rep % 2 else reversed(order):
                runs.append(_timed_run(settings, tenant, [other], now, rep, timer))
    finally:
        gc.unfreeze()

    def median(field: str, runs: list[Run]) -> float:
        return statistics.median(getattr(r, field) for r in runs)

    metric = f"{EXPIRING} expiring among {stored:,} stored"
    note = f"baseline: {EXPIRING} among {EXPIRING}; {CAMERAS} cameras; median of {reps}; seeded in {seed_s:.0f} s"
    yield row(CASE, f"AWS calls, {metric}", median("calls", big), median("calls", small), note=f"the proof; {note}")
    yield row(CASE, f"index items + keys read, {metric}", median("read", big), median("read", small), note="examined")
    yield row(CASE, f"run ms, {metric}", median("ms", big), median("ms", small), note=note)
    yield row(
        CASE,
        f"CPU ms of our code + SDK (run less moto's serving), {metric}",
        median("own_cpu_ms", big),
        median("own_cpu_ms", small),
        note="this thread's CPU time: what DynamoDB would not change, and other processes do not inflate",
    )
    yield row(
        CASE,
        f"moto's serving ms, {metric}",
        median("server_ms", big),
        median("server_ms", small),
        note="moto reads every item of the table and sorts the partition per Query; DynamoDB reads the key range",
    )


def _tenant(name: str, now: datetime) -> tuple[str, list[Any]]:
    from doti.clock import format_rfc3339
    from doti.contracts import registry, terms

    contract = terms.create_contract(
        name=name,
        contact_email="bench@doti.example",
        plan=terms.Plan(retention_days=RETENTION_DAYS),
        security_contract_id=None,
        now=now,
    )
    site = registry.create_site(contract.contract_id, "Site", None, now)
    consent = {"consented_by": "Site manager", "consented_at": format_rfc3339(now), "evidence_ref": "bench"}
    consents = dict.fromkeys(("building_manager", "security_contract_holder", "camera_owner"), consent)
    cameras = [
        registry.create_camera(contract.contract_id, site.site_id, f"Cam {i}", now, consents=consents)
        for i in range(CAMERAS)
    ]
    return contract.contract_id, cameras


def _cutoff(now: datetime) -> datetime:
    return now - timedelta(days=RETENTION_DAYS)


def _seed_young(tenant: tuple[str, list[Any]], now: datetime, stored: int) -> None:
    """`stored` - EXPIRING index items between the cutoff and now, spread evenly, on the tenant's cameras."""
    from doti import ids
    from doti.store import keys
    from doti.store.models import FrameModel

    contract_id, cameras = tenant
    cutoff = _cutoff(now)
    young = stored - EXPIRING
    step = (now - cutoff - timedelta(minutes=10)) / young
    with FrameModel.batch_write() as batch:
        for n in range(young):
            camera = cameras[n % CAMERAS]
            captured_at = cutoff + timedelta(minutes=5) + step * n
            frame_id = ids.frame_id(captured_at, "dev_bench", f"young{n}")
            object_key = keys.frame_key(contract_id, camera.camera_id, captured_at, frame_id, "image/jpeg")
            thumb_key = keys.thumb_key(contract_id, camera.camera_id, captured_at, frame_id)
            batch.save(
                frame_item(contract_id, camera, frame_id, captured_at, object_key, thumb_key, len(BODY), RETENTION_DAYS)
            )


def _seed_expiring(settings: Any, tenant: tuple[str, list[Any]], now: datetime, rep: int) -> None:
    """EXPIRING frames in the hour before the cutoff, index items and both objects."""
    from moto.s3.models import s3_backends

    from doti import ids
    from doti.store import keys
    from doti.store.models import FrameModel

    contract_id, cameras = tenant
    backend = s3_backends["123456789012"]["aws"]
    cutoff = _cutoff(now)
    with FrameModel.batch_write() as batch:
        for n in range(EXPIRING):
            camera = cameras[n % CAMERAS]
            captured_at = cutoff - timedelta(minutes=1) - timedelta(seconds=30) * n
            frame_id = ids.frame_id(captured_at, "dev_bench", f"old{rep}-{n}")
            object_key = keys.frame_key(contract_id, camera.camera_id, captured_at, frame_id, "image/jpeg")
            thumb_key = keys.thumb_key(contract_id, camera.camera_id, captured_at, frame_id)
            backend.put_object(settings.frames_bucket, object_key, BODY)
            backend.put_object(settings.frames_bucket, thumb_key, BODY)
            batch.save(
                frame_item(contract_id, camera, frame_id, captured_at, object_key, thumb_key, len(BODY), RETENTION_DAYS)
            )


def _only_active(active: str, others: list[str]) -> None:
    """The measured contract active, the others purged (the job skips them): both runs see the same registry."""
    from doti.store.models import ContractModel

    ContractModel.get(active).update(actions=[ContractModel.state.set("active")])
    for contract_id in others:
        ContractModel.get(contract_id).update(actions=[ContractModel.state.set("purged")])


def _rewind_cursors(cameras: list[Any], now: datetime) -> None:
    """Each camera's cursor back to the start of the expiring frames' day, as an hourly run leaves it."""
    from doti import ids
    from doti.store import retention as store

    oldest = _cutoff(now) - timedelta(minutes=1) - timedelta(seconds=30) * EXPIRING
    position = ids.frame_id_floor(datetime(oldest.year, oldest.month, oldest.day, tzinfo=UTC))
    for camera in cameras:
        store.put_cursor(camera.camera_id, camera.contract_id, position, now)


@dataclass(frozen=True)
class Run:
    ms: float
    cpu_ms: float  # this thread's CPU time
    calls: int
    read: int  # index items and object keys the job examined
    server_ms: float  # moto's serving time inside the run
    server_cpu_ms: float

    @property
    def own_cpu_ms(self) -> float:
        return self.cpu_ms - self.server_cpu_ms


def _timed_run(
    settings: Any,
    tenant: tuple[str, list[Any]],
    others: list[tuple[str, list[Any]]],
    now: datetime,
    rep: int,
    timer: CallTimer,
) -> Run:
    """One run deleting the EXPIRING frames of `tenant`, with `others` left purged."""
    from doti import runtime
    from doti.jobs.retention import run_retention

    _only_active(tenant[0], [other[0] for other in others])
    _seed_expiring(settings, tenant, now, rep)
    _rewind_cursors(tenant[1], now)
    storage = runtime.storage()
    gc.collect()
    timer.reset()
    started, started_cpu = time.perf_counter(), time.thread_time()
    report = run_retention(storage=storage, now=now, remaining_ms=lambda: 900_000.0)
    elapsed_ms, cpu_ms = (time.perf_counter() - started) * 1000, (time.thread_time() - started_cpu) * 1000
    if report.frames_deleted != EXPIRING or report.objects_failed or report.stopped_early:
        raise RuntimeError(f"the bench run did not do its expiring work: {report}")
    read = report.reconciled.items_examined + report.reconciled.keys_listed
    return Run(elapsed_ms, cpu_ms, timer.count, read, timer.server_ms, timer.server_cpu_ms)
