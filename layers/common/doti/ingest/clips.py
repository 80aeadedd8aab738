"""Masked clips across a function boundary (issue 17.3): what a caller asks the clip function, what it answers.

PyAV (FFmpeg with libx264) and OpenCV do not fit one Lambda package together, so the H.264 encode of a masked clip
runs in a function of its own (functions/clip, the video layer). The caller (the processor for uploads, a re-mask
slice for stored clips) keeps all its OpenCV work: it validates the clip, counts its frames and rasterizes the mask
as it masks the poster. It then asks an encoder (runtime.clip_encoder) for the masked clip: the clip function reads
the source from S3, blacks out every frame under the caller's bitmap, encodes H.264 (doti.ingest.h264) and writes the
result to a staging key (doti.store.keys.clip_staging_key, tagged for the one-day lifecycle rule); the encoder reads
it back, checks its digest and deletes it. The caller then stores it as before: object first, index last.

Pure: no AWS, no numpy. The answer is {"clip": {...}} or {"error": {"code", "message"}}: a source that does not
decode as the caller found it is CorruptImage, which the caller treats as it would its own decode failing.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from doti.errors import CorruptImage, ValidationError


@dataclass(frozen=True)
class ClipJob:
    source_key: str  # the clip in the frames bucket: an upload (incoming/) or a stored original (frames/)
    staging_key: str  # where the encode is written
    width: int  # frame size, frame count and rate as the caller's decode found them
    height: int
    fps: float
    frame_count: int
    hidden: str  # the pixels to black out (doti.ingest.mask_bitmap), rasterized as the caller masks the poster

    @property
    def pixels(self) -> int:
        return self.frame_count * self.width * self.height

    def to_event(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_event(cls, event: Mapping[str, Any]) -> ClipJob:
        """The job an invocation names; ValidationError when a field is missing or of the wrong type."""
        try:
            job = cls(
                source_key=_text(event["source_key"]),
                staging_key=_text(event["staging_key"]),
                width=_whole(event["width"]),
                height=_whole(event["height"]),
                fps=float(event["fps"]),
                frame_count=_whole(event["frame_count"]),
                hidden=_text(event["hidden"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValidationError(f"not a clip job: {exc}") from exc
        if not (math.isfinite(job.fps) and job.fps > 0):
            raise ValidationError("not a clip job: fps must be positive")
        return job


@dataclass(frozen=True)
class EncodedClip:
    key: str  # the staging key it was written to
    size: int
    sha256: str
    frame_count: int
    duration_ms: int
    preset: str  # the x264 preset it was encoded at (doti.ingest.h264.preset_for)

    def to_answer(self) -> dict[str, Any]:
        return {"clip": asdict(self)}


def error_answer(error: CorruptImage) -> dict[str, Any]:
    return {"error": {"code": error.code, "message": error.message}}


def from_answer(answer: Mapping[str, Any]) -> EncodedClip:
    """The encoded clip an answer describes; CorruptImage when the clip function could not decode the source."""
    if "error" in answer:
        error = answer["error"]
        if error.get("code") == CorruptImage.code:
            raise CorruptImage(str(error.get("message", "The clip does not decode")), content_type="video/mp4")
        raise ValueError(f"the clip function answered an unknown error: {error!r}")
    return EncodedClip(**answer["clip"])


class ClipEncoder(Protocol):
    def encode(self, job: ClipJob) -> bytes:
        """The masked clip's bytes, encoded from `job.source_key`. CorruptImage when the source does not decode as
        the caller found it; StorageError (a retryable failure) when the encoder or S3 failed."""
        ...


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise TypeError("expected a non-empty string")
    return value


def _whole(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise TypeError("expected a positive whole number")
    return value
