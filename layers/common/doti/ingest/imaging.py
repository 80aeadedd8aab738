"""The ingest image pipeline: validate a JPEG or PNG from its bytes and hash it; and the thumbnail of a stored
original, rendered when viewed (doti.viewing.renders) or, for a clip's poster, at ingest. Pure, no AWS.

Only functions with the imaging layer (OpenCV, numpy) import this module.
Order matters: cheap checks on the bytes and headers come before any decode, so a decompression bomb (a few KB
declaring 30000x30000) is refused before OpenCV allocates gigabytes for it.
"""

from __future__ import annotations

import hashlib
import os
import re
import struct
import sys
import tempfile
import threading
import zlib
from collections.abc import Iterator
from functools import cache
from typing import IO

import cv2
import numpy as np

from doti.errors import CorruptImage, PayloadTooLarge, UnsupportedMediaType, ValidationError
from doti.ingest.image_types import ImageLimits, ProcessedImage
from doti.ingest.masks import Polygons
from doti.ingest.media import media_type

JPEG = "image/jpeg"
PNG = "image/png"
ACCEPTED_CONTENT_TYPES = (JPEG, PNG)
THUMB_LONG_EDGE = 320
THUMB_JPEG_QUALITY = 80
MASKED_JPEG_QUALITY = 95  # a masked JPEG original is re-encoded once; high enough that it stays evidence-grade
_MASK_SHIFT = 4  # fillPoly's fractional bits: polygon corners land within 1/16 pixel
# The activity signature: a tiny grayscale copy of the frame, compared with the camera's previous one.
SIGNATURE_SIZE = (16, 12)  # width, height: 192 bytes

_JPEG_MAGIC = b"\xff\xd8\xff"
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Some encoders and transports pad after the end marker; stripping is cheap and the padding carries no image data.
_TRAILING_PADDING = b"\x00 \t\r\n"

_SOI, _EOI, _SOS, _TEM = 0xD8, 0xD9, 0xDA, 0x01
_RST = range(0xD0, 0xD8)
# SOFn frame headers; C4 (DHT), C8 (JPG) and CC (DAC) share the range but are not frames.
_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
# Inside entropy-coded data FF is stuffed as FF00 and restart markers may occur; anything else ends the scan.
_SCAN_END = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")

# libjpeg works around damaged scan data (cut short, a bad Huffman code, bytes before a marker), fills what it could
# not decode with gray and only prints a warning to stderr; OpenCV offers no hook for it. So a JPEG is decoded with file
# descriptor 2 pointed at a scratch file, and these warnings refuse it. fd 2 is process-wide: one such decode at a time.
_JPEG_DAMAGE_WARNINGS = (b"Corrupt JPEG data", b"Premature end of JPEG file")
_WARNINGS_READ = 4096
_STDERR_LOCK = threading.Lock()

# Largest first: the cheapest decode whose output still covers the thumbnail.
_JPEG_REDUCTIONS = ((8, cv2.IMREAD_REDUCED_COLOR_8), (4, cv2.IMREAD_REDUCED_COLOR_4), (2, cv2.IMREAD_REDUCED_COLOR_2))


def sniff_content_type(data: bytes) -> str | None:
    """The content type the magic bytes say, if it is one we accept."""
    if data.startswith(_JPEG_MAGIC):
        return JPEG
    if data.startswith(_PNG_SIGNATURE):
        return PNG
    return None


def read_dimensions(data: bytes, content_type: str) -> tuple[int, int]:
    """(width, height) from the JPEG frame header or PNG IHDR, without decoding any pixels."""
    if content_type == JPEG:
        return _jpeg_dimensions(data)
    if content_type == PNG:
        return _png_dimensions(data)
    raise UnsupportedMediaType(f"Cannot read dimensions of {content_type!r}", detected=content_type)


