"""Sites, cameras, devices and customer users of a contract, as staff register and maintain them (SPEC §7).

Every staff change is audited on the contract's chain with the staff actor the route passes in (`actor`); the
registry's own fixtures and seeds, which run outside any staff request, may leave it out. Listings are reads of
registry metadata, not of the customer's frames, so they are logged (with the staff id) but not chained.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from doti import ids
from doti.accounts import login_ids, roles
from doti.auth import customer
from doti.auth.device import new_device_secret
from doti.clock import format_rfc3339, parse_rfc3339
from doti.contracts import camera_health, public_ids, terms
from doti.contracts.retention_policy import FUTURE_TOLERANCE
from doti.entities import Camera, Device, Site, User
from doti.errors import Conflict, NotFound, ValidationError
from doti.ingest import activity, masks
from doti.oversight import audit
from doti.store import registry as store

USER_ROLES = roles.ROLES
# Art. 2-1..3: before a camera is used, the customer obtains the consent of each of these parties.
CONSENT_PARTIES: dict[str, str] = {
    "building_manager": "art2-1",  # owner or manager of the premises
    "security_contract_holder": "art2-2",  # holder of the security-service contract at the premises
    "camera_owner": "art2-3",  # owner, co-user or holder of the right to use the camera
}
_CONSENT_TEXT_FIELDS = {"consented_by": 200, "evidence_ref": 500}
DEVICE_ACTIVE, DEVICE_REVOKED = "active", "revoked"
# How often a camera is expected to send a frame (its status, doti.viewing.cameras, and its health, doti.contracts.
# camera_health): staff set it within these bounds; the published `{"seconds"}` body within the narrower ones.
DEFAULT_INTERVAL_SECONDS = camera_health.DEFAULT_INTERVAL_SECONDS
MIN_INTERVAL_SECONDS, MAX_INTERVAL_SECONDS = 10, 86_400
MIN_PUBLISHED_INTERVAL_SECONDS = 60


class SecretSealer(Protocol):
    def seal(self, device_id: str, secret: str) -> bytes: ...


def _audit(contract_id: str, actor: str | None, action: str, subject: str, details: dict[str, Any], now: datetime):
    if actor is not None:
        audit.record(contract_id, actor=actor, action=action, subject=subject, details=details, now=now)


def _open_contract(contract_id: str) -> None:
    """The contract exists and may still receive registry entities: not once it has ended, its data on its way to
    being purged."""
    contract = store.get_contract(contract_id)
    if contract.state in terms.ENDED_STATES:
        raise Conflict(f"the contract is {contract.state}", state=contract.state)


# sites


def create_site(contract_id: str, name: str, address: str | None, now: datetime, *, actor: str | None = None) -> Site:
    _open_contract(contract_id)
    site = Site(
        site_id=ids.new_id("sit"),
        contract_id=contract_id,
        name=name,
        address=address,
        created_at=now,
        public_id=public_ids.new_public_id(),
    )
    store.put_site(site)
    _audit(contract_id, actor, "site.created", site.site_id, {"name": name, "address": address}, now)
    return site


def site_of_contract(contract_id: str, site_id: str) -> Site:
    """The site, or NotFound when it belongs to another contract (never reveal that it exists)."""
    site = store.get_site(site_id)
    if site.contract_id != contract_id:
        raise NotFound("site not found")
    return site


# cameras and their consents (Art. 2-1..3)


def _consent_problems(party: str, entry: Any, now: datetime) -> tuple[list[dict[str, str]], dict[str, str]]:
    field = f"consents.{party}"
    article = CONSENT_PARTIES[party]
    if entry is None:
        return [{"field": field, "problem": f"missing: the consent of Art. {article[3:]} is required"}], {}
    if not isinstance(entry, Mapping):
        return [{"field": field, "problem": "must be an object"}], {}
    problems: list[dict[str, str]] = []
    clean = {"article": article}
    for name, max_length in _CONSENT_TEXT_FIELDS.items():
        value = entry.get(name)
        if not isinstance(value, str) or not value.strip():
            problems.append({"field": f"{field}.{name}", "problem": "missing"})
        elif len(value.strip()) > max_length:
            problems.append({"field": f"{field}.{name}", "problem": f"longer than {max_length} characters"})
        else:
            clean[name] = value.strip()
    consented_at = entry.get("consented_at")
    if not isinstance(consented_at, str) or not consented_at.strip():
        problems.append({"field": f"{field}.consented_at", "problem": "missing"})
    else:
        try:
            moment = parse_rfc3339(consented_at, f"{field}.consented_at")
        except ValidationError:
            problems.append({"field": f"{field}.consented_at", "problem": "not an RFC 3339 time with a UTC offset"})
        else:
            # the same tolerance as capture and event times: the staff member's clock may run a little ahead
            if moment > now + FUTURE_TOLERANCE:
                problems.append({"field": f"{field}.consented_at", "problem": "in the future"})
            clean["consented_at"] = format_rfc3339(moment)
    unknown = sorted(set(entry) - {*_CONSENT_TEXT_FIELDS, "consented_at"})
    problems.extend({"field": f"{field}.{name}", "problem": "unknown field"} for name in unknown)
    return problems, clean


def validate_consents(consents: Mapping[str, Any] | None, now: datetime) -> dict[str, dict[str, str]]:
    """The three consents in their stored form, or a 422 naming every missing or malformed part.

    Each consent says who consented, when (RFC 3339, at most FUTURE_TOLERANCE ahead) and where the evidence is.
    """
    if not isinstance(consents, Mapping):
        consents = {}
    problems: list[dict[str, str]] = []
    recorded: dict[str, dict[str, str]] = {}
    for party in CONSENT_PARTIES:
        party_problems, clean = _consent_problems(party, consents.get(party), now)
        problems.extend(party_problems)
        recorded[party] = clean
    problems.extend(
        {"field": f"consents.{name}", "problem": "unknown party"}
        for name in sorted(set(consents) - set(CONSENT_PARTIES))
    )
    if problems:
        raise ValidationError(
            "a camera needs the consents of Art. 2-1, 2-2 and 2-3 (who consented, when, evidence reference)",
            problems=problems,
            missing=[p["field"] for p in problems if p["problem"].startswith("missing")],
        )
    return recorded


def create_camera(
    contract_id: str,
    site_id: str,
    name: str,
    now: datetime,
    *,
    consents: Mapping[str, Any] | None,
    actor: str | None = None,
) -> Camera:
    """A camera at one of the contract's sites, recorded with the three consents of Art. 2-1..3."""
    recorded = validate_consents(consents, now)
    _open_contract(contract_id)
    site_of_contract(contract_id, site_id)
    camera = Camera(
        camera_id=ids.new_id("cam"),
        contract_id=contract_id,
        site_id=site_id,
        name=name,
        created_at=now,
        consents=recorded,
    )
    store.put_camera(camera)
    details = {"site_id": site_id, "name": name, "consents": recorded}
    _audit(contract_id, actor, "camera.created", camera.camera_id, details, now)
    return camera


