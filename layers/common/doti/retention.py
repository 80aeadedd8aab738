"""The retention job (SPEC §5): delete frames past their contract's retention, camera by camera.

Work is per-camera key-range queries from the oldest frame up to the cutoff, so its cost follows what expires,
not what is stored. Index items go first (a customer never sees a frame whose image is gone), then objects;
an object left behind by a crash is past retention already and its lifecycle rule removes it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from doti import contracts, ids
from doti.frames import Storage
from doti.store import frames as store
from doti.store import registry

BATCH = 500
RESERVE_MS = 15_000  # stop this long before the Lambda timeout; the next run continues


@dataclass
class RetentionReport:
    contracts: int = 0
    cameras: int = 0
    frames_deleted: int = 0
    bytes_freed: int = 0
    objects_failed: int = 0
    stopped_early: bool = False


def run_retention(
    *,
    storage: Storage,
    now: datetime,
    remaining_ms: Callable[[], float],
    batch: int = BATCH,
    reserve_ms: float = RESERVE_MS,
) -> RetentionReport:
    report = RetentionReport()
    for contract in registry.iter_contracts():
        if contract.state == contracts.PURGED:
            continue
        report.contracts += 1
        cutoff = ids.frame_id_floor(now - timedelta(days=contract.retention_days))
        for camera in registry.cameras_of_contract(contract.contract_id):
            report.cameras += 1
            while True:
                if remaining_ms() < reserve_ms:
                    report.stopped_early = True
                    return report
                expired = store.expired_frames(camera.camera_id, cutoff, batch)
                if not expired:
                    break
                store.delete_frame_items(expired)
                object_keys = [key for frame in expired for key in (frame.object_key, frame.thumb_key)]
                report.objects_failed += len(store.delete_objects(storage.s3, storage.bucket, object_keys))
                report.frames_deleted += len(expired)
                report.bytes_freed += sum(frame.bytes for frame in expired)
                if len(expired) < batch:
                    break
    return report
