"""Browsing a camera's frames (SPEC §6): pages in a time window, one frame, each with short-lived signed links."""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote
from zoneinfo import ZoneInfo

from doti import cursors, ids
from doti.contracts import registry, retention_policy, terms
from doti.entities import Frame, User
from doti.errors import NotFound, ValidationError
from doti.ingest import activity
from doti.settings import SettingsError
from doti.store import frames as store
from doti.store.objects import Storage
from doti.store.signing import presign_get

MAX_PAGE = 200
DOWNLOAD_ZONE = ZoneInfo("Asia/Tokyo")  # the local time a download's file name carries
_EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "video/mp4": "mp4"}
# Never in a file name on common file systems, nor safe in a quoted header parameter: replaced by "_".
_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f\x7f;%]')
_MAX_NAME = 80  # characters of the camera's name kept


@dataclass(frozen=True)
class FrameQuery:
    start: datetime | None
    end: datetime | None
    newest_first: bool
    limit: int
    cursor: str | None
    activity: bool = False  # only frames whose activity score reaches the camera's threshold


@dataclass(frozen=True)
class SignedFrame:
    frame: Frame
    thumbnail_url: str
    image_url: str
    url_expires_at: datetime
    download_url: str | None = None  # one frame only: the original as an attachment named for the camera and time


@dataclass(frozen=True)
class FramePage:
    items: list[SignedFrame]
    cursor: str | None


def sign_frame(frame: Frame, storage: Storage, ttl_seconds: int, now: datetime) -> SignedFrame:
    """The frame with its image's and thumbnail's links, both valid for `ttl_seconds`. The thumbnail is the stored
    one when the frame has one (a clip's poster; a still stored before thumbnails were rendered when viewed), else the
    renderer's (doti.viewing.renders), which makes it from the stored, already masked, original."""
    image = presign_get(
        storage.s3,
        storage.bucket,
        frame.object_key,
        content_type=frame.content_type,
        filename=frame.object_key.rsplit("/", 1)[-1],
        ttl_seconds=ttl_seconds,
        now=now,
    )
    if frame.thumb_key:
        thumbnail_url = presign_get(
            storage.s3,
            storage.bucket,
            frame.thumb_key,
            content_type="image/jpeg",
            filename=f"{frame.frame_id}-thumb.jpg",
            ttl_seconds=ttl_seconds,
            now=now,
        ).url
    elif storage.render_links is None:
        raise SettingsError("missing environment variables: THUMBNAILS_URL")  # a deployment fault: 500
    else:
        thumbnail_url = storage.render_links.url(
            frame.object_key, frame.content_type, frame.width, frame.height, image.expires_at
        )
    return SignedFrame(frame=frame, thumbnail_url=thumbnail_url, image_url=image.url, url_expires_at=image.expires_at)


def download_names(camera_name: str, frame: Frame) -> tuple[str, str]:
    """The file name of a frame's download, `<camera name>_<local capture time>.<ext>`, e.g.
    玄関_2026-12-03_10-15-30.jpg: as an ASCII fallback (RFC 6266 `filename`) and as RFC 5987 `filename*` (UTF-8,
    percent-encoded), both free of path separators, quotes and control characters."""
    local = frame.captured_at.astimezone(DOWNLOAD_ZONE).strftime("%Y-%m-%d_%H-%M-%S")
    extension = _EXTENSIONS.get(frame.content_type) or frame.object_key.rsplit(".", 1)[-1]
    name = _UNSAFE.sub("_", unicodedata.normalize("NFC", camera_name)).strip(" ._")[:_MAX_NAME] or "camera"
    full = f"{name}_{local}.{extension}"
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    ascii_name = _UNSAFE.sub("_", ascii_name).strip(" ._") or "camera"
    return f"{ascii_name}_{local}.{extension}", "UTF-8''" + quote(full, safe="!#$&+-.^_`|~")


def _download_url(frame: Frame, camera_name: str, storage: Storage, ttl_seconds: int, now: datetime) -> str:
    fallback, encoded = download_names(camera_name, frame)
    # presign_get writes `<disposition>; filename="<filename>"`: filename* rides in the disposition, before the ASCII
    # fallback; a browser that knows RFC 5987 takes filename* wherever it stands (RFC 6266 §4.3).
    return presign_get(
        storage.s3,
        storage.bucket,
        frame.object_key,
        content_type=frame.content_type,
        filename=fallback,
        ttl_seconds=ttl_seconds,
        now=now,
        disposition=f"attachment; filename*={encoded}",
    ).url


def list_frames(user: User, camera_id: str, query: FrameQuery, *, storage: Storage, now: datetime) -> FramePage:
    """A page of a camera's frames in [start, end), newest or oldest first, with signed URLs.

    With `query.activity`, only frames scoring at least the camera's activity threshold (doti.ingest.activity); such a
    page may hold fewer than `limit` frames and still have a cursor, when a long quiet stretch was skipped.
    """
    contract = terms.get_contract(user.contract_id)
    terms.require_serving(contract, now)
    camera = registry.camera_for_user(user, camera_id)
    lower, upper = cursors.key_range(query.start, query.end, query.limit, MAX_PAGE)
    if upper == ids.FRAME_ID_MIN:
        return FramePage(items=[], cursor=None)  # a window that ends at or before 1970: no frame can be in it
    start_after = cursors.decode(query.cursor, camera.camera_id, query.newest_first) if query.cursor else None
    # DynamoDB refuses a start key outside the query's key range: a cursor continues only a window holding it.
    if start_after is not None and not lower <= start_after < upper:
        raise ValidationError("cursor belongs to another time window", field="cursor")
    frames, last = store.query_frames(
        camera.camera_id,
        lower,
        upper,
        newest_first=query.newest_first,
        limit=query.limit,
        start_after=start_after,
        now=now,
        min_activity=activity.effective_threshold(camera.activity_threshold) if query.activity else None,
    )
    items = [sign_frame(frame, storage, contract.signed_url_ttl, now) for frame in frames]
    cursor = cursors.encode(camera.camera_id, query.newest_first, last) if last else None
    return FramePage(items=items, cursor=cursor)


def get_frame(user: User, camera_id: str, frame_id: str, *, storage: Storage, now: datetime) -> SignedFrame:
    contract = terms.get_contract(user.contract_id)
    terms.require_serving(contract, now)
    camera = registry.camera_for_user(user, camera_id)
    if not ids.is_frame_id(frame_id):
        raise NotFound("frame not found")
    frame = store.get_frame(camera.camera_id, frame_id)
    if retention_policy.is_expired(frame, now):
        raise NotFound("frame not found")
    signed = sign_frame(frame, storage, contract.signed_url_ttl, now)
    download = _download_url(frame, camera.name, storage, contract.signed_url_ttl, now)
    return dataclasses.replace(signed, download_url=download)