def process_image(
    data: bytes, declared_content_type: str, limits: ImageLimits, mask: Polygons | None = None
) -> ProcessedImage:
    """Validate an uploaded still and derive what ingest stores: dimensions, SHA-256 and the activity signature. No
    thumbnail: it is rendered from the stored original when viewed (`render_thumbnail`), which most frames never are.

    Under a privacy mask (normalized polygons, doti.ingest.masks) the image is blacked out before anything is derived
    from it: the original is re-encoded in its own format (JPEG at MASKED_JPEG_QUALITY, PNG losslessly; metadata such as
    EXIF is not carried over), and the signature (and any rendered thumbnail) come from the masked pixels. Without a
    mask the original is the bytes received. `sha256` and `size` are always those of the original to be stored.

    Raises PayloadTooLarge, UnsupportedMediaType or CorruptImage; nothing is decoded before the size, type and
    header pixel count are known to be acceptable.
    """
    if len(data) > limits.max_bytes:
        raise PayloadTooLarge(
            f"Image is {len(data)} bytes; the limit is {limits.max_bytes}", size=len(data), max_bytes=limits.max_bytes
        )
    content_type = _check_content_type(data, declared_content_type)
    width, height = read_dimensions(data, content_type)
    if width * height > limits.max_pixels:
        raise PayloadTooLarge(
            f"Image is {width}x{height} = {width * height} pixels; the limit is {limits.max_pixels}",
            width=width,
            height=height,
            pixels=width * height,
            max_pixels=limits.max_pixels,
        )

    if content_type == JPEG:
        _check_jpeg_structure(data)
        # Reduced decoding still entropy-decodes the whole stream, so it validates as much as a full decode; a
        # masked original is re-encoded from every pixel, so it needs the full one.
        flag = cv2.IMREAD_COLOR if mask else _jpeg_decode_flag(max(width, height))
        image = _decode(data, flag, content_type)
    else:
        _check_png_structure(data)
        image = _decode(data, cv2.IMREAD_COLOR, content_type)

    original = data
    if mask:
        image = apply_mask(image, mask)
        original = encode_original(image, content_type)
        height, width = image.shape[:2]  # as stored: decoding applied any EXIF rotation, and EXIF is not kept
    return derive(image, content_type, width, height, original, with_thumbnail=False)


def derive(
    image: np.ndarray,
    content_type: str,
    width: int,
    height: int,
    original: bytes,
    *,
    duration_ms: int | None = None,
    frame_count: int | None = None,
    with_thumbnail: bool = True,
) -> ProcessedImage:
    """What ingest stores for an original of width x height whose (poster) image is decoded: its size and SHA-256,
    the activity signature, and the thumbnail's size; the JPEG thumbnail itself only `with_thumbnail` (a clip's
    poster: a renderer cannot decode a clip cheaply). A still's is rendered when viewed, at the same size."""
    if with_thumbnail:
        thumb = _fit_thumbnail(image, width, height)
        thumbnail: bytes | None = _encode_thumbnail(thumb)
        thumb_width, thumb_height, small = thumb.shape[1], thumb.shape[0], thumb
    else:
        # No resize and no encode: the size is arithmetic, and the 16x12 signature comes straight from the decode
        # (a reduced one, unless masked), which INTER_AREA averages as it did the thumbnail's pixels.
        thumbnail = None
        thumb_width, thumb_height = _thumbnail_size(image, width, height)
        small = image
    return ProcessedImage(
        content_type=content_type,
        width=width,
        height=height,
        size=len(original),
        sha256=hashlib.sha256(original).hexdigest(),
        thumbnail=thumbnail,
        thumb_width=thumb_width,
        thumb_height=thumb_height,
        original=original,
        signature=signature_of(small),
        duration_ms=duration_ms,
        frame_count=frame_count,
    )


def render_thumbnail(data: bytes, content_type: str, width: int, height: int) -> bytes:
    """The JPEG thumbnail of a stored still of width x height (its index item's), exactly as ingest used to store it:
    long edge THUMB_LONG_EDGE, never upscaled, THUMB_JPEG_QUALITY. A JPEG is decoded reduced (1/2, 1/4 or 1/8 by
    libjpeg's DCT scaling, chosen from the stored size) so a 1080p frame costs a fraction of a full decode; a PNG has
    no reduced decode. The stored original is already masked (Art. 2-4), so the thumbnail is. CorruptImage when the
    bytes do not decode."""
    flag = _jpeg_decode_flag(max(width, height)) if content_type == JPEG else cv2.IMREAD_COLOR
    image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), flag)
    if image is None:
        raise CorruptImage("The stored image does not decode", content_type=content_type)
    return _encode_thumbnail(_fit_thumbnail(image, width, height))


