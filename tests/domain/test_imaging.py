"""The ingest image pipeline (doti.ingest.imaging), through its public functions only."""

from __future__ import annotations

import hashlib
import os
import struct
import time
import tracemalloc
import zlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from functools import cache

import cv2
import numpy as np
import pytest

from doti.errors import CorruptImage, PayloadTooLarge, UnsupportedMediaType, ValidationError
from doti.ingest.imaging import (
    ImageLimits,
    ProcessedImage,
    process_image,
    read_dimensions,
    render_thumbnail,
    sniff_content_type,
)
from infra.drawing import draw_frame, encode_jpeg, encode_png
from tests.support.images import (
    jpeg_marker_offset,
    jpeg_with_scan_bytes_flipped,
    jpeg_with_scan_cut_in_the_middle,
    with_jpeg_dimensions,
)

LIMITS = ImageLimits(max_bytes=20_000_000, max_pixels=40_000_000)
WHEN = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
# A 1x1 GIF: OpenCV cannot be relied on to write one.
GIF_1X1 = bytes.fromhex("4749463839610100010080000000000000ffffff21f90401000000002c00000000010001000002024401003b")
# Far below what decoding even a 320x180 thumbnail allocates, far above what parsing a header does.
HEADER_ONLY_BYTE_BUDGET = 64 * 1024


@cache
def frame(width: int, height: int) -> np.ndarray:
    return draw_frame(width, height, f"cam-{width}x{height}", WHEN)


@cache
def jpeg(width: int, height: int) -> bytes:
    return encode_jpeg(frame(width, height))


@cache
def png(width: int, height: int) -> bytes:
    return encode_png(frame(width, height))


def with_png_ihdr(data: bytes, width: int, height: int) -> bytes:
    """Patch the IHDR width and height and recompute its CRC, so only the dimensions are wrong."""
    patched = bytearray(data)
    patched[16:24] = struct.pack(">II", width, height)
    patched[29:33] = struct.pack(">I", zlib.crc32(bytes(patched[12:29])))
    return bytes(patched)


def rendered_thumbnail(result: ProcessedImage) -> bytes:
    """A still's thumbnail: none is made at ingest; the renderer makes it from the stored original and its index
    item's size (doti.viewing.renders)."""
    assert result.thumbnail is None
    return render_thumbnail(result.original, result.content_type, result.width, result.height)


def decode_thumbnail(result: ProcessedImage) -> np.ndarray:
    thumb = cv2.imdecode(np.frombuffer(rendered_thumbnail(result), dtype=np.uint8), cv2.IMREAD_COLOR)
    assert thumb is not None
    return thumb


def peak_traced_bytes(action: Callable[[], object]) -> tuple[int, float, BaseException | None]:
    """Peak bytes Python and numpy allocate while `action` runs, its duration and what it raised."""
    tracemalloc.start()
    started = time.perf_counter()
    raised = None
    try:
        action()
    except (CorruptImage, PayloadTooLarge, UnsupportedMediaType) as exc:
        raised = exc
    elapsed = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak, elapsed, raised


SIZES = [
    pytest.param(1280, 720, 320, 180, id="720p"),
    pytest.param(1920, 1080, 320, 180, id="1080p"),
    pytest.param(720, 1280, 180, 320, id="portrait"),
    pytest.param(1000, 333, 320, 107, id="wide-odd-aspect"),
    pytest.param(100, 50, 100, 50, id="tiny-not-upscaled"),
]


@pytest.mark.parametrize(("width", "height", "thumb_w", "thumb_h"), SIZES)
def test_jpeg_is_processed_into_metadata_and_thumbnail(width: int, height: int, thumb_w: int, thumb_h: int) -> None:
    # Given a camera frame as JPEG
    data = jpeg(width, height)

    # When it is processed
    result = process_image(data, "image/jpeg", LIMITS)

    # Then the metadata describes the original and its thumbnail, rendered when viewed, is a JPEG with the long edge at
    # 320 at most, of the size the index item keeps
    assert (result.content_type, result.width, result.height) == ("image/jpeg", width, height)
    assert result.size == len(data)
    assert result.sha256 == hashlib.sha256(data).hexdigest()
    assert sniff_content_type(rendered_thumbnail(result)) == "image/jpeg"
    assert (result.thumb_width, result.thumb_height) == (thumb_w, thumb_h)
    assert decode_thumbnail(result).shape == (thumb_h, thumb_w, 3)


