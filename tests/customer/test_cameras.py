"""Cameras (SPEC §6): each user sees their contract's cameras, within their site scope, each with its newest frame's
signed thumbnail.

Frames are created through the real ingest handler; customers are driven through the viewer handler.
"""

from __future__ import annotations

import json
import secrets
from datetime import timedelta
from typing import Any

from doti import runtime
from doti.clock import format_rfc3339, parse_rfc3339, utcnow
from doti.contracts import registry
from doti.store.models import FrameModel
from tests.support import (
    assert_error,
    body_of,
    camera_consents,
)
from tests.support.hooks import botocore_hook
from tests.support.thumbnails import fetch_thumbnail, is_render_link
from tests.support.viewer import (
    add_site,
    add_user,
    get_camera,
    get_cameras,
    ingest_frame_id,
    login,
    owner_token,
    query_of,
)


def cameras(token: str) -> dict[str, dict[str, Any]]:
    """The cameras the user sees, by id (the listing must succeed)."""
    response = get_cameras(token)
    assert response["statusCode"] == 200, response["body"]
    return {item["camera_id"]: item for item in body_of(response)["items"]}


# cameras


def test_cameras_are_those_of_the_users_contract_only(world_factory):
    # Given two tenants, each with one camera
    tenant_a, tenant_b = world_factory(), world_factory()

    # When each owner lists cameras
    a_cameras = body_of(get_cameras(owner_token(tenant_a)))["items"]
    b_cameras = body_of(get_cameras(owner_token(tenant_b)))["items"]

    # Then each sees only their own camera
    assert [c["camera_id"] for c in a_cameras] == [tenant_a.camera_id]
    assert [c["camera_id"] for c in b_cameras] == [tenant_b.camera_id]
    assert a_cameras[0] == {
        "camera_id": tenant_a.camera_id,
        "site_id": tenant_a.site_id,
        "site_name": "Store",
        "name": "Entrance",
        # no frame yet, so no thumbnail (the tests below cover cameras with frames)
        "last_frame_id": None,
        "last_captured_at": None,
        "thumbnail_url": None,
        "url_expires_at": None,
        "status": "offline",  # never sent a frame
        "last_frame_at": None,
        # no purposes registered yet (Art. 2-4; tests/customer/test_purposes.py)
        "purposes": [],
        "other_text": None,
        "coverage": None,
        "people_filmed": None,
        "purposes_updated_at": None,
        "purposes_registered": False,
    }


def test_a_site_scoped_user_sees_only_that_sites_cameras(world):
    # Given a contract with two sites and a viewer limited to the second
    annex = add_site(world)
    login_id, password = add_user(world, site_ids=[annex.site_id])

    # When the viewer and the owner list cameras
    scoped = body_of(get_cameras(login(login_id, password)))["items"]
    everything = body_of(get_cameras(owner_token(world)))["items"]

    # Then the viewer sees only the second site's camera; the owner sees both
    assert [(c["camera_id"], c["site_id"]) for c in scoped] == [(annex.camera_id, annex.site_id)]
    assert {c["camera_id"] for c in everything} == {world.camera_id, annex.camera_id}


def test_each_camera_names_its_site_within_the_users_scope(world):
    # Given a contract with two named sites and a viewer limited to the second
    annex = add_site(world, name="Warehouse")
    login_id, password = add_user(world, site_ids=[annex.site_id])

    # When the owner and the viewer list cameras
    everything = body_of(get_cameras(owner_token(world)))["items"]
    scoped = body_of(get_cameras(login(login_id, password)))["items"]

    # Then the owner has every site by name (what the invite form offers); the viewer only their own
    assert sorted((c["site_id"], c["site_name"]) for c in everything) == sorted(
        [(world.site_id, "Store"), (annex.site_id, "Warehouse")]
    )
    assert [(c["site_id"], c["site_name"]) for c in scoped] == [(annex.site_id, "Warehouse")]


def test_site_names_are_read_in_one_batch_never_one_call_per_camera(world, aws):
    # Given six cameras over three sites
    for name in ("North", "South", "East"):
        site = add_site(world, name=name)
        now = utcnow()
        registry.create_camera(world.contract_id, site.site_id, f"{name} yard", now, consents=camera_consents(now))
    token = owner_token(world)
    sites_table = aws.refs["SitesTable"]
    calls: list[str] = []

    def count(model: Any, params: dict[str, Any], **_: Any) -> None:
        request = json.loads(params.get("body") or b"{}")
        if sites_table == request.get("TableName") or sites_table in request.get("RequestItems", {}):
            calls.append(model.name)

    # When the owner lists the cameras
    with botocore_hook("before-call", count, "test-cameras-site-names"):
        listed = cameras(token)

    # Then all seven are named by site, from one BatchGetItem
    assert len(listed) == 7
    assert {c["site_name"] for c in listed.values()} == {"Store", "North", "South", "East"}
    assert calls == ["BatchGetItem"]


