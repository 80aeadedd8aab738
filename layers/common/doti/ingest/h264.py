"""Masked clips as browsers play them: H.264 (x264, High profile, yuv420p) in an MP4 whose index (moov) comes first,
so a browser starts playing before the whole clip has arrived. Pure, no AWS.

OpenCV's wheel writes no H.264 (its only browser-playable encoder is VP9 at libvpx's slowest settings, which OpenCV
lets no one change), so PyAV writes the masked clip: its manylinux wheels bundle FFmpeg with libx264 (GPL-2.0+;
PyAV itself is BSD-3-Clause). PyAV and OpenCV do not fit one Lambda package: only the clip function (the video layer,
no OpenCV) imports this module, and `encode_masked` decodes with PyAV too (doti.ingest.clips).
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from types import TracebackType

import av
import numpy as np

from doti.errors import CorruptImage

CODEC = "libx264"
# x264's speed presets, by the pixels a clip has to encode. "veryfast" costs 18 ms of CPU per megapixel on noisy 720p
# (one x86_64 core; bench case `clip.reencode`) for files a fifth the size of "ultrafast"'s (which turns CABAC and
# most motion search off) and a third of mp4v's; "medium", x264's default, costs twice as much again. The processor
# has 40 s of its 60 s per record (doti.ingest.video.MAX_DECODED_PIXELS: up to 2,000 megapixels a clip) and waits for
# the clip function (30 s timeout, two vCPUs) within it: a clip over VERYFAST_MAX_PIXELS (about 60 s of 720p at
# 15 fps) is encoded at "ultrafast" (7.6 ms per megapixel), so the longest clip takes about 20 s of CPU, not 40.
PRESET = "veryfast"
LONG_CLIP_PRESET = "ultrafast"
VERYFAST_MAX_PIXELS = 800_000_000
# Constant quality: 23 is x264's default, visually clean for camera footage; the masked areas are flat black and cost
# next to nothing.
CRF = 23
PIXEL_FORMAT = "yuv420p"  # the only chroma layout every browser's H.264 decoder takes


def preset_for(pixels: int) -> str:
    """The x264 preset for a clip of `pixels` decoded pixels (frames x width x height)."""
    return PRESET if pixels <= VERYFAST_MAX_PIXELS else LONG_CLIP_PRESET


class H264Writer:
    """Writes BGR frames (as OpenCV decodes them) of one size to an MP4 of H.264 at `fps`, one frame per write.

    yuv420p needs even dimensions: an odd width or height is padded with one black column or row (black hides
    nothing a mask means to hide, and no pixel of the picture is lost)."""

    def __init__(self, path: Path, fps: float, size: tuple[int, int], preset: str = PRESET) -> None:
        width, height = size
        self._size = size
        self._padded = (width + width % 2, height + height % 2)
        self._rate = Fraction(fps).limit_denominator(1001)
        self._container = av.open(str(path), "w", format="mp4", options={"movflags": "+faststart"})
        try:
            self._stream = self._container.add_stream(
                CODEC, rate=self._rate, options={"preset": preset, "crf": str(CRF)}
            )
            self._stream.width, self._stream.height = self._padded
            self._stream.pix_fmt = PIXEL_FORMAT
        except Exception:
            self._container.close()
            raise
        self._count = 0
        self._closed = False

    def write(self, frame: np.ndarray) -> None:
        """Encode one BGR frame of the writer's size."""
        if (frame.shape[1], frame.shape[0]) != self._size:
            raise ValueError(f"frame is {frame.shape[1]}x{frame.shape[0]}; the writer's size is {self._size}")
        if self._padded != self._size:
            frame = np.pad(frame, ((0, self._padded[1] - self._size[1]), (0, self._padded[0] - self._size[0]), (0, 0)))
        picture = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="bgr24")
        picture.pts, picture.time_base = self._count, 1 / self._rate
        self._count += 1
        self._container.mux(self._stream.encode(picture))

    def close(self) -> None:
        """Flush the encoder and write the index; idempotent."""
        if self._closed:
            return
        self._closed = True
        try:
            self._container.mux(self._stream.encode())
        finally:
            self._container.close()

    def __enter__(self) -> H264Writer:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()


def encode_masked(
    source: Path, target: Path, *, size: tuple[int, int], fps: float, frame_count: int, hidden: np.ndarray
) -> int:
    """Decode the clip at `source`, black out the `hidden` pixels of every frame and encode it to `target` at the
    preset its pixels call for; the number of frames.

    The caller decoded the clip already (OpenCV) and found `size` and `frame_count`: a stream that decodes to other
    frames here is CorruptImage, so the masked clip never differs from what the caller checked."""
    width, height = size
    if hidden.shape != (height, width):
        raise ValueError(f"the mask is {hidden.shape[1]}x{hidden.shape[0]}; the clip is {width}x{height}")
    try:
        with av.open(str(source)) as container:
            if not container.streams.video:
                raise CorruptImage("The clip has no video stream", content_type="video/mp4")
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"  # frame and slice threads: Lambda's vCPUs all decode
            with H264Writer(target, fps, size, preset_for(frame_count * width * height)) as writer:
                count = 0
                for picture in container.decode(stream):
                    count += 1
                    frame = picture.to_ndarray(format="bgr24")
                    if count > frame_count or frame.shape[:2] != (height, width):
                        raise CorruptImage(
                            "The clip decodes to other frames than its header declares",
                            content_type="video/mp4",
                            frame=count,
                        )
                    frame[hidden] = 0
                    writer.write(frame)
    except av.FFmpegError as exc:
        raise CorruptImage("The clip does not decode", content_type="video/mp4") from exc
    if count < frame_count:
        raise CorruptImage(
            "The clip stops decoding before its last frame",
            content_type="video/mp4",
            declared_frames=frame_count,
            decoded_frames=count,
        )
    return count
