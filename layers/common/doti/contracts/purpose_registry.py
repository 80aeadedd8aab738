"""Registering a camera's purposes (Art. 2-4, issue 15): staff through the staff API, owners in the viewer.

The camera's registration and its customer-visible "camera.purposes_set" entry commit in one transaction
(doti.oversight.audit.record_with): the notice page never shows purposes the audit log does not explain. The rules
for what a registration may hold are doti.contracts.purposes'.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import datetime
from functools import partial
from typing import Any

from doti.accounts import roles
from doti.contracts import purposes, registry, terms
from doti.entities import Camera, User
from doti.errors import Conflict
from doti.oversight import audit
from doti.store import purposes as store
from doti.store import registry as registry_store
from doti.store.objects import Storage
from doti.viewing import cameras
from doti.viewing.cameras import CameraCard

ACTION = "camera.purposes_set"


def _register(camera: Camera, registration: purposes.Registration, *, actor: str, now: datetime) -> Camera:
    """Write the registration with its entry; returns the camera as written (a read straight after the write could be
    an eventually consistent one that misses it)."""
    camera_id = camera.camera_id
    read: list[Camera] = []

    def prepare() -> audit.StateWrite:
        read.append(registry_store.get_camera(camera_id))  # NotFound ends the attempts
        write = partial(store.add_registration, camera_id=camera_id, registration=registration, now=now)
        return audit.StateWrite(write, registration.details())

    audit.record_with(camera.contract_id, actor=actor, action=ACTION, subject=camera_id, now=now, prepare=prepare)
    return dataclasses.replace(
        read[-1],
        purposes=registration.purposes,
        purpose_other_text=registration.other_text,
        coverage=registration.coverage,
        people_filmed=registration.people_filmed,
        purposes_updated_at=now,
    )


def register_by_staff(camera_id: str, fields: Mapping[str, Any], *, actor: str, now: datetime) -> Camera:
    """Staff record the camera's purposes (`fields`: purposes, other_text, coverage, people_filmed); a camera of an
    ended contract is 409 (its data is on the way out)."""
    registration = purposes.validate(**fields)
    camera = registry_store.get_camera(camera_id)
    contract = terms.get_contract(camera.contract_id)
    if contract.state in terms.ENDED_STATES:
        raise Conflict(f"the contract is {contract.state}", state=contract.state)
    return _register(camera, registration, actor=actor, now=now)


def register_by_owner(
    user: User, camera_id: str, fields: Mapping[str, Any], *, storage: Storage, now: datetime
) -> CameraCard:
    """The owner records a camera's purposes: a camera they can see (404 otherwise), of a serving contract. Returns
    the camera as the viewer's listing shows it."""
    terms.require_serving(terms.get_contract(user.contract_id), now)
    camera = registry.camera_for_user(user, camera_id)
    roles.require(user, roles.Permission.REGISTER_PURPOSES)
    registration = purposes.validate(**fields)
    written = _register(camera, registration, actor=audit.user_actor(user), now=now)
    return dataclasses.replace(cameras.camera_for(user, camera_id, storage=storage, now=now), camera=written)
