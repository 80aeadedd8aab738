"""Data access for the registry: contracts, sites, cameras, devices, users, sessions and staff keys."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from pynamodb.exceptions import DoesNotExist, PutError, PynamoDBException, UpdateError
from pynamodb.models import Model

from doti import entities
from doti.errors import Conflict, NotFound, StorageError
from doti.store import accounts
from doti.store.conditions import is_condition_failure
from doti.store.mapping import to_entity, to_item
from doti.store.models import (
    CameraModel,
    ContractModel,
    DeviceModel,
    SessionModel,
    SiteModel,
    StaffKeyModel,
    UserModel,
)

# DynamoDB refuses an empty key, or a partition key past 2048 bytes, with a ValidationException (a 5xx here): no item
# can have one, so a request naming one (an empty site id in a scope, say) is answered "not found" before the call.
_MAX_KEY_BYTES = 2048


def _get(model: type[Model], key: str, what: str, *, consistent_read: bool = False) -> Model:
    if not key or len(key.encode("utf-8", "surrogatepass")) > _MAX_KEY_BYTES:
        raise NotFound(f"{what} not found")
    try:
        return model.get(key, consistent_read=consistent_read)
    except DoesNotExist as exc:
        raise NotFound(f"{what} not found") from exc
    except PynamoDBException as exc:
        raise StorageError(f"could not read {what}") from exc


def _create(item: Model, what: str, key_attr: str) -> None:
    """Put an item that must not exist yet (ids and login ids are unique)."""
    try:
        item.save(condition=getattr(type(item), key_attr).does_not_exist())
    except PutError as exc:
        if is_condition_failure(exc):
            raise Conflict(f"{what} already exists", **{key_attr: getattr(item, key_attr)}) from exc
        raise StorageError(f"could not store {what}") from exc


def _by_contract(model: type[Model], contract_id: str) -> Iterator[Model]:
    try:
        yield from model.by_contract.query(contract_id)  # type: ignore[attr-defined]
    except PynamoDBException as exc:
        raise StorageError("could not list the contract's registry") from exc


# contracts


def _contract(item: ContractModel) -> entities.Contract:
    return to_entity(entities.Contract, item)


def put_contract(contract: entities.Contract) -> None:
    _create(to_item(ContractModel, contract), "contract", "contract_id")


def get_contract(contract_id: str) -> entities.Contract:
    return _contract(_get(ContractModel, contract_id, "contract"))


def iter_contracts() -> Iterator[entities.Contract]:
    """Every contract, page by page (the registry of contracts, never frame data)."""
    try:
        for item in ContractModel.scan():
            yield _contract(item)
    except PynamoDBException as exc:
        raise StorageError("could not list contracts") from exc


# sites, cameras, devices


def put_site(site: entities.Site) -> None:
    _create(to_item(SiteModel, site), "site", "site_id")


def get_site(site_id: str) -> entities.Site:
    return to_entity(entities.Site, _get(SiteModel, site_id, "site"))


def site_by_public_id(public_id: str) -> entities.Site:
    """The site whose notice page is /p/{public_id} (NotFound otherwise), through the keys-only by_public_id index."""
    if not public_id or len(public_id.encode("utf-8", "surrogatepass")) > _MAX_KEY_BYTES:
        raise NotFound("site not found")
    try:
        keys = [item.site_id for item in SiteModel.by_public_id.query(public_id, limit=1)]
    except PynamoDBException as exc:
        raise StorageError("could not look up the site") from exc
    if not keys:
        raise NotFound("site not found")
    return get_site(keys[0])


def set_site_public_id(site_id: str, public_id: str) -> entities.Site:
    """Give a site `public_id` unless it has one already: the write is conditional, so two requests racing to give a
    site made before public ids its first one leave it with one id, and both get that one back."""
    item = SiteModel(site_id=site_id)
    try:
        item.update(
            actions=[SiteModel.public_id.set(public_id)],
            condition=SiteModel.site_id.exists() & SiteModel.public_id.does_not_exist(),
        )
    except UpdateError as exc:
        if not is_condition_failure(exc):
            raise StorageError("could not store the site's public id") from exc
        return to_entity(entities.Site, _get(SiteModel, site_id, "site", consistent_read=True))
    return to_entity(entities.Site, item)


def put_camera(camera: entities.Camera) -> None:
    _create(to_item(CameraModel, camera), "camera", "camera_id")


def get_camera(camera_id: str, *, consistent_read: bool = False) -> entities.Camera:
    return to_entity(entities.Camera, _get(CameraModel, camera_id, "camera", consistent_read=consistent_read))


def cameras_of_contract(contract_id: str) -> list[entities.Camera]:
    return [to_entity(entities.Camera, item) for item in _by_contract(CameraModel, contract_id)]


def set_camera_last_frame(camera_id: str, frame_id: str, signature: bytes | None = None) -> entities.Camera | None:
    """Move the camera's pointer to its newest frame, and its activity signature with it; an older frame arriving
    late never moves them back (frame ids sort by capture time), and a replay of the newest sets them again.

    Returns the camera as stored after the move (the update's ALL_NEW answer: its health and activity-event fields
    come with it, read by doti.ingest.camera_events at no extra request), or None when nothing moved."""
    camera = CameraModel(camera_id=camera_id)
    actions = [CameraModel.last_frame_id.set(frame_id)]
    actions.append(CameraModel.last_signature.set(signature) if signature else CameraModel.last_signature.remove())
    try:
        camera.update(
            actions=actions,
            condition=CameraModel.camera_id.exists()
            & (CameraModel.last_frame_id.does_not_exist() | (CameraModel.last_frame_id <= frame_id)),
        )
    except UpdateError as exc:
        if not is_condition_failure(exc):
            raise StorageError("could not update the camera") from exc
        return None
    return to_entity(entities.Camera, camera)


def replace_camera_signature(camera_id: str, frame_id: str, signature: bytes) -> None:
    """The signature of the camera's newest frame after a re-mask rewrote it; a no-op once a newer frame came."""
    try:
        CameraModel(camera_id=camera_id).update(
            actions=[CameraModel.last_signature.set(signature)], condition=CameraModel.last_frame_id == frame_id
        )
    except UpdateError as exc:
        if not is_condition_failure(exc):
            raise StorageError("could not update the camera") from exc