def camera_of_contract(contract_id: str, camera_id: str) -> Camera:
    """The camera, or NotFound when it belongs to another contract."""
    camera = store.get_camera(camera_id)
    if camera.contract_id != contract_id:
        raise NotFound("camera not found")
    return camera


def set_privacy_mask(camera_id: str, polygons: Any, *, reason: str, actor: str, now: datetime) -> Camera:
    """Art. 2-4: the polygons every frame the camera sends from now on is blacked out under, before it is stored.

    An empty list clears the mask (frames already blacked out stay so). Frames stored before the change keep
    what they had until staff start a re-mask (doti.jobs.remask). Audited on the camera's contract, customer-visible.
    """
    clean = masks.validate_polygons(polygons)
    camera = store.get_camera(camera_id)
    version = masks.mask_version(clean)
    updated = store.set_camera_privacy_mask(camera_id, clean, version)
    details = {"polygons": clean, "mask_version": version, "previous_version": camera.mask_version, "reason": reason}
    _audit(camera.contract_id, actor, "camera.privacy_mask_set", camera_id, details, now)
    return updated


def set_activity_threshold(
    camera_id: str,
    threshold: float,
    *,
    event_minutes: int | None = None,
    reason: str | None,
    actor: str,
    now: datetime,
) -> Camera:
    """The activity score (doti.ingest.activity) from which the camera's frames count as activity in listings and
    are told of (frame.activity), and, given `event_minutes`, the least time between two such events."""
    value = activity.validate_threshold(threshold)
    minutes = activity.validate_event_minutes(event_minutes) if event_minutes is not None else None
    camera = store.get_camera(camera_id)
    updated = store.set_camera_activity_threshold(camera_id, value, minutes)
    details: dict[str, Any] = {"threshold": value, "previous": camera.activity_threshold, "reason": reason}
    if minutes is not None:
        details |= {"event_minutes": minutes, "previous_event_minutes": camera.activity_event_minutes}
    _audit(camera.contract_id, actor, "camera.activity_threshold_set", camera_id, details, now)
    return updated


