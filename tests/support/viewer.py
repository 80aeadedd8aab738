"""Customers logged in through the viewer API, extra sites and users for a world, and frames to list."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlparse

from doti import runtime
from doti.clock import utcnow
from doti.contracts import registry
from doti.store.models import ContractModel
from functions.ingest import app as ingest
from functions.viewer import app as viewer
from tests.support import (
    LambdaContext,
    World,
    api_event,
    body_of,
    camera_consents,
    customer_event,
    frame_event,
    sample_image,
)


@dataclass(frozen=True)
class ExtraSite:
    """A second site of a world's contract, with its own camera and device."""

    site_id: str
    camera_id: str
    device_id: str
    device_secret: str


def add_site(world: World, name: str = "Annex") -> ExtraSite:
    now = utcnow()
    site = registry.create_site(world.contract_id, name, None, now)
    camera = registry.create_camera(world.contract_id, site.site_id, f"{name} door", now, consents=camera_consents(now))
    device = registry.register_device(world.contract_id, site.site_id, f"{name} panel", runtime.secret_box(), now)
    return ExtraSite(site.site_id, camera.camera_id, device.device.device_id, device.secret)


def add_user(world: World, *, role: str = "viewer", site_ids: list[str] | None = None) -> tuple[str, str]:
    login_id = f"user-{secrets.token_hex(4)}"
    password = "pw-" + secrets.token_urlsafe(12)
    registry.create_user(
        world.contract_id,
        login_id=login_id,
        name="Staff",
        role=role,
        password=password,
        site_ids=site_ids,
        now=utcnow(),
    )
    return login_id, password


def set_contract_state(contract_id: str, state: str) -> None:
    """Given-step only: there is no transition route yet, so the state is written through the store layer."""
    ContractModel.get(contract_id).update(actions=[ContractModel.state.set(state)])


def viewer_call(event: dict[str, Any]) -> dict[str, Any]:
    """The viewer handler's answer to an event, whatever it is."""
    return viewer.lambda_handler(event, LambdaContext())


def logins_of(world: World) -> set[str]:
    """The login ids of the world's contract's users, as the registry holds them."""
    return {u.login_id for u in registry.users_of(world.contract_id)}


def login_response(login_id: str, password: str) -> dict[str, Any]:
    """The viewer's answer to a login, whatever it is."""
    body = json.dumps({"login_id": login_id, "password": password})
    return viewer.lambda_handler(api_event("viewer/login.json", body=body), LambdaContext())


def login(login_id: str, password: str) -> str:
    """A session token for the user (the login must succeed)."""
    response = login_response(login_id, password)
    assert response["statusCode"] == 200, response["body"]
    return body_of(response)["token"]


def owner_token(world: World) -> str:
    return login(world.login_id, world.password)


def ingest_frame(
    world: World,
    captured_at: datetime | None = None,
    *,
    body: bytes | None = None,
    content_type: str = "image/jpeg",
    site: ExtraSite | None = None,
    camera_id: str | None = None,
    **device: str,
) -> dict[str, Any]:
    """A frame (the sample image unless `body`) posted by the world's device, or `site`'s, or another `device`
    (device_id, secret) for `camera_id`; the 201 answer's body."""
    if site:
        camera_id = camera_id or site.camera_id
        device = {"device_id": site.device_id, "secret": site.device_secret, **device}
    event = frame_event(
        world,
        body or sample_image(),
        captured_at=captured_at,
        content_type=content_type,
        camera_id=camera_id,
        **device,
    )
    response = ingest.lambda_handler(event, LambdaContext())
    assert response["statusCode"] == 201, response["body"]
    return body_of(response)


def ingest_frame_id(world: World, captured_at: datetime | None = None, **options: Any) -> str:
    """The id of a frame posted as ingest_frame posts it."""
    return ingest_frame(world, captured_at, **options)["frame_id"]


def list_frames(token: str, camera_id: str, **query: str) -> dict[str, Any]:
    event = customer_event(
        "viewer/list_frames.json",
        token,
        path=f"/v1/cameras/{camera_id}/frames",
        resource="/v1/cameras/{camera_id}/frames",
        path_parameters={"camera_id": camera_id},
        query=query,
    )
    return viewer.lambda_handler(event, LambdaContext())


def listed(token: str, camera_id: str, **query: str) -> dict[str, Any]:
    response = list_frames(token, camera_id, **query)
    assert response["statusCode"] == 200, response["body"]
    return body_of(response)


def listed_ids(token: str, camera_id: str, **query: str) -> list[str]:
    return [item["frame_id"] for item in listed(token, camera_id, **query)["items"]]


def get_me(token: str) -> dict[str, Any]:
    event = customer_event("viewer/list_cameras.json", token, path="/v1/me", resource="/v1/me", query={})
    return viewer.lambda_handler(event, LambdaContext())


def get_camera(token: str, camera_id: str) -> dict[str, Any]:
    """GET /v1/cameras/{camera_id}: one camera, as a single-camera live view reads it."""
    event = customer_event(
        "viewer/list_cameras.json",
        token,
        path=f"/v1/cameras/{camera_id}",
        resource="/v1/cameras/{camera_id}",
        path_parameters={"camera_id": camera_id},
        query={},
    )
    return viewer_call(event)


def get_cameras(token: str) -> dict[str, Any]:
    event = customer_event("viewer/list_cameras.json", token, path="/v1/cameras", resource="/v1/cameras", query={})
    return viewer.lambda_handler(event, LambdaContext())


def get_frame(token: str, camera_id: str, frame_id: str) -> dict[str, Any]:
    event = customer_event(
        "viewer/list_frames.json",
        token,
        path=f"/v1/cameras/{camera_id}/frames/{frame_id}",
        resource="/v1/cameras/{camera_id}/frames/{frame_id}",
        path_parameters={"camera_id": camera_id, "frame_id": frame_id},
        query={},
    )
    return viewer.lambda_handler(event, LambdaContext())


def query_of(url: str) -> dict[str, str]:
    """A URL's query parameters, one value each (a signed URL's X-Amz-* and response-* overrides)."""
    return {k: v[0] for k, v in parse_qs(urlparse(url).query).items()}
