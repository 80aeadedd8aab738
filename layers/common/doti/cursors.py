"""Listings' opaque cursors (pack/unpack), and the time-sorted ones' (a camera's frames, notes): key range, cursor.

A cursor names the listing it belongs to (its scope and order) and the last key returned, so a cursor from another
camera or the other order is refused instead of silently paging the wrong listing.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from typing import Any

from doti import ids
from doti.errors import ValidationError


def pack(data: dict[str, Any]) -> str:
    """An opaque cursor holding `data` (JSON, URL-safe base64 without padding): the one format of every listing's."""
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def unpack(cursor: str) -> Any:
    """What `pack` packed; 422 when the text is not a cursor at all (its fields are the listing's to check)."""
    try:
        # ValueError covers non-ASCII text (b64decode), bytes that are not UTF-8 and text that is not JSON.
        return json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, RecursionError) as exc:
        raise ValidationError("cursor is not valid", field="cursor") from exc


def encode(scope: str, newest_first: bool, key: str) -> str:
    return pack({"c": scope, "n": newest_first, "k": key})


def decode(cursor: str, scope: str, newest_first: bool) -> str:
    """The last key of the previous page; 422 when the cursor is malformed or belongs to another listing."""
    data = unpack(cursor)
    try:
        # `is`: a cursor is ours only with the very values we wrote (1 == True would pass ==)
        valid = data["c"] == scope and data["n"] is newest_first and ids.is_frame_id(data["k"])
    except (KeyError, TypeError) as exc:
        raise ValidationError("cursor is not valid", field="cursor") from exc
    if not valid:
        raise ValidationError("cursor belongs to another listing", field="cursor")
    return data["k"]


def key_range(start: datetime | None, end: datetime | None, limit: int, max_page: int) -> tuple[str, str]:
    """The ids [lower, upper) of a listing's time window [start, end); 422 for an empty window or a bad limit."""
    if start and end and start >= end:
        raise ValidationError("'from' must be before 'to'", field="from")
    if not 1 <= limit <= max_page:
        raise ValidationError(f"limit must be between 1 and {max_page}", field="limit")
    lower = ids.frame_id_floor(start) if start else ids.FRAME_ID_MIN
    upper = ids.frame_id_floor(end) if end else ids.FRAME_ID_MAX
    return lower, upper