def apply_mask(image: np.ndarray, polygons: Polygons) -> np.ndarray:
    """A copy of `image` (BGR or grayscale, any size) with each normalized polygon filled black; the input is left
    as it was. Filled without anti-aliasing, so every pixel under the mask is exactly 0, and the boundary pixels
    are covered too (a mask errs on the side of hiding)."""
    if not polygons:
        return image
    height, width = image.shape[:2]
    scale = np.array([width, height], dtype=np.float64) * (1 << _MASK_SHIFT)
    points = [np.round(np.asarray(polygon, dtype=np.float64) * scale).astype(np.int32) for polygon in polygons]
    masked = image.copy()
    cv2.fillPoly(masked, points, 0, lineType=cv2.LINE_8, shift=_MASK_SHIFT)
    return masked


def encode_original(image: np.ndarray, content_type: str) -> bytes:
    """A masked original in its own format: JPEG at MASKED_JPEG_QUALITY, PNG lossless."""
    if content_type == JPEG:
        ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, MASKED_JPEG_QUALITY])
    else:
        ok, encoded = cv2.imencode(".png", image)
    if not ok:
        raise RuntimeError(f"OpenCV could not encode the masked image as {content_type}")
    return encoded.tobytes()


def signature_of(image: np.ndarray) -> bytes:
    """The activity signature of a decoded BGR image (the thumbnail is plenty: the signature is 16x12)."""
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
    return cv2.resize(gray, SIGNATURE_SIZE, interpolation=cv2.INTER_AREA).tobytes()


def _check_content_type(data: bytes, declared_content_type: str) -> str:
    declared = media_type(declared_content_type)
    if declared not in ACCEPTED_CONTENT_TYPES:
        raise UnsupportedMediaType(
            f"Content-Type {declared_content_type!r} is not accepted; send image/jpeg or image/png",
            declared=declared_content_type,
            accepted=list(ACCEPTED_CONTENT_TYPES),
        )
    if not data:
        raise CorruptImage("The image is empty", declared=declared, size=0)
    detected = sniff_content_type(data)
    if detected is None:
        raise UnsupportedMediaType(
            "The bytes are neither a JPEG nor a PNG", declared=declared, detected=None, magic=data[:8].hex()
        )
    if detected != declared:  # an accepted image under the other accepted type: 415 is only for other content
        raise ValidationError(
            f"Declared {declared} but the bytes are {detected}",
            field="Content-Type",
            declared=declared,
            detected=detected,
        )
    return detected


def _decode(data: bytes, flag: int, content_type: str) -> np.ndarray:
    buffer = np.frombuffer(data, dtype=np.uint8)
    try:
        if content_type == JPEG:
            image, damage = _decode_jpeg_watching_warnings(buffer, flag)
        else:
            image, damage = cv2.imdecode(buffer, flag), None
    except cv2.error as exc:
        raise CorruptImage("The image does not decode", content_type=content_type, reason=str(exc)) from exc
    if damage:
        raise CorruptImage("The image data is damaged", content_type=content_type, reason=damage)
    if image is None:
        raise CorruptImage("The image does not decode", content_type=content_type)
    return image


@cache
def _warnings_scratch() -> IO[bytes]:
    """One scratch file per process, reused: a decode that prints nothing costs no file system work."""
    return tempfile.TemporaryFile()


