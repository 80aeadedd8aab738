"""The cameras a customer sees (SPEC §6): those of the contract within the user's site scope, each with a signed
thumbnail of its newest frame and its site's name (read in one batch: the customer API has no list of sites, and an
owner's invite form offers the sites of the cameras it sees by name).

The camera's `last_frame_id` pointer (moved forward by ingest) names the newest frame, so the listing costs one
batched read of those frames, never a query per camera. A pointer whose frame has expired or was taken down shows
no thumbnail until the camera sends its next frame.

Each camera also has a status from the same pointer: frame ids encode the capture time (doti.ids), and its age is
compared with the interval the camera is expected to send at (`expected_interval_seconds`, staff set it; 60 s unless
set): online within 3 intervals, stale within 30, offline beyond, and offline if it never sent a frame. A camera the
health job marked offline (doti.contracts.camera_health) is offline until a newer frame comes, so the viewer and the
camera.offline alert agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from doti import ids
from doti.accounts import roles
from doti.accounts.roles import Permission
from doti.contracts import camera_health, registry, terms
from doti.entities import Camera, Contract, User
from doti.store import frames as store
from doti.store import registry as registry_store
from doti.store.objects import Storage
from doti.viewing import frames
from doti.viewing.frames import SignedFrame

ONLINE, STALE, OFFLINE = "online", "stale", "offline"
ONLINE_INTERVALS, STALE_INTERVALS = 3, 30


@dataclass(frozen=True)
class CameraCard:
    camera: Camera
    last_frame: SignedFrame | None
    status: str = OFFLINE
    last_frame_at: datetime | None = None  # the capture time of the newest frame the camera sent (its pointer)
    site_name: str | None = None  # the name of the camera's site (None only if the site vanished)


def effective_interval(camera: Camera) -> int:
    return camera_health.interval_seconds(camera)


def camera_status(camera: Camera, now: datetime) -> tuple[str, datetime | None]:
    """The camera's status and the capture time of its newest frame (None: it never sent one)."""
    if not camera.last_frame_id:
        return OFFLINE, None
    last = ids.id_time(camera.last_frame_id)
    if camera.health == camera_health.OFFLINE and camera.offline_since is not None and last <= camera.offline_since:
        return OFFLINE, last  # the health job told the customer it is offline (camera.offline): say the same
    age = (now - last).total_seconds()  # negative within the clock tolerance for capture times: online
    interval = effective_interval(camera)
    if age <= ONLINE_INTERVALS * interval:
        return ONLINE, last
    if age <= STALE_INTERVALS * interval:
        return STALE, last
    return OFFLINE, last


def cameras_for(user: User, *, storage: Storage, now: datetime) -> list[CameraCard]:
    """The user's cameras by name, each with its newest unexpired frame signed for the contract's URL lifetime."""
    contract = _serving_viewer(user, now)
    return _cards(contract, registry.visible_cameras(user.contract_id, user), storage=storage, now=now)


def camera_for(user: User, camera_id: str, *, storage: Storage, now: datetime) -> CameraCard:
    """One camera the user may see, as the listing shows it (a client's single-camera live view reads its status and
    last_frame_at here without listing every camera); another contract's, or one outside the scope, is NotFound."""
    contract = _serving_viewer(user, now)
    (card,) = _cards(contract, [registry.camera_for_user(user, camera_id)], storage=storage, now=now)
    return card


def _serving_viewer(user: User, now: datetime) -> Contract:
    """The user's contract, once it is serving and the user may view."""
    contract = terms.get_contract(user.contract_id)
    terms.require_serving(contract, now)
    roles.require(user, Permission.VIEW)
    return contract


def _cards(contract: Contract, cameras: list[Camera], *, storage: Storage, now: datetime) -> list[CameraCard]:
    pointers = [(c.camera_id, c.last_frame_id) for c in cameras if c.last_frame_id]
    latest = store.frames_by_key(pointers) if pointers else {}
    # The sites' names, so that a form can offer the user's sites by name (the invite form's scope): one batched read.
    sites = registry_store.sites_by_id(contract.contract_id, {c.site_id for c in cameras})
    cards = []
    for camera in cameras:
        frame = latest.get((camera.camera_id, camera.last_frame_id or ""))
        signed = None
        if frame is not None and frame.expires_at > now:
            signed = frames.sign_frame(frame, storage, contract.signed_url_ttl, now)
        status, last_frame_at = camera_status(camera, now)
        site = sites.get(camera.site_id)
        cards.append(
            CameraCard(
                camera=camera,
                last_frame=signed,
                status=status,
                last_frame_at=last_frame_at,
                site_name=site.name if site else None,
            )
        )
    return cards
