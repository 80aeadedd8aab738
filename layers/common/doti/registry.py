"""Sites, cameras, devices and customer users of a contract, as staff register them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from doti import ids
from doti.auth import customer
from doti.auth.device import new_device_secret
from doti.entities import Camera, Device, Site, User
from doti.errors import NotFound, ValidationError
from doti.store import registry as store

USER_ROLES = ("owner", "manager", "viewer")


class SecretSealer(Protocol):
    def seal(self, device_id: str, secret: str) -> bytes: ...


def create_site(contract_id: str, name: str, address: str | None, now: datetime) -> Site:
    store.get_contract(contract_id)
    site = Site(site_id=ids.new_id("sit"), contract_id=contract_id, name=name, address=address, created_at=now)
    store.put_site(site)
    return site


def site_of_contract(contract_id: str, site_id: str) -> Site:
    """The site, or NotFound when it belongs to another contract (never reveal that it exists)."""
    site = store.get_site(site_id)
    if site.contract_id != contract_id:
        raise NotFound("site not found")
    return site


def create_camera(contract_id: str, site_id: str, name: str, now: datetime) -> Camera:
    site_of_contract(contract_id, site_id)
    camera = Camera(camera_id=ids.new_id("cam"), contract_id=contract_id, site_id=site_id, name=name, created_at=now)
    store.put_camera(camera)
    return camera


def camera_of_contract(contract_id: str, camera_id: str) -> Camera:
    """The camera, or NotFound when it belongs to another contract."""
    camera = store.get_camera(camera_id)
    if camera.contract_id != contract_id:
        raise NotFound("camera not found")
    return camera


@dataclass(frozen=True)
class RegisteredDevice:
    device: Device
    secret: str  # shown once, in the registration response


def register_device(contract_id: str, site_id: str, name: str, sealer: SecretSealer, now: datetime) -> RegisteredDevice:
    site_of_contract(contract_id, site_id)
    device_id = ids.new_id("dev")
    secret = new_device_secret()
    device = Device(
        device_id=device_id,
        contract_id=contract_id,
        site_id=site_id,
        name=name,
        status="active",
        secret_ciphertext=sealer.seal(device_id, secret),
        created_at=now,
    )
    store.put_device(device)
    return RegisteredDevice(device=device, secret=secret)


def create_user(
    contract_id: str,
    *,
    login_id: str,
    name: str,
    role: str,
    password: str,
    site_ids: list[str] | None,
    now: datetime,
) -> User:
    """A customer user; the login id is unique across all contracts (one id per person, Art. 7-11)."""
    store.get_contract(contract_id)
    if role not in USER_ROLES:
        raise ValidationError("role must be one of owner, manager, viewer", field="role")
    login_key = customer.normalize_login_id(login_id)
    if not login_key:
        raise ValidationError("login_id must not be empty", field="login_id")
    customer.check_password_policy(password, login_key)
    if site_ids is not None and not site_ids:
        # No scope means every site; an empty scope must not silently grant that.
        raise ValidationError("site_ids must name at least one site, or be left out for every site", field="site_ids")
    for site_id in site_ids or []:
        site_of_contract(contract_id, site_id)
    user = User(
        user_id=ids.new_id("usr"),
        login_id=login_key,
        contract_id=contract_id,
        name=name,
        role=role,
        site_ids=frozenset(site_ids) if site_ids else None,
        password_hash=customer.hash_password(password),
        failed_logins=0,
        locked_until=None,
        created_at=now,
    )
    store.put_user(user)
    return user


def visible_cameras(contract_id: str, user: User) -> list[Camera]:
    cameras = store.cameras_of_contract(contract_id)
    if user.site_ids:
        cameras = [c for c in cameras if c.site_id in user.site_ids]
    return sorted(cameras, key=lambda c: (c.name, c.camera_id))


def camera_for_user(user: User, camera_id: str) -> Camera:
    """A camera the user may see; another contract's camera and one outside the user's sites are NotFound."""
    camera = camera_of_contract(user.contract_id, camera_id)
    if user.site_ids and camera.site_id not in user.site_ids:
        raise NotFound("camera not found")
    return camera
