"""Browsing a camera's frames (SPEC §6): pages in a time window, one frame, each with short-lived signed links."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from doti import cursors, ids
from doti.contracts import registry, retention_policy, terms
from doti.entities import Frame, User
from doti.errors import NotFound, ValidationError
from doti.ingest import activity
from doti.store import frames as store
from doti.store.objects import Storage
from doti.store.signing import presign_get

MAX_PAGE = 200


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


@dataclass(frozen=True)
class FramePage:
    items: list[SignedFrame]
    cursor: str | None


def sign_frame(frame: Frame, storage: Storage, ttl_seconds: int, now: datetime) -> SignedFrame:
    thumb = presign_get(
        storage.s3,
        storage.bucket,
        frame.thumb_key,
        content_type="image/jpeg",
        filename=f"{frame.frame_id}-thumb.jpg",
        ttl_seconds=ttl_seconds,
        now=now,
    )
    image = presign_get(
        storage.s3,
        storage.bucket,
        frame.object_key,
        content_type=frame.content_type,
        filename=frame.object_key.rsplit("/", 1)[-1],
        ttl_seconds=ttl_seconds,
        now=now,
    )
    return SignedFrame(frame=frame, thumbnail_url=thumb.url, image_url=image.url, url_expires_at=image.expires_at)


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
    return sign_frame(frame, storage, contract.signed_url_ttl, now)
