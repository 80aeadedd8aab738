"""Opaque cursors of time-sorted listings (a camera's frames, a camera's notes).

A cursor names the listing it belongs to (its scope and order) and the last key returned, so a cursor from another
camera or the other order is refused instead of silently paging the wrong listing.
"""

from __future__ import annotations

import base64
import binascii
import json

from doti import ids
from doti.errors import ValidationError


def encode(scope: str, newest_first: bool, key: str) -> str:
    raw = json.dumps({"c": scope, "n": newest_first, "k": key}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(cursor: str, scope: str, newest_first: bool) -> str:
    """The last key of the previous page; 422 when the cursor is malformed or belongs to another listing."""
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        valid = data["c"] == scope and data["n"] == newest_first and ids.is_frame_id(data["k"])
    except (binascii.Error, ValueError, KeyError, TypeError) as exc:
        raise ValidationError("cursor is not valid", field="cursor") from exc
    if not valid:
        raise ValidationError("cursor belongs to another listing", field="cursor")
    return data["k"]
