"""The clip function's work (doti.ingest.clips): the source clip from S3, every frame blacked out under the caller's
bitmap and encoded as H.264 (doti.ingest.h264), the encode staged for the caller.

Needs PyAV (the video layer): the clip function runs it, and so do the test suite and the local stack, which have no
Lambda to invoke (moto's needs Docker) and register InProcessClipEncoder with doti.runtime instead.
"""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path

from doti.ingest import h264, mask_bitmap
from doti.ingest.clips import ClipJob, EncodedClip
from doti.store import clips as store
from doti.store.objects import Storage


def encode_job(job: ClipJob, storage: Storage) -> EncodedClip:
    """Mask and encode the job's clip to its staging key; CorruptImage when it does not decode as the caller found."""
    hidden = mask_bitmap.unpack(job.hidden, job.width, job.height)
    with tempfile.TemporaryDirectory(prefix="doti-clip-") as workdir:
        source, target = Path(workdir) / "source.mp4", Path(workdir) / "masked.mp4"
        store.download(storage, job.source_key, source)
        count = h264.encode_masked(
            source, target, size=(job.width, job.height), fps=job.fps, frame_count=job.frame_count, hidden=hidden
        )
        source.unlink()  # /tmp holds the source and the encode; only one is needed now
        digest = hashlib.sha256()
        with target.open("rb") as file:
            for chunk in iter(lambda: file.read(1024 * 1024), b""):
                digest.update(chunk)
        size = target.stat().st_size
        store.stage(storage, job.staging_key, target)
    return EncodedClip(
        key=job.staging_key,
        size=size,
        sha256=digest.hexdigest(),
        frame_count=count,
        duration_ms=round(count * 1000 / job.fps),
        preset=h264.preset_for(job.pixels),
    )


class InProcessClipEncoder:
    """The clip function's work in the caller's process, through the same staging key: where no clip function is
    deployed (tests with moto in-process, the local stack)."""

    def __init__(self, storage: Storage) -> None:
        self._storage = storage

    def encode(self, job: ClipJob) -> bytes:
        return store.take_staged(self._storage, encode_job(job, self._storage))
