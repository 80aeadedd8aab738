"""Thumbnails rendered when viewed (issue 17): the ThumbnailFunction's answer to one signed link.

A still is stored without a thumbnail: most security frames are never viewed, and a stored thumbnail costs a
PutObject per frame. A listing hands out a link per frame instead (doti.viewing.frames.sign_frame), signed for the
frame's own image-URL lifetime, naming the original's key, type and size (doti.store.signing.RenderLinks). The
renderer serves those links from a Lambda Function URL: API Gateway would charge a request per thumbnail.

Order matters: the link is verified before anything else (a bad or expired link is a 403 without any AWS call), then
the original is read and shrunk exactly as ingest made thumbnails (doti.ingest.imaging.render_thumbnail). The stored
original is already masked (Art. 2-4: masked before storing, rewritten by a re-mask job), so the render is masked.
Only functions with the imaging layer import this module.
"""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Any

from doti.errors import CorruptImage, DotiError, NotFound, error_body
from doti.ingest import imaging
from doti.observability import logger
from doti.store.objects import Storage, read_object
from doti.store.signing import RenderLinks

# A link names one original for at most an hour; the browser keeps the render for what is left of it, and only for
# this viewer: `private` keeps shared caches out (the link is the only credential).
_CACHE = "private, max-age={}, immutable"


def answer(event: dict[str, Any], links: RenderLinks, storage: Storage, now: datetime) -> dict[str, Any]:
    """The Function URL response (payload 2.0) to one GET: the JPEG thumbnail, or a SPEC §10 JSON error (403 for a
    link that is not valid or has expired, 404 when its original is gone, 405 for another method)."""
    method = event.get("requestContext", {}).get("http", {}).get("method", "GET")
    try:
        if method not in ("GET", "HEAD"):
            return _error(405, "method_not_allowed", "only GET is served")
        request = links.verify(event.get("queryStringParameters") or {}, now)
        data = read_object(storage, request.key, what="the original")
        if data is None:  # taken down, deleted by retention or a subject request since the link was made
            raise NotFound("frame not found")
        thumbnail = imaging.render_thumbnail(data, request.content_type, request.width, request.height)
    except CorruptImage:
        logger.error("a stored original does not decode")
        return _error(500, "internal_error", "internal error")
    except DotiError as exc:
        if exc.status >= 500:
            logger.warning("could not render a thumbnail", extra={"code": exc.code})
        return _error(exc.status, exc.code, exc.message, exc.details)
    max_age = max(int((request.expires_at - now).total_seconds()), 0)
    return {
        "statusCode": 200,
        "headers": {
            "Content-Type": "image/jpeg",
            "Cache-Control": _CACHE.format(max_age),
            "X-Content-Type-Options": "nosniff",
        },
        "body": base64.b64encode(thumbnail).decode("ascii") if method == "GET" else "",
        "isBase64Encoded": method == "GET",
    }


def _error(status: int, code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json", "Cache-Control": "no-store"},
        "body": json.dumps(error_body(code, message, details)),
        "isBase64Encoded": False,
    }
