"""Frame listings (SPEC §6): order, range and limit, cursor pages that neither repeat nor skip a frame (also while
new frames arrive), forged cursors, and frames past retention hidden.

Frames are created through the real ingest handler; customers are driven through the viewer handler.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from doti import runtime
from doti.auth import customer
from doti.clock import format_rfc3339, parse_rfc3339, utcnow
from doti.errors import NotFound
from doti.viewing import frames
from tests.support import (
    World,
    assert_error,
    body_of,
)
from tests.support.viewer import (
    add_site,
    ingest_frame,
    ingest_frame_id,
    list_frames,
    listed,
    listed_ids,
    login,
    owner_token,
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


# cursor pages while frames arrive


def read_all(token: str, camera_id: str, arrive: list[datetime], world: World, **query: str) -> list[str]:
    """Page through three at a time; after the first page, the frames of `arrive` are ingested."""
    body = listed(token, camera_id, limit="3", **query)
    seen = [item["frame_id"] for item in body["items"]]
    arrived = [ingest_frame_id(world, at) for at in arrive]
    assert arrived
    cursor = body.get("cursor")
    while cursor:
        body = listed(token, camera_id, limit="3", cursor=cursor, **query)
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
