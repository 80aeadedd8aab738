"""Drawn frames to post (JPEG and PNG, of any size, told apart by a label) and hand-damaged JPEGs, for the image
checks of ingest."""

from __future__ import annotations

import struct
from datetime import UTC, datetime
from functools import cache

from infra.drawing import draw_frame, encode_jpeg, encode_png

DRAWN_AT = datetime(2025, 1, 2, tzinfo=UTC)


@cache
def jpeg(width: int = 1280, height: int = 720, *, label: str | None = None) -> bytes:
    """A drawn frame as JPEG, showing `label` (by default its size): frames that must differ, in bytes and digest,
    get different labels."""
    return encode_jpeg(draw_frame(width, height, label or f"ingest-{width}x{height}", DRAWN_AT))


@cache
def png(width: int = 640, height: int = 360, *, label: str | None = None) -> bytes:
    """A drawn frame as PNG, showing `label` (by default its size)."""
    return encode_png(draw_frame(width, height, label or f"ingest-{width}x{height}", DRAWN_AT))


def with_jpeg_dimensions(data: bytes, width: int, height: int) -> bytes:
    """The SOF0 frame header's height and width patched, the compressed data left as it was."""
    sof = jpeg_marker_offset(data, b"\xff\xc0")
    patched = bytearray(data)
    patched[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(patched)


def jpeg_marker_offset(data: bytes, marker: bytes) -> int:
    """Offset of the first header segment with `marker`, walking segment lengths (never scanning pixels)."""
    pos = 2
    while data[pos : pos + 2] != marker:
        assert data[pos] == 0xFF, "test helper lost the marker chain"
        pos += 2 + int.from_bytes(data[pos + 2 : pos + 4], "big")
    return pos


def jpeg_scan_bounds(data: bytes) -> tuple[int, int]:
    """(first byte of the entropy-coded scan data, offset of the EOI marker) of a baseline JPEG."""
    sos = jpeg_marker_offset(data, b"\xff\xda")
    return sos + 2 + int.from_bytes(data[sos + 2 : sos + 4], "big"), len(data) - 2


def jpeg_with_scan_cut_in_the_middle(data: bytes) -> bytes:
    """The middle third of the scan data cut out, EOI kept; never splitting a stuffed FF00, so every marker holds."""
    start, end = jpeg_scan_bounds(data)
    cut_from, cut_to = start + (end - start) // 3, start + 2 * (end - start) // 3
    while data[cut_from - 1] == 0xFF:
        cut_from += 1
    while data[cut_to - 1] == 0xFF:
        cut_to += 1
    return data[:cut_from] + data[cut_to:]


def jpeg_with_scan_bytes_flipped(data: bytes) -> bytes:
    """16 bytes in the middle of the scan data XORed with 0x55, leaving FF bytes and their successors alone and
    making no new FF, so the marker structure holds and only the entropy-coded data is wrong."""
    start, end = jpeg_scan_bounds(data)
    flipped = bytearray(data)
    for at in range((start + end) // 2, (start + end) // 2 + 16):
        if 0xFF not in (flipped[at - 1], flipped[at], flipped[at] ^ 0x55):
            flipped[at] ^= 0x55
    return bytes(flipped)
