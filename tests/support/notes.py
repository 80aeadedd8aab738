"""Customers' notes and devices' site events, posted through the handlers, and what is stored of them."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from doti import runtime
from doti.auth.device import signed_headers
from doti.clock import format_rfc3339
from doti.oversight import audit
from functions.ingest import app as ingest
from functions.viewer import app as viewer
from tests.support import (
    LambdaContext,
    World,
    api_event,
    body_of,
    customer_event,
    now,
    scan_table,
)
from tests.support.viewer import ExtraSite

ROUTE = "/v1/device/events"


NOTES_RESOURCE = "/v1/cameras/{camera_id}/notes"


def event_request(
    world: World,
    payload: dict[str, Any] | bytes,
    *,
    content_type: str = "application/json",
    site: ExtraSite | None = None,
    secret: str | None = None,
    signed_at: datetime | None = None,
    query: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A signed POST /v1/device/events, as the world's device (or the extra site's) sends it."""
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()  # non-ASCII as \u escapes
    device_id = site.device_id if site else world.device_id
    secret = secret or (site.device_secret if site else world.device_secret)
    auth = signed_headers(device_id, secret, "POST", ROUTE, body, signed_at or now(), query=query)
    headers = {**auth, "Content-Type": content_type}
    return api_event(
        "ingest/post_event.json", headers=headers, replace_headers=True, body=body.decode(), binary=False, query=query
    )


def post_event(world: World, payload: dict[str, Any] | bytes, **options: Any) -> dict[str, Any]:
    return ingest.lambda_handler(event_request(world, payload, **options), LambdaContext())


def recorded(world: World, payload: dict[str, Any] | bytes, **options: Any) -> dict[str, Any]:
    response = post_event(world, payload, **options)
    assert response["statusCode"] == 201, response["body"]
    return body_of(response)


def notes_path(camera_id: str) -> str:
    return f"/v1/cameras/{camera_id}/notes"


def post_note(token: str, camera_id: str, payload: dict[str, Any]) -> dict[str, Any]:
    event = customer_event(
        "viewer/add_note.json",
        token,
        method="POST",
        path=notes_path(camera_id),
        resource=NOTES_RESOURCE,
        path_parameters={"camera_id": camera_id},
        body=json.dumps(payload, ensure_ascii=False),
    )
    return viewer.lambda_handler(event, LambdaContext())


def added(token: str, camera_id: str, text: str, at: datetime | None = None) -> dict[str, Any]:
    payload = {"text": text} | ({"at": format_rfc3339(at)} if at else {})
    response = post_note(token, camera_id, payload)
    assert response["statusCode"] == 201, response["body"]
    return body_of(response)


def stored_notes(contract_id: str | None = None) -> list[dict[str, Any]]:
    """The notes table at rest (tests only: the service never scans it)."""
    items = scan_table(runtime.get_settings().notes_table)
    return [item for item in items if contract_id is None or item["contract_id"]["S"] == contract_id]


def audit_entries(contract_id: str, action: str) -> list[audit.AuditEntry]:
    page, _ = audit.entries(contract_id, limit=1000)
    return [entry for entry in page if entry.action == action]