def set_expected_interval(
    camera_id: str,
    seconds: int,
    *,
    reason: str | None,
    actor: str,
    now: datetime,
    field: str = "expected_interval_seconds",
    minimum: int = MIN_INTERVAL_SECONDS,
) -> Camera:
    """How often the camera is expected to send a frame: its status (online, stale, offline) and its health are
    measured in it, so an online camera's health item moves to the new interval. `field` and `minimum`: the body
    field it came in (the published `seconds`, from MIN_PUBLISHED_INTERVAL_SECONDS)."""
    if not minimum <= seconds <= MAX_INTERVAL_SECONDS:
        raise ValidationError(f"{field} must be {minimum} to {MAX_INTERVAL_SECONDS}", field=field)
    camera = store.get_camera(camera_id)
    updated = store.set_camera_expected_interval(camera_id, seconds)
    details = {"seconds": seconds, "previous": camera.expected_interval_seconds, "reason": reason}
    _audit(camera.contract_id, actor, "camera.expected_interval_set", camera_id, details, now)
    camera_health.rearm_for_new_interval(updated)
    return updated


# devices


@dataclass(frozen=True)
class RegisteredDevice:
    device: Device
    secret: str  # shown once, in the registration (or rotation) response


def register_device(
    contract_id: str, site_id: str, name: str, sealer: SecretSealer, now: datetime, *, actor: str | None = None
) -> RegisteredDevice:
    _open_contract(contract_id)
    site_of_contract(contract_id, site_id)
    device_id = ids.new_id("dev")
    secret = new_device_secret()
    device = Device(
        device_id=device_id,
        contract_id=contract_id,
        site_id=site_id,
        name=name,
        status=DEVICE_ACTIVE,
        secret_ciphertext=sealer.seal(device_id, secret),
        created_at=now,
    )
    store.put_device(device)
    _audit(contract_id, actor, "device.registered", device_id, {"site_id": site_id, "name": name}, now)
    return RegisteredDevice(device=device, secret=secret)


def rotate_device_secret(
    device_id: str, sealer: SecretSealer, *, actor: str, now: datetime, reason: str | None = None
) -> RegisteredDevice:
    """A new secret for the device, shown once; the old one stops verifying with the next request.

    The device record holds only the new ciphertext, and the secret cache is keyed by ciphertext, so no cached
    copy of the old secret can still verify a signature. A revoked device stays revoked: 409.
    """
    device = store.get_device(device_id)
    if device.status != DEVICE_ACTIVE:
        raise Conflict("a revoked device cannot be rotated", status=device.status)
    secret = new_device_secret()
    rotated = store.replace_device_secret(device_id, sealer.seal(device_id, secret), now)
    _audit(device.contract_id, actor, "device.rotated", device_id, {"site_id": device.site_id, "reason": reason}, now)
    return RegisteredDevice(device=rotated, secret=secret)


