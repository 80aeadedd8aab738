"""Thumbnail links as a browser follows them: a renderer link (doti.viewing.renders) through the ThumbnailFunction
handler with the Function URL event Lambda would send, a stored thumbnail's presigned URL through moto's S3."""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import requests

from doti import runtime
from doti.clock import utcnow
from doti.store import keys
from doti.store.models import FrameModel
from functions.thumbnails import app as thumbnails
from tests.support import LambdaContext
from tests.support.images import jpeg


@dataclass(frozen=True)
class Fetched:
    status: int
    headers: dict[str, str]
    body: bytes


def is_render_link(url: str) -> bool:
    """A link to the renderer (THUMBNAILS_URL), not a presigned S3 URL of a stored thumbnail."""
    return url.startswith(os.environ["THUMBNAILS_URL"].rstrip("/") + "/?")


def function_url_event(url: str, method: str = "GET") -> dict[str, Any]:
    """The payload 2.0 event a Lambda Function URL sends for a request to `url`."""
    parts = urlsplit(url)
    params = dict(parse_qsl(parts.query, keep_blank_values=True))
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": parts.path or "/",
        "rawQueryString": parts.query,
        "headers": {"host": parts.netloc, "accept": "image/avif,image/webp,*/*"},
        "queryStringParameters": params or None,
        "requestContext": {"http": {"method": method, "path": parts.path or "/", "sourceIp": "203.0.113.9"}},
        "isBase64Encoded": False,
    }


def render(url: str, method: str = "GET") -> Fetched:
    """What the renderer answers to the link."""
    response = thumbnails.lambda_handler(function_url_event(url, method), LambdaContext())
    body = response.get("body", "")
    raw = base64.b64decode(body) if response.get("isBase64Encoded") else body.encode()
    return Fetched(response["statusCode"], response.get("headers", {}), raw)


def fetch_thumbnail(url: str) -> Fetched:
    """The thumbnail at a listing's `thumbnail_url`, whichever kind of link it is."""
    if is_render_link(url):
        return render(url)
    answer = requests.get(url, timeout=10)
    return Fetched(answer.status_code, dict(answer.headers), answer.content)


def give_stored_thumbnail(camera_id: str, frame_id: str) -> tuple[str, bytes]:
    """Make a frame look like one stored before thumbnails were rendered when viewed: a thumbnail object under
    thumbs/, tagged as its original is (drawn apart from it, so a test can tell which one it got), named by the index
    item."""
    item = FrameModel.get(camera_id, frame_id)
    key = keys.thumb_key(item.contract_id, camera_id, item.captured_at, frame_id)
    body = jpeg(int(item.thumb_width), int(item.thumb_height), label=f"stored thumbnail {frame_id}")
    storage = runtime.storage()
    tags = storage.s3.get_object_tagging(Bucket=storage.bucket, Key=item.object_key)["TagSet"]
    tagging = "&".join(f"{tag['Key']}={tag['Value']}" for tag in tags)
    storage.s3.put_object(Bucket=storage.bucket, Key=key, Body=body, ContentType="image/jpeg", Tagging=tagging)
    item.update(actions=[FrameModel.thumb_key.set(key), FrameModel.thumb_size.set(len(body))])
    return key, body


def thumbnail_of(item: FrameModel) -> bytes:
    """The thumbnail a customer gets for the frame: its stored one, or the renderer's answer to a fresh link."""
    storage = runtime.storage()
    if item.thumb_key:
        return storage.s3.get_object(Bucket=storage.bucket, Key=item.thumb_key)["Body"].read()
    expires = utcnow() + timedelta(minutes=5)
    link = runtime.render_links().url(item.object_key, item.content_type, item.width, item.height, expires)
    answer = render(link)
    assert answer.status == 200, answer.body
    return answer.body
