"""Thumbnails rendered when viewed (issue 17): a still is stored without one, its listing hands out a signed link to
the ThumbnailFunction, which renders it from the stored (masked) original; frames stored with a thumbnail keep theirs.
"""

from __future__ import annotations

import json
from datetime import timedelta
from urllib.parse import parse_qsl, urlencode, urlsplit

import boto3
import pytest

from doti import runtime
from doti.clock import parse_rfc3339, utcnow
from doti.ingest.imaging import THUMB_LONG_EDGE
from doti.store.models import FrameModel
from tests.support import body_of
from tests.support.images import jpeg, png
from tests.support.masks import CENTRE, decode, region, set_mask
from tests.support.thumbnails import fetch_thumbnail, give_stored_thumbnail, is_render_link, render
from tests.support.viewer import get_frame, ingest_frame, listed, owner_token


def _with_param(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    params = dict(parse_qsl(parts.query)) | changes
    return parts._replace(query=urlencode(params)).geturl()


def _assert_refused(answer, status: int, code: str) -> dict:
    assert answer.status == status
    assert answer.headers["Content-Type"] == "application/json"
    error = json.loads(answer.body)["error"]
    assert error["code"] == code
    return error


@pytest.mark.parametrize(
    ("content_type", "body", "size"),
    [("image/jpeg", jpeg(1280, 720), (320, 180)), ("image/png", png(640, 360), (320, 180))],
    ids=["jpeg", "png"],
)
def test_a_new_still_has_no_stored_thumbnail_and_its_link_renders_one_of_the_same_size(
    aws, world_factory, content_type, body, size
):
    # Given a frame posted now
    tenant = world_factory(signed_url_ttl=120)
    frame = ingest_frame(tenant, body=body, content_type=content_type)
    bucket = aws.refs["FramesBucket"]

    # Then nothing is stored under thumbs/, and its index item names no thumbnail but its size
    listed_keys = boto3.client("s3", region_name="us-east-1").list_objects_v2(
        Bucket=bucket, Prefix=f"thumbs/{tenant.contract_id}/"
    )
    assert listed_keys.get("KeyCount", 0) == 0
    item = FrameModel.get(tenant.camera_id, frame["frame_id"])
    assert (item.thumb_key, item.thumb_size, item.thumb_width, item.thumb_height) == (None, 0, *size)

    # When the customer lists the camera and the browser follows the thumbnail link
    view = listed(owner_token(tenant), tenant.camera_id)["items"][0]
    assert is_render_link(view["thumbnail_url"])
    answer = render(view["thumbnail_url"])

    # Then it is a JPEG of exactly the thumbnail's size, cached privately for at most the link's life
    assert answer.status == 200
    assert answer.headers["Content-Type"] == "image/jpeg"
    assert decode(answer.body).shape[:2] == (size[1], size[0])
    expires = parse_rfc3339(view["url_expires_at"], "url_expires_at")
    max_age = int(answer.headers["Cache-Control"].split("max-age=")[1].split(",")[0])
    assert answer.headers["Cache-Control"].startswith("private")
    assert 0 < max_age <= 120
    assert abs((expires - utcnow()).total_seconds() - max_age) <= 5


def test_a_small_still_is_never_upscaled_and_a_portrait_keeps_its_long_edge(world):
    small = ingest_frame(world, body=jpeg(200, 150, label="small"))
    tall = ingest_frame(world, body=jpeg(720, 1280, label="tall"))
    by_id = {item["frame_id"]: item for item in listed(owner_token(world), world.camera_id)["items"]}

    assert decode(render(by_id[small["frame_id"]]["thumbnail_url"]).body).shape[:2] == (150, 200)
    assert decode(render(by_id[tall["frame_id"]]["thumbnail_url"]).body).shape[:2] == (THUMB_LONG_EDGE, 180)


def test_the_render_of_a_masked_camera_is_masked(world):
    # Given a camera with a privacy mask over the centre of its view, and a frame posted under it
    assert set_mask(world, CENTRE)["statusCode"] == 200
    frame = ingest_frame(world, body=jpeg(1280, 720, label="masked"))

    # When its thumbnail is rendered
    single = body_of(get_frame(owner_token(world), world.camera_id, frame["frame_id"]))
    thumb = decode(render(single["thumbnail_url"]).body)

    # Then the masked region is black in the thumbnail too (the original was masked before it was stored)
    assert thumb.shape[:2] == (180, 320)
    assert region(thumb, 0.25, 0.25, 0.75, 0.75, 8).max() == 0
    assert region(thumb, 0, 0, 1, 0.2).mean() > 40


def test_a_tampered_link_is_refused_before_any_aws_call(aws, world_factory, aws_calls):
    # Given two tenants' frames, and the first tenant's thumbnail link
    mine, theirs = world_factory(), world_factory()
    ingest_frame(mine)
    other = ingest_frame(theirs)
    link = listed(owner_token(mine), mine.camera_id)["items"][0]["thumbnail_url"]
    assert render(link).status == 200  # the daily key is known from here on: no KMS call either
    their_key = FrameModel.get(theirs.camera_id, other["frame_id"]).object_key
    params = dict(parse_qsl(urlsplit(link).query))
    aws_calls.clear()

    # When its key is swapped for another tenant's, its size, type or signature changed, or a part left out
    tampered = [
        _with_param(link, k=their_key),
        _with_param(link, w=str(int(params["w"]) * 2)),
        _with_param(link, t="image/png"),
        _with_param(link, s=params["s"][:-2] + ("AA" if not params["s"].endswith("AA") else "BB")),
        _with_param(link, e=str(int(params["e"]) + 60)),
        _with_param(link, k="exports/" + params["k"]),
        link.split("&s=")[0],
        link.split("?")[0],
    ]
    answers = [render(url) for url in tampered]

    # Then each is a JSON 403, and nothing was asked of AWS (no S3 read, no KMS)
    for answer in answers:
        _assert_refused(answer, 403, "forbidden")
    assert aws_calls == []


def test_an_expired_link_or_one_claiming_too_long_a_life_is_refused_without_aws(world, aws_calls):
    # Given links the service signed itself, one expired a second ago and one valid for two hours
    frame = ingest_frame(world)
    item = FrameModel.get(world.camera_id, frame["frame_id"])
    links = runtime.render_links()
    now = utcnow()
    expired = links.url(item.object_key, item.content_type, item.width, item.height, now - timedelta(seconds=1))
    too_long = links.url(item.object_key, item.content_type, item.width, item.height, now + timedelta(hours=2))
    aws_calls.clear()

    # Then both are refused with a JSON 403 before any AWS call
    error = _assert_refused(render(expired), 403, "forbidden")
    assert "expired" in error["message"]
    _assert_refused(render(too_long), 403, "forbidden")
    assert aws_calls == []


def test_a_link_whose_original_is_gone_is_a_404(aws, world):
    # Given a frame's thumbnail link, and its original deleted since (a takedown, retention)
    frame = ingest_frame(world)
    link = listed(owner_token(world), world.camera_id)["items"][0]["thumbnail_url"]
    key = FrameModel.get(world.camera_id, frame["frame_id"]).object_key
    boto3.client("s3", region_name="us-east-1").delete_object(Bucket=aws.refs["FramesBucket"], Key=key)

    # Then the renderer answers 404 not_found in JSON
    _assert_refused(render(link), 404, "not_found")


def test_another_method_than_get_is_refused(world):
    ingest_frame(world)
    link = listed(owner_token(world), world.camera_id)["items"][0]["thumbnail_url"]
    _assert_refused(render(link, method="POST"), 405, "method_not_allowed")
    head = render(link, method="HEAD")
    assert (head.status, head.body) == (200, b"")


def test_a_frame_stored_with_a_thumbnail_keeps_serving_it_beside_new_ones(world):
    # Given a frame stored before thumbnails were rendered when viewed (its thumbnail under thumbs/), and a new one
    old = ingest_frame(world, body=jpeg(1280, 720, label="old"))
    new = ingest_frame(world, body=jpeg(1280, 720, label="new"))
    key, stored = give_stored_thumbnail(world.camera_id, old["frame_id"])

    # When the customer lists the camera and opens each frame
    token = owner_token(world)
    by_id = {item["frame_id"]: item for item in listed(token, world.camera_id)["items"]}
    single = body_of(get_frame(token, world.camera_id, old["frame_id"]))

    # Then the old frame's link is the presigned URL of its stored thumbnail, the new one's the renderer's
    for view in (by_id[old["frame_id"]], single):
        assert not is_render_link(view["thumbnail_url"])
        assert urlsplit(view["thumbnail_url"]).path.endswith("/" + key)
        assert fetch_thumbnail(view["thumbnail_url"]).body == stored
    assert is_render_link(by_id[new["frame_id"]]["thumbnail_url"])
    assert decode(fetch_thumbnail(by_id[new["frame_id"]]["thumbnail_url"]).body).shape[:2] == (180, 320)