@pytest.mark.parametrize(("width", "height", "thumb_w", "thumb_h"), SIZES)
def test_png_is_processed_into_metadata_and_thumbnail(width: int, height: int, thumb_w: int, thumb_h: int) -> None:
    # Given a camera frame as PNG
    data = png(width, height)

    # When it is processed
    result = process_image(data, "image/png", LIMITS)

    # Then the metadata describes the original and its thumbnail, rendered when viewed, is a JPEG of the size kept
    assert (result.content_type, result.width, result.height) == ("image/png", width, height)
    assert result.size == len(data)
    assert result.sha256 == hashlib.sha256(data).hexdigest()
    assert sniff_content_type(rendered_thumbnail(result)) == "image/jpeg"
    assert (result.thumb_width, result.thumb_height) == (thumb_w, thumb_h)
    assert decode_thumbnail(result).shape == (thumb_h, thumb_w, 3)


@pytest.mark.parametrize("encode", [encode_jpeg, encode_png], ids=["jpeg", "png"])
def test_thumbnail_shows_the_frame_scaled_down(encode: Callable[..., bytes]) -> None:
    # Given a 1080p frame
    original = frame(1920, 1080)
    data = encode(original)

    # When it is processed
    result = process_image(data, sniff_content_type(data) or "", LIMITS)

    # Then the thumbnail matches a plain area-resize of the original (same content, colours not swapped)
    expected = cv2.resize(original, (320, 180), interpolation=cv2.INTER_AREA)
    mean_abs_diff = float(np.mean(cv2.absdiff(decode_thumbnail(result), expected)))
    assert mean_abs_diff < 6.0


@pytest.mark.parametrize(
    "convert",
    [
        pytest.param(lambda img: cv2.cvtColor(img, cv2.COLOR_BGR2GRAY), id="grayscale"),
        pytest.param(lambda img: cv2.cvtColor(img, cv2.COLOR_BGR2BGRA), id="alpha"),
        pytest.param(lambda img: img.astype(np.uint16) * 257, id="16-bit"),
    ],
)
def test_png_variants_give_a_colour_thumbnail(convert: Callable[[np.ndarray], np.ndarray]) -> None:
    # Given a PNG that is not 8-bit BGR
    data = encode_png(convert(frame(640, 480)))

    # When it is processed
    result = process_image(data, "image/png", LIMITS)

    # Then the thumbnail is an ordinary 3-channel JPEG
    assert (result.width, result.height, result.thumb_width, result.thumb_height) == (640, 480, 320, 240)
    assert decode_thumbnail(result).shape == (240, 320, 3)


@pytest.mark.parametrize(
    "params",
    [
        pytest.param([cv2.IMWRITE_JPEG_PROGRESSIVE, 1], id="progressive"),
        pytest.param([cv2.IMWRITE_JPEG_RST_INTERVAL, 4], id="restart-markers"),
        pytest.param([cv2.IMWRITE_JPEG_OPTIMIZE, 1], id="optimized-huffman"),
    ],
)
def test_jpeg_encoder_variants_are_accepted(params: list[int]) -> None:
    # Given a JPEG with several scans or restart markers inside its scan data
    data = cv2.imencode(".jpg", frame(1280, 720), params)[1].tobytes()

    # When it is processed
    result = process_image(data, "image/jpeg", LIMITS)

    # Then the marker walk accepts it
    assert (result.width, result.height, result.thumb_width, result.thumb_height) == (1280, 720, 320, 180)


def test_exif_rotated_jpeg_gets_an_upright_thumbnail() -> None:
    # Given a landscape-stored JPEG whose EXIF orientation (6) says "rotate 90 degrees clockwise to display"
    tiff = b"MM\x00*\x00\x00\x00\x08" + b"\x00\x01" + struct.pack(">HHIHH", 0x0112, 3, 1, 6, 0) + b"\x00" * 4
    exif = b"Exif\x00\x00" + tiff
    stored = jpeg(1280, 720)
    data = stored[:2] + b"\xff\xe1" + struct.pack(">H", len(exif) + 2) + exif + stored[2:]

    # When it is processed
    result = process_image(data, "image/jpeg", LIMITS)

    # Then the dimensions are the stored ones and the thumbnail is displayed upright, like browsers show the original
    assert (result.width, result.height) == (1280, 720)
    assert (result.thumb_width, result.thumb_height) == (180, 320)
    assert decode_thumbnail(result).shape == (320, 180, 3)


