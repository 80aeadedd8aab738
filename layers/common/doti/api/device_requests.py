"""The OpenAPI request documents of the device routes (the frame's headers and body, the upload and event bodies),
from the ingest domain's own limits and patterns.

Apart from doti.openapi because they import the ingest domain, which only the ingest function needs: the viewer and
admin functions, which use doti.openapi too, do not load it on their cold start.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from doti.ingest import batches, frames, notes, uploads
from doti.openapi import JSON


def _header(name: str, description: str, schema: Mapping[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "header", "required": True, "description": description, "schema": dict(schema)}


_DEVICE_ID = {"type": "string", "pattern": frames._DEVICE_FRAME_ID.pattern}
_TIME = {"type": "string", "format": "date-time", "description": "RFC 3339 with an offset"}
FRAME_REQUEST: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "the image bytes",
        "content": {kind: {"schema": {"type": "string", "format": "binary"}} for kind in frames.ACCEPTED_TYPES},
    },
    "parameters": [
        _header("X-Doti-Camera", "the camera the frame is from, one of the device's site", {"type": "string"}),
        _header("X-Doti-Captured-At", "when the frame was captured, RFC 3339", _TIME),
        _header("X-Doti-Frame-Id", "the device's id for the frame: the idempotency key", _DEVICE_ID),
    ],
}
_FIELD = {"type": "string", "minLength": 1, "maxLength": uploads._MAX_FIELD_LENGTH}
UPLOAD_REQUEST: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            JSON: {
                "schema": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["camera_id", "content_type", "size", "captured_at", "frame_id"],
                    "properties": {
                        "camera_id": _FIELD,
                        "content_type": {**_FIELD, "description": " or ".join(uploads.UPLOAD_TYPES)},
                        "size": {"type": "integer", "minimum": 1, "description": "bytes the device will send"},
                        "captured_at": {**_FIELD, **_TIME, "maxLength": uploads._MAX_FIELD_LENGTH},
                        "frame_id": {**_FIELD, "pattern": frames._DEVICE_FRAME_ID.pattern},
                    },
                }
            }
        },
    }
}
EVENT_REQUEST: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            JSON: {
                "schema": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["occurred_at", "text"],
                    "properties": {
                        "camera_id": {"type": "string", "minLength": 1, "description": "absent: the whole site"},
                        "occurred_at": _TIME,
                        "text": {"type": "string", "minLength": 1, "maxLength": notes.MAX_TEXT},
                        "event_id": {"type": "string", "pattern": notes._EVENT_ID.pattern, "description": "replay key"},
                    },
                }
            }
        },
    }
}

BATCH_REQUEST: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": f"1-{batches.MAX_FRAMES} frames, at most {batches.MAX_BYTES} bytes of images together",
        "content": {
            JSON: {
                "schema": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["frames"],
                    "properties": {
                        "frames": {
                            "type": "array",
                            "minItems": 1,
                            "maxItems": batches.MAX_FRAMES,
                            "items": {
                                "type": "object",
                                "additionalProperties": False,
                                "required": sorted(batches._FRAME_FIELDS),
                                "properties": {
                                    "camera_id": {"type": "string", "description": "one of the device's site"},
                                    "captured_at": _TIME,
                                    "frame_id": {**_DEVICE_ID, "description": "the idempotency key"},
                                    "content_type": {"type": "string", "enum": list(frames.ACCEPTED_TYPES)},
                                    "data": {"type": "string", "format": "byte", "description": "base64"},
                                },
                            },
                        }
                    },
                }
            }
        },
    }
}
