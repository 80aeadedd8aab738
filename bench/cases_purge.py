"""Purge of a contract with 10,000 frames (Art. 10-5): wall time per 1,000 frames and AWS calls per frame.

The baseline is the least any purge must do: find the same frames' index keys (per-camera key-range queries) and
object keys (prefix listings). The ratio says what deleting, batching, the tally and the certificate add to that.
Runs against moto in-process with the template's resources; setup (seeding) is not measured. AWS calls are
counted by a `before-call` hook on the shared botocore session, which backs boto3 and PynamoDB alike.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.harness import Row, case, row, sized
from bench.moto_env import BENCH_ENV, frame_item
from bench.moto_env import environment as bench_environment

FRAMES = 10_000
CAMERAS = 4
BODY = b"\xff\xd8" + b"\0" * 254 + b"\xff\xd9"  # one small shared body: the purge's cost does not depend on size


class OperationCounter:
    """AWS calls by operation, from a before-call hook on the shared botocore session."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()

    def __call__(self, model: Any, **_: Any) -> None:
        self.calls[model.name] += 1

    def measure(self, fn: Callable[[], object]) -> tuple[float, int, Counter[str]]:
        self.calls.clear()
        started = time.perf_counter()
        fn()
        elapsed_ms = (time.perf_counter() - started) * 1000
        return elapsed_ms, sum(self.calls.values()), Counter(self.calls)


@case("purge.10k_frames")
def purge_10k_frames() -> Iterator[Row]:
    from moto import mock_aws

    from doti.store.aws import boto3_session, botocore_session
    from infra.provision import provision
    from infra.template import load_template

    counter = OperationCounter()
    with bench_environment(BENCH_ENV), mock_aws():
        provisioned = provision(load_template(), session=boto3_session())
        environment = {k: v for k, v in provisioned.environment().items() if k != "POWERTOOLS_SERVICE_NAME"}
        session = botocore_session()
        # Clients copy the session's handlers when made: register first, then make every client afresh.
        session.register("before-call", counter, unique_id="bench-purge-calls")
        try:
            with bench_environment(environment):
                yield from _measure(counter)
        finally:
            session.unregister("before-call", unique_id="bench-purge-calls")


def _measure(counter: OperationCounter) -> Iterator[Row]:
    from doti import runtime
    from doti.jobs.purge import purge_contract

    runtime.reset()
    settings = runtime.init()
    frames = sized(FRAMES, 40)
    contract_id, camera_ids, now = _seed(settings, frames)
    storage = runtime.storage()

    list_ms, list_calls, _ = counter.measure(lambda: _list_keys(storage, contract_id, camera_ids, frames))
    outcome: list[Any] = []
    purge_ms, purge_calls, by_operation = counter.measure(
        lambda: outcome.append(
            purge_contract(
                contract_id,
                storage=storage,
                mailer=runtime.mailer(),
                now=now + timedelta(minutes=1),
                remaining_ms=lambda: 900_000.0,
            )
        )
    )
    result = outcome[0]
    if result.status != "purged" or result.counts.get("frame_items") != frames:
        raise RuntimeError(f"the purge did not finish as expected: {result}")
    runtime.reset()
    per_thousand = frames / 1000
    top = ", ".join(f"{op} {n}" for op, n in by_operation.most_common(5))
    yield row(
        "purge.10k_frames",
        "ms per 1,000 frames",
        purge_ms / per_thousand,
        list_ms / per_thousand,
        note=f"{frames} frames on {CAMERAS} cameras, moto in-process; baseline: list their index and object keys",
    )
    yield row(
        "purge.10k_frames",
        "AWS calls per frame",
        purge_calls / frames,
        list_calls / frames,
        note=f"{purge_calls} calls ({top}); baseline {list_calls} calls",
    )


def _seed(settings: Any, frames: int) -> tuple[str, list[str], datetime]:
    """A terminated contract with `frames` frames: index items by batch write, objects by a plain put loop."""
    from doti import ids
    from doti.clock import format_rfc3339
    from doti.contracts import lifecycle, registry, terms
    from doti.store import keys
    from doti.store.models import FrameModel

    now = datetime.now(UTC)
    contract = terms.create_contract(
        name="Bench", contact_email="bench@doti.example", plan=terms.Plan(), security_contract_id=None, now=now
    )
    site = registry.create_site(contract.contract_id, "Site", None, now)
    consent = {"consented_by": "Site manager", "consented_at": format_rfc3339(now), "evidence_ref": "bench"}
    consents = dict.fromkeys(("building_manager", "security_contract_holder", "camera_owner"), consent)
    cameras = [
        registry.create_camera(contract.contract_id, site.site_id, f"Cam {i}", now, consents=consents)
        for i in range(CAMERAS)
    ]
    objects = _object_writer(settings)
    with FrameModel.batch_write() as batch:
        for n in range(frames):
            camera = cameras[n % CAMERAS]
            captured_at = now - timedelta(seconds=n)
            frame_id = ids.frame_id(captured_at, "dev_bench", f"f{n}")
            object_key = keys.frame_key(contract.contract_id, camera.camera_id, captured_at, frame_id, "image/jpeg")
            thumb_key = keys.thumb_key(contract.contract_id, camera.camera_id, captured_at, frame_id)
            objects(object_key)
            objects(thumb_key)
            batch.save(
                frame_item(contract.contract_id, camera, frame_id, captured_at, object_key, thumb_key, len(BODY), 31)
            )
    lifecycle.transition(
        contract.contract_id, "terminated", "art12-1-1", "bench", None, "staff:bench", now, purge_grace_days=0
    )
    return contract.contract_id, [c.camera_id for c in cameras], now


def _object_writer(settings: Any) -> Callable[[str], None]:
    """put_object straight into moto's S3 backend: the same stored object as a client call, ~20x faster to seed."""
    from moto.s3.models import s3_backends

    backend = s3_backends["123456789012"]["aws"]
    return lambda key: backend.put_object(settings.frames_bucket, key, BODY)


def _list_keys(storage: Any, contract_id: str, camera_ids: list[str], frames: int) -> int:
    """The baseline: every index key (per-camera queries) and object key (prefix listings) of the contract."""
    from doti.store import keys
    from doti.store.models import FrameModel

    found = 0
    for camera_id in camera_ids:
        found += sum(
            1 for _ in FrameModel.query(camera_id, attributes_to_get=["camera_id", "frame_id"], page_size=1000)
        )
    paginator = storage.s3.get_paginator("list_objects_v2")
    for prefix in keys.contract_prefixes(contract_id):
        for page in paginator.paginate(Bucket=storage.bucket, Prefix=prefix, PaginationConfig={"PageSize": 1000}):
            found += len(page.get("Contents", []))
    if found != 3 * frames:
        raise RuntimeError(f"expected {3 * frames} keys, found {found}")
    return found
