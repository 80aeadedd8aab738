"""Registering a camera's purposes (Art. 2-4, issue 15): staff through the staff API, owners in the viewer.

The camera's registration and its customer-visible "camera.purposes_set" entry commit in one transaction
(doti.oversight.audit.record_with): the notice page never shows purposes the audit log does not explain. The rules
for what a registration may hold are doti.contracts.purposes'.
"""

from __future__ import annotations

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

ACTION = "camera.purposes_set"


def _register(camera_id: str, registration: purposes.Registration, *, actor: str, now: datetime) -> Camera:
    def prepare() -> audit.StateWrite:
        registry_store.get_camera(camera_id)  # NotFound ends the attempts; the write's condition covers the rest
        write = partial(store.add_registration, camera_id=camera_id, registration=registration, now=now)
        return audit.StateWrite(write, registration.details())

    contract_id = registry_store.get_camera(camera_id).contract_id
    audit.record_with(contract_id, actor=actor, action=ACTION, subject=camera_id, now=now, prepare=prepare)
    return registry_store.get_camera(camera_id)


def register_by_staff(camera_id: str, fields: Mapping[str, Any], *, actor: str, now: datetime) -> Camera:
    """Staff record the camera's purposes (`fields`: purposes, other_text, coverage, people_filmed); a camera of an
    ended contract is 409 (its data is on the way out)."""
    registration = purposes.validate(**fields)
    camera = registry_store.get_camera(camera_id)
    contract = terms.get_contract(camera.contract_id)
    if contract.state in terms.ENDED_STATES:
        raise Conflict(f"the contract is {contract.state}", state=contract.state)
    return _register(camera_id, registration, actor=actor, now=now)


def register_by_owner(user: User, camera_id: str, fields: Mapping[str, Any], *, now: datetime) -> Camera:
    """The owner records a camera's purposes: a camera they can see (404 otherwise), of a serving contract."""
    terms.require_serving(terms.get_contract(user.contract_id), now)
    registry.camera_for_user(user, camera_id)
    roles.require(user, roles.Permission.REGISTER_PURPOSES)
    registration = purposes.validate(**fields)
    return _register(camera_id, registration, actor=audit.user_actor(user), now=now)
