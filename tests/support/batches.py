"""Frame batches as a gateway sends them (POST /v1/device/frames/batch): for tests and the bench."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

from doti.auth.device import signed_headers
from doti.clock import format_rfc3339
from tests.support import World, api_event

ROUTE = "/v1/device/frames/batch"


def batch_frame(world: World, image: bytes, frame_id: str, captured_at: datetime, **overrides: Any) -> dict[str, Any]:
    """One frame of a batch body, of the world's camera unless `camera_id` says otherwise."""
    return {
        "camera_id": world.camera_id,
        "captured_at": format_rfc3339(captured_at),
        "frame_id": frame_id,
        "content_type": "image/jpeg",
        "data": base64.b64encode(image).decode(),
        **overrides,
    }


def batch_event(
    world: World,
    frames: list[dict[str, Any]] | dict[str, Any] | str,
    *,
    secret: str | None = None,
    signed_at: datetime | None = None,
) -> dict[str, Any]:
    """A signed batch event: `frames` as the body's list, or a whole body (a dict or text) to send as it is."""
    payload = {"frames": frames} if isinstance(frames, list) else frames
    body = payload if isinstance(payload, str) else json.dumps(payload)
    auth = signed_headers(
        world.device_id, secret or world.device_secret, "POST", ROUTE, body.encode(), signed_at or datetime.now(UTC)
    )
    headers = {**auth, "Content-Type": "application/json"}
    return api_event("ingest/post_frame_batch.json", headers=headers, replace_headers=True, body=body, binary=False)