def revoke_device(device_id: str, *, actor: str, now: datetime, reason: str | None = None) -> Device:
    """Revoke the device: its signed requests are refused (401) from the next one on. Revoking twice is 409."""
    device = store.get_device(device_id)
    if device.status != DEVICE_ACTIVE:
        raise Conflict("the device is already revoked", status=device.status)
    revoked = store.mark_device_revoked(device_id, now)
    _audit(device.contract_id, actor, "device.revoked", device_id, {"site_id": device.site_id, "reason": reason}, now)
    return revoked


# users


def new_user(
    contract_id: str,
    *,
    login_id: str,
    name: str,
    role: str,
    password: str,
    site_ids: list[str] | frozenset[str] | None,
    now: datetime,
    must_change_password: bool = False,
) -> User:
    """A customer user, checked but not stored yet: the login id as doti.accounts.login_ids defines it, a role, the
    password policy, and sites of the contract (404 otherwise). create_user stores it; an accepted invitation stores it
    with the invitation used up, in one transaction (doti.accounts.invitations)."""
    _open_contract(contract_id)
    login_key = login_ids.parse(login_id)
    if role not in USER_ROLES:
        raise ValidationError("role must be one of owner, manager, viewer", field="role")
    customer.check_password_policy(password, login_key)
    if site_ids is not None and not site_ids:
        # No scope means every site; an empty scope must not silently grant that.
        raise ValidationError("site_ids must name at least one site, or be left out for every site", field="site_ids")
    for site_id in site_ids or []:
        site_of_contract(contract_id, site_id)
    return User(
        user_id=ids.new_id("usr"),
        login_id=login_key,
        contract_id=contract_id,
        name=name,
        role=role,
        site_ids=frozenset(site_ids) if site_ids else None,
        password_hash=customer.hash_password(password),
        created_at=now,
        must_change_password=must_change_password,
    )


def create_user(
    contract_id: str,
    *,
    login_id: str,
    name: str,
    role: str,
    password: str,
    site_ids: list[str] | None,
    now: datetime,
    actor: str | None = None,
    must_change_password: bool = False,
) -> User:
    """A customer user (new_user), stored; the login id is unique across all contracts (one id per person, Art. 7-11),
    so one taken in any contract, however it was spelled, is 409.

    Staff choose the login id directly: they see every contract, so their 409 tells them nothing new. Owners invite by
    link instead (doti.accounts.invitations), so that no owner learns which ids other contracts use.
    `must_change_password` marks the password as temporary: only the account routes are served until the user sets
    their own.
    """
    user = new_user(
        contract_id,
        login_id=login_id,
        name=name,
        role=role,
        password=password,
        site_ids=site_ids,
        now=now,
        must_change_password=must_change_password,
    )
    store.put_user(user)
    details = {"login_id": user.login_id, "role": role, "site_ids": sorted(site_ids) if site_ids else None}
    details["forced_change"] = must_change_password  # as a reset records it: whether the password is temporary
    _audit(contract_id, actor, "user.created", user.user_id, details, now)
    return user


@dataclass(frozen=True)
class CreatedUser:
    user: User
    temporary_password: str  # shown once, in the response; the customer must change it at first login


def create_user_with_temporary_password(
    contract_id: str,
    *,
    login_id: str,
    name: str,
    role: str,
    site_ids: list[str] | None,
    now: datetime,
    actor: str,
) -> CreatedUser:
    """A user staff create (create_user), whose password the server makes: staff never know a working customer
    password. It is temporary (must_change_password), as a staff reset's is, and made by the same generator."""
    temporary = customer.temporary_password(login_id)
    user = create_user(
        contract_id,
        login_id=login_id,
        name=name,
        role=role,
        password=temporary,
        site_ids=site_ids,
        now=now,
        actor=actor,
        must_change_password=True,
    )
    return CreatedUser(user=user, temporary_password=temporary)


