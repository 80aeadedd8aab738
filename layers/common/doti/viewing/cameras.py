"""The cameras a customer sees (SPEC §6): those of the contract within the user's site scope, each with a signed
thumbnail of its newest frame.

The camera's `last_frame_id` pointer (moved forward by ingest) names the newest frame, so the listing costs one
batched read of those frames, never a query per camera. A pointer whose frame has expired or was taken down shows
no thumbnail until the camera sends its next frame.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from doti.accounts import roles
from doti.accounts.roles import Permission
from doti.contracts import registry, terms
from doti.entities import Camera, User
from doti.store import frames as store
from doti.store.objects import Storage
from doti.viewing import frames
from doti.viewing.frames import SignedFrame


@dataclass(frozen=True)
class CameraCard:
    camera: Camera
    last_frame: SignedFrame | None


def cameras_for(user: User, *, storage: Storage, now: datetime) -> list[CameraCard]:
    """The user's cameras by name, each with its newest unexpired frame signed for the contract's URL lifetime."""
    contract = terms.get_contract(user.contract_id)
    terms.require_serving(contract, now)
    roles.require(user, Permission.VIEW)
    cameras = registry.visible_cameras(user.contract_id, user)
    pointers = [(c.camera_id, c.last_frame_id) for c in cameras if c.last_frame_id]
    latest = store.frames_by_key(pointers) if pointers else {}
    cards = []
    for camera in cameras:
        frame = latest.get((camera.camera_id, camera.last_frame_id or ""))
        signed = None
        if frame is not None and frame.expires_at > now:
            signed = frames.sign_frame(frame, storage, contract.signed_url_ttl, now)
        cards.append(CameraCard(camera=camera, last_frame=signed))
    return cards