def _decode_jpeg_watching_warnings(buffer: np.ndarray, flag: int) -> tuple[np.ndarray | None, str | None]:
    """cv2.imdecode with libjpeg's stderr captured: the image, and the damage warning if libjpeg printed one. Other
    output is passed on to stderr."""
    with _STDERR_LOCK:
        scratch = _warnings_scratch().fileno()
        sys.stderr.flush()  # Python's own pending output belongs to the real stderr
        saved = os.dup(2)
        try:
            os.dup2(scratch, 2)
            try:
                image = cv2.imdecode(buffer, flag)
            finally:
                os.dup2(saved, 2)
        finally:
            os.close(saved)
            output = _take_output(scratch)
    if not output:
        return image, None
    for line in output.splitlines():
        if line.startswith(_JPEG_DAMAGE_WARNINGS):
            return image, line.decode("ascii", "replace")
    os.write(2, output)
    return image, None


def _take_output(scratch: int) -> bytes:
    """What was written to the scratch file (fd 2 shared its offset), which is then emptied for the next decode."""
    written = os.lseek(scratch, 0, os.SEEK_CUR)
    if not written:
        return b""
    output = os.pread(scratch, min(written, _WARNINGS_READ), 0)
    os.ftruncate(scratch, 0)
    os.lseek(scratch, 0, os.SEEK_SET)
    return output


