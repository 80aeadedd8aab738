"""Upload grants for a device's large uploads."""

from __future__ import annotations

import json
import secrets
from datetime import datetime, timedelta
from typing import Any

from doti.auth.device import signed_headers
from doti.clock import format_rfc3339
from tests.support import World, api_event, now
from tests.support.ingest import post

ROUTE = "/v1/device/uploads"


def upload_request(world: World, **overrides: Any) -> dict[str, Any]:
    request = {
        "camera_id": world.camera_id,
        "content_type": "video/mp4",
        "size": 2_000_000,
        "captured_at": format_rfc3339(now() - timedelta(seconds=5)),
        "frame_id": f"clip-{secrets.token_hex(6)}",
    }
    return {**request, **overrides}


def upload_event(
    world: World,
    payload: dict[str, Any] | str,
    *,
    content_type: str = "application/json",
    secret: str | None = None,
    signed_body: str | None = None,
    signed_at: datetime | None = None,
) -> dict[str, Any]:
    """A signed grant request as a device sends it; the signature may cover another body than the one sent."""
    body = payload if isinstance(payload, str) else json.dumps(payload)
    auth = signed_headers(
        world.device_id,
        secret or world.device_secret,
        "POST",
        ROUTE,
        (body if signed_body is None else signed_body).encode(),
        signed_at or now(),
    )
    headers = {**auth, "Content-Type": content_type}
    return api_event("ingest/post_upload.json", headers=headers, replace_headers=True, body=body, binary=False)


def grant(world: World, **overrides: Any) -> dict[str, Any]:
    return post(upload_event(world, upload_request(world, **overrides)))