def test_declared_type_parameters_and_case_are_ignored() -> None:
    # Given a JPEG declared with odd case and a parameter
    data = jpeg(100, 50)

    # When it is processed
    result = process_image(data, "Image/JPEG; charset=binary", LIMITS)

    # Then it is accepted as a JPEG
    assert result.content_type == "image/jpeg"


def test_padding_after_end_of_image_is_tolerated() -> None:
    # Given a JPEG followed by NUL padding and a newline
    data = jpeg(100, 50) + b"\x00" * 16 + b"\r\n"

    # When it is processed
    result = process_image(data, "image/jpeg", LIMITS)

    # Then it is accepted and the hash covers the bytes as sent
    assert result.sha256 == hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        pytest.param(jpeg(100, 50), "image/jpeg", id="jpeg"),
        pytest.param(png(100, 50), "image/png", id="png"),
        pytest.param(GIF_1X1, None, id="gif"),
        pytest.param(cv2.imencode(".bmp", frame(100, 50))[1].tobytes(), None, id="bmp"),
        pytest.param(cv2.imencode(".ppm", frame(100, 50))[1].tobytes(), None, id="ppm"),
        pytest.param(b"\xff\xd8", None, id="jpeg-soi-only"),
        pytest.param(b"", None, id="empty"),
    ],
)
def test_content_type_is_sniffed_from_magic_bytes(data: bytes, expected: str | None) -> None:
    # Given some bytes / When sniffed / Then only complete JPEG and PNG signatures are recognised
    assert sniff_content_type(data) == expected


@pytest.mark.parametrize(
    ("data", "content_type", "expected"),
    [
        pytest.param(jpeg(1920, 1080), "image/jpeg", (1920, 1080), id="jpeg"),
        pytest.param(png(720, 1280), "image/png", (720, 1280), id="png"),
        pytest.param(jpeg(1280, 720)[:1000], "image/jpeg", (1280, 720), id="jpeg-header-only"),
        pytest.param(png(1280, 720)[:64], "image/png", (1280, 720), id="png-header-only"),
    ],
)
def test_dimensions_come_from_the_header(data: bytes, content_type: str, expected: tuple[int, int]) -> None:
    # Given an image or just its first bytes / When its dimensions are read / Then the header's values come back
    assert read_dimensions(data, content_type) == expected


@pytest.mark.parametrize("declared", ["image/gif", "application/octet-stream", "image/jpg", "text/plain", ""])
def test_unaccepted_declared_type_is_unsupported(declared: str) -> None:
    # Given a valid JPEG declared as something else than JPEG or PNG
    # When it is processed
    with pytest.raises(UnsupportedMediaType) as caught:
        process_image(jpeg(100, 50), declared, LIMITS)

    # Then it is refused with the declared type in the details
    assert caught.value.status == 415
    assert caught.value.details["declared"] == declared


@pytest.mark.parametrize(
    ("data", "declared", "detected"),
    [
        pytest.param(png(100, 50), "image/jpeg", "image/png", id="png-declared-jpeg"),
        pytest.param(jpeg(100, 50), "image/png", "image/jpeg", id="jpeg-declared-png"),
    ],
)
def test_declared_type_disagreeing_with_magic_bytes_is_a_validation_error(
    data: bytes, declared: str, detected: str
) -> None:
    # Given a valid image declared as the other accepted type
    # When it is processed
    with pytest.raises(ValidationError) as caught:
        process_image(data, declared, LIMITS)

    # Then it is a 422 naming both types, not a 415: the content is a JPEG or a PNG (SPEC §12)
    assert caught.value.status == 422
    assert caught.value.details == {"field": "Content-Type", "declared": declared, "detected": detected}


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(np.random.default_rng(7).bytes(4096), id="random-bytes"),
        pytest.param(GIF_1X1, id="gif"),
        pytest.param(cv2.imencode(".bmp", frame(100, 50))[1].tobytes(), id="bmp"),
        pytest.param(cv2.imencode(".ppm", frame(100, 50))[1].tobytes(), id="ppm"),
    ],
)
def test_other_formats_are_unsupported_even_if_opencv_reads_them(data: bytes) -> None:
    # Given bytes that are not JPEG or PNG, declared as JPEG
    # When they are processed
    with pytest.raises(UnsupportedMediaType) as caught:
        process_image(data, "image/jpeg", LIMITS)

    # Then they are refused as unsupported, not decoded
    assert caught.value.code == "unsupported_media_type"
    assert caught.value.details["detected"] is None