def _jpeg_decode_flag(long_edge: int) -> int:
    for factor, flag in _JPEG_REDUCTIONS:
        if -(-long_edge // factor) >= THUMB_LONG_EDGE:  # libjpeg rounds scaled sizes up
            return flag
    return cv2.IMREAD_COLOR


def _thumbnail_size(image: np.ndarray, width: int, height: int) -> tuple[int, int]:
    """(width, height) of the thumbnail of a width x height original decoded (maybe reduced) as `image`: long edge
    THUMB_LONG_EDGE with the original's exact aspect ratio, never upscaled."""
    decoded_h, decoded_w = image.shape[:2]
    if (decoded_w >= decoded_h) != (width >= height):  # OpenCV applied an EXIF rotation
        width, height = height, width
    scale = min(THUMB_LONG_EDGE / max(width, height), 1.0)
    return max(round(width * scale), 1), max(round(height * scale), 1)


def _fit_thumbnail(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """Resize to the thumbnail's size (`_thumbnail_size`)."""
    target = _thumbnail_size(image, width, height)
    if target == (image.shape[1], image.shape[0]):
        return image
    return cv2.resize(image, target, interpolation=cv2.INTER_AREA)


def _encode_thumbnail(thumb: np.ndarray) -> bytes:
    ok, encoded = cv2.imencode(".jpg", thumb, [cv2.IMWRITE_JPEG_QUALITY, THUMB_JPEG_QUALITY])
    if not ok:  # not the client's fault: a 500, not a 422
        raise RuntimeError("OpenCV could not encode the thumbnail")
    return encoded.tobytes()


def _jpeg_error(message: str, **details: object) -> CorruptImage:
    return CorruptImage(message, content_type=JPEG, **details)


def _jpeg_segments(data: bytes, end: int) -> Iterator[tuple[int, int, int]]:
    """Yield (marker, payload_start, payload_end) for each marker after SOI up to EOI, stepping over scan data."""
    if not data.startswith(_JPEG_MAGIC):
        raise _jpeg_error("Missing the JPEG start-of-image marker")
    pos = 2
    while True:
        if pos >= end or data[pos] != 0xFF:
            raise _jpeg_error("Expected a JPEG marker", offset=pos, reason="truncated" if pos >= end else "garbage")
        while pos < end and data[pos] == 0xFF:  # fill bytes may precede a marker
            pos += 1
        if pos >= end:
            raise _jpeg_error("The JPEG is truncated inside a marker", offset=pos, reason="truncated")
        marker = data[pos]
        pos += 1
        if marker == _EOI:
            yield marker, pos, pos
            return
        if marker == _TEM:
            continue
        if marker in (0x00, _SOI) or marker in _RST:
            raise _jpeg_error(f"Unexpected JPEG marker 0xFF{marker:02X}", offset=pos - 2, marker=f"FF{marker:02X}")
        if pos + 2 > end:
            raise _jpeg_error("The JPEG is truncated inside a segment header", offset=pos, reason="truncated")
        length = int.from_bytes(data[pos : pos + 2], "big")
        if length < 2 or pos + length > end:
            raise _jpeg_error(
                f"JPEG segment 0xFF{marker:02X} has length {length}, past the end of the data",
                offset=pos - 2,
                marker=f"FF{marker:02X}",
                length=length,
            )
        yield marker, pos + 2, pos + length
        pos += length
        if marker == _SOS:
            scan_end = _SCAN_END.search(data, pos, end)
            if scan_end is None:
                raise _jpeg_error("The JPEG is truncated inside scan data", offset=end, reason="truncated")
            pos = scan_end.start()


def _jpeg_dimensions(data: bytes) -> tuple[int, int]:
    for marker, start, stop in _jpeg_segments(data, len(data)):
        if marker in _SOF:
            if stop - start < 6:
                raise _jpeg_error("The JPEG frame header is too short", offset=start, length=stop - start)
            height, width = struct.unpack_from(">HH", data, start + 1)
            if width == 0 or height == 0:
                raise _jpeg_error("The JPEG declares a zero dimension", width=width, height=height)
            return width, height
        if marker in (_SOS, _EOI):
            break
    raise _jpeg_error("The JPEG has no frame header before its image data")


def _check_jpeg_structure(data: bytes) -> None:
    """Walk every marker: one frame, at least one scan, EOI last. A truncated upload fails here."""
    end = len(data.rstrip(_TRAILING_PADDING))
    frames = scans = 0
    for marker, start, stop in _jpeg_segments(data, end):
        if marker in _SOF:
            frames += 1
            if frames > 1:
                raise _jpeg_error("The JPEG has more than one frame header", offset=start)
        elif marker == _SOS:
            if not frames:
                raise _jpeg_error("The JPEG has scan data before its frame header", offset=start)
            scans += 1
        elif marker == _EOI:
            if stop != end:
                raise _jpeg_error("The JPEG has data after its end-of-image marker", offset=stop, trailing=end - stop)
            if not scans:
                raise _jpeg_error("The JPEG has no scan data")
            return


def _png_error(message: str, **details: object) -> CorruptImage:
    return CorruptImage(message, content_type=PNG, **details)


def _png_dimensions(data: bytes) -> tuple[int, int]:
    if not data.startswith(_PNG_SIGNATURE):
        raise _png_error("Missing the PNG signature")
    if len(data) < 33:  # signature 8 + IHDR chunk 25
        raise _png_error("The PNG is too short to hold its header", size=len(data), reason="truncated")
    length, ctype = struct.unpack_from(">I4s", data, 8)
    if ctype != b"IHDR" or length != 13:
        raise _png_error("The PNG does not start with a valid IHDR chunk", chunk=ctype.hex(), length=length)
    (crc,) = struct.unpack_from(">I", data, 29)
    if zlib.crc32(data[12:29]) != crc:
        raise _png_error("The PNG header fails its CRC check")
    width, height = struct.unpack_from(">II", data, 16)
    if width == 0 or height == 0 or width > 2**31 - 1 or height > 2**31 - 1:
        raise _png_error("The PNG declares an invalid dimension", width=width, height=height)
    return width, height


def _check_png_structure(data: bytes) -> None:
    """Walk the chunk list: well-formed chunks, at least one IDAT, IEND last. libpng checks the data CRCs."""
    end = len(data.rstrip(_TRAILING_PADDING))
    pos, saw_idat = 8, False
    while pos + 12 <= end:
        length, ctype = struct.unpack_from(">I4s", data, pos)
        if length > 2**31 - 1 or not ctype.isalpha():
            raise _png_error("The PNG has a malformed chunk", offset=pos, chunk=ctype.hex(), length=length)
        next_pos = pos + 12 + length
        if next_pos > end:
            raise _png_error("The PNG is truncated inside a chunk", offset=pos, chunk=ctype.hex(), reason="truncated")
        saw_idat = saw_idat or ctype == b"IDAT"
        if ctype == b"IEND":
            if next_pos != end:
                raise _png_error("The PNG has data after its IEND chunk", offset=next_pos, trailing=end - next_pos)
            if not saw_idat:
                raise _png_error("The PNG has no image data")
            return
        pos = next_pos
    raise _png_error("The PNG ends without an IEND chunk", offset=pos, reason="truncated")
