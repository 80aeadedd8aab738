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
lists a younger key (tests/unit/test_retention_complete.py proves it with young objects on the cutoff's own day, by
counting calls); writing ~200,000 objects would only slow the setup. Expiring frames get both objects, written
straight into moto's S3 backend. Each camera's cursor is rewound to the start of the expiring day, as an hourly run
leaves it.

Reading the rows: calls and items+keys read are engine-independent and must be 1.0. Wall time is not, under moto:
moto answers every Query by iterating all items of the table and sorting the partition, so the job's four index
queries cost more with 100,000 stored (DynamoDB reads only the key range). The last row measures those queries
alone, on the same key ranges, right after each run.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.harness import Row, case, row
from bench.moto_env import BENCH_ENV, CallCounter, frame_item
from bench.moto_env import environment as bench_environment

EXPIRING = 100
STORED = 100_000
CAMERAS = 4
REPS = 3
RETENTION_DAYS = 7
BODY = b"\xff\xd8" + b"\0" * 254 + b"\xff\xd9"


@case("retention.expiring_vs_stored")
def retention_scale() -> Iterator[Row]:
    from moto import mock_aws

    from doti import runtime
    from doti.settings import get_settings
    from doti.store.aws import boto3_session, botocore_session
    from infra.provision import provision
    from infra.template import load_template

    counter = CallCounter()
    with bench_environment(BENCH_ENV), mock_aws():
        runtime.reset()
        provisioned = provision(load_template(), session=boto3_session())
        environment = {k: v for k, v in provisioned.environment().items() if k != "POWERTOOLS_SERVICE_NAME"}
        botocore_session().register("before-call", counter, unique_id="bench-retention-calls")
        try:
            with bench_environment(environment):
                runtime.reset()
                settings = get_settings()
                yield from _measure(settings, counter)
        finally:
            botocore_session().unregister("before-call", unique_id="bench-retention-calls")
            runtime.reset()


def _measure(settings: Any, counter: CallCounter) -> Iterator[Row]:
    now = datetime.now(UTC)
    started = time.perf_counter()
    lean = _tenant("Lean", now)
    stocked = _tenant("Stocked", now)
    _seed_young(stocked, now)
    seed_s = time.perf_counter() - started
    _timed_run(settings, lean, [stocked], now, 0, counter)  # warm-up: clients, imports
    big: list[tuple[float, int, int, float]] = []
    small: list[tuple[float, int, int, float]] = []
    for rep in range(1, REPS + 1):  # alternate, so drift hits both alike
        small.append(_timed_run(settings, lean, [stocked], now, rep, counter))
        big.append(_timed_run(settings, stocked, [lean], now, rep, counter))
    ms_big, ms_small = (statistics.median(r[0] for r in runs) for runs in (big, small))
    calls_big, calls_small = (statistics.median(r[1] for r in runs) for runs in (big, small))
    read_big, read_small = (statistics.median(r[2] for r in runs) for runs in (big, small))
    query_big, query_small = (statistics.median(r[3] for r in runs) for runs in (big, small))
    note = (
        f"baseline: {EXPIRING} expiring among {EXPIRING} stored; {CAMERAS} cameras; median of {REPS}; "
        f"seeded {STORED:,} in {seed_s:.0f} s"
    )
    metric = f"{EXPIRING} expiring among {STORED:,} stored"
    case_name = "retention.expiring_vs_stored"
    yield row(case_name, f"run ms, {metric}", ms_big, ms_small, note=note)
    yield row(case_name, f"AWS calls, {metric}", calls_big, calls_small, note=note)
    yield row(case_name, f"index items + keys read, {metric}", read_big, read_small, note="what the job examined")
    yield row(
        case_name,
        f"moto ms of the job's {CAMERAS} index queries alone, {metric}",
        query_big,
        query_small,
        note="moto reads every item of the table and sorts the partition per Query; DynamoDB reads the key range",
    )


def _tenant(name: str, now: datetime) -> tuple[str, list[Any]]:
    from doti import contracts, registry
    from doti.clock import format_rfc3339

    contract = contracts.create_contract(
        name=name,
        contact_email="bench@doti.example",
        plan=contracts.Plan(retention_days=RETENTION_DAYS),
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


def _seed_young(tenant: tuple[str, list[Any]], now: datetime) -> None:
    """STORED - EXPIRING index items between the cutoff and now, spread evenly, on the tenant's cameras."""
    from doti import ids
    from doti.store import keys
    from doti.store.models import FrameModel

    contract_id, cameras = tenant
    cutoff = _cutoff(now)
    young = STORED - EXPIRING
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


def _timed_run(
    settings: Any,
    tenant: tuple[str, list[Any]],
    others: list[tuple[str, list[Any]]],
    now: datetime,
    rep: int,
    counter: CallCounter,
) -> tuple[float, int, int, float]:
    """(ms, AWS calls, items and keys read, moto ms of its index queries) of one run deleting EXPIRING frames."""
    from doti import runtime
    from doti.retention import run_retention

    _only_active(tenant[0], [other[0] for other in others])
    _seed_expiring(settings, tenant, now, rep)
    _rewind_cursors(tenant[1], now)
    storage = runtime.storage()
    counter.count = 0
    started = time.perf_counter()
    report = run_retention(storage=storage, now=now, remaining_ms=lambda: 900_000.0)
    elapsed_ms = (time.perf_counter() - started) * 1000
    calls = counter.count
    if report.frames_deleted != EXPIRING or report.objects_failed or report.stopped_early:
        raise RuntimeError(f"the bench run did not do its expiring work: {report}")
    read = report.reconciled.items_examined + report.reconciled.keys_listed
    return elapsed_ms, calls, read, _query_ms(tenant[1], now)


def _query_ms(cameras: list[Any], now: datetime) -> float:
    """Moto's time for the job's index queries alone: the same key range on each camera, now empty."""
    from doti import ids
    from doti.store import retention as store

    oldest = _cutoff(now) - timedelta(minutes=1) - timedelta(seconds=30) * EXPIRING
    lower = ids.frame_id_floor(datetime(oldest.year, oldest.month, oldest.day, tzinfo=UTC))
    upper = ids.frame_id_floor(_cutoff(now))
    started = time.perf_counter()
    for camera in cameras:
        store.indexed_frames(camera.camera_id, lower, upper, 500)
    return (time.perf_counter() - started) * 1000