def test_empty_body_is_corrupt() -> None:
    # Given no bytes / When processed / Then it is a corrupt image
    with pytest.raises(CorruptImage) as caught:
        process_image(b"", "image/jpeg", LIMITS)
    assert caught.value.details["size"] == 0


def test_oversize_body_is_refused_before_anything_else() -> None:
    # Given a body one byte over the limit, that is not even an image
    limits = ImageLimits(max_bytes=1000, max_pixels=LIMITS.max_pixels)

    # When it is processed with an unaccepted declared type
    with pytest.raises(PayloadTooLarge) as caught:
        process_image(b"x" * 1001, "text/plain", limits)

    # Then the size is what is refused
    assert caught.value.status == 413
    assert caught.value.details == {"size": 1001, "max_bytes": 1000}


def test_body_exactly_at_the_byte_limit_is_accepted() -> None:
    # Given a JPEG exactly as large as the byte limit
    data = jpeg(100, 50)

    # When it is processed / Then it is accepted
    assert process_image(data, "image/jpeg", ImageLimits(len(data), LIMITS.max_pixels)).size == len(data)


@pytest.mark.parametrize("encode", [jpeg, png], ids=["jpeg", "png"])
def test_pixel_count_over_the_limit_is_too_large(encode: Callable[..., bytes]) -> None:
    # Given a 1280x720 image and a limit one pixel smaller
    data = encode(1280, 720)
    limits = ImageLimits(max_bytes=LIMITS.max_bytes, max_pixels=1280 * 720 - 1)

    # When it is processed
    with pytest.raises(PayloadTooLarge) as caught:
        process_image(data, sniff_content_type(data) or "", limits)

    # Then the details say why
    assert caught.value.details == {"width": 1280, "height": 720, "pixels": 921600, "max_pixels": 921599}


def test_decompression_bomb_is_refused_from_its_header_without_decoding() -> None:
    # Given a small JPEG whose frame header claims 30000x30000 (5.2 GB decoded)
    bomb = with_jpeg_dimensions(jpeg(64, 64), 30000, 30000)
    assert len(bomb) < 8 * 1024

    # When it is processed
    peak, elapsed, raised = peak_traced_bytes(lambda: process_image(bomb, "image/jpeg", LIMITS))

    # Then it is too large, refused fast and without the allocations any decode makes
    assert isinstance(raised, PayloadTooLarge)
    assert raised.details["width"] == 30000
    assert raised.details["height"] == 30000
    assert raised.details["max_pixels"] == LIMITS.max_pixels
    assert elapsed < 0.05
    assert peak < HEADER_ONLY_BYTE_BUDGET


def test_byte_budget_would_catch_a_decode() -> None:
    # Given an ordinary 720p JPEG (the control for the bomb test's budget)
    data = jpeg(1280, 720)

    # When it is processed under allocation tracing
    peak, _, raised = peak_traced_bytes(lambda: process_image(data, "image/jpeg", LIMITS))

    # Then decoding shows up well above the header-only budget
    assert raised is None
    assert peak > 2 * HEADER_ONLY_BYTE_BUDGET


def test_zero_width_jpeg_is_corrupt() -> None:
    # Given a JPEG whose frame header says width 0
    data = with_jpeg_dimensions(jpeg(100, 50), 0, 50)

    # When it is processed / Then it is corrupt
    with pytest.raises(CorruptImage) as caught:
        process_image(data, "image/jpeg", LIMITS)
    assert caught.value.details["width"] == 0


def test_zero_height_png_is_corrupt() -> None:
    # Given a PNG whose IHDR says height 0 (with a correct CRC)
    data = with_png_ihdr(png(100, 50), 100, 0)

    # When it is processed / Then it is corrupt
    with pytest.raises(CorruptImage) as caught:
        process_image(data, "image/png", LIMITS)
    assert caught.value.details["height"] == 0


