"""Short MP4 clips made for tests, and decoding them back."""

from __future__ import annotations

import tempfile
from functools import cache
from pathlib import Path

import cv2
import numpy as np


@cache
def clip(seconds: float = 2.0, fps: int = 10, width: int = 320, height: int = 240) -> bytes:
    """An MP4 (mp4v) of `seconds` at `fps`: a bright square moving over a gradient, numbered frames."""
    with tempfile.TemporaryDirectory() as workdir:
        path = Path(workdir) / "clip.mp4"
        writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
        assert writer.isOpened()
        gradient = np.tile(np.linspace(40, 200, width, dtype=np.uint8), (height, 1))
        for index in range(round(seconds * fps)):
            frame = cv2.cvtColor(gradient, cv2.COLOR_GRAY2BGR)
            x = (index * 12) % (width - 60)
            cv2.rectangle(frame, (x, 60), (x + 60, 120), (255, 255, 255), -1)
            cv2.putText(frame, str(index), (10, height - 20), cv2.FONT_HERSHEY_SIMPLEX, 1.0, (0, 0, 255), 2)
            writer.write(frame)
        writer.release()
        return path.read_bytes()


@cache
def h264_clip(seconds: float = 2.0, fps: int = 10, width: int = 320, height: int = 240) -> bytes:
    """An MP4 of H.264 (yuv420p, moov first), what cameras send and browsers play; `clip` is MPEG-4 Part 2 (mp4v),
    which OpenCV writes alone but no browser plays. The same picture as `clip`."""
    import av  # PyAV: only the browser tests need an encoder OpenCV's wheel lacks

    with tempfile.TemporaryDirectory() as workdir:
        path = Path(workdir) / "clip.mp4"
        with av.open(str(path), "w", options={"movflags": "+faststart"}) as container:
            stream = container.add_stream("libx264", rate=fps)
            stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
            gradient = np.tile(np.linspace(40, 200, width, dtype=np.uint8), (height, 1))
            for index in range(round(seconds * fps)):
                picture = cv2.cvtColor(gradient, cv2.COLOR_GRAY2RGB)
                x = (index * 12) % (width - 60)
                cv2.rectangle(picture, (x, 60), (x + 60, 120), (255, 255, 255), -1)
                container.mux(stream.encode(av.VideoFrame.from_ndarray(picture, format="rgb24")))
            container.mux(stream.encode())  # flush the encoder
        return path.read_bytes()


def with_zeroed_media_data(data: bytes) -> bytes:
    """The clip with its coded frames (the mdat box's payload) zeroed: the container is intact, no frame decodes."""
    start = data.index(b"mdat") + 4
    end = data.index(b"moov") - 4
    return data[:start] + bytes(end - start) + data[end:]


def decode_all(data: bytes) -> list[np.ndarray]:
    with tempfile.TemporaryDirectory() as workdir:
        path = Path(workdir) / "clip.mp4"
        path.write_bytes(data)
        capture = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
        frames = []
        while True:
            ok, frame = capture.read()
            if not ok:
                break
            frames.append(frame)
        capture.release()
    return frames
