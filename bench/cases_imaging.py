"""Ingest image pipeline cost (issue 4, 10(a)): doti.ingest.imaging.process_image against a plain full-resolution
cv2.imdecode of the same bytes (target for JPEG: at most 1.0x, thanks to reduced-resolution decoding) and against the
same pipeline written with Pillow (bench/pillow_pipeline.py). The three run in turn within each repetition.

PNG has no reduced decode (zlib must inflate every row, and libpng has no scaled output), so its pipeline is a full
decode plus the structure walk, resize and encode: above 1.0x by construction, shown for completeness.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import cv2
import numpy as np

from bench.harness import Row, case, median_ms_interleaved, row, sized
from bench.pillow_pipeline import process_with_pillow
from doti.ingest.image_types import ImageLimits
from doti.ingest.imaging import process_image
from infra.drawing import draw_frame, encode_jpeg, encode_png

LIMITS = ImageLimits(max_bytes=20_000_000, max_pixels=40_000_000)
ENCODERS = {"image/jpeg": encode_jpeg, "image/png": encode_png}


def frame_bytes(width: int, height: int, content_type: str) -> bytes:
    return ENCODERS[content_type](draw_frame(width, height, "bench", datetime(2025, 1, 1, tzinfo=UTC)))


@case("imaging.pipeline")
def pipeline_vs_decode() -> Iterator[Row]:
    sizes = sized(((1280, 720), (1920, 1080)), ((64, 48),))
    reps = sized(40, 2)
    for content_type in ("image/jpeg", "image/png"):
        for width, height in sizes:
            data = frame_bytes(width, height, content_type)
            buf = np.frombuffer(data, dtype=np.uint8)
            # Fail loudly here rather than time an error path, and check both pipelines make the same thumbnail.
            ours, theirs = process_image(data, content_type, LIMITS), process_with_pillow(data, content_type, LIMITS)
            if (ours.thumb_width, ours.thumb_height) != (theirs.thumb_width, theirs.thumb_height):
                raise RuntimeError(f"thumbnails differ: {ours.thumb_width}x{ours.thumb_height} vs Pillow's")
            pipeline, decode, pillow = median_ms_interleaved(
                [
                    lambda data=data, content_type=content_type: process_image(data, content_type, LIMITS),
                    lambda buf=buf: cv2.imdecode(buf, cv2.IMREAD_COLOR),
                    lambda data=data, content_type=content_type: process_with_pillow(data, content_type, LIMITS),
                ],
                reps=reps,
                warmup=sized(5, 1),
            )
            label = f"{content_type.removeprefix('image/')} {width}x{height} ms"
            size = f"{len(data) // 1024} KiB, thumb {ours.thumb_width}x{ours.thumb_height}"
            yield row("imaging.pipeline", label, pipeline, decode, note=f"{size}; baseline: full cv2.imdecode")
            yield row("imaging.vs_pillow", label, pipeline, pillow, note=f"{size}; baseline: the Pillow pipeline")