@pytest.mark.parametrize(
    "cut",
    [
        pytest.param(lambda d: d[: len(d) // 2], id="cut-at-half"),
        pytest.param(lambda d: d[:-2], id="cut-before-eoi"),
        pytest.param(lambda d: d[:-1], id="cut-inside-eoi"),
        pytest.param(lambda d: d[:300], id="cut-in-headers"),
        pytest.param(lambda d: d[:3], id="cut-after-magic"),
    ],
)
def test_truncated_jpeg_is_corrupt(cut: Callable[[bytes], bytes]) -> None:
    # Given a 720p JPEG cut short
    data = cut(jpeg(1280, 720))

    # When it is processed
    with pytest.raises(CorruptImage) as caught:
        process_image(data, "image/jpeg", LIMITS)

    # Then it is a corrupt JPEG
    assert caught.value.status == 422
    assert caught.value.details["content_type"] == "image/jpeg"


@pytest.mark.parametrize(
    "cut",
    [
        pytest.param(lambda d: d[: len(d) // 2], id="cut-at-half"),
        pytest.param(lambda d: d[:-12], id="no-iend"),
        pytest.param(lambda d: d[:20], id="cut-in-ihdr"),
    ],
)
def test_truncated_png_is_corrupt(cut: Callable[[bytes], bytes]) -> None:
    # Given a 720p PNG cut short
    data = cut(png(1280, 720))

    # When it is processed
    with pytest.raises(CorruptImage) as caught:
        process_image(data, "image/png", LIMITS)

    # Then it is a corrupt PNG
    assert caught.value.details["content_type"] == "image/png"


def _break_marker_prefix(data: bytes) -> bytes:
    at = jpeg_marker_offset(data, b"\xff\xdb")  # DQT
    return data[:at] + b"\x00" + data[at + 1 :]


def _segment_length_past_end(data: bytes) -> bytes:
    at = jpeg_marker_offset(data, b"\xff\xdb")
    return data[: at + 2] + b"\xff\xf0" + data[at + 4 :]


def _segment_length_below_two(data: bytes) -> bytes:
    at = jpeg_marker_offset(data, b"\xff\xdb")
    return data[: at + 2] + b"\x00\x01" + data[at + 4 :]


def _stray_marker_in_scan(data: bytes) -> bytes:
    middle = len(data) // 2
    return data[:middle] + b"\xff\xd8" + data[middle:]


def _second_start_of_image(data: bytes) -> bytes:
    return data[:2] + data


@pytest.mark.parametrize(
    "corrupt",
    [
        pytest.param(_break_marker_prefix, id="marker-without-ff"),
        pytest.param(_segment_length_past_end, id="segment-length-past-end"),
        pytest.param(_segment_length_below_two, id="segment-length-below-two"),
        pytest.param(_stray_marker_in_scan, id="stray-soi-in-scan"),
        pytest.param(_second_start_of_image, id="second-soi"),
        pytest.param(lambda d: d + b"trailing garbage", id="data-after-eoi"),
        pytest.param(lambda d: d + d, id="two-images-concatenated"),
    ],
)
def test_broken_jpeg_marker_structure_is_corrupt(corrupt: Callable[[bytes], bytes]) -> None:
    # Given a JPEG whose marker structure is broken
    data = corrupt(jpeg(1280, 720))

    # When it is processed
    with pytest.raises(CorruptImage) as caught:
        process_image(data, "image/jpeg", LIMITS)

    # Then it is corrupt, with where it broke
    assert caught.value.details["content_type"] == "image/jpeg"
    assert "offset" in caught.value.details


@pytest.mark.parametrize(
    ("damage", "width", "height"),
    [
        pytest.param(jpeg_with_scan_cut_in_the_middle, 1280, 720, id="scan-cut-eoi-kept-reduced-decode"),
        pytest.param(jpeg_with_scan_cut_in_the_middle, 320, 240, id="scan-cut-eoi-kept-full-decode"),
        pytest.param(jpeg_with_scan_bytes_flipped, 1280, 720, id="scan-bytes-flipped-reduced-decode"),
        pytest.param(jpeg_with_scan_bytes_flipped, 100, 50, id="scan-bytes-flipped-full-decode"),
    ],
)
def test_jpeg_with_damaged_scan_data_that_libjpeg_papers_over_is_corrupt(
    damage: Callable[[bytes], bytes], width: int, height: int, capfd: pytest.CaptureFixture[str]
) -> None:
    # Given a JPEG whose scan data is damaged but whose markers are all in place (libjpeg would fill the gap with
    # gray and only print a warning)
    data = damage(jpeg(width, height))

    # When it is processed
    with pytest.raises(CorruptImage) as caught:
        process_image(data, "image/jpeg", LIMITS)

    # Then it is corrupt, with libjpeg's warning as the reason, and the warning does not leak to stderr
    assert caught.value.status == 422
    assert caught.value.details["content_type"] == "image/jpeg"
    assert caught.value.details["reason"].startswith("Corrupt JPEG data")
    assert "Corrupt JPEG" not in capfd.readouterr().err


def test_jpeg_with_damaged_scan_data_is_corrupt_under_a_privacy_mask_too() -> None:
    # Given a damaged JPEG for a camera with a privacy mask (decoded in full, to be re-encoded)
    data = jpeg_with_scan_cut_in_the_middle(jpeg(1280, 720))

    # When it is processed / Then it is refused before anything is masked or encoded
    with pytest.raises(CorruptImage, match="damaged"):
        process_image(data, "image/jpeg", LIMITS, [[[0.0, 0.0], [0.5, 0.0], [0.5, 0.5]]])


def test_stderr_works_as_before_after_a_jpeg_decode(capfd: pytest.CaptureFixture[str]) -> None:
    # Given a damaged JPEG refused, then a valid one accepted
    with pytest.raises(CorruptImage):
        process_image(jpeg_with_scan_cut_in_the_middle(jpeg(320, 240)), "image/jpeg", LIMITS)
    process_image(jpeg(320, 240), "image/jpeg", LIMITS)

    # When something then writes to file descriptor 2
    os.write(2, b"still stderr\n")

    # Then it reaches the process's stderr, and nothing else did
    assert capfd.readouterr().err == "still stderr\n"


def test_concurrent_decodes_each_get_their_own_verdict() -> None:
    # Given valid and damaged JPEGs processed by several threads at once
    good, damaged = jpeg(320, 240), jpeg_with_scan_cut_in_the_middle(jpeg(320, 240))
    bodies = [good, damaged] * 8

    def verdict(data: bytes) -> str:
        try:
            process_image(data, "image/jpeg", LIMITS)
        except CorruptImage:
            return "corrupt"
        return "ok"

    # When they run
    with ThreadPoolExecutor(max_workers=4) as pool:
        verdicts = list(pool.map(verdict, bodies))

    # Then every valid one is accepted and every damaged one refused
    assert verdicts == ["ok", "corrupt"] * 8


def test_jpeg_opencv_refuses_is_corrupt() -> None:
    # Given a JPEG with a well-formed marker structure but a 13-bit sample precision libjpeg does not decode
    data = bytearray(jpeg(100, 50))
    data[jpeg_marker_offset(bytes(data), b"\xff\xc0") + 4] = 13

    # When it is processed / Then OpenCV's refusal is a corrupt image
    with pytest.raises(CorruptImage, match="does not decode"):
        process_image(bytes(data), "image/jpeg", LIMITS)


def test_png_with_bad_ihdr_crc_is_corrupt() -> None:
    # Given a PNG whose IHDR CRC does not match
    data = bytearray(png(100, 50))
    data[30] ^= 0xFF

    # When it is processed / Then it is corrupt
    with pytest.raises(CorruptImage, match="CRC"):
        process_image(bytes(data), "image/png", LIMITS)


def _png_chunk_type_garbled(data: bytes) -> bytes:
    at = data.index(b"IDAT")
    return data[:at] + b"ID\x00T" + data[at + 4 :]


def _png_idat_bytes_flipped(data: bytes) -> bytes:
    at = data.index(b"IDAT") + 100
    return data[:at] + bytes([data[at] ^ 0xFF]) + data[at + 1 :]


def _png_without_idat(data: bytes) -> bytes:
    start = data.index(b"IDAT") - 4
    end = data.index(b"IEND") - 4
    return data[:start] + data[end:]


@pytest.mark.parametrize(
    "corrupt",
    [
        pytest.param(_png_chunk_type_garbled, id="chunk-type-garbled"),
        pytest.param(_png_idat_bytes_flipped, id="idat-crc-mismatch"),
        pytest.param(_png_without_idat, id="no-idat"),
        pytest.param(lambda d: d + b"trailing garbage", id="data-after-iend"),
    ],
)
def test_broken_png_chunk_structure_is_corrupt(corrupt: Callable[[bytes], bytes]) -> None:
    # Given a PNG whose chunks are broken
    data = corrupt(png(100, 50))

    # When it is processed / Then it is corrupt
    with pytest.raises(CorruptImage) as caught:
        process_image(data, "image/png", LIMITS)
    assert caught.value.details["content_type"] == "image/png"