def test_each_camera_shows_its_newest_frame_as_a_signed_thumbnail(aws, world_factory, base_time):
    # Given a camera with three frames (the newest arriving first) and a second camera with none
    tenant = world_factory(signed_url_ttl=120)
    newest = ingest_frame_id(tenant, base_time + timedelta(minutes=2))
    for minutes in (0, 1):
        ingest_frame_id(tenant, base_time + timedelta(minutes=minutes))
    now = utcnow()
    idle = registry.create_camera(tenant.contract_id, tenant.site_id, "Back door", now, consents=camera_consents(now))
    token = login(tenant.login_id, tenant.password)

    # When the customer lists the cameras
    before = utcnow()
    listed = cameras(token)
    after = utcnow()

    # Then the busy camera shows its newest frame's thumbnail: the renderer's link to its original, signed for the
    # contract's TTL, which renders a JPEG
    busy = listed[tenant.camera_id]
    assert busy["last_frame_id"] == newest
    assert busy["last_captured_at"] == format_rfc3339(base_time + timedelta(minutes=2))
    original = FrameModel.get(tenant.camera_id, newest).object_key
    assert is_render_link(busy["thumbnail_url"])
    params = query_of(busy["thumbnail_url"])
    expires = parse_rfc3339(busy["url_expires_at"], "url_expires_at")
    assert (params["k"], params["t"], int(params["e"])) == (original, "image/jpeg", int(expires.timestamp()))
    assert before + timedelta(seconds=119) <= expires <= after + timedelta(seconds=121)
    thumb = fetch_thumbnail(busy["thumbnail_url"])
    assert (thumb.status, thumb.headers["Content-Type"]) == (200, "image/jpeg")
    # and the camera without frames says so with nulls
    assert listed[idle.camera_id] == {
        "camera_id": idle.camera_id,
        "site_id": tenant.site_id,
        "site_name": "Store",
        "name": "Back door",
        "last_frame_id": None,
        "last_captured_at": None,
        "thumbnail_url": None,
        "url_expires_at": None,
        "status": "offline",
        "last_frame_at": None,
        "purposes": [],
        "other_text": None,
        "coverage": None,
        "people_filmed": None,
        "purposes_updated_at": None,
        "purposes_registered": False,
    }


def test_a_newest_frame_past_its_retention_shows_no_thumbnail(world_factory):
    # Given a 1-day contract whose camera's newest frame has passed retention but is still indexed (TTL lags)
    tenant = world_factory(retention_days=1)
    frame_id = ingest_frame_id(tenant, utcnow() - timedelta(hours=23))
    item = FrameModel.get(tenant.camera_id, frame_id)
    item.update(actions=[FrameModel.expires_at.set(utcnow() - timedelta(seconds=1))])

    # When the customer lists the cameras
    listed = cameras(login(tenant.login_id, tenant.password))

    # Then the camera is listed, without a thumbnail of the expired frame
    assert listed[tenant.camera_id]["thumbnail_url"] is None
    assert listed[tenant.camera_id]["last_frame_id"] is None


def test_a_site_scoped_user_sees_thumbnails_of_their_sites_only(world_factory, base_time):
    # Given a contract with two sites, each camera with a frame, and a user scoped to the second site
    tenant = world_factory()
    now = utcnow()
    annex = registry.create_site(tenant.contract_id, "Annex", None, now)
    annex_camera = registry.create_camera(
        tenant.contract_id, annex.site_id, "Annex door", now, consents=camera_consents(now)
    )
    device = registry.register_device(tenant.contract_id, annex.site_id, "Annex panel", runtime.secret_box(), now)
    ingest_frame_id(tenant, base_time)
    annex_frame = ingest_frame_id(
        tenant,
        base_time,
        camera_id=annex_camera.camera_id,
        device_id=device.device.device_id,
        secret=device.secret,
    )
    login_id, password = f"scoped-{secrets.token_hex(4)}", "pw-" + secrets.token_urlsafe(12)
    registry.create_user(
        tenant.contract_id,
        login_id=login_id,
        name="Annex staff",
        role="viewer",
        password=password,
        site_ids=[annex.site_id],
        now=now,
    )

    # When the scoped user lists the cameras
    listed = cameras(login(login_id, password))

    # Then only the annex camera is there, with its own frame
    assert list(listed) == [annex_camera.camera_id]
    assert listed[annex_camera.camera_id]["last_frame_id"] == annex_frame


# one camera (GET /v1/cameras/{camera_id}): what a single-camera live view reads


def test_one_camera_is_the_listings_item_with_its_status_and_last_frame_at(world, base_time):
    # Given a camera that sent a frame, and another camera of the contract
    ingest_frame_id(world, base_time)
    add_site(world, name="Annex")
    token = owner_token(world)

    # When the customer asks for the one camera
    response = get_camera(token, world.camera_id)

    # Then it is the listing's item for that camera: status, last_frame_at, site name and thumbnail included
    assert response["statusCode"] == 200, response["body"]
    one = body_of(response)
    listed = cameras(token)[world.camera_id]
    assert {k: v for k, v in one.items() if k not in ("thumbnail_url", "url_expires_at")} == {
        k: v for k, v in listed.items() if k not in ("thumbnail_url", "url_expires_at")
    }
    assert one["last_frame_at"] == format_rfc3339(base_time)
    assert one["status"] in ("online", "stale", "offline")
    assert one["site_name"] == "Store"
    assert one["thumbnail_url"]


def test_another_contracts_camera_or_one_outside_the_scope_is_not_found(world_factory):
    # Given two tenants, and a viewer of the first limited to a second site
    world, other = world_factory(), world_factory()
    annex = add_site(world)
    login_id, password = add_user(world, site_ids=[annex.site_id])
    scoped = login(login_id, password)

    # Then the other tenant's camera, a camera outside the scope, and an unknown id are all 404 not_found
    assert_error(get_camera(owner_token(world), other.camera_id), 404, "not_found")
    assert_error(get_camera(scoped, world.camera_id), 404, "not_found")
    assert_error(get_camera(owner_token(world), "cam_nope"), 404, "not_found")
    assert body_of(get_camera(scoped, annex.camera_id))["camera_id"] == annex.camera_id