def _update_camera(camera_id: str, actions: list[Any]) -> entities.Camera:
    item = CameraModel(camera_id=camera_id)
    try:
        item.update(actions=actions, condition=CameraModel.camera_id.exists())
    except UpdateError as exc:
        if is_condition_failure(exc):
            raise NotFound("camera not found") from exc
        raise StorageError("could not update the camera") from exc
    return to_entity(entities.Camera, item)


def set_camera_privacy_mask(camera_id: str, polygons: list, version: str | None) -> entities.Camera:
    """Store the camera's privacy mask and its version; an empty mask removes both."""
    if not polygons:
        return _update_camera(camera_id, [CameraModel.privacy_mask.remove(), CameraModel.mask_version.remove()])
    return _update_camera(camera_id, [CameraModel.privacy_mask.set(polygons), CameraModel.mask_version.set(version)])


def set_camera_activity_threshold(
    camera_id: str, threshold: float, event_minutes: int | None = None
) -> entities.Camera:
    """The activity threshold, and the frame.activity debounce when given (None leaves it as it is)."""
    actions = [CameraModel.activity_threshold.set(threshold)]
    if event_minutes is not None:
        actions.append(CameraModel.activity_event_minutes.set(event_minutes))
    return _update_camera(camera_id, actions)


def set_camera_expected_interval(camera_id: str, seconds: int) -> entities.Camera:
    return _update_camera(camera_id, [CameraModel.expected_interval_seconds.set(seconds)])


def put_device(device: entities.Device) -> None:
    _create(to_item(DeviceModel, device), "device", "device_id")


def get_device(device_id: str) -> entities.Device:
    return to_entity(entities.Device, _get(DeviceModel, device_id, "device"))


def _of_contract_by_ids(model: type[Model], contract_id: str, ids: Iterable[str], what: str) -> list[Model]:
    """The items under these ids that belong to the contract, in BatchGetItem calls of 100 keys (PynamoDB splits and
    retries unprocessed keys); another contract's items, missing ids and ids no key can have are left out."""
    keys = sorted({key for key in ids if key and len(key.encode("utf-8", "surrogatepass")) <= _MAX_KEY_BYTES})
    if not keys:
        return []
    try:
        return [item for item in model.batch_get(keys) if item.contract_id == contract_id]
    except PynamoDBException as exc:
        raise StorageError(f"could not read the {what}") from exc


def sites_by_id(contract_id: str, site_ids: Iterable[str]) -> dict[str, entities.Site]:
    """The contract's sites among these ids, by id, in batched reads."""
    items = _of_contract_by_ids(SiteModel, contract_id, site_ids, "sites")
    return {item.site_id: to_entity(entities.Site, item) for item in items}


def cameras_by_id(contract_id: str, camera_ids: Iterable[str]) -> dict[str, entities.Camera]:
    """The contract's cameras among these ids, by id, in batched reads."""
    items = _of_contract_by_ids(CameraModel, contract_id, camera_ids, "cameras")
    return {item.camera_id: to_entity(entities.Camera, item) for item in items}


def devices_by_id(contract_id: str, device_ids: Iterable[str]) -> dict[str, entities.Device]:
    """The contract's devices among these ids, by id, in batched reads."""
    items = _of_contract_by_ids(DeviceModel, contract_id, device_ids, "devices")
    return {item.device_id: to_entity(entities.Device, item) for item in items}


# users, sessions, staff keys


def _user(item: UserModel) -> entities.User:
    return to_entity(entities.User, item)


def user_item(user: entities.User) -> UserModel:
    """A user's stored item (also written by an accepted invitation's transaction, doti.store.invitations)."""
    return to_item(UserModel, user)


def put_user(user: entities.User) -> None:
    _create(user_item(user), "login id", "login_id")


def get_user(login_id: str, *, consistent_read: bool = False) -> entities.User:
    """The user; `consistent_read` where a lock, a new password or a removal written a moment ago must count."""
    return _user(_get(UserModel, login_id, "user", consistent_read=consistent_read))


