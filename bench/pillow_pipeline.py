"""The ingest image pipeline written with Pillow, for comparison only (Pillow is a dev dependency, never on Lambda).

It does what doti.ingest.imaging.process_image does, the way a Pillow user would write it: size and type checks, the
pixel limit from the header before any decode, structure verification (PNG chunk CRCs via verify(); for JPEG, libjpeg's
own checks while it decodes the whole stream), a full-stream decode (JPEG in draft mode: DCT scaling, the same
reduced decode OpenCV does), the EXIF rotation OpenCV applies, a 320 px thumbnail by area averaging (OpenCV's
INTER_AREA), the 16x12 grayscale activity signature, a quality-80 JPEG encode and the SHA-256.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from doti.errors import CorruptImage, PayloadTooLarge, UnsupportedMediaType
from doti.ingest.image_types import ImageLimits
from doti.ingest.imaging import SIGNATURE_SIZE, THUMB_JPEG_QUALITY, THUMB_LONG_EDGE

_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG"}


@dataclass(frozen=True)
class PillowImage:
    width: int
    height: int
    sha256: str
    thumbnail: bytes
    thumb_width: int
    thumb_height: int
    signature: bytes


def _open(data: bytes, pil_format: str) -> Image.Image:
    try:
        return Image.open(io.BytesIO(data), formats=(pil_format,))  # reads the header only
    except UnidentifiedImageError as exc:
        raise UnsupportedMediaType(f"the bytes are not {pil_format}") from exc


def _thumb_size(width: int, height: int) -> tuple[int, int]:
    scale = min(THUMB_LONG_EDGE / max(width, height), 1.0)
    return max(round(width * scale), 1), max(round(height * scale), 1)


def process_with_pillow(data: bytes, content_type: str, limits: ImageLimits) -> PillowImage:
    if len(data) > limits.max_bytes:
        raise PayloadTooLarge("too many bytes", size=len(data))
    pil_format = _FORMATS.get(content_type)
    if pil_format is None:
        raise UnsupportedMediaType("not a JPEG or PNG", declared=content_type)
    image = _open(data, pil_format)
    width, height = image.size
    if width * height > limits.max_pixels:
        raise PayloadTooLarge("too many pixels", pixels=width * height)
    try:
        if pil_format == "PNG":
            image.verify()  # every chunk's CRC; a verified image cannot be decoded, so open it again
            image = _open(data, pil_format)
        else:
            image.draft("RGB", _thumb_size(width, height))  # the smallest DCT scale still covering the thumbnail
        image.load()  # the whole stream: a truncated file raises (ImageFile.LOAD_TRUNCATED_IMAGES is False)
    except (OSError, SyntaxError, ValueError) as exc:
        raise CorruptImage("the image does not decode", reason=str(exc)) from exc
    ImageOps.exif_transpose(image, in_place=True)
    if image.mode != "RGB":  # OpenCV's IMREAD_COLOR gives 3 channels too (a copy only when needed)
        image = image.convert("RGB")
    image.thumbnail((THUMB_LONG_EDGE, THUMB_LONG_EDGE), Image.Resampling.BOX)
    signature = image.convert("L").resize(SIGNATURE_SIZE, Image.Resampling.BOX).tobytes()
    encoded = io.BytesIO()
    image.save(encoded, "JPEG", quality=THUMB_JPEG_QUALITY)
    return PillowImage(
        width=width,
        height=height,
        sha256=hashlib.sha256(data).hexdigest(),
        thumbnail=encoded.getvalue(),
        thumb_width=image.width,
        thumb_height=image.height,
        signature=signature,
    )
