"""Share links (SPEC §6, §12; issue 5 §4): purpose-scoped, expiring, revocable grants to one frame or a camera's
window, and the phone page that opens them.

Frames come in through the ingest handler; customers create, list and revoke links through the viewer handler, and
link holders open `GET /s/{token}` through the same handler without a session.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlparse

import boto3
import pytest
from aws_lambda_powertools.utilities import parameters

from doti import ids, runtime
from doti.auth import customer
from doti.clock import format_rfc3339, parse_rfc3339, utcnow
from doti.contracts import registry, terms
from doti.errors import ValidationError
from doti.oversight import audit
from doti.store.models import ContractModel, FrameModel
from doti.viewing import shares
from functions.viewer import app as viewer
from infra.provision import Provisioned
from tests.support import (
    LambdaContext,
    World,
    assert_error,
    body_of,
    camera_consents,
    customer_event,
    scan_table,
)
from tests.support.moto import PUBLIC_BASE_URL
from tests.support.processor import frame_items, receive, run, upload
from tests.support.purposes import register_purposes
from tests.support.shares import (
    GROUND,
    create_share,
    created,
    link_token,
    open_page,
    press_button,
    revoke,
)
from tests.support.thumbnails import fetch_thumbnail, give_stored_thumbnail, is_render_link
from tests.support.video import clip
from tests.support.viewer import add_site, add_user, ingest_frame, login, owner_token, set_contract_state

SEVEN_DAYS = 7 * 24 * 3600
AN_HOUR = {"from": "2026-01-01T10:00:00Z", "to": "2026-01-01T11:00:00Z", "purpose": GROUND}


# helpers


def window_share(token: str, camera_id: str, start: datetime, end: datetime, **extra: Any) -> dict[str, Any]:
    body = {"camera_id": camera_id, "from": format_rfc3339(start), "to": format_rfc3339(end)}
    return created(token, **{"purpose": GROUND, "expires_in": 3600, **body, **extra})


def list_shares(token: str) -> dict[str, Any]:
    event = customer_event("viewer/list_cameras.json", token, path="/v1/shares", resource="/v1/shares", query={})
    return viewer.lambda_handler(event, LambdaContext())


def header(response: dict[str, Any], name: str) -> str:
    (value,) = response["multiValueHeaders"][name]
    return value


def attribute_values(page: str, attribute: str) -> list[str]:
    return [html.unescape(value) for value in re.findall(rf'{attribute}="([^"]*)"', page)]


def image_urls(page: str) -> list[str]:
    """Every signed URL on the page: images it loads (src) and full images it links to (href)."""
    found = re.findall(r'(?:src|href)="([^"]*)"', page)
    return [html.unescape(url) for url in found if url.startswith("http")]


def s3_urls(page: str) -> list[str]:
    """The page's presigned S3 URLs: images, clips and stored thumbnails (not the renderer's thumbnail links)."""
    return [url for url in image_urls(page) if not is_render_link(url)]


def shown_frame_ids(page: str) -> list[str]:
    """The frame ids whose images the page loads, in page order (object keys end in <frame id>.<ext>; a renderer
    link names its original's key)."""
    keys = [parse_qs(urlparse(u).query)["k"][0] if is_render_link(u) else urlparse(u).path for u in image_urls(page)]
    return [key.rsplit("/", 1)[-1].split(".")[0] for key in keys]


def more_cursor(page: str) -> str | None:
    links = [href for href in attribute_values(page, "href") if href.startswith("?cursor=")]
    return parse_qs(links[0][1:])["cursor"][0] if links else None


def audit_actions(contract_id: str) -> list[tuple[str, str, str | None]]:
    entries, _ = audit.entries(contract_id, limit=200)
    return [(e.actor, e.action, e.subject) for e in reversed(entries) if e.action.startswith("share.")]


def manager_token(world: World, **kwargs: Any) -> str:
    return login(*add_user(world, role="manager", **kwargs))


def ingest_clip(aws: Provisioned, world: World) -> dict[str, str]:
    """A 2 s clip uploaded and processed as a device's large upload is (see test_processor): its frame id and keys."""
    upload(aws, world, clip(), "video/mp4")
    assert run(aws, receive(aws)) == {"batchItemFailures": []}
    (item,) = frame_items(aws)
    return {name: item[name]["S"] for name in ("frame_id", "object_key", "thumb_key")}


def policy_of(response: dict[str, Any]) -> dict[str, str]:
    return dict(part.strip().split(" ", 1) for part in header(response, "Content-Security-Policy").split(";"))


# creating a link


@pytest.mark.isolated  # reads the whole frames or shares table
def test_a_manager_creates_a_window_link_whose_token_is_shown_once_and_stored_only_hashed(
    aws: Provisioned, world, public_base_url
):
    # Given a manager of the contract
    token = manager_token(world)
    before = utcnow()

    # When they share an hour of the camera's footage for a day
    response = create_share(
        token,
        camera_id=world.camera_id,
        **{"from": "2026-01-01T10:00:00Z", "to": "2026-01-01T11:00:00Z"},
        purpose=GROUND,
        purpose_note="accident investigation",
        expires_in=86400,
    )

    # Then they get the link, its id and when it expires, once
    assert response["statusCode"] == 201, response["body"]
    body = body_of(response)
    assert set(body) == {"share_id", "url", "expires_at"}
    assert body["url"].startswith(f"{public_base_url}/s/")
    expires_at = parse_rfc3339(body["expires_at"], "expires_at")
    assert before + timedelta(seconds=86400 - 1) <= expires_at <= utcnow() + timedelta(seconds=86400)
    # and the token carries at least 128 bits of randomness (43 url-safe base64 characters = 256 bits)
    link = link_token(body["url"])
    assert re.fullmatch(r"[A-Za-z0-9_-]{43,}", link)
    assert len(base64.urlsafe_b64decode(link + "=" * (-len(link) % 4))) * 8 >= 128
    # and only its SHA-256 is stored: the token appears nowhere in the table
    items = scan_table(aws.refs["SharesTable"])
    assert len(items) == 1
    assert items[0]["token_hash"]["S"] == hashlib.sha256(link.encode()).hexdigest()
    assert link not in json.dumps(items)
    assert (items[0]["purpose"]["S"], items[0]["purpose_note"]["S"]) == (GROUND, "accident investigation")


def test_a_link_is_on_the_configured_public_url_whatever_host_and_scheme_the_request_claims(world, public_base_url):
    # Given a manager whose request names another host and a javascript: scheme (issue 10, defect 7)
    token = manager_token(world)
    hostile = {"Host": "evil.example", "X-Forwarded-Proto": "javascript", "X-Forwarded-Host": "evil.example"}

    # When they create a link
    share = created(token, hostile, camera_id=world.camera_id, **AN_HOUR, expires_in=3600)

    # Then the link is on the deployment's public base URL, with nothing taken from the headers, and it opens
    assert share["url"] == f"{public_base_url}/s/{link_token(share['url'])}"
    assert "evil" not in share["url"]
    assert "javascript" not in share["url"]
    assert open_page(share["url"])["statusCode"] == 200


@pytest.fixture
def public_base_url_parameter(aws) -> Iterator[str]:
    """The name of the public base URL parameter, set back to the tests' URL afterwards: the tests after these, in
    the same process, build their links on it."""
    name = runtime.get_settings().public_base_url_parameter
    yield name
    boto3.client("ssm").put_parameter(Name=name, Value=PUBLIC_BASE_URL, Type="String", Overwrite=True)
    parameters.clear_caches()


@pytest.mark.isolated  # reads the whole frames or shares table
@pytest.mark.parametrize(
    "configured",
    [
        None,  # the parameter is missing
        "http://doti.test",  # plain http, off this machine
        "javascript://evil.example",
        "https://doti.test/",  # a trailing slash would make //s/... links
        "https://someone@doti.test",
        "https://doti.test/stage?x=1",
        "doti.test",
    ],
    ids=["missing", "http", "javascript", "trailing-slash", "userinfo", "query", "no-scheme"],
)
def test_a_misconfigured_public_url_is_a_500_that_reveals_nothing_and_stores_no_link(
    aws, world, configured, public_base_url_parameter
):
    # Given the deployment's public base URL parameter missing, or not an https URL to build links on
    ssm = boto3.client("ssm")
    name = public_base_url_parameter
    if configured is None:
        ssm.delete_parameter(Name=name)
    else:
        ssm.put_parameter(Name=name, Value=configured, Type="String", Overwrite=True)
    token = manager_token(world)

    # When a manager creates a link
    response = create_share(token, camera_id=world.camera_id, **AN_HOUR, expires_in=3600)

    # Then it fails loudly, as 500 internal_error naming neither the parameter nor its value, and stores nothing
    error = assert_error(response, 500, "internal_error")
    assert error["details"] == {}
    assert name not in response["body"]
    assert configured is None or configured not in response["body"]
    assert scan_table(aws.refs["SharesTable"]) == []


@pytest.mark.parametrize("configured", ["http://127.0.0.1:8000", "http://localhost:8000", "https://doti.test/dev"])
def test_a_local_http_or_a_stage_path_is_a_valid_public_url(aws, world, configured, public_base_url_parameter):
    # Given the local stack's plain-http address, or an API's URL with its stage
    name = public_base_url_parameter
    boto3.client("ssm").put_parameter(Name=name, Value=configured, Type="String", Overwrite=True)

    # When a manager creates a link / Then it is built on that base
    share = created(manager_token(world), camera_id=world.camera_id, **AN_HOUR, expires_in=3600)
    assert share["url"] == f"{configured}/s/{link_token(share['url'])}"


def test_two_links_never_share_a_token(world):
    # Given the owner
    token = owner_token(world)
    window = {"from": "2026-01-01T10:00:00Z", "to": "2026-01-01T11:00:00Z"}

    # When they create two links to the same window
    first, second = (
        created(token, camera_id=world.camera_id, **window, purpose=GROUND, expires_in=600) for _ in range(2)
    )

    # Then the links and their ids differ
    assert link_token(first["url"]) != link_token(second["url"])
    assert first["share_id"] != second["share_id"]


@pytest.mark.isolated  # reads the whole frames or shares table
@pytest.mark.parametrize(
    "body",
    [
        {"expires_in": SEVEN_DAYS + 1},
        {"expires_in": 59},
        {"expires_in": 0},
        {"purpose": "   "},
        {"purpose": ""},
        {"purpose": "x" * 201},
        {"purpose": "line one\nline two"},
        {"to": None},
        {"from": "2026-01-01T11:00:00Z"},
        {"from": "2026-01-01T12:00:00Z"},
        {"from": "yesterday"},
        {"frame_id": "01KAXYZ0000000000000000000"},
        {"one_time": True},
        {"from": None, "to": None},
        {"scope": "everything"},
    ],
    ids=[
        "over-7-days",
        "under-a-minute",
        "zero",
        "blank-purpose",
        "empty-purpose",
        "long-purpose",
        "multi-line-purpose",
        "half-window",
        "empty-window",
        "inverted-window",
        "bad-time",
        "frame-and-window",
        "one-time-window",
        "no-scope",
        "unknown-field",
    ],
)
def test_a_link_outside_the_rules_is_a_validation_error_and_nothing_is_stored(aws, world, body):
    # Given the owner and a request that breaks one rule
    request = {
        "camera_id": world.camera_id,
        "from": "2026-01-01T10:00:00Z",
        "to": "2026-01-01T11:00:00Z",
        "purpose": GROUND,
        "expires_in": 3600,
        **body,
    }
    request = {key: value for key, value in request.items() if value is not None}

    # When they try to create the link
    response = create_share(owner_token(world), **request)

    # Then it is refused as invalid, and no link exists
    assert_error(response, 422, "validation_error")
    assert scan_table(aws.refs["SharesTable"]) == []


@pytest.mark.isolated  # reads the whole frames or shares table
def test_a_window_ending_more_than_five_minutes_ahead_is_refused_as_a_live_feed(aws, world):
    # Given the owner
    token = owner_token(world)
    start = utcnow() - timedelta(hours=1)

    # When they ask for windows ending six minutes and three days from now
    responses = [
        create_share(
            token,
            camera_id=world.camera_id,
            **{"from": format_rfc3339(start), "to": format_rfc3339(utcnow() + ahead)},
            purpose=GROUND,
            expires_in=SEVEN_DAYS,
        )
        for ahead in (timedelta(minutes=6), timedelta(days=3))
    ]

    # Then each is refused on 'to', saying a link shares recorded footage, and no link exists
    for response in responses:
        error = assert_error(response, 422, "validation_error")
        assert error["details"]["field"] == "to"
        assert "recorded footage" in error["message"]
    assert scan_table(aws.refs["SharesTable"]) == []


def test_a_window_may_end_up_to_five_minutes_after_its_creation(world):
    # Given a user and a moment of creation (time injected into the domain, as the handler does with its clock)
    user = customer.authenticate_session(f"Bearer {owner_token(world)}", utcnow())[1]
    now = utcnow()

    def window_to(end: datetime) -> shares.ShareRequest:
        return shares.ShareRequest(
            camera_id=world.camera_id, purpose=GROUND, expires_in=600, start=now - timedelta(hours=1), end=end
        )

    # When the window ends exactly five minutes later, or a millisecond beyond that
    # Then the first is a link and the second is refused
    latest = shares.create_share(user, window_to(now + timedelta(minutes=5)), now=now)
    assert latest.share.window_end == now + timedelta(minutes=5)
    with pytest.raises(ValidationError):
        shares.create_share(user, window_to(now + timedelta(minutes=5, milliseconds=1)), now=now)


def test_seven_days_is_the_longest_link(world):
    # Given the owner
    # When they ask for a link of exactly seven days
    body = created(
        owner_token(world),
        camera_id=world.camera_id,
        **{"from": "2026-01-01T10:00:00Z", "to": "2026-01-01T11:00:00Z"},
        purpose=GROUND,
        expires_in=SEVEN_DAYS,
    )

    # Then it is granted for seven days at most
    assert parse_rfc3339(body["expires_at"], "expires_at") <= utcnow() + timedelta(days=7)


def test_a_viewer_cannot_create_list_or_revoke_links(world):
    # Given a link of the owner and a user with the viewer role
    share = window_share(owner_token(world), world.camera_id, utcnow() - timedelta(hours=1), utcnow())
    viewer_token = login(*add_user(world, role="viewer"))

    # When the viewer tries to create, list and revoke links
    creating = create_share(
        viewer_token, camera_id=world.camera_id, frame_id=ids.FRAME_ID_MIN, purpose=GROUND, expires_in=600
    )
    listing = list_shares(viewer_token)
    revoking = revoke(viewer_token, share["share_id"])

    # Then each is forbidden, and the link still works
    for response in (creating, listing, revoking):
        assert_error(response, 403, "forbidden")
    assert open_page(share["url"])["statusCode"] == 200


def test_another_tenants_camera_or_frame_cannot_be_shared(world_factory, base_time):
    # Given two tenants, and a frame of tenant B
    tenant_a, tenant_b = world_factory(), world_factory()
    b_frame = ingest_frame(tenant_b, base_time)
    token = owner_token(tenant_a)

    # When A's owner tries to share B's camera, or B's frame under A's own camera
    of_b_camera = create_share(
        token, camera_id=tenant_b.camera_id, frame_id=b_frame["frame_id"], purpose=GROUND, expires_in=60
    )
    window = {"from": format_rfc3339(base_time), "to": format_rfc3339(base_time + timedelta(hours=1))}
    b_window = create_share(token, camera_id=tenant_b.camera_id, **window, purpose=GROUND, expires_in=60)
    of_b_frame = create_share(
        token, camera_id=tenant_a.camera_id, frame_id=b_frame["frame_id"], purpose=GROUND, expires_in=60
    )

    # Then all are not found, as if B did not exist
    for response in (of_b_camera, b_window, of_b_frame):
        assert_error(response, 404, "not_found")


def test_a_site_scoped_manager_shares_and_sees_only_their_sites_links(world):
    # Given a manager limited to a second site, and a link the owner made of the first site's camera
    annex = add_site(world)
    owner_share = window_share(owner_token(world), world.camera_id, utcnow() - timedelta(hours=1), utcnow())
    scoped = manager_token(world, site_ids=[annex.site_id])

    # When the scoped manager shares their own camera, tries the other one, lists and tries to revoke the owner's
    own = window_share(scoped, annex.camera_id, utcnow() - timedelta(hours=1), utcnow())
    outside = create_share(
        scoped,
        camera_id=world.camera_id,
        **{"from": "2026-01-01T10:00:00Z", "to": "2026-01-01T11:00:00Z"},
        purpose=GROUND,
        expires_in=60,
    )
    listed = body_of(list_shares(scoped))["items"]
    revoking = revoke(scoped, owner_share["share_id"])

    # Then only their own site's camera and link are theirs
    assert_error(outside, 404, "not_found")
    assert [item["share_id"] for item in listed] == [own["share_id"]]
    assert_error(revoking, 404, "not_found")
    assert open_page(owner_share["url"])["statusCode"] == 200


# what the holder sees


def test_a_window_link_shows_only_frames_captured_in_the_window(world, base_time):
    # Given frames before, at the start of, inside, at the end of and after a window
    start, end = base_time, base_time + timedelta(minutes=10)
    before = ingest_frame(world, start - timedelta(milliseconds=1))
    at_start = ingest_frame(world, start)
    inside = ingest_frame(world, start + timedelta(minutes=5))
    last_ms = ingest_frame(world, end - timedelta(milliseconds=1))
    at_end = ingest_frame(world, end)
    after = ingest_frame(world, end + timedelta(minutes=5))
    _, stored_thumbnail = give_stored_thumbnail(world.camera_id, inside["frame_id"])  # as frames stored before have
    share = window_share(owner_token(world), world.camera_id, start, end)

    # When the holder opens the link
    response = open_page(share["url"])

    # Then the page shows exactly the frames with start <= captured < end, oldest first, thumbnail and full image
    assert response["statusCode"] == 200, response["body"]
    shown = shown_frame_ids(response["body"])
    expected = [at_start["frame_id"], inside["frame_id"], last_ms["frame_id"]]
    assert list(dict.fromkeys(shown)) == expected
    assert len(shown) == 2 * len(expected)  # a thumbnail and a link to the full image each
    for outside in (before, at_end, after):
        assert outside["frame_id"] not in response["body"]
    assert more_cursor(response["body"]) is None
    # and every thumbnail loads: rendered for new frames, the stored one for the frame that has one
    thumbnails = [html.unescape(src) for src in re.findall(r'<img src="([^"]*)"', response["body"])]
    assert [is_render_link(url) for url in thumbnails] == [True, False, True]
    fetched = [fetch_thumbnail(url) for url in thumbnails]
    assert [(f.status, f.body[:2]) for f in fetched] == [(200, b"\xff\xd8")] * 3
    assert fetched[1].body == stored_thumbnail


def test_query_parameters_and_crafted_cursors_never_reach_outside_the_window(world, base_time):
    # Given a window link and frames on both sides of the window
    start, end = base_time, base_time + timedelta(minutes=10)
    before = ingest_frame(world, start - timedelta(minutes=1))
    inside = ingest_frame(world, start + timedelta(minutes=1))
    after = ingest_frame(world, end + timedelta(minutes=1))
    share = window_share(owner_token(world), world.camera_id, start, end)
    floor_of = ids.frame_id_floor

    # When the holder widens the window in the query string
    widened = open_page(share["url"], **{"from": "2000-01-01T00:00:00Z", "to": "2100-01-01T00:00:00Z"})

    # Then the page is the window's, nothing more
    assert widened["statusCode"] == 200
    assert list(dict.fromkeys(shown_frame_ids(widened["body"]))) == [inside["frame_id"]]

    # When the holder crafts cursors before, at the end of, after the window, or not a frame id at all
    crafted = [
        ids.FRAME_ID_MIN,
        before["frame_id"],
        floor_of(start - timedelta(milliseconds=1)),
        floor_of(end),
        after["frame_id"],
        ids.FRAME_ID_MAX,
        "not-a-cursor",
        "",
    ]
    for cursor in crafted:
        response = open_page(share["url"], cursor=cursor)
        # Then each is refused with a plain explanation, and no frame outside the window ever appears
        assert response["statusCode"] == 400, cursor
        assert "not valid" in response["body"]
        assert image_urls(response["body"]) == []
    # and a cursor inside the window only continues within it
    assert shown_frame_ids(open_page(share["url"], cursor=floor_of(start))["body"])[:1] == [inside["frame_id"]]


def test_a_long_window_is_paged_with_a_more_link_that_stays_inside(world, base_time):
    # Given more frames inside a window than one page holds, and frames around it
    start = base_time
    inside = [ingest_frame(world, start + timedelta(seconds=i))["frame_id"] for i in range(shares.PAGE_SIZE + 2)]
    end = start + timedelta(seconds=shares.PAGE_SIZE + 2)
    outside = [ingest_frame(world, moment)["frame_id"] for moment in (start - timedelta(seconds=1), end)]
    share = window_share(owner_token(world), world.camera_id, start, end)

    # When the holder opens the link and follows the "more" link
    first = open_page(share["url"])
    cursor = more_cursor(first["body"])
    assert cursor is not None
    second = open_page(share["url"], cursor=cursor)

    # Then the two pages hold every frame of the window once, in order, and nothing outside
    first_ids = list(dict.fromkeys(shown_frame_ids(first["body"])))
    second_ids = list(dict.fromkeys(shown_frame_ids(second["body"])))
    assert len(first_ids) == shares.PAGE_SIZE
    assert first_ids + second_ids == inside
    assert more_cursor(second["body"]) is None
    assert not set(outside) & set(first_ids + second_ids)


def test_a_frame_link_shows_that_frame_alone_with_urls_signed_for_the_contracts_ttl(world_factory, base_time):
    # Given a contract whose signed URLs live 120 s, and a link to one of two frames
    world = world_factory(signed_url_ttl=120)
    shared = ingest_frame(world, base_time)
    other = ingest_frame(world, base_time + timedelta(seconds=1))
    share = created(
        owner_token(world), camera_id=world.camera_id, frame_id=shared["frame_id"], purpose=GROUND, expires_in=600
    )

    # When the holder opens it
    response = open_page(share["url"])

    # Then it shows that frame's full image, signed at view time for 120 s, and not the other frame
    assert response["statusCode"] == 200, response["body"]
    urls = image_urls(response["body"])
    assert {urlparse(u).path.rsplit("/", 1)[-1] for u in urls} == {f"{shared['frame_id']}.jpg"}
    assert urlparse(urls[0]).path.startswith("/frames/")
    query = parse_qs(urlparse(urls[0]).query)
    assert query["X-Amz-Expires"] == ["120"]
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
    assert other["frame_id"] not in response["body"]
    # and a frame link has a single page
    assert open_page(share["url"], cursor=shared["frame_id"])["statusCode"] == 400


def test_signed_urls_never_outlive_the_link(world_factory, base_time):
    # Given a contract whose signed URLs live an hour, and a frame link that expires in ten minutes
    world = world_factory(signed_url_ttl=3600)
    frame = ingest_frame(world, base_time)
    user = customer.authenticate_session(f"Bearer {owner_token(world)}", utcnow())[1]
    created_at = utcnow().replace(microsecond=0)
    request = shares.ShareRequest(camera_id=world.camera_id, purpose=GROUND, expires_in=600, frame_id=frame["frame_id"])
    share = shares.create_share(user, request, now=created_at)

    # When the holder opens it right away, and 50 s before it expires
    at_once = open_page(share.token)
    late = shares.open_share(
        share.token, None, storage=runtime.storage(), events=runtime.events(), now=created_at + timedelta(seconds=550)
    )

    # Then the URLs of each view expire with the link, not an hour later
    assert at_once["statusCode"] == 200, at_once["body"]
    expiries = {int(parse_qs(urlparse(url).query)["X-Amz-Expires"][0]) for url in s3_urls(at_once["body"])}
    assert len(expiries) == 1
    assert 590 <= expiries.pop() <= 600
    assert isinstance(late, shares.SharedFootage)
    (signed,) = late.frames
    assert parse_qs(urlparse(signed.image_url).query)["X-Amz-Expires"] == ["50"]
    assert parse_qs(urlparse(signed.thumbnail_url).query)["e"] == [str(int(share.share.expires_at.timestamp()))]
    assert signed.url_expires_at == share.share.expires_at


def test_a_one_time_links_urls_are_short_lived(world_factory, base_time):
    # Given a contract whose signed URLs live an hour, and a one-time link that lives an hour too
    world = world_factory(signed_url_ttl=3600)
    frame = ingest_frame(world, base_time)
    share = created(
        owner_token(world),
        camera_id=world.camera_id,
        frame_id=frame["frame_id"],
        purpose=GROUND,
        expires_in=3600,
        one_time=True,
    )

    # When the holder opens it with its button
    response = press_button(share["url"])

    # Then its URLs live five minutes: enough to load the page, not to pass the images on for an hour
    assert response["statusCode"] == 200, response["body"]
    urls = s3_urls(response["body"])
    assert urls
    assert {parse_qs(urlparse(url).query)["X-Amz-Expires"][0] for url in urls} == {"300"}


def test_each_view_signs_its_urls_then_with_the_contracts_current_ttl(world, base_time):
    # Given a frame link opened once under the default TTL
    frame = ingest_frame(world, base_time)
    share = created(
        owner_token(world), camera_id=world.camera_id, frame_id=frame["frame_id"], purpose=GROUND, expires_in=600
    )
    first_page = open_page(share["url"])["body"]
    first = s3_urls(first_page)

    # When staff shorten the contract's signed-URL TTL and the link is opened again
    terms.update_plan(world.contract_id, {"signed_url_ttl": 60}, actor="staff:test", now=utcnow())
    second_page = open_page(share["url"])["body"]
    second = s3_urls(second_page)

    # Then each view carries URLs signed at that view, for the TTL of that moment
    assert {parse_qs(urlparse(url).query)["X-Amz-Expires"][0] for url in first} == {"300"}
    assert {parse_qs(urlparse(url).query)["X-Amz-Expires"][0] for url in second} == {"60"}


@pytest.mark.isolated  # reads the whole frames or shares table
def test_a_clip_link_plays_the_clip_over_its_poster_and_lets_media_load_from_the_signed_origin(aws, world):
    # Given a clip ingested through the processor, and a link to it
    stored = ingest_clip(aws, world)
    share = created(
        owner_token(world), camera_id=world.camera_id, frame_id=stored["frame_id"], purpose=GROUND, expires_in=600
    )

    # When the holder opens the link
    response = open_page(share["url"])
    page = response["body"]

    # Then the page plays the clip inline on a phone, loading only its metadata until asked, over its poster frame
    assert response["statusCode"] == 200, page
    (video,) = re.findall(r"<video [^>]*>", page)
    assert {"controls", "playsinline", 'preload="metadata"', 'width="320"', 'height="240"'} <= set(video[7:-1].split())
    (src,) = attribute_values(video, "src")
    (poster,) = attribute_values(video, "poster")
    assert stored["object_key"].endswith(".mp4")
    assert urlparse(src).path.endswith("/" + stored["object_key"])
    assert parse_qs(urlparse(src).query)["response-content-type"] == ["video/mp4"]
    assert urlparse(poster).path.endswith("/" + stored["thumb_key"])
    assert parse_qs(urlparse(poster).query)["response-content-type"] == ["image/jpeg"]
    assert "<img" not in page
    # and a browser without <video> shows the page's own fallback text, with a link to the clip
    (fallback,) = re.findall(r"<video [^>]*>(.*?)</video>", page)
    assert "This browser cannot play the clip." in fallback
    assert attribute_values(fallback, "href") == [src]
    # and the policy lets the clip load from the origin the poster comes from, and from nowhere else
    policy = policy_of(response)
    assert policy["media-src"] == policy["img-src"] == f"{urlparse(src).scheme}://{urlparse(src).netloc}"
    assert policy["default-src"] == "'none'"


@pytest.mark.isolated  # reads the whole frames or shares table
def test_a_window_shows_a_clip_by_its_thumbnail_and_allows_no_media(aws, world):
    # Given a clip ingested through the processor, inside a window link
    frame_id = ingest_clip(aws, world)["frame_id"]
    now = utcnow()
    share = window_share(owner_token(world), world.camera_id, now - timedelta(hours=1), now + timedelta(minutes=1))

    # When the holder opens the link
    response = open_page(share["url"])

    # Then the clip is listed by its poster thumbnail, linking to the clip, and nothing on the page loads media
    assert response["statusCode"] == 200, response["body"]
    assert "<video" not in response["body"]
    assert shown_frame_ids(response["body"]) == [frame_id, frame_id]
    assert "media-src" not in policy_of(response)


def test_the_page_is_phone_friendly_strict_and_never_cached(world, base_time):
    # Given a window link with a frame in it
    ingest_frame(world, base_time + timedelta(minutes=1))
    share = window_share(owner_token(world), world.camera_id, base_time, base_time + timedelta(minutes=5))

    # When the holder opens it
    response = open_page(share["url"])
    page = response["body"]

    # Then it is HTML for a phone viewport, with no script at all
    assert header(response, "Content-Type") == "text/html; charset=utf-8"
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page
    assert "<script" not in page.lower()
    assert " on" not in re.sub(r">[^<]*<", "><", page)  # no inline event handler attributes
    # and its CSP allows nothing but its hashed stylesheet and images from the signed URLs' origins (S3's, and the
    # thumbnail renderer's)
    policy = dict(part.strip().split(" ", 1) for part in header(response, "Content-Security-Policy").split(";"))
    assert policy["default-src"] == "'none'"
    origins = {f"{urlparse(u).scheme}://{urlparse(u).netloc}" for u in image_urls(page)}
    assert len(origins) == 2
    assert set(policy["img-src"].split()) == origins
    (style,) = re.findall(r"<style>(.*?)</style>", page, re.S)
    assert policy["style-src"] == f"'sha256-{base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()}'"
    assert policy["frame-ancestors"] == "'none'"
    assert "unsafe" not in header(response, "Content-Security-Policy")
    # and it is never cached, never leaks its address as a referrer and is never sniffed
    assert header(response, "Cache-Control") == "no-store"
    assert header(response, "Referrer-Policy") == "no-referrer"
    assert header(response, "X-Content-Type-Options") == "nosniff"


def test_a_malicious_purpose_note_other_text_and_camera_name_are_shown_as_text(world, base_time):
    # Given a camera named with markup, whose purpose "other" is markup, and a link for it whose note is markup
    now = utcnow()
    camera = registry.create_camera(
        world.contract_id, world.site_id, '<script>alert("cam")</script>', now, consents=camera_consents(now)
    )
    other = "<i>deliveries</i> & <u>stock</u>"
    register_purposes(world, camera.camera_id, {"other"}, other=other)
    note = '"><img src=x onerror=alert(1)> & <b>bold</b>'
    share = window_share(
        owner_token(world),
        camera.camera_id,
        base_time,
        base_time + timedelta(minutes=5),
        purpose="purpose:other",
        purpose_note=note,
    )

    # When the holder opens the link
    page = open_page(share["url"])["body"]

    # Then all appear escaped, as text, and no markup of theirs reaches the page
    assert html.escape(note) in page
    assert html.escape(other) in page
    assert html.escape('<script>alert("cam")</script>') in page
    assert "<script" not in page
    assert "<img src=x" not in page
    assert "<b>bold" not in page
    assert "<i>" not in page


def test_an_empty_window_says_so_and_loads_no_image(world, base_time):
    # Given a window with no frame
    share = window_share(owner_token(world), world.camera_id, base_time, base_time + timedelta(minutes=5))

    # When the holder opens it
    response = open_page(share["url"])

    # Then the page says there is no footage, and its policy allows no image at all
    assert response["statusCode"] == 200
    assert "There is no footage in this period." in response["body"]
    assert "img-src" not in header(response, "Content-Security-Policy")


# links that no longer open


def test_an_unknown_or_altered_token_is_not_found_with_an_explanation(world, base_time):
    # Given a real link
    share = window_share(owner_token(world), world.camera_id, base_time, base_time + timedelta(minutes=5))
    real = link_token(share["url"])

    # When someone opens altered, truncated, overlong or made-up tokens
    for token in (real[:-1] + ("A" if real[-1] != "A" else "B"), real[:20], real * 4, "x"):
        response = open_page(token)

        # Then each is a 404 HTML page that explains, in Japanese and English
        assert response["statusCode"] == 404
        assert header(response, "Content-Type") == "text/html; charset=utf-8"
        assert "このリンクは見つかりません" in response["body"]
        assert "This link does not exist." in response["body"]
        assert header(response, "Cache-Control") == "no-store"
        assert "img-src" not in header(response, "Content-Security-Policy")


def test_an_expired_link_is_not_found_and_no_longer_listed(world, base_time):
    # Given a link created two hours ago that lived one hour (time injected into the domain, as the handler does),
    # to a window recorded before then
    user = customer.authenticate_session(f"Bearer {owner_token(world)}", utcnow())[1]
    start = base_time - timedelta(hours=3)
    request = shares.ShareRequest(
        camera_id=world.camera_id, purpose=GROUND, expires_in=3600, start=start, end=start + timedelta(hours=1)
    )
    expired = shares.create_share(user, request, now=utcnow() - timedelta(hours=2))
    live = shares.create_share(user, request, now=utcnow())

    # When the holder opens it and the owner lists links
    response = open_page(expired.token)
    listed = body_of(list_shares(owner_token(world)))["items"]

    # Then it is a 404 that says it expired, and only the live link is listed
    assert response["statusCode"] == 404
    assert "This link has expired." in response["body"]
    assert [item["share_id"] for item in listed] == [live.share.share_id]
    assert open_page(live.token)["statusCode"] == 200


def test_a_one_time_link_opens_once_and_then_says_it_was_used(world, base_time):
    # Given a one-time link to a frame
    frame = ingest_frame(world, base_time)
    token = owner_token(world)
    share = created(
        token, camera_id=world.camera_id, frame_id=frame["frame_id"], purpose=GROUND, expires_in=600, one_time=True
    )

    # When it is opened, and its button pressed twice
    interstitial = open_page(share["url"])
    first, second = press_button(share["url"]), press_button(share["url"])

    # Then the opening shows no frame, the first press shows it and the second is a 404 that says it was already
    # opened, as a later GET is
    assert interstitial["statusCode"] == 200
    assert image_urls(interstitial["body"]) == []
    assert first["statusCode"] == 200
    assert "This page can be opened only once." in first["body"]
    assert image_urls(first["body"])
    for again in (second, open_page(share["url"])):
        assert again["statusCode"] == 404
        assert "already been opened" in again["body"]
        assert image_urls(again["body"]) == []
    # and the listing says it was used; only one view is in the audit log
    (item,) = body_of(list_shares(token))["items"]
    assert (item["status"], item["one_time"]) == ("used", True)
    assert item["consumed_at"] is not None
    views = [a for a in audit_actions(world.contract_id) if a[1] == "share.viewed"]
    assert views == [(f"share:{share['share_id']}", "share.viewed", share["share_id"])]


@pytest.mark.parametrize(
    ("state", "text"),
    [
        ("suspended", "is suspended at the moment"),
        ("terminated", "has ended"),
        ("purged", "has ended"),
    ],
)
def test_a_link_stops_when_its_contract_stops_serving(world, base_time, state, text):
    # Given a one-time frame link, and the contract leaves service
    frame = ingest_frame(world, base_time)
    share = created(
        owner_token(world),
        camera_id=world.camera_id,
        frame_id=frame["frame_id"],
        purpose=GROUND,
        expires_in=600,
        one_time=True,
    )
    set_contract_state(world.contract_id, state)

    # When the holder opens it, and presses its button
    for response in (open_page(share["url"]), press_button(share["url"])):
        # Then each page is a 403 that explains why, shows nothing, and does not spend the one view
        assert response["statusCode"] == 403
        assert text in response["body"]
        assert image_urls(response["body"]) == []
    if state == "suspended":
        set_contract_state(world.contract_id, "active")
        assert press_button(share["url"])["statusCode"] == 200


def test_a_cancelled_contract_past_its_effective_date_stops_its_links(world, base_time):
    # Given a link and a cancellation that took effect a minute ago (the hourly job has not run yet)
    share = window_share(owner_token(world), world.camera_id, base_time, base_time + timedelta(minutes=5))
    ContractModel.get(world.contract_id).update(
        actions=[
            ContractModel.state.set("cancelling"),
            ContractModel.cancel_effective_at.set(utcnow() - timedelta(minutes=1)),
        ]
    )

    # When the holder opens it
    response = open_page(share["url"])

    # Then it has ended
    assert response["statusCode"] == 403
    assert "has ended" in response["body"]


def test_a_link_to_footage_no_longer_kept_says_so(world, base_time):
    # Given a frame link whose frame was then removed (e.g. taken down)
    frame = ingest_frame(world, base_time)
    share = created(
        owner_token(world), camera_id=world.camera_id, frame_id=frame["frame_id"], purpose=GROUND, expires_in=600
    )
    FrameModel(world.camera_id, frame["frame_id"]).delete()

    # When the holder opens it
    response = open_page(share["url"])

    # Then it is a 404 that says the footage is no longer kept
    assert response["statusCode"] == 404
    assert "no longer kept" in response["body"]


# revoking


def test_revoking_a_link_closes_it_and_is_audited_once(world, base_time):
    # Given a link
    token = owner_token(world)
    share = window_share(token, world.camera_id, base_time, base_time + timedelta(minutes=5))
    assert open_page(share["url"])["statusCode"] == 200

    # When the owner revokes it, twice
    first, again = revoke(token, share["share_id"]), revoke(token, share["share_id"])

    # Then both answer 204, the page is a 404 that says it was withdrawn, and the listing shows it revoked
    assert (first["statusCode"], again["statusCode"]) == (204, 204)
    page = open_page(share["url"])
    assert page["statusCode"] == 404
    assert "has withdrawn it" in page["body"]
    (item,) = body_of(list_shares(token))["items"]
    assert item["status"] == "revoked"
    assert item["revoked_at"] is not None
    # and the audit log holds the creation, the one view and one revocation, in order
    user_id = customer.authenticate_session(f"Bearer {token}", utcnow())[1].user_id
    assert audit_actions(world.contract_id) == [
        (f"user:{user_id}", "share.created", share["share_id"]),
        (f"share:{share['share_id']}", "share.viewed", share["share_id"]),
        (f"user:{user_id}", "share.revoked", share["share_id"]),
    ]


def test_an_unknown_or_another_tenants_link_cannot_be_revoked(world_factory, base_time):
    # Given a link of tenant B
    tenant_a, tenant_b = world_factory(), world_factory()
    b_share = window_share(owner_token(tenant_b), tenant_b.camera_id, base_time, base_time + timedelta(minutes=5))

    # When A's owner tries to revoke it, or a made-up id
    response = revoke(owner_token(tenant_a), b_share["share_id"])
    unknown = revoke(owner_token(tenant_a), "shr_nosuchshare000000000")

    # Then both are not found, and B's link still opens
    assert_error(response, 404, "not_found")
    assert_error(unknown, 404, "not_found")
    assert open_page(b_share["url"])["statusCode"] == 200


# the audit log


def test_creation_and_views_are_audited_without_the_token(world, base_time):
    # Given a link with a purpose, opened twice
    token = owner_token(world)
    share = window_share(
        token, world.camera_id, base_time, base_time + timedelta(minutes=5), purpose=GROUND, purpose_note="claim 7"
    )
    open_page(share["url"])
    open_page(share["url"])

    # When the audit log is read
    entries, _ = audit.entries(world.contract_id, limit=50)
    of_share = [e for e in reversed(entries) if e.subject == share["share_id"]]

    # Then the creation records the scope, purpose and note, each view is the link's own act for that purpose, and no
    # token is in them
    assert [e.action for e in of_share] == ["share.created", "share.viewed", "share.viewed"]
    creation = of_share[0].details
    assert (creation["camera_id"], creation["purpose"], creation["purpose_note"], creation["one_time"]) == (
        world.camera_id,
        GROUND,
        "claim 7",
        False,
    )
    assert {e.details["purpose"] for e in of_share[1:]} == {GROUND}
    assert creation["from"] == format_rfc3339(base_time)
    assert {e.actor for e in of_share[1:]} == {f"share:{share['share_id']}"}
    assert all(e.customer_visible for e in of_share)
    assert link_token(share["url"]) not in json.dumps([e.details for e in of_share])


def test_listing_shows_each_link_without_its_token(world, base_time):
    # Given two links, a window and a one-time frame
    token = owner_token(world)
    frame = ingest_frame(world, base_time)
    window = window_share(token, world.camera_id, base_time, base_time + timedelta(minutes=5))
    one = created(
        token, camera_id=world.camera_id, frame_id=frame["frame_id"], purpose=GROUND, expires_in=60, one_time=True
    )

    # When the owner lists links
    response = list_shares(token)

    # Then both are there, newest first, with scope, purpose, status and expiry and no token or URL
    assert response["statusCode"] == 200
    items = body_of(response)["items"]
    assert [i["share_id"] for i in items] == [one["share_id"], window["share_id"]]
    assert items[0]["frame_id"] == frame["frame_id"]
    assert (items[1]["from"], items[1]["to"]) == (
        format_rfc3339(base_time),
        format_rfc3339(base_time + timedelta(minutes=5)),
    )
    assert {i["status"] for i in items} == {"active"}
    assert {i["purpose"] for i in items} == {GROUND}
    assert items[0]["purpose_label"] == {
        "ja": "法令上の根拠: 人の生命、身体または財産の保護のために必要な場合 (同第2号)",
        "en": "Statutory ground: Protection of a person's life, body or property (APPI Art. 27-1-2)",
    }
    assert items[0]["purpose_note"] is None
    text = json.dumps(items)
    assert link_token(window["url"]) not in text
    assert "token" not in text
    assert "url" not in text