def put_session(session: entities.Session, created_at: datetime) -> None:
    item = to_item(SessionModel, session, created_at=created_at)
    try:
        item.save()
    except PynamoDBException as exc:
        raise StorageError("could not store the session") from exc


def get_session(token_hash: str) -> entities.Session:
    """Read consistently: a session deleted a moment ago (logout, revocation) must not be found."""
    item = _get(SessionModel, token_hash, "session", consistent_read=True)
    return to_entity(entities.Session, item)


def delete_session(token_hash: str) -> None:
    try:
        SessionModel(token_hash=token_hash).delete()
    except PynamoDBException as exc:
        raise StorageError("could not delete the session") from exc


def put_staff_key(key_hash: str, member: entities.StaffMember, created_at: datetime) -> None:
    item = StaffKeyModel(
        key_hash=key_hash, staff_id=member.staff_id, name=member.name, role=member.role, created_at=created_at
    )
    _create(item, "staff key", "key_hash")


def get_staff_key(key_hash: str) -> tuple[entities.StaffMember, datetime | None]:
    item = _get(StaffKeyModel, key_hash, "staff key")
    return entities.StaffMember(staff_id=item.staff_id, name=item.name, role=item.role), item.revoked_at


# staff registry operations: listings, device rotation and revocation, user locks, resets and session revocation


def sites_of_contract(contract_id: str) -> list[entities.Site]:
    return [to_entity(entities.Site, item) for item in _by_contract(SiteModel, contract_id)]


def devices_of_contract(contract_id: str) -> list[entities.Device]:
    return [to_entity(entities.Device, item) for item in _by_contract(DeviceModel, contract_id)]


def users_of_contract(contract_id: str) -> list[entities.User]:
    return [_user(item) for item in _by_contract(UserModel, contract_id)]


def _update_active_device(device_id: str, actions: list[Any], what: str) -> entities.Device:
    """Update a device that is still active; a revoked (or vanished) one is a Conflict, never overwritten."""
    item = DeviceModel(device_id=device_id)
    try:
        item.update(actions=actions, condition=DeviceModel.device_id.exists() & (DeviceModel.status == "active"))
    except UpdateError as exc:
        if is_condition_failure(exc):
            raise Conflict("the device is not active", device_id=device_id) from exc
        raise StorageError(f"could not {what} the device") from exc
    return to_entity(entities.Device, item)


def replace_device_secret(device_id: str, secret_ciphertext: bytes, rotated_at: datetime) -> entities.Device:
    actions = [DeviceModel.secret_ciphertext.set(secret_ciphertext), DeviceModel.rotated_at.set(rotated_at)]
    return _update_active_device(device_id, actions, "rotate")


def mark_device_revoked(device_id: str, revoked_at: datetime) -> entities.Device:
    actions = [DeviceModel.status.set("revoked"), DeviceModel.revoked_at.set(revoked_at)]
    return _update_active_device(device_id, actions, "revoke")


def _update_user(login_id: str, actions: list[Any]) -> entities.User:
    item = UserModel(login_id=login_id)
    try:
        item.update(actions=actions, condition=UserModel.login_id.exists())
    except UpdateError as exc:
        if is_condition_failure(exc):
            raise NotFound("user not found") from exc
        raise StorageError("could not update the user") from exc
    return _user(item)


def set_user_staff_lock(login_id: str, *, locked: bool) -> entities.User:
    """Set the staff lock; clearing it also clears the failed-login count and lockout."""
    if locked:
        return _update_user(login_id, [UserModel.locked_by_staff.set(True)])
    unlocked = _update_user(login_id, [UserModel.locked_by_staff.set(False)])
    accounts.clear_login_attempts(login_id)
    return unlocked


def set_user_password(
    login_id: str, password_hash: str, *, must_change: bool, sessions_valid_from: datetime | None = None
) -> entities.User:
    """A new password hash (failed-login count and lockout cleared with it); given `sessions_valid_from`, the
    sessions opened before it end in the same write."""
    actions = [
        UserModel.password_hash.set(password_hash),
        UserModel.must_change_password.set(must_change),
    ]
    if sessions_valid_from is not None:
        actions.append(UserModel.sessions_valid_from.set(sessions_valid_from))
    changed = _update_user(login_id, actions)
    accounts.clear_login_attempts(login_id)
    return changed


def session_hashes_of_login(login_id: str) -> list[str]:
    """The token hashes of a login id's sessions, through the keys-only by_login index (eventually consistent)."""
    try:
        return [item.token_hash for item in SessionModel.by_login.query(login_id)]
    except PynamoDBException as exc:
        raise StorageError("could not list the sessions") from exc


def delete_sessions(token_hashes: list[str]) -> None:
    """Batch-delete sessions (25 per request, unprocessed ones retried by PynamoDB)."""
    try:
        with SessionModel.batch_write() as batch:
            for token_hash in token_hashes:
                batch.delete(SessionModel(token_hash=token_hash))
    except PynamoDBException as exc:
        raise StorageError("could not delete the sessions") from exc
