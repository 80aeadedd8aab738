"""Short clips (MP4) from large uploads: validate the whole stream with OpenCV, take the poster frame as thumbnail,
count frames and duration. Pure, no AWS.

Only functions with the imaging layer (OpenCV, numpy) import this module. As for stills, cheap checks come first:
the size, the `ftyp` box, then the frame size and frame count the container header declares, all before a single
frame is decoded, so a clip declaring huge frames or an endless stream is refused before OpenCV works on it.
OpenCV's FFmpeg backend reads from a file, so the clip is written to a private temporary directory first.

A masked clip is re-encoded as H.264 by a clip encoder (doti.ingest.clips: the clip function, PyAV's libx264), which
reads the clip from where it is stored: this module rasterizes the mask for it and takes the encode back.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

from doti.errors import CorruptImage, PayloadTooLarge, UnsupportedMediaType
from doti.ingest import imaging, mask_bitmap
from doti.ingest.clips import ClipEncoder, ClipJob
from doti.ingest.image_types import ImageLimits, ProcessedImage
from doti.ingest.masks import Polygons
from doti.ingest.media import media_type
from doti.store.keys import clip_staging_key

if TYPE_CHECKING:
    from doti.ingest.frames import ImageProcessor

MP4 = "video/mp4"
# Decoding work per clip, in pixels (frames x width x height): about 960 frames of 1080p, a few seconds of CPU. It
# bounds the processor's time per record: ten records of a batch share one invocation of at most a minute.
MAX_DECODED_PIXELS = 2_000_000_000
# A masked clip is re-encoded as H.264 in an MP4 browsers play (doti.ingest.h264: PyAV's libx264, "veryfast", or for
# long clips "ultrafast"), in the clip function. It was MPEG-4 Part 2 ("mp4v", OpenCV's VideoWriter), which no
# browser plays; OpenCV's only browser-playable encoder, VP9, runs at libvpx's slow defaults, which OpenCV lets no one
# change: 25-78 s for 10 s of 720p.
_FTYP = b"ftyp"


@dataclass(frozen=True)
class ClipMasking:
    """Where a masked clip is encoded, and where its source is stored for the encoder to read."""

    encoder: ClipEncoder
    source_key: str


def pipeline(encoder: ClipEncoder) -> Callable[[str], ImageProcessor]:
    """The pipeline for the object stored at a key (doti.ingest.uploads): process_media, a masked clip encoded by
    `encoder` from that key."""
    return lambda key: partial(process_media, masking=ClipMasking(encoder, key))


def process_media(
    data: bytes,
    declared_content_type: str,
    limits: ImageLimits,
    mask: Polygons | None = None,
    *,
    masking: ClipMasking | None = None,
) -> ProcessedImage:
    """The processor's pipeline step: clips here, stills through doti.ingest.imaging, chosen by the declared type (which
    the upload grant pinned); either way the bytes must match it."""
    if media_type(declared_content_type) == MP4:
        return process_clip(data, declared_content_type, limits, mask, masking=masking)
    return imaging.process_image(data, declared_content_type, limits, mask)


def process_clip(
    data: bytes,
    declared_content_type: str,
    limits: ImageLimits,
    mask: Polygons | None = None,
    *,
    masking: ClipMasking | None = None,
) -> ProcessedImage:
    """Validate an MP4 clip and derive what ingest stores: frame size, SHA-256, the poster frame's JPEG thumbnail and
    activity signature, frame count and duration.

    Every frame is decoded, so a stream that stops decoding before the frame count its header declares is
    `corrupt_image`. Under a privacy mask every frame is blacked out and the clip re-encoded (H.264, no audio) by
    `masking`'s encoder, from the copy stored at its source key (the bytes `data` holds): the stored original, its
    size and SHA-256 are then the re-encoded clip's. Without a mask the original is the bytes received.
    """
    if mask and masking is None:
        raise ValueError("a masked clip needs a clip encoder and the key its source is stored at")
    if len(data) > limits.max_bytes:
        raise PayloadTooLarge(
            f"Clip is {len(data)} bytes; the limit is {limits.max_bytes}", size=len(data), max_bytes=limits.max_bytes
        )
    _check_container(data, declared_content_type)
    with tempfile.TemporaryDirectory(prefix="doti-clip-") as workdir:
        source = Path(workdir) / "clip.mp4"
        source.write_bytes(data)
        with _opened(source) as capture:
            width, height, declared_frames, fps = _header(capture, limits)
            poster, frame_count = _decode_all(capture, (width, height), declared_frames, mask)
    original = data
    if mask and masking is not None:
        original = masking.encoder.encode(
            ClipJob(
                source_key=masking.source_key,
                staging_key=clip_staging_key(masking.source_key),
                width=width,
                height=height,
                fps=fps,
                frame_count=frame_count,
                hidden=mask_bitmap.pack(hidden_pixels(width, height, mask)),
            )
        )
    return imaging.derive(
        poster, MP4, width, height, original, duration_ms=round(frame_count * 1000 / fps), frame_count=frame_count
    )


def is_mp4(data: bytes) -> bool:
    """An ISO base media file starts with its `ftyp` box: a 32-bit size of at least 8, then the type."""
    return len(data) >= 8 and data[4:8] == _FTYP and int.from_bytes(data[:4], "big") >= 8


def _check_container(data: bytes, declared_content_type: str) -> None:
    declared = media_type(declared_content_type)
    if declared != MP4:
        raise UnsupportedMediaType(
            f"Content-Type {declared_content_type!r} is not a clip; send video/mp4", declared=declared_content_type
        )
    if not data:
        raise CorruptImage("The clip is empty", declared=declared, size=0)
    if not is_mp4(data):
        raise UnsupportedMediaType("The bytes are not an MP4 (no ftyp box)", declared=declared, magic=data[:8].hex())


@contextmanager
def _opened(path: Path) -> Iterator[cv2.VideoCapture]:
    capture = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    try:
        if not capture.isOpened():
            raise CorruptImage("The clip does not open as a video", content_type=MP4)
        yield capture
    finally:
        capture.release()


def _header(capture: cv2.VideoCapture, limits: ImageLimits) -> tuple[int, int, int, float]:
    """(width, height, frame count, frames per second) from the container, checked against the limits."""
    width = int(capture.get(cv2.CAP_PROP_FRAME_WIDTH))
    height = int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
    frames = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    fps = capture.get(cv2.CAP_PROP_FPS)
    if width <= 0 or height <= 0 or frames <= 0 or not (math.isfinite(fps) and fps > 0):
        raise CorruptImage(
            "The clip's header declares no playable video stream",
            content_type=MP4,
            width=width,
            height=height,
            frame_count=frames,
        )
    if width * height > limits.max_pixels:
        raise PayloadTooLarge(
            f"Clip frames are {width}x{height} = {width * height} pixels; the limit is {limits.max_pixels}",
            width=width,
            height=height,
            pixels=width * height,
            max_pixels=limits.max_pixels,
        )
    if frames * width * height > MAX_DECODED_PIXELS:
        raise PayloadTooLarge(
            f"Clip is too long: {frames} frames of {width}x{height}",
            frame_count=frames,
            width=width,
            height=height,
            max_decoded_pixels=MAX_DECODED_PIXELS,
        )
    return width, height, frames, fps


def hidden_pixels(width: int, height: int, mask: Polygons) -> np.ndarray:
    """The pixels the mask blacks out, drawn as imaging.apply_mask draws it on the poster."""
    return imaging.apply_mask(np.full((height, width), 255, dtype=np.uint8), mask) == 0


def _decode_all(
    capture: cv2.VideoCapture, size: tuple[int, int], declared_frames: int, mask: Polygons | None
) -> tuple[np.ndarray, int]:
    """Decode every frame (the only proof the stream is whole); returns the poster frame (masked if a mask is
    given) and the number of frames."""
    poster: np.ndarray | None = None
    count = 0
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        count += 1
        _check_frame(frame, count, size, declared_frames)
        if poster is None:
            poster = imaging.apply_mask(frame, mask) if mask else frame
    if poster is None or count < declared_frames:
        raise CorruptImage(
            "The clip stops decoding before its last frame",
            content_type=MP4,
            declared_frames=declared_frames,
            decoded_frames=count,
        )
    return poster, count


def _check_frame(frame: np.ndarray, number: int, size: tuple[int, int], declared_frames: int) -> None:
    """A frame of the declared size, within the declared count: the limits were checked against the header, so a
    stream that changes size or runs on past it would slip past them."""
    width, height = size
    if frame.shape[1] != width or frame.shape[0] != height:
        raise CorruptImage(
            f"Frame {number} is {frame.shape[1]}x{frame.shape[0]}; the header says {width}x{height}",
            content_type=MP4,
            frame=number,
        )
    if number > declared_frames:
        raise CorruptImage(
            "The clip has more frames than its header declares", content_type=MP4, declared_frames=declared_frames
        )
