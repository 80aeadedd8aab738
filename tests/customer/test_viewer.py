"""The customer API (SPEC §3, §6, §10, §12): cameras, frame listings, signed URLs, tenant isolation, contract state.

Frames are created through the real ingest handler; customers are driven through the viewer handler.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

import boto3
import pytest
import requests

from doti import account, deletions, frames, notices, runtime
from doti.auth import customer
from doti.clock import format_rfc3339, parse_rfc3339, utcnow
from doti.errors import ContractNotStarted, ContractSuspended, ContractTerminated, NotFound
from functions.viewer import app as viewer
from infra.drawing import draw_frame, encode_png
from tests.support import (
    LambdaContext,
    api_event,
    assert_error,
    body_of,
    customer_event,
    sample_image,
)
from tests.support.viewer import (
    add_site,
    add_user,
    ingest_frame,
    list_frames,
    listed,
    login,
    owner_token,
    set_contract_state,
)

FRAME_KEYS = {
    "frame_id",
    "device_frame_id",
    "camera_id",
    "captured_at",
    "content_type",
    "size",
    "width",
    "height",
    "sha256",
    "activity_score",
    "thumbnail_url",
    "image_url",
    "url_expires_at",
}


# helpers


def get_me(token: str) -> dict[str, Any]:
    event = customer_event("viewer/list_cameras.json", token, path="/v1/me", resource="/v1/me", query={})
    return viewer.lambda_handler(event, LambdaContext())


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


def listed_ids(token: str, camera_id: str, **query: str) -> list[str]:
    return [item["frame_id"] for item in listed(token, camera_id, **query)["items"]]


def pages(token: str, camera_id: str, **query: str) -> Iterator[list[str]]:
    """Every page of a listing, following cursors until a response has none."""
    cursor: str | None = None
    for _ in range(100):
        body = listed(token, camera_id, **query, **({"cursor": cursor} if cursor else {}))
        yield [item["frame_id"] for item in body["items"]]
        cursor = body.get("cursor")
        if not cursor:
            return
    raise AssertionError("the listing never ended")


@pytest.fixture
def base_time() -> datetime:
    """A whole second an hour ago: frames captured around it are inside retention and not in the future."""
    return utcnow().replace(microsecond=0) - timedelta(hours=1)


# me and cameras


def test_me_describes_the_user_and_the_contract_state(world):
    # Given the contract's owner
    token = owner_token(world)

    # When they ask who they are
    response = get_me(token)

    # Then they get their user, role and contract (active) and no site scope
    assert response["statusCode"] == 200, response["body"]
    body = body_of(response)
    assert body["login_id"] == world.login_id
    assert body["role"] == "owner"
    assert body["site_ids"] is None
    assert body["contract"]["contract_id"] == world.contract_id
    assert body["contract"]["state"] == "active"
    assert "password_hash" not in json.dumps(body)


def test_me_shows_a_site_scoped_users_sites(world):
    # Given a viewer limited to a second site
    annex = add_site(world)
    login_id, password = add_user(world, role="viewer", site_ids=[annex.site_id])

    # When they ask who they are
    body = body_of(get_me(login(login_id, password)))

    # Then they see their role and scope
    assert body["role"] == "viewer"
    assert body["site_ids"] == [annex.site_id]


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
        "name": "Entrance",
        # no frame yet, so no thumbnail (tests/customer/test_browse.py covers cameras with frames)
        "last_frame_id": None,
        "last_captured_at": None,
        "thumbnail_url": None,
        "url_expires_at": None,
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


# tenant isolation


def test_another_tenants_camera_is_not_found(world_factory):
    # Given two tenants, and a frame of tenant B
    tenant_a, tenant_b = world_factory(), world_factory()
    b_frame = ingest_frame(tenant_b)
    a_token = owner_token(tenant_a)

    # When tenant A asks for B's camera's frames and B's frame, with B's real ids
    listing = list_frames(a_token, tenant_b.camera_id)
    one = get_frame(a_token, tenant_b.camera_id, b_frame["frame_id"])
    through_own_camera = get_frame(a_token, tenant_a.camera_id, b_frame["frame_id"])

    # Then every answer is 404 not_found, the same as for a camera id that does not exist at all
    nowhere = assert_error(list_frames(a_token, "cam_doesnotexist0000000"), 404, "not_found")
    assert assert_error(listing, 404, "not_found") == nowhere
    assert assert_error(one, 404, "not_found") == nowhere
    assert_error(through_own_camera, 404, "not_found")
    assert tenant_b.camera_id not in listing["body"]
    # and B still sees its frame
    assert listed_ids(owner_token(tenant_b), tenant_b.camera_id) == [b_frame["frame_id"]]


def test_a_site_scoped_user_cannot_reach_cameras_outside_the_scope(world):
    # Given a frame on the first site's camera and a viewer limited to the second site
    frame = ingest_frame(world)
    annex = add_site(world)
    annex_frame = ingest_frame(world, site=annex)
    token = login(*add_user(world, site_ids=[annex.site_id]))

    # When the viewer asks for the first site's camera and frame
    listing = list_frames(token, world.camera_id)
    one = get_frame(token, world.camera_id, frame["frame_id"])

    # Then both are not_found, while the second site's frames are visible
    assert_error(listing, 404, "not_found")
    assert_error(one, 404, "not_found")
    assert listed_ids(token, annex.camera_id) == [annex_frame["frame_id"]]
    assert get_frame(token, annex.camera_id, annex_frame["frame_id"])["statusCode"] == 200


def test_a_frame_of_another_camera_of_the_same_contract_is_not_found_under_this_camera(world):
    # Given frames on two cameras of one contract
    annex = add_site(world)
    annex_frame = ingest_frame(world, site=annex)
    token = owner_token(world)

    # When the annex frame is asked for under the first camera, or with an id that is not a frame id
    wrong_camera = get_frame(token, world.camera_id, annex_frame["frame_id"])
    not_an_id = get_frame(token, world.camera_id, "not-a-frame-id")

    # Then both are not_found
    assert_error(wrong_camera, 404, "not_found")
    assert_error(not_an_id, 404, "not_found")


# listing: order, range, limit


def test_frames_are_listed_newest_first_by_default_and_oldest_first_on_request(world, base_time):
    # Given four frames that arrive out of capture order
    captured = [base_time + timedelta(minutes=m) for m in (2, 0, 3, 1)]
    by_time = {ingest_frame(world, t)["frame_id"]: t for t in captured}
    token = owner_token(world)

    # When the frames are listed with the default order, order=newest and order=oldest
    default = listed(token, world.camera_id)
    newest = listed_ids(token, world.camera_id, order="newest")
    oldest = listed_ids(token, world.camera_id, order="oldest")

    # Then the default and newest are newest first, oldest is the reverse, and the last page has no cursor
    expected = sorted(by_time, key=by_time.__getitem__, reverse=True)
    assert [i["frame_id"] for i in default["items"]] == expected
    assert newest == expected
    assert oldest == expected[::-1]
    assert "cursor" not in default
    item = default["items"][0]
    assert set(item) == FRAME_KEYS
    assert item["captured_at"] == format_rfc3339(max(captured))
    assert item["camera_id"] == world.camera_id
    assert item["content_type"] == "image/jpeg"


def test_from_is_inclusive_and_to_is_exclusive(world, base_time):
    # Given frames captured exactly on whole minutes
    ids = {m: ingest_frame(world, base_time + timedelta(minutes=m))["frame_id"] for m in range(5)}
    token = owner_token(world)

    # When the listing asks for [minute 1, minute 3)
    window = listed_ids(
        token,
        world.camera_id,
        **{
            "from": format_rfc3339(base_time + timedelta(minutes=1)),
            "to": format_rfc3339(base_time + timedelta(minutes=3)),
        },
    )

    # Then it holds minutes 2 and 1 (newest first): the frame at `from` is in, the frame at `to` is out
    assert window == [ids[2], ids[1]]
    # and open-ended ranges work on either side, also with a non-UTC offset
    jst = (base_time + timedelta(minutes=3)).astimezone(timezone(timedelta(hours=9)))
    after = listed_ids(token, world.camera_id, **{"from": jst.isoformat()}, order="oldest")
    assert after == [ids[3], ids[4]]
    before = listed_ids(token, world.camera_id, to=format_rfc3339(base_time + timedelta(minutes=1)))
    assert before == [ids[0]]


@pytest.mark.parametrize("limit", ["0", "201", "-1", "abc", "1.5"])
def test_limit_outside_1_to_200_is_a_validation_error(world, limit):
    # Given a customer
    token = owner_token(world)

    # When the listing asks for a limit outside 1..200
    response = list_frames(token, world.camera_id, limit=limit)

    # Then it is refused with validation_error naming the limit
    error = assert_error(response, 422, "validation_error")
    assert any(p["field"].endswith("limit") for p in error["details"]["problems"])


def test_limit_bounds_are_accepted(world, base_time):
    # Given three frames
    for m in range(3):
        ingest_frame(world, base_time + timedelta(minutes=m))
    token = owner_token(world)

    # When the listing asks for the smallest and the largest limit
    one = listed(token, world.camera_id, limit="1")
    most = listed(token, world.camera_id, limit="200")

    # Then the page sizes follow the limit
    assert len(one["items"]) == 1
    assert "cursor" in one
    assert len(most["items"]) == 3
    assert "cursor" not in most


@pytest.mark.parametrize(
    "query",
    [
        {"from": "yesterday"},
        {"from": "2026-13-01T00:00:00Z"},
        {"from": "2026-11-25T10:00:00"},  # no offset: refused rather than guessed
        {"from": "2026-11-25"},
        {"to": "not a time"},
        {"order": "sideways"},
    ],
    ids=["word", "month-13", "naive", "date-only", "to-garbage", "order"],
)
def test_malformed_query_values_are_validation_errors(world, query):
    # Given a customer
    token = owner_token(world)

    # When a listing has a malformed time or order
    response = list_frames(token, world.camera_id, **query)

    # Then it is 422 validation_error
    assert_error(response, 422, "validation_error")


@pytest.mark.parametrize("gap", [timedelta(0), timedelta(minutes=-1)], ids=["equal", "reversed"])
def test_from_not_before_to_is_a_validation_error(world, base_time, gap):
    # Given a customer
    token = owner_token(world)

    # When `from` is not before `to`
    start = base_time
    response = list_frames(token, world.camera_id, **{"from": format_rfc3339(start), "to": format_rfc3339(start + gap)})

    # Then it is 422 validation_error about `from`
    error = assert_error(response, 422, "validation_error")
    assert error["details"]["field"] == "from"


def test_a_range_before_any_possible_frame_is_an_empty_page(world, base_time):
    # Given a camera with a frame
    ingest_frame(world, base_time)
    token = owner_token(world)

    # When the customer asks for a range that ends at the epoch (times before it are refused: test_hostile_input)
    response = list_frames(token, world.camera_id, to="1970-01-01T00:00:00Z")

    # Then the page is empty (never a storage error)
    assert response["statusCode"] == 200, response["body"]
    assert body_of(response) == {"items": []}


# listing: cursors


@pytest.mark.parametrize("order", ["newest", "oldest"])
def test_cursor_pages_through_every_frame_exactly_once(world, base_time, order):
    # Given seven frames
    ids = [ingest_frame(world, base_time + timedelta(minutes=m))["frame_id"] for m in range(7)]
    token = owner_token(world)

    # When they are paged through three at a time
    seen = list(pages(token, world.camera_id, limit="3", order=order))

    # Then the pages are 3, 3 and 1 frames, in order, with no repeats or gaps
    assert [len(page) for page in seen] == [3, 3, 1]
    flat = [frame_id for page in seen for frame_id in page]
    assert flat == (ids[::-1] if order == "newest" else ids)


def test_frames_arriving_between_pages_neither_repeat_nor_hide_the_original_frames(world, base_time):
    # Given seven frames, and the first page of three (newest first) already read
    original = [ingest_frame(world, base_time + timedelta(minutes=m))["frame_id"] for m in range(7)]
    token = owner_token(world)
    first = listed(token, world.camera_id, limit="3")
    seen = [item["frame_id"] for item in first["items"]]

    # When new frames arrive (newer than all, inside the page already read, and inside the pages still to come)
    for offset in (timedelta(minutes=30), timedelta(minutes=5, seconds=30), timedelta(minutes=1, seconds=30)):
        ingest_frame(world, base_time + offset)
    cursor = first["cursor"]
    while cursor:
        body = listed(token, world.camera_id, limit="3", cursor=cursor)
        seen += [item["frame_id"] for item in body["items"]]
        cursor = body.get("cursor")

    # Then no frame was listed twice and every original frame was listed exactly once, in order
    assert len(seen) == len(set(seen))
    assert [f for f in seen if f in original] == original[::-1]
    # and listing is still newest first across the pages
    captured = [frame_id[:10] for frame_id in seen]
    assert captured == sorted(captured, reverse=True)


def test_a_cursor_from_another_camera_or_order_is_refused(world, base_time):
    # Given a cursor for the first camera, newest first
    for m in range(2):
        ingest_frame(world, base_time + timedelta(minutes=m))
    annex = add_site(world)
    token = owner_token(world)
    cursor = listed(token, world.camera_id, limit="1")["cursor"]

    # When it is used on another camera of the same contract, or with the other order
    other_camera = list_frames(token, annex.camera_id, cursor=cursor)
    other_order = list_frames(token, world.camera_id, cursor=cursor, order="oldest")

    # Then both are validation errors about the cursor
    assert assert_error(other_camera, 422, "validation_error")["details"]["field"] == "cursor"
    assert assert_error(other_order, 422, "validation_error")["details"]["field"] == "cursor"


@pytest.mark.parametrize("order", ["newest", "oldest"])
def test_a_cursor_is_refused_with_a_window_that_does_not_hold_it(world, base_time, order):
    # Given frames over twenty minutes, and a cursor of the first ten minutes' window
    moments = [base_time + timedelta(minutes=m) for m in (1, 5, 12, 15)]
    ids = [ingest_frame(world, moment)["frame_id"] for moment in moments]
    token = owner_token(world)
    first = {"from": format_rfc3339(base_time), "to": format_rfc3339(base_time + timedelta(minutes=10))}
    cursor = listed(token, world.camera_id, limit="1", order=order, **first)["cursor"]

    # When it is sent with the window after that one, or the one before
    later = {"from": format_rfc3339(base_time + timedelta(minutes=10)), "to": format_rfc3339(moments[-1])}
    earlier = {"from": format_rfc3339(base_time - timedelta(minutes=10)), "to": format_rfc3339(base_time)}
    responses = [list_frames(token, world.camera_id, order=order, cursor=cursor, **w) for w in (later, earlier)]

    # Then each is a validation error about the cursor, never a page (DynamoDB would refuse the start key: 503)
    for response in responses:
        assert assert_error(response, 422, "validation_error")["details"]["field"] == "cursor"
    # and a window that holds the cursor continues after it
    rest = listed_ids(token, world.camera_id, order=order, cursor=cursor)
    assert rest == ([ids[0]] if order == "newest" else ids[1:])


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _forged_cursor(payload: str | bytes | dict[str, Any], camera_id: str) -> str:
    """A raw cursor string, base64 of raw bytes, or base64 of JSON for this camera and newest-first order."""
    if isinstance(payload, str):
        return payload
    if isinstance(payload, bytes):
        return _b64(payload)
    return _b64(json.dumps({"c": camera_id, "n": True, **payload}).encode())


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param("garbage!!", id="not-base64"),
        pytest.param("abc", id="short"),
        pytest.param(b"\xff\xfe not json", id="not-json"),
        pytest.param(b"[1, 2, 3]", id="json-list"),
        pytest.param(b'"just a string"', id="json-string"),
        pytest.param({}, id="no-frame"),
        pytest.param({"f": "short"}, id="short-frame"),
        pytest.param({"f": 12345}, id="numeric-frame"),
        pytest.param({"f": list("0" * 26)}, id="list-frame"),
        pytest.param({"f": dict.fromkeys("0123456789ABCDEFGHJKMNPQRS", 0)}, id="dict-frame"),
    ],
)
def test_a_forged_cursor_is_a_validation_error(world, base_time, payload):
    # Given a camera with frames and a cursor the server never issued
    for m in range(2):
        ingest_frame(world, base_time + timedelta(minutes=m))
    token = owner_token(world)

    # When it is sent
    response = list_frames(token, world.camera_id, cursor=_forged_cursor(payload, world.camera_id))

    # Then it is 422 validation_error
    assert_error(response, 422, "validation_error")


def test_expired_frames_are_hidden_before_ttl_removes_them(world_factory):
    # Given a frame in a 1-day retention contract, captured 23 hours ago (DynamoDB TTL may lag by days)
    tenant = world_factory(retention_days=1)
    frame = ingest_frame(tenant, utcnow() - timedelta(hours=23))
    _, user = customer.authenticate_session(f"Bearer {owner_token(tenant)}", utcnow())
    storage = runtime.storage()
    query = frames.FrameQuery(start=None, end=None, newest_first=True, limit=50, cursor=None)

    # When the camera is browsed now, and once the frame's retention has passed but the item is still stored
    expires = parse_rfc3339(frame["expires_at"], "expires_at")
    fresh = frames.list_frames(user, tenant.camera_id, query, storage=storage, now=utcnow())
    stale = frames.list_frames(user, tenant.camera_id, query, storage=storage, now=expires)

    # Then the frame is listed before and hidden after, in the listing and as a single frame
    assert expires - utcnow() < timedelta(hours=1, seconds=5)
    assert [s.frame.frame_id for s in fresh.items] == [frame["frame_id"]]
    assert stale.items == []
    assert stale.cursor is None
    with pytest.raises(NotFound):
        frames.get_frame(user, tenant.camera_id, frame["frame_id"], storage=storage, now=expires)


# signed URLs


def _query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlparse(url).query).items()}


def _object_keys(aws, prefix: str) -> list[str]:
    s3 = boto3.client("s3", region_name="us-east-1")
    return [o["Key"] for o in s3.list_objects_v2(Bucket=aws.refs["FramesBucket"], Prefix=prefix).get("Contents", [])]


def _url_key(url: str, bucket: str) -> str:
    parsed = urlparse(url)
    path = unquote(parsed.path)
    if parsed.netloc.startswith(f"{bucket}."):
        return path.lstrip("/")
    return path.removeprefix(f"/{bucket}/")


@pytest.mark.parametrize(
    ("content_type", "image"),
    [("image/jpeg", sample_image), ("image/png", lambda: encode_png(draw_frame(320, 240, "png", utcnow())))],
    ids=["jpeg", "png"],
)
def test_signed_urls_follow_the_contracts_ttl_and_serve_the_stored_bytes(aws, world_factory, content_type, image):
    # Given a contract whose signed URLs live 120 s, and one frame
    tenant = world_factory(signed_url_ttl=120)
    body = image()
    frame = ingest_frame(tenant, body=body, content_type=content_type)
    token = owner_token(tenant)
    bucket = aws.refs["FramesBucket"]

    # When the customer lists the camera and opens the frame
    before = utcnow()
    item = listed(token, tenant.camera_id)["items"][0]
    single = body_of(get_frame(token, tenant.camera_id, frame["frame_id"]))
    after = utcnow()

    # Then every URL is SigV4, lives exactly the contract's TTL, and answers inline with the stored type
    extension = {"image/jpeg": "jpg", "image/png": "png"}[content_type]
    [image_key] = _object_keys(aws, f"frames/{tenant.contract_id}/{tenant.camera_id}/")
    [thumb_key] = _object_keys(aws, f"thumbs/{tenant.contract_id}/{tenant.camera_id}/")
    assert image_key.endswith(f"/{frame['frame_id']}.{extension}")
    for view in (item, single):
        assert view["content_type"] == content_type
        for url, key, media_type in (
            (view["image_url"], image_key, content_type),
            (view["thumbnail_url"], thumb_key, "image/jpeg"),
        ):
            params = _query_of(url)
            assert params["X-Amz-Algorithm"] == "AWS4-HMAC-SHA256"
            assert params["X-Amz-Expires"] == "120"
            assert params["X-Amz-Signature"]
            assert "Signature" not in params  # not the legacy SigV2 form
            assert "X-Amz-Credential" in params
            assert _url_key(url, bucket) == key
            assert params["response-content-type"] == media_type
            assert params["response-content-disposition"].startswith("inline")
            assert "attachment" not in params["response-content-disposition"]
        expires = parse_rfc3339(view["url_expires_at"], "url_expires_at")
        assert before + timedelta(seconds=120) - timedelta(seconds=1) <= expires <= after + timedelta(seconds=121)
        assert view["url_expires_at"].endswith("Z")

    # and fetching the URLs (as a browser would) returns exactly the stored objects
    s3 = boto3.client("s3", region_name="us-east-1")
    fetched = requests.get(single["image_url"], timeout=10)
    assert fetched.status_code == 200
    assert fetched.content == body
    assert fetched.headers["Content-Type"] == content_type
    thumb = requests.get(single["thumbnail_url"], timeout=10)
    assert thumb.status_code == 200
    assert thumb.content == s3.get_object(Bucket=bucket, Key=thumb_key)["Body"].read()
    assert thumb.content[:2] == b"\xff\xd8"


def test_default_ttl_is_300_seconds(world):
    # Given a contract with the default plan and one frame
    frame = ingest_frame(world)
    token = owner_token(world)

    # When the customer opens the frame
    single = body_of(get_frame(token, world.camera_id, frame["frame_id"]))

    # Then its URLs live 300 s
    assert _query_of(single["image_url"])["X-Amz-Expires"] == "300"
    assert _query_of(single["thumbnail_url"])["X-Amz-Expires"] == "300"


# contract state


@pytest.mark.parametrize(
    ("state", "code"),
    [
        ("pending", "contract_not_started"),
        ("suspended", "contract_suspended"),
        ("terminated", "contract_terminated"),
        ("purged", "contract_terminated"),
    ],
)
def test_a_contract_that_is_not_serving_stops_viewing(world, state, code):
    # Given a frame and a session, and then the contract leaves the serving states
    frame = ingest_frame(world)
    token = owner_token(world)
    set_contract_state(world.contract_id, state)

    # When the customer uses the viewing routes
    responses = [
        get_cameras(token),
        list_frames(token, world.camera_id),
        get_frame(token, world.camera_id, frame["frame_id"]),
    ]

    # Then each is 403 with the SPEC §3 code for that state
    for response in responses:
        assert_error(response, 403, code)


def test_a_suspended_customer_still_sees_who_they_are(world):
    # Given a suspended contract (Art. 8, 12: only /me and notices stay open)
    token = owner_token(world)
    set_contract_state(world.contract_id, "suspended")

    # When the customer asks who they are
    response = get_me(token)

    # Then they get their user and the contract's state
    assert response["statusCode"] == 200, response["body"]
    assert body_of(response)["contract"]["state"] == "suspended"


@pytest.mark.parametrize(
    ("state", "code"),
    [("pending", "contract_not_started"), ("terminated", "contract_terminated"), ("purged", "contract_terminated")],
)
def test_me_is_closed_before_the_service_starts_and_after_it_ends(world, state, code):
    # Given a contract that has not started or has ended
    token = owner_token(world)
    set_contract_state(world.contract_id, state)

    # When the customer asks who they are
    response = get_me(token)

    # Then the answer is the state's 403
    assert_error(response, 403, code)


@pytest.mark.parametrize(
    ("state", "account_error", "receipts_error"),
    [
        ("pending", ContractNotStarted, ContractNotStarted),
        ("suspended", None, ContractSuspended),
        ("terminated", ContractTerminated, ContractTerminated),
    ],
)
def test_the_account_notices_and_receipts_check_the_contract_state_themselves(
    world, state, account_error, receipts_error
):
    # Given a signed-in user whose contract then changes state
    user = customer.authenticate_session(f"Bearer {owner_token(world)}", utcnow())[1]
    set_contract_state(world.contract_id, state)
    now = utcnow()
    unknown_notice = "01ARZ3NDEKTSV4RRFFQ69G5FAV"

    # When the domain functions behind the routes are called directly, with no handler checking first
    # Then the account and notices stay open only while suspended, and deletion receipts only while serving
    if account_error is None:
        assert account.account_of(user, now=now).contract.state == state
        assert notices.notices_for(user, now=now) == []
        with pytest.raises(NotFound):  # past the state check: only the notice is unknown
            notices.mark_read(user, unknown_notice, now)
    else:
        for call in (
            lambda: account.account_of(user, now=now),
            lambda: notices.notices_for(user, now=now),
            lambda: notices.mark_read(user, unknown_notice, now),
        ):
            with pytest.raises(account_error):
                call()
    with pytest.raises(receipts_error):
        deletions.receipts_of(user, deletions.DeletionQuery(), now=now)


def test_a_cancelling_contract_keeps_viewing_open(world):
    # Given a contract under cancellation notice (viewing continues until the effective date)
    frame = ingest_frame(world)
    token = owner_token(world)
    set_contract_state(world.contract_id, "cancelling")

    # When the customer uses the viewing routes
    # Then they work
    assert body_of(get_me(token))["contract"]["state"] == "cancelling"
    assert [c["camera_id"] for c in body_of(get_cameras(token))["items"]] == [world.camera_id]
    assert listed_ids(token, world.camera_id) == [frame["frame_id"]]
    assert get_frame(token, world.camera_id, frame["frame_id"])["statusCode"] == 200


# the API document and unknown routes


def test_the_customer_openapi_document_is_public(aws):
    # Given no credentials at all
    event = api_event(
        "viewer/list_cameras.json",
        path="/v1/openapi.json",
        resource="/v1/openapi.json",
        headers={"Host": "abc123.execute-api.ap-northeast-1.amazonaws.com"},
        replace_headers=True,
    )

    # When the customer API document is fetched
    response = viewer.lambda_handler(event, LambdaContext())

    # Then it is an OpenAPI document of the customer routes
    assert response["statusCode"] == 200, response["body"]
    document = json.loads(response["body"])
    assert document["openapi"].startswith("3.")
    for path in ("/v1/auth/login", "/v1/me", "/v1/cameras", "/v1/cameras/{camera_id}/frames"):
        assert path in document["paths"]
    assert "/v1/cameras/{camera_id}/frames/{frame_id}" in document["paths"]
    assert not any(path.startswith("/v1/admin") for path in document["paths"])


def test_an_unknown_route_is_a_not_found_error(world):
    # Given a customer
    token = owner_token(world)

    # When they call a path the API does not have
    event = customer_event("viewer/list_cameras.json", token, path="/v1/nothing-here", resource="/{proxy+}", query={})
    response = viewer.lambda_handler(event, LambdaContext())

    # Then it is a SPEC §10 not_found error
    assert_error(response, 404, "not_found")


def test_an_invalid_query_without_a_session_is_unauthorized_not_described(world):
    # Given no valid session, and a query that would fail validation (limit 0)
    # When the frames route is called
    response = list_frames("not-a-token", world.camera_id, limit="0")

    # Then authentication answers first: 401 with the Bearer challenge, not a 422 describing the parameters
    assert_error(response, 401, "unauthorized")
    assert response["multiValueHeaders"]["WWW-Authenticate"] == ['Bearer realm="doti"']
