"""S3 keys and tags: the one place that knows how objects are laid out in the frames bucket.

Everything of a contract lives under one prefix per kind, so purge and reconciliation are prefix listings.
"""

from __future__ import annotations

import secrets
from datetime import datetime

from doti.contracts.retention_policy import RETENTION_CLASSES, retention_class

__all__ = ["RETENTION_CLASSES", "RETENTION_TAG", "retention_class"]  # the classes are the policy's; the tag is ours

RETENTION_TAG = "doti-retention"

_EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "video/mp4": "mp4"}
INCOMING_PREFIX = "incoming/"  # large uploads before the processor moves them into place (expires after a day)
# Masked clips the clip function encoded, until their caller reads them (doti.ingest.clips). Not under incoming/,
# whose notifications start the processor; tagged for the one-day retention rule, so a caller that crashed before
# deleting one leaves it for a day at most.
STAGING_PREFIX = "staging/"


def retention_tagging(days: int) -> str:
    """The x-amz-tagging value that puts an object under its class's lifecycle rule."""
    return f"{RETENTION_TAG}={retention_class(days)}"


def _day_path(captured_at: datetime) -> str:
    return captured_at.strftime("%Y/%m/%d")


def extension(content_type: str) -> str:
    """The file extension an original of an accepted content type is stored with, e.g. "video/mp4" -> "mp4"."""
    return _EXTENSIONS[content_type]


def frame_key(contract_id: str, camera_id: str, captured_at: datetime, frame_id: str, content_type: str) -> str:
    return f"frames/{contract_id}/{camera_id}/{_day_path(captured_at)}/{frame_id}.{extension(content_type)}"


def thumb_key(contract_id: str, camera_id: str, captured_at: datetime, frame_id: str) -> str:
    return f"thumbs/{contract_id}/{camera_id}/{_day_path(captured_at)}/{frame_id}.jpg"


def incoming_key(contract_id: str, device_id: str, upload_id: str) -> str:
    return f"{INCOMING_PREFIX}{contract_id}/{device_id}/{upload_id}"


def clip_staging_key(source_key: str) -> str:
    """A new key for one masked clip's encode, under the staging prefix of the contract its source is stored for
    (incoming/<contract>/... or frames/<contract>/...), so a purge finds what a crashed caller left there."""
    parts = source_key.split("/")
    if len(parts) < 3 or not parts[1] or f"{parts[0]}/" not in (INCOMING_PREFIX, "frames/"):
        raise ValueError(f"not a key of a contract's upload or frame: {source_key}")
    return f"{STAGING_PREFIX}{parts[1]}/clips/{secrets.token_hex(16)}.mp4"


def incoming_owner(key: str) -> tuple[str, str] | None:
    """(contract id, device id) of an incoming/ key, or None if the key is not one incoming_key makes."""
    parts = key.removeprefix(INCOMING_PREFIX).split("/") if key.startswith(INCOMING_PREFIX) else []
    return (parts[0], parts[1]) if len(parts) == 3 and all(parts) else None


def contract_prefixes(contract_id: str) -> tuple[str, ...]:
    """Every prefix under which a contract's objects live (purge walks these)."""
    return (
        f"frames/{contract_id}/",
        f"thumbs/{contract_id}/",
        f"{INCOMING_PREFIX}{contract_id}/",
        f"{STAGING_PREFIX}{contract_id}/",
    )