def _user(login_id: str) -> User:
    """The user of a login id as staff name it (422 when it is not a login id, 404 when nobody holds it)."""
    return store.get_user(login_ids.parse(login_id))


def lock_user(login_id: str, *, actor: str, now: datetime, reason: str | None = None) -> tuple[User, int]:
    """Staff lock: login is refused (423) until a staff unlock, and the user's sessions end now.

    Returns the user and how many sessions were revoked.
    """
    user = _user(login_id)
    locked = store.set_user_staff_lock(user.login_id, locked=True)
    revoked = customer.revoke_sessions(user.login_id, now)
    details = {"login_id": user.login_id, "sessions_revoked": revoked, "reason": reason}
    _audit(user.contract_id, actor, "user.locked", user.user_id, details, now)
    return locked, revoked


def unlock_user(login_id: str, *, actor: str, now: datetime, reason: str | None = None) -> User:
    """Clear a staff lock and the failed-login lockout (and its count)."""
    user = _user(login_id)
    unlocked = store.set_user_staff_lock(user.login_id, locked=False)
    _audit(user.contract_id, actor, "user.unlocked", user.user_id, {"login_id": user.login_id, "reason": reason}, now)
    return unlocked


@dataclass(frozen=True)
class CredentialReset:
    user: User
    temporary_password: str  # shown once, in the response; the customer must change it
    sessions_revoked: int


def _reset(user: User, *, action: str, actor: str, now: datetime, reason: str | None) -> CredentialReset:
    temporary = customer.temporary_password(user.login_id)
    reset = store.set_user_password(user.login_id, customer.hash_password(temporary), must_change=True)
    revoked = customer.revoke_sessions(user.login_id, now)
    # No password, hash or token in the audit entry: only that a change is forced and how many sessions ended.
    details = {"login_id": user.login_id, "forced_change": True, "sessions_revoked": revoked, "reason": reason}
    _audit(user.contract_id, actor, action, user.user_id, details, now)
    return CredentialReset(user=reset, temporary_password=temporary, sessions_revoked=revoked)


def reset_user(login_id: str, *, actor: str, now: datetime, reason: str | None = None) -> CredentialReset:
    """Staff reset: a one-time temporary password that must be changed, every session revoked.

    The failed-login lockout is cleared with it (the customer needs to log in with the new password); a staff lock
    is not: unlocking is its own decision.
    """
    return _reset(_user(login_id), action="user.reset", actor=actor, now=now, reason=reason)


def report_compromised(login_id: str, *, actor: str, now: datetime, reason: str | None = None) -> CredentialReset:
    """Art. 6-3: the customer reports the id or password stolen: every session ends and a reset is forced."""
    return _reset(_user(login_id), action="user.compromised", actor=actor, now=now, reason=reason)


# listings (staff)


def _existing_contract(contract_id: str) -> None:
    store.get_contract(contract_id)


def sites_of(contract_id: str) -> list[Site]:
    _existing_contract(contract_id)
    return sorted(store.sites_of_contract(contract_id), key=lambda s: (s.created_at, s.site_id))


def cameras_of(contract_id: str) -> list[Camera]:
    _existing_contract(contract_id)
    return sorted(store.cameras_of_contract(contract_id), key=lambda c: (c.created_at, c.camera_id))


def devices_of(contract_id: str) -> list[Device]:
    _existing_contract(contract_id)
    return sorted(store.devices_of_contract(contract_id), key=lambda d: (d.created_at, d.device_id))


def users_of(contract_id: str) -> list[User]:
    _existing_contract(contract_id)
    return sorted(store.users_of_contract(contract_id), key=lambda u: (u.created_at, u.login_id))


# customers


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
