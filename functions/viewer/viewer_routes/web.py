"""The web viewer (SPEC §6): its page and static files, served by this function with a strict Content-Security-Policy.

The files live in web/ beside app.py, inside the function's CodeUri, so they ship with it. Only the files named in
ASSETS are served: a request names an entry of the allow-list, never a path, so no traversal can reach other files.
"""

import hashlib
from functools import cache
from pathlib import Path
from urllib.parse import urlsplit

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from doti import openapi, runtime
from doti.errors import NotFound
from doti.http import lower_headers
from viewer_routes.common import public

router = APIGatewayRouter()
public("/", "/assets/{name}")

WEB_ROOT = Path(__file__).resolve().parent.parent / "web"
PAGE = ("index.html", "text/html; charset=utf-8")
ASSETS = {
    "app.js": "text/javascript; charset=utf-8",
    "app.css": "text/css; charset=utf-8",
    "i18n.json": "application/json; charset=utf-8",
    "icon.svg": "image/svg+xml",
}
# The page is revalidated on every load (it names the assets); assets may be reused for a few minutes, and the
# ETag makes both revalidations cheap. Nothing here is per user, but nothing is worth a long stale window either.
PAGE_CACHE = "no-cache"
ASSET_CACHE = "public, max-age=300"


@cache
def _file(name: str) -> tuple[bytes, str]:
    body = (WEB_ROOT / name).read_bytes()
    return body, '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def image_origin() -> str:
    """Where the browser loads images and clips from: the origin of the presigned S3 URLs this function hands out.

    Signing a URL is local computation (no request), so the answer is exact for any endpoint: virtual-hosted S3 when
    deployed, the moto server's URL locally.
    """
    storage = runtime.storage()
    url = storage.s3.generate_presigned_url("get_object", Params={"Bucket": storage.bucket, "Key": "x"}, ExpiresIn=1)
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def thumbnails_origin() -> str:
    """The origin of the thumbnail renderer's links (stills' thumbnails are rendered when viewed), if configured."""
    url = runtime.init().thumbnails_url
    if not url:
        return ""
    parts = urlsplit(url)
    return f" {parts.scheme}://{parts.netloc}"


def security_headers() -> dict[str, str]:
    storage_origin = image_origin()
    policy = "; ".join(
        [
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            # 'self' for the icon; signed URLs for stills, posters and stored thumbnails; the renderer's links
            f"img-src 'self' {storage_origin}{thumbnails_origin()}",
            f"media-src {storage_origin}",  # clips (video/mp4) play from their signed URLs, and from nowhere else
            "connect-src 'self'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )
    return {
        "Content-Security-Policy": policy,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",  # share links and signed URLs must never leak through Referer
    }


def _static(name: str, content_type: str, cache_control: str) -> Response[str]:
    body, etag = _file(name)
    headers = {**security_headers(), "Cache-Control": cache_control, "ETag": etag}
    if lower_headers(router).get("if-none-match") == etag:
        return Response(status_code=304, body="", headers=headers)
    return Response(status_code=200, content_type=content_type, body=body.decode("utf-8"), headers=headers)


# 304 when the ETag still matches; 308 to the same path with a trailing slash (see below).
@router.get("/", responses=openapi.combine(openapi.pages(200), openapi.answers(304, 308)))
def page() -> Response[str]:
    # Assets and API calls are relative to the page, so it must end in "/": API Gateway serves the root resource at
    # /<stage> as well as /<stage>/, and relative URLs resolved against /<stage> would miss the stage.
    client_path = router.current_event.request_context.path or "/"
    if not client_path.endswith("/"):
        return Response(status_code=308, body="", headers={"Location": client_path + "/", "Cache-Control": "no-store"})
    return _static(*PAGE, PAGE_CACHE)


@router.get("/assets/<name>", responses=openapi.combine(openapi.files(ASSETS.values()), openapi.answers(304, 404)))
def asset(name: str) -> Response[str]:
    content_type = ASSETS.get(name)
    if content_type is None:
        raise NotFound("no such asset")
    return _static(name, content_type, ASSET_CACHE)
