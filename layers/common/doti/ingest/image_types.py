"""What the image pipeline takes and gives: a contract's limits and the processed image. Pure, no OpenCV.

The pipeline itself (doti.ingest.imaging, doti.ingest.video) needs the imaging layer; these types live apart so that
ingest's domain (doti.ingest.frames, doti.ingest.uploads) builds the limits and reads the result without importing
OpenCV.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ImageLimits:
    max_bytes: int
    max_pixels: int


@dataclass(frozen=True)
class ProcessedImage:
    content_type: str  # from the magic bytes, equal to the declared type
    width: int
    height: int
    size: int  # bytes of the original
    sha256: str  # hex digest of the original bytes
    # JPEG, long edge doti.ingest.imaging.THUMB_LONG_EDGE, never upscaled: a clip's poster only. A still's is None:
    # it is rendered from the original when viewed (doti.viewing.renders), since most frames are never viewed.
    thumbnail: bytes | None
    thumb_width: int  # the thumbnail's size, stored or rendered
    thumb_height: int
    original: bytes  # what is stored as the original: the bytes received (re-encoded only under a privacy mask)
    signature: bytes  # imaging.SIGNATURE_SIZE grayscale pixels, row-major (doti.ingest.activity compares them)
    duration_ms: int | None = None  # clips only
    frame_count: int | None = None  # clips only
