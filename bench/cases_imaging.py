"""Ingest image pipeline cost (issue 4, 10(a)): doti.ingest.imaging.process_image against a plain full-resolution
cv2.imdecode of the same bytes (target for JPEG: at most 1.0x, thanks to reduced-resolution decoding) and against the
same pipeline written with Pillow (bench/pillow_pipeline.py). The three run in turn within each repetition.
A masked clip's re-encode (clip.reencode) is timed per second of 720p against OpenCV's mp4v on the same frames.

PNG has no reduced decode (zlib must inflate every row, and libpng has no scaled output), so its pipeline is a full
decode plus the structure walk, resize and encode: above 1.0x by construction, shown for completeness.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import cv2
import numpy as np

from bench.harness import Row, case, median_ms_interleaved, row, sized
from bench.pillow_pipeline import process_with_pillow
from doti.ingest.h264 import CRF, LONG_CLIP_PRESET, PRESET, H264Writer
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


def camera_frames(width: int, height: int, count: int) -> list[np.ndarray]:
    """`count` frames as a camera sends them: a person walking across the scene, with sensor noise in every frame
    (noise is what makes a clip expensive to encode; a clean drawing would flatter every codec)."""
    noise = np.random.default_rng(7)
    frames = []
    for index in range(count):
        frame = draw_frame(width, height, "bench", datetime(2025, 1, 1, tzinfo=UTC), walker=index / max(count, 1))
        grain = noise.normal(0, 4, frame.shape)
        frames.append(np.clip(frame + grain, 0, 255).astype(np.uint8))
    return frames


def _encode(frames: list[np.ndarray], fps: int, path: Path, preset: str | None) -> int:
    """Encode `frames` to `path`, as masked clips are written today (H.264 at `preset`) or were (None: OpenCV's
    mp4v); the size."""
    height, width = frames[0].shape[:2]
    if preset:
        with H264Writer(path, fps, (width, height), preset) as writer:
            for frame in frames:
                writer.write(frame)
    else:
        writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
        for frame in frames:
            writer.write(frame)
        writer.release()
    return path.stat().st_size


@case("clip.reencode")
def clip_reencode() -> Iterator[Row]:
    """A masked clip's re-encode (doti.ingest.h264) per second of 720p camera video, at the preset of most clips and
    at that of long ones, against the mp4v encode it replaced, on the same frames in the same process. The decode and
    mask are common to all and left out."""
    fps = 15
    width, height = sized((1280, 720), (64, 48))
    frames = camera_frames(width, height, sized(fps * 2, 3))
    seconds = len(frames) / fps
    with tempfile.TemporaryDirectory(prefix="doti-bench-") as workdir:
        paths = {name: Path(workdir) / f"{name}.mp4" for name in (PRESET, LONG_CLIP_PRESET, "mp4v")}
        timings = median_ms_interleaved(
            [
                lambda: _encode(frames, fps, paths[PRESET], PRESET),
                lambda: _encode(frames, fps, paths[LONG_CLIP_PRESET], LONG_CLIP_PRESET),
                lambda: _encode(frames, fps, paths["mp4v"], None),
            ],
            reps=sized(5, 1),
            warmup=1,
        )
        kib = {name: path.stat().st_size // 1024 for name, path in paths.items()}
    mp4v = timings[2] / seconds
    for preset, ms in zip((PRESET, LONG_CLIP_PRESET), timings[:2], strict=True):
        note = (
            f"{width}x{height} noisy, {fps} fps, x264 {preset} crf {CRF}: {kib[preset]} KiB vs mp4v {kib['mp4v']} KiB"
            " for 2 s; baseline: OpenCV's mp4v"
        )
        yield row("clip.reencode", f"{preset} {height}p ms per second of video", ms / seconds, mp4v, note=note)
