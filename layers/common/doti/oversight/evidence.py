"""Evidence packages of disclosures (doti.oversight.disclosures): the ZIP each one produces, byte-marked copies.

The evidence package is a ZIP at ``evidence/{contract_id}/{disclosure_id}.zip`` (the bucket's ``evidence/``
lifecycle rule deletes it after `EVIDENCE_RETENTION`) holding each selected frame, a ``manifest.csv`` and a
``disclosure.json``. Each image is marked with the disclosure id without being decoded (the admin function has no
image codec): a JPEG gets a COM segment, a PNG a tEXt chunk, an MP4 clip a trailing top-level `free` box (players
skip it), and the id is also in every file name and in the ZIP comment. Removing that one segment, chunk or box gives
back the original bytes, whose SHA-256 the manifest lists, so a
recipient can prove the frame is what the camera sent.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile
import zlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import IO, Any

from doti.clock import format_rfc3339
from doti.entities import Frame
from doti.errors import Conflict, NotFound, ValidationError
from doti.store import keys, objects
from doti.store.objects import Storage

MARK_PREFIX = b"doti-disclosure:"
PNG_MARK_KEYWORD = b"Comment"
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MANIFEST_COLUMNS = ("frame_id", "captured_at", "camera_id", "original_sha256", "marked_sha256", "file_name")


@dataclass
class Package:
    """What a package holds, as its manifest and its record name it."""

    sha256: str = ""
    size: int = 0
    rows: list[dict[str, str]] = field(default_factory=list)


# marking


def mark_text(disclosure_id: str, frame: Frame) -> bytes:
    """The mark each image carries: ASCII, so a JPEG COM segment and a PNG tEXt chunk hold it unchanged."""
    return MARK_PREFIX + (
        f"{disclosure_id} DISCLOSED COPY frame={frame.frame_id} camera={frame.camera_id} "
        f"original-sha256={frame.sha256} see manifest.csv"
    ).encode("ascii")


def mark_jpeg(data: bytes, text: bytes) -> bytes:
    """Insert a COM segment carrying `text`, after the leading APPn segments (JFIF and Exif must come first)."""
    if data[:2] != b"\xff\xd8":
        raise ValidationError("the stored frame is not a JPEG")
    if len(text) > 0xFFFF - 2:
        raise ValueError("a COM segment holds at most 65533 bytes")
    pos = 2
    while pos + 4 <= len(data) and data[pos] == 0xFF and 0xE0 <= data[pos + 1] <= 0xEF:
        length = int.from_bytes(data[pos + 2 : pos + 4], "big")
        if length < 2 or pos + 2 + length > len(data):
            pos = 2  # malformed APPn: right after SOI is always a legal place for COM
            break
        pos += 2 + length
    segment = b"\xff\xfe" + (len(text) + 2).to_bytes(2, "big") + text
    return data[:pos] + segment + data[pos:]


def mark_png(data: bytes, text: bytes) -> bytes:
    """Insert a tEXt chunk (keyword "Comment") carrying `text` right after IHDR, which must stay the first chunk."""
    if data[:8] != _PNG_SIGNATURE or data[12:16] != b"IHDR":
        raise ValidationError("the stored frame is not a PNG")
    after_ihdr = 8 + 12 + int.from_bytes(data[8:12], "big")
    payload = PNG_MARK_KEYWORD + b"\x00" + text
    chunk = len(payload).to_bytes(4, "big") + b"tEXt" + payload + zlib.crc32(b"tEXt" + payload).to_bytes(4, "big")
    return data[:after_ihdr] + chunk + data[after_ihdr:]


def mark_mp4(data: bytes, text: bytes) -> bytes:
    """Append a top-level `free` box carrying `text`: ISO BMFF readers skip free boxes, and the clip's own boxes and
    offsets are untouched, so cutting the last box off gives back the original bytes."""
    if data[4:8] != b"ftyp":
        raise ValidationError("the stored clip is not an MP4")
    payload = PNG_MARK_KEYWORD + b"\x00" + text
    return data + (8 + len(payload)).to_bytes(4, "big") + b"free" + payload


def mark_image(data: bytes, content_type: str, text: bytes) -> bytes:
    if content_type == "video/mp4":
        return mark_mp4(data, text)
    return mark_png(data, text) if content_type == "image/png" else mark_jpeg(data, text)


def package_file_name(disclosure_id: str, frame: Frame) -> str:
    return f"DISCLOSED-{disclosure_id}-{frame.camera_id}-{frame.frame_id}.{keys.extension(frame.content_type)}"


# the ZIP


def _read_original(storage: Storage, frame: Frame) -> bytes:
    body = objects.read_object(storage, frame.object_key, what="a frame")
    if body is None:
        raise NotFound("frame not found", frame_id=frame.frame_id)
    if hashlib.sha256(body).hexdigest() != frame.sha256:
        # Never hand over bytes that are not what the camera sent.
        raise Conflict("a stored frame no longer matches its recorded SHA-256", frame_id=frame.frame_id)
    return body


def _zip_info(name: str, moment: datetime, compress: int) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=moment.timetuple()[:6])
    info.compress_type = compress
    info.external_attr = 0o644 << 16
    return info


def _manifest(rows: list[dict[str, str]]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=MANIFEST_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


def write_package(
    spool: IO[bytes], disclosure: dict[str, Any], frames: list[Frame], storage: Storage, now: datetime
) -> Package:
    """Write the ZIP into `spool` one frame at a time (only one image is ever in memory)."""
    package = Package()
    disclosure_id = disclosure["disclosure_id"]
    with zipfile.ZipFile(spool, "w") as archive:
        for frame in frames:
            original = _read_original(storage, frame)
            marked = mark_image(original, frame.content_type, mark_text(disclosure_id, frame))
            name = package_file_name(disclosure_id, frame)
            # JPEG and PNG are compressed already; deflating them again costs time for nothing.
            archive.writestr(_zip_info(name, frame.captured_at, zipfile.ZIP_STORED), marked)
            package.rows.append(
                {
                    "frame_id": frame.frame_id,
                    "captured_at": format_rfc3339(frame.captured_at),
                    "camera_id": frame.camera_id,
                    "original_sha256": frame.sha256,
                    "marked_sha256": hashlib.sha256(marked).hexdigest(),
                    "file_name": name,
                }
            )
        archive.writestr(_zip_info("manifest.csv", now, zipfile.ZIP_DEFLATED), _manifest(package.rows))
        document = json.dumps(disclosure, ensure_ascii=False, indent=2).encode()
        archive.writestr(_zip_info("disclosure.json", now, zipfile.ZIP_DEFLATED), document)
        archive.comment = (
            f"doti evidence package {disclosure_id}: every image is a DISCLOSED COPY marked with this id "
            "(JPEG COM segment / PNG tEXt chunk / MP4 free box); manifest.csv lists the originals' SHA-256."
        ).encode("ascii")
    digest = hashlib.sha256()
    spool.seek(0)
    for chunk in iter(lambda: spool.read(1024 * 1024), b""):
        digest.update(chunk)
        package.size += len(chunk)
    package.sha256 = digest.hexdigest()
    spool.seek(0)
    return package


def package_key(contract_id: str, disclosure_id: str) -> str:
    return f"evidence/{contract_id}/{disclosure_id}.zip"


def _content_disposition(disclosure_id: str) -> str:
    return f'attachment; filename="{disclosure_id}.zip"'


def upload_package(storage: Storage, key: str, spool: IO[bytes], disclosure_id: str, sha256: str) -> None:
    objects.upload_file(
        storage,
        key,
        spool,
        content_type="application/zip",
        disposition=_content_disposition(disclosure_id),
        metadata={"sha256": sha256, "disclosure-id": disclosure_id},
        what="the evidence package",
    )
