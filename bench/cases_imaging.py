"""Ingest image pipeline cost, as a ratio to a plain full-resolution decode of the same JPEG."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import cv2
import numpy as np

from bench.harness import Row, case, median_ms_pair, row
from doti.imaging import ImageLimits, process_image
from infra.drawing import draw_frame, encode_jpeg

FRAME_SIZES = ((1280, 720), (1920, 1080))
LIMITS = ImageLimits(max_bytes=20_000_000, max_pixels=40_000_000)


@case("imaging.pipeline")
def pipeline_vs_decode() -> Iterator[Row]:
    for width, height in FRAME_SIZES:
        data = encode_jpeg(draw_frame(width, height, "bench", datetime(2025, 1, 1, tzinfo=UTC)))
        buf = np.frombuffer(data, dtype=np.uint8)
        thumb = process_image(data, "image/jpeg", LIMITS)  # fail loudly here rather than time an error path
        value, baseline = median_ms_pair(
            lambda data=data: process_image(data, "image/jpeg", LIMITS),
            lambda buf=buf: cv2.imdecode(buf, cv2.IMREAD_COLOR),
        )
        yield row(
            "imaging.pipeline",
            f"jpeg {width}x{height} ms",
            value,
            baseline,
            note=f"{len(data) // 1024} KiB, thumb {thumb.thumb_width}x{thumb.thumb_height}; baseline: cv2.imdecode",
        )
