"""Signed URLs (SPEC §6): image and thumbnail links signed for the contract's TTL, serving the stored bytes inline.

Frames are created through the real ingest handler; customers are driven through the viewer handler.
"""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import unquote, urlparse

import boto3
import pytest
import requests

from doti.clock import parse_rfc3339, utcnow
from infra.drawing import draw_frame, encode_png
from tests.support import (
    body_of,
    sample_image,
)
from tests.support.thumbnails import fetch_thumbnail, is_render_link
from tests.support.viewer import (
    get_frame,
    ingest_frame,
    listed,
    owner_token,
    query_of,
)

# signed URLs


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

    # Then the image URL is SigV4, lives exactly the contract's TTL, and answers inline with the stored type; the
    # thumbnail (none is stored) is the renderer's link to that same original, expiring with it
    extension = {"image/jpeg": "jpg", "image/png": "png"}[content_type]
    [image_key] = _object_keys(aws, f"frames/{tenant.contract_id}/{tenant.camera_id}/")
    assert _object_keys(aws, f"thumbs/{tenant.contract_id}/{tenant.camera_id}/") == []
    assert image_key.endswith(f"/{frame['frame_id']}.{extension}")
    for view in (item, single):
        assert view["content_type"] == content_type
        assert is_render_link(view["thumbnail_url"])
        link = query_of(view["thumbnail_url"])
        assert (link["k"], link["t"]) == (image_key, content_type)
        assert int(link["e"]) == int(parse_rfc3339(view["url_expires_at"], "url_expires_at").timestamp())
        params = query_of(view["image_url"])
        assert params["X-Amz-Algorithm"] == "AWS4-HMAC-SHA256"
        assert params["X-Amz-Expires"] == "120"
        assert params["X-Amz-Signature"]
        assert "Signature" not in params  # not the legacy SigV2 form
        assert "X-Amz-Credential" in params
        assert _url_key(view["image_url"], bucket) == image_key
        assert params["response-content-type"] == content_type
        assert params["response-content-disposition"].startswith("inline")
        assert "attachment" not in params["response-content-disposition"]
        expires = parse_rfc3339(view["url_expires_at"], "url_expires_at")
        assert before + timedelta(seconds=120) - timedelta(seconds=1) <= expires <= after + timedelta(seconds=121)
        assert view["url_expires_at"].endswith("Z")

    # and fetching the URLs (as a browser would) returns the stored original, and a JPEG thumbnail rendered from it
    s3 = boto3.client("s3", region_name="us-east-1")
    fetched = requests.get(single["image_url"], timeout=10)
    assert fetched.status_code == 200
    assert fetched.content == body
    assert fetched.headers["Content-Type"] == content_type
    assert s3.get_object(Bucket=bucket, Key=image_key)["Body"].read() == body
    thumb = fetch_thumbnail(single["thumbnail_url"])
    assert thumb.status == 200
    assert thumb.headers["Content-Type"] == "image/jpeg"
    assert thumb.body[:2] == b"\xff\xd8"


def test_default_ttl_is_300_seconds(world):
    # Given a contract with the default plan and one frame
    frame = ingest_frame(world)
    token = owner_token(world)

    # When the customer opens the frame
    single = body_of(get_frame(token, world.camera_id, frame["frame_id"]))

    # Then its URLs live 300 s: the image's, and the thumbnail link's, which expires with it
    assert query_of(single["image_url"])["X-Amz-Expires"] == "300"
    expires = int(parse_rfc3339(single["url_expires_at"], "url_expires_at").timestamp())
    assert int(query_of(single["thumbnail_url"])["e"]) == expires
