"""Browsing (SPEC §6): cameras with their newest frame's signed thumbnail, and cursor pages that neither repeat nor
skip a frame while new frames arrive.

Frames are created through the real ingest handler; customers are driven through the viewer handler.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from doti import registry, runtime
from doti.clock import format_rfc3339, parse_rfc3339, utcnow
from doti.store.models import FrameModel
from functions.viewer import app as viewer
from tests.support import (
    LambdaContext,
    World,
    body_of,
    camera_consents,
    customer_event,
)
from tests.support.viewer import ingest_frame_id, list_frames, login


def cameras(token: str) -> dict[str, dict[str, Any]]:
    event = customer_event("viewer/list_cameras.json", token, path="/v1/cameras", resource="/v1/cameras", query={})
    response = viewer.lambda_handler(event, LambdaContext())
    assert response["statusCode"] == 200, response["body"]
    return {item["camera_id"]: item for item in body_of(response)["items"]}


def page(token: str, camera_id: str, **query: str) -> dict[str, Any]:
    response = list_frames(token, camera_id, **query)
    assert response["statusCode"] == 200, response["body"]
    return body_of(response)


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlparse(url).query).items()}


@pytest.fixture
def base_time() -> datetime:
    """A whole second two hours ago: frames around it are inside retention and not in the future."""
    return utcnow().replace(microsecond=0) - timedelta(hours=2)


# cameras


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

    # Then the busy camera shows its newest frame's thumbnail, signed for the contract's TTL, inline, as JPEG
    busy = listed[tenant.camera_id]
    assert busy["last_frame_id"] == newest
    assert busy["last_captured_at"] == format_rfc3339(base_time + timedelta(minutes=2))
    thumb = FrameModel.get(tenant.camera_id, newest).thumb_key
    params = query_of(busy["thumbnail_url"])
    assert urlparse(busy["thumbnail_url"]).path.endswith("/" + thumb)
    assert params["X-Amz-Algorithm"] == "AWS4-HMAC-SHA256"
    assert params["X-Amz-Expires"] == "120"
    assert params["response-content-type"] == "image/jpeg"
    assert params["response-content-disposition"].startswith("inline")
    expires = parse_rfc3339(busy["url_expires_at"], "url_expires_at")
    assert before + timedelta(seconds=119) <= expires <= after + timedelta(seconds=121)
    # and the camera without frames says so with nulls
    assert listed[idle.camera_id] == {
        "camera_id": idle.camera_id,
        "site_id": tenant.site_id,
        "name": "Back door",
        "last_frame_id": None,
        "last_captured_at": None,
        "thumbnail_url": None,
        "url_expires_at": None,
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


# cursor pages while frames arrive


def read_all(token: str, camera_id: str, arrive: list[datetime], world: World, **query: str) -> list[str]:
    """Page through three at a time; after the first page, the frames of `arrive` are ingested."""
    body = page(token, camera_id, limit="3", **query)
    seen = [item["frame_id"] for item in body["items"]]
    arrived = [ingest_frame_id(world, at) for at in arrive]
    assert arrived
    cursor = body.get("cursor")
    while cursor:
        body = page(token, camera_id, limit="3", cursor=cursor, **query)
        seen += [item["frame_id"] for item in body["items"]]
        cursor = body.get("cursor")
    return seen


def test_newest_first_pages_neither_repeat_nor_skip_while_newer_frames_arrive(world, base_time):
    # Given eight frames, newest first, the first page read
    original = [ingest_frame_id(world, base_time + timedelta(minutes=m)) for m in range(8)]
    token = login(world.login_id, world.password)

    # When frames newer than the whole first page arrive before the next pages are read
    seen = read_all(token, world.camera_id, [base_time + timedelta(minutes=m, seconds=30) for m in (8, 9, 40)], world)

    # Then every original frame is listed exactly once, in order, and nothing is listed twice
    assert seen == original[::-1]


def test_pages_of_a_closed_window_ignore_frames_arriving_after_its_end(world, base_time):
    # Given eight frames and a window ending after the sixth, newest first, the first page read
    original = [ingest_frame_id(world, base_time + timedelta(minutes=m)) for m in range(8)]
    window = {"from": format_rfc3339(base_time), "to": format_rfc3339(base_time + timedelta(minutes=6))}
    token = login(world.login_id, world.password)

    # When frames arrive at the window's end (excluded) and after it
    arriving = [base_time + timedelta(minutes=6), base_time + timedelta(minutes=30)]
    newest_first = read_all(token, world.camera_id, arriving, world, **window)

    # Then the window holds exactly its six frames, once each
    assert newest_first == original[:6][::-1]


def test_oldest_first_pages_list_frames_arriving_later_once_at_the_end(world, base_time):
    # Given seven frames, oldest first, the first page read
    original = [ingest_frame_id(world, base_time + timedelta(minutes=m)) for m in range(7)]
    token = login(world.login_id, world.password)

    # When newer frames arrive before the next pages are read
    seen = read_all(
        token,
        world.camera_id,
        [base_time + timedelta(minutes=20), base_time + timedelta(minutes=21)],
        world,
        order="oldest",
    )

    # Then the originals come in order, once each, followed by the new frames, once each
    assert seen[: len(original)] == original
    assert len(seen) == len(original) + 2
    assert len(set(seen)) == len(seen)
    captured = [frame_id[:10] for frame_id in seen]
    assert captured == sorted(captured)
