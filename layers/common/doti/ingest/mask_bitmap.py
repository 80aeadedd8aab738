"""A mask as the pixels it blacks out, for the clip function (doti.ingest.clips): one bit per pixel, row-major,
zlib-compressed and base64-encoded. The caller rasterizes the mask with OpenCV exactly as it masks the poster, so
the clip's frames and its thumbnail hide the same pixels; the clip function needs only numpy to apply it. A 4K mask
of a few polygons is a few kilobytes, well inside Lambda's 6 MB request.

numpy only: imported by the imaging pipeline (doti.ingest.video) and the video layer's side (doti.ingest.h264).
"""

from __future__ import annotations

import base64
import binascii
import zlib

import numpy as np

from doti.errors import ValidationError


def pack(hidden: np.ndarray) -> str:
    """A 2-D boolean array (True: black out) as text."""
    return base64.b64encode(zlib.compress(np.packbits(hidden.astype(bool), axis=None).tobytes())).decode("ascii")


def unpack(text: str, width: int, height: int) -> np.ndarray:
    """The (height, width) boolean array `pack` made; ValidationError if the text is not one of that size."""
    try:
        packed = np.frombuffer(zlib.decompress(base64.b64decode(text, validate=True)), dtype=np.uint8)
    except (binascii.Error, zlib.error) as exc:
        raise ValidationError("the mask bitmap is not base64 of zlib data") from exc
    if len(packed) != (width * height + 7) // 8:
        raise ValidationError(f"the mask bitmap is not {width}x{height}")
    return np.unpackbits(packed, count=width * height).astype(bool).reshape(height, width)
