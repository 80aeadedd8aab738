"""Staff routes for a contract's registry, takedowns and maintenance access (SPEC §7; Art. 2, 6-3, 7-2, 10-1).

Roles: every route here needs an `operator` key (an `admin` key passes too); none needs `admin`. Reads and routine
changes (sites, cameras, devices, users, rotation, revocation, locks) are day-to-day operations. Resets, compromised
reports, takedowns and maintenance access weigh more, but the terms put them in the operator's hands as responses
to a customer's report (Art. 6-3), a prohibited act (Art. 7-2) or a fault (Art. 10-1), and what makes them
accountable is not a higher role but the audit entry each writes with the staff id, its ground or ticket and reason
(customer-visible). `admin` is kept for managing staff and the service itself.

A takedown names one item of a camera: a frame (`frame_id`) or a note (`note_id`, text data listed with the camera).
"""

# No `from __future__ import annotations`: Powertools reads the route signatures for OpenAPI validation.
from datetime import datetime
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from pydantic import Field, SecretStr

from admin_routes.common import StaffRequest, staff
from doti import activity, audit, frames, maintenance, masks, openapi, registry, remask, runtime, takedown
from doti.auth import customer
from doti.clock import format_optional, format_rfc3339, parse_rfc3339, utcnow
from doti.entities import Camera, Device, Site, User
from doti.http import json_response

router = Router()

_ID = Field(min_length=1, max_length=64)


class SiteCreate(StaffRequest):
    name: str = Field(min_length=1, max_length=200)
    address: str | None = Field(default=None, max_length=500)


class Consent(StaffRequest):
    consented_by: str = Field(min_length=1, max_length=200, description="who gave the consent (person, role)")
    consented_at: str = Field(
        min_length=1,
        max_length=40,
        json_schema_extra=openapi.TIME,
        description="RFC 3339 time with offset, not in the future",
    )
    evidence_ref: str = Field(min_length=1, max_length=500, description="where the written consent is kept")


class CameraConsents(StaffRequest):
    building_manager: Consent = Field(description="Art. 2-1: owner or manager of the premises")
    security_contract_holder: Consent = Field(description="Art. 2-2: holder of the security-service contract")
    camera_owner: Consent = Field(description="Art. 2-3: owner or holder of the right to use the camera")


class CameraCreate(StaffRequest):
    site_id: str = _ID
    name: str = Field(min_length=1, max_length=200)
    consents: CameraConsents


class DeviceCreate(StaffRequest):
    site_id: str = _ID
    name: str = Field(min_length=1, max_length=200)


class UserCreate(StaffRequest):
    # Loose on purpose: doti.login_ids is the one definition (normalised, then checked), and answers field login_id.
    login_id: str = Field(min_length=1, max_length=512)
    name: str = Field(min_length=1, max_length=200)
    role: str = Field(pattern=r"^(owner|manager|viewer)$")
    password: SecretStr = Field(min_length=1, max_length=1024)  # SecretStr: never in a DEBUG log line
    site_ids: list[str] | None = None


class StaffNote(StaffRequest):
    """An optional body of the device and user operations: why, for the audit log."""

    reason: str | None = Field(default=None, max_length=1000)


class TakedownCreate(StaffRequest):
    camera_id: str = _ID
    frame_id: str | None = Field(default=None, min_length=1, max_length=64, description="the frame, or")
    note_id: str | None = Field(default=None, min_length=1, max_length=64, description="the note to take down")
    ground: str = Field(min_length=1, max_length=16, description="an item of Art. 7-1: art7-1-1 ... art7-1-19")
    reason: str = Field(min_length=1, max_length=takedown.MAX_REASON)


class MaintenanceAccessRequest(StaffRequest):
    camera_id: str = _ID
    from_: str = Field(
        alias="from", min_length=1, max_length=40, json_schema_extra=openapi.TIME, description="RFC 3339, inclusive"
    )
    to: str = Field(min_length=1, max_length=40, json_schema_extra=openapi.TIME, description="RFC 3339, exclusive")
    ticket: str = Field(min_length=3, max_length=100, description="maintenance or incident ticket reference")
    reason: str = Field(min_length=1, max_length=maintenance.MAX_REASON)
    limit: int = Field(default=maintenance.DEFAULT_LIMIT, ge=1, le=frames.MAX_PAGE)


def _site_view(s: Site) -> dict[str, Any]:
    return {
        "site_id": s.site_id,
        "contract_id": s.contract_id,
        "name": s.name,
        "address": s.address,
        "created_at": format_optional(s.created_at),
    }


def _camera_view(c: Camera) -> dict[str, Any]:
    return {
        "camera_id": c.camera_id,
        "contract_id": c.contract_id,
        "site_id": c.site_id,
        "name": c.name,
        "consents": c.consents,
        "privacy_mask": c.privacy_mask or [],
        "mask_version": c.mask_version,
        "activity_threshold": activity.effective_threshold(c.activity_threshold),
        "created_at": format_optional(c.created_at),
    }


def _device_view(d: Device) -> dict[str, Any]:
    return {
        "device_id": d.device_id,
        "contract_id": d.contract_id,
        "site_id": d.site_id,
        "name": d.name,
        "status": d.status,
        "created_at": format_optional(d.created_at),
        "rotated_at": format_optional(d.rotated_at),
        "revoked_at": format_optional(d.revoked_at),
    }


def _user_view(u: User, now: datetime) -> dict[str, Any]:
    return {
        "user_id": u.user_id,
        "login_id": u.login_id,
        "contract_id": u.contract_id,
        "name": u.name,
        "role": u.role,
        "site_ids": sorted(u.site_ids) if u.site_ids else None,
        "locked_by_staff": u.locked_by_staff,
        # the lock after repeated failed logins (doti.auth.customer), not the staff lock above
        "locked_until": format_optional(customer.locked_until(u.login_id, now)),
        # A staff reset is pending: the user holds a temporary password they must change (must_change_password).
        "reset_pending": u.must_change_password,
        "created_at": format_optional(u.created_at),
    }


def _reason(body: StaffNote | None) -> str | None:
    return body.reason if body else None


# sites, cameras, devices, users of a contract


@router.post("/v1/admin/contracts/<contract_id>/sites", responses=openapi.answers(201, 404, 409))
def create_site(contract_id: str, body: SiteCreate) -> Response[dict[str, Any]]:
    actor = audit.staff_actor(staff(router))
    site = registry.create_site(contract_id, body.name, body.address, utcnow(), actor=actor)
    return json_response(201, _site_view(site))


@router.get("/v1/admin/contracts/<contract_id>/sites", responses=openapi.answers(200, 404))
def list_sites(contract_id: str) -> Response[dict[str, Any]]:
    staff(router)
    return json_response(200, {"items": [_site_view(s) for s in registry.sites_of(contract_id)]})


@router.post("/v1/admin/contracts/<contract_id>/cameras", responses=openapi.answers(201, 404, 409))
def create_camera(contract_id: str, body: CameraCreate) -> Response[dict[str, Any]]:
    actor = audit.staff_actor(staff(router))
    camera = registry.create_camera(
        contract_id, body.site_id, body.name, utcnow(), consents=body.consents.model_dump(), actor=actor
    )
    return json_response(201, _camera_view(camera))


@router.get("/v1/admin/contracts/<contract_id>/cameras", responses=openapi.answers(200, 404))
def list_cameras(contract_id: str) -> Response[dict[str, Any]]:
    staff(router)
    return json_response(200, {"items": [_camera_view(c) for c in registry.cameras_of(contract_id)]})


@router.post("/v1/admin/contracts/<contract_id>/devices", responses=openapi.answers(201, 404, 409))
def register_device(contract_id: str, body: DeviceCreate) -> Response[dict[str, Any]]:
    actor = audit.staff_actor(staff(router))
    registered = registry.register_device(
        contract_id, body.site_id, body.name, runtime.secret_box(), utcnow(), actor=actor
    )
    # Shown this once; only KMS ciphertext is stored.
    return json_response(201, {**_device_view(registered.device), "device_secret": registered.secret})


@router.get("/v1/admin/contracts/<contract_id>/devices", responses=openapi.answers(200, 404))
def list_devices(contract_id: str) -> Response[dict[str, Any]]:
    staff(router)
    return json_response(200, {"items": [_device_view(d) for d in registry.devices_of(contract_id)]})


@router.post("/v1/admin/contracts/<contract_id>/users", responses=openapi.answers(201, 404, 409))
def create_user(contract_id: str, body: UserCreate) -> Response[dict[str, Any]]:
    actor = audit.staff_actor(staff(router))
    user = registry.create_user(
        contract_id,
        login_id=body.login_id,
        name=body.name,
        role=body.role,
        password=body.password.get_secret_value(),
        site_ids=body.site_ids,
        now=utcnow(),
        actor=actor,
    )
    return json_response(201, _user_view(user, utcnow()))


@router.get("/v1/admin/contracts/<contract_id>/users", responses=openapi.answers(200, 404))
def list_users(contract_id: str) -> Response[dict[str, Any]]:
    staff(router)
    return json_response(200, {"items": [_user_view(u, utcnow()) for u in registry.users_of(contract_id)]})


# cameras: privacy mask (Art. 2-4), activity threshold, re-mask of stored frames


class PrivacyMaskUpdate(StaffRequest):
    polygons: list[list[list[float]]] = Field(
        max_length=4 * masks.MAX_POLYGONS,  # a bound on parsing; the mask's own rules name every problem (422)
        description=(
            f"at most {masks.MAX_POLYGONS} polygons of {masks.MIN_POINTS} to {masks.MAX_POINTS} [x, y] points, "
            "normalized to the image (0..1, origin top-left); an empty list clears the mask"
        ),
    )
    reason: str = Field(min_length=1, max_length=1000)


class ActivityThresholdUpdate(StaffRequest):
    threshold: float = Field(
        description=f"activity score (0..100) from which a frame counts as activity; {activity.DEFAULT_THRESHOLD:g} "
        "unless set"
    )
    reason: str | None = Field(default=None, max_length=1000)


class RemaskStart(StaffRequest):
    reason: str = Field(min_length=1, max_length=remask.MAX_REASON)


@router.put("/v1/admin/cameras/<camera_id>/privacy-mask", responses=openapi.answers(200, 404, 409))
def set_privacy_mask(camera_id: str, body: PrivacyMaskUpdate) -> Response[dict[str, Any]]:
    """Frames the camera sends from now on are blacked out before they are stored; stored frames need a re-mask."""
    actor = audit.staff_actor(staff(router))
    camera = registry.set_privacy_mask(camera_id, body.polygons, reason=body.reason, actor=actor, now=utcnow())
    return json_response(200, _camera_view(camera))


@router.put("/v1/admin/cameras/<camera_id>/activity-threshold", responses=openapi.answers(200, 404, 409))
def set_activity_threshold(camera_id: str, body: ActivityThresholdUpdate) -> Response[dict[str, Any]]:
    actor = audit.staff_actor(staff(router))
    camera = registry.set_activity_threshold(camera_id, body.threshold, reason=body.reason, actor=actor, now=utcnow())
    return json_response(200, _camera_view(camera))


@router.post("/v1/admin/cameras/<camera_id>/remask", responses=openapi.answers(202, 404, 409))
def start_remask(camera_id: str, body: RemaskStart) -> Response[dict[str, Any]]:
    """Black the camera's stored frames out under its current mask, in place; follow it at /v1/admin/remask-jobs."""
    actor = audit.staff_actor(staff(router))
    job = remask.start_remask(camera_id, reason=body.reason, actor=actor, queue=runtime.remask_queue(), now=utcnow())
    return json_response(202, remask.job_view(job))


@router.get("/v1/admin/remask-jobs/<job_id>", responses=openapi.answers(200, 404))
def get_remask_job(job_id: str) -> Response[dict[str, Any]]:
    staff(router)
    return json_response(200, remask.job_view(remask.get_job(job_id)))


# devices


@router.post("/v1/admin/devices/<device_id>/rotate", responses=openapi.answers(200, 404, 409))
def rotate_device(device_id: str, body: StaffNote | None = None) -> Response[dict[str, Any]]:
    actor = audit.staff_actor(staff(router))
    rotated = registry.rotate_device_secret(
        device_id, runtime.secret_box(), actor=actor, now=utcnow(), reason=_reason(body)
    )
    # The new secret is shown this once; the old one no longer verifies.
    return json_response(200, {**_device_view(rotated.device), "device_secret": rotated.secret})


@router.post("/v1/admin/devices/<device_id>/revoke", responses=openapi.answers(200, 404, 409))
def revoke_device(device_id: str, body: StaffNote | None = None) -> Response[dict[str, Any]]:
    actor = audit.staff_actor(staff(router))
    device = registry.revoke_device(device_id, actor=actor, now=utcnow(), reason=_reason(body))
    return json_response(200, _device_view(device))


# users


# The login id in these paths arrives as API Gateway decoded it, once; decoding it again would let `%40` stand for `@`
# (issue 10). doti.registry reads it as doti.login_ids defines ids: 422 when it is none, 404 when nobody holds it.
@router.post("/v1/admin/users/<login_id>/lock", responses=openapi.answers(200, 404, 409))
def lock_user(login_id: str, body: StaffNote | None = None) -> Response[dict[str, Any]]:
    actor = audit.staff_actor(staff(router))
    user, revoked = registry.lock_user(login_id, actor=actor, now=utcnow(), reason=_reason(body))
    return json_response(200, {**_user_view(user, utcnow()), "sessions_revoked": revoked})


@router.post("/v1/admin/users/<login_id>/unlock", responses=openapi.answers(200, 404, 409))
def unlock_user(login_id: str, body: StaffNote | None = None) -> Response[dict[str, Any]]:
    actor = audit.staff_actor(staff(router))
    return json_response(
        200,
        _user_view(registry.unlock_user(login_id, actor=actor, now=utcnow(), reason=_reason(body)), utcnow()),
    )


def _reset_view(reset: registry.CredentialReset) -> dict[str, Any]:
    # The temporary password is shown this once (the response is no-store); only its scrypt hash is kept.
    return {
        **_user_view(reset.user, utcnow()),
        "temporary_password": reset.temporary_password,
        "sessions_revoked": reset.sessions_revoked,
    }


@router.post("/v1/admin/users/<login_id>/reset", responses=openapi.answers(200, 404, 409))
def reset_user(login_id: str, body: StaffNote | None = None) -> Response[dict[str, Any]]:
    actor = audit.staff_actor(staff(router))
    return json_response(
        200, _reset_view(registry.reset_user(login_id, actor=actor, now=utcnow(), reason=_reason(body)))
    )


@router.post("/v1/admin/users/<login_id>/compromised", responses=openapi.answers(200, 404, 409))
def report_compromised(login_id: str, body: StaffNote | None = None) -> Response[dict[str, Any]]:
    actor = audit.staff_actor(staff(router))
    reset = registry.report_compromised(login_id, actor=actor, now=utcnow(), reason=_reason(body))
    return json_response(200, _reset_view(reset))


# takedown (Art. 7-2) and maintenance access (Art. 10-1)


@router.post("/v1/admin/contracts/<contract_id>/takedowns", responses=openapi.answers(200, 404, 409))
def take_down(contract_id: str, body: TakedownCreate) -> Response[dict[str, Any]]:
    actor = audit.staff_actor(staff(router))
    record = takedown.take_down(
        contract_id,
        camera_id=body.camera_id,
        frame_id=body.frame_id,
        note_id=body.note_id,
        ground=body.ground,
        reason=body.reason,
        actor=actor,
        storage=runtime.storage(),
        now=utcnow(),
    )
    return json_response(200, takedown.takedown_view(record))


@router.post("/v1/admin/contracts/<contract_id>/maintenance-access", responses=openapi.answers(200, 404, 409))
def maintenance_access(contract_id: str, body: MaintenanceAccessRequest) -> Response[dict[str, Any]]:
    actor = audit.staff_actor(staff(router))
    window = maintenance.MaintenanceWindow(
        camera_id=body.camera_id,
        start=parse_rfc3339(body.from_, "from"),
        end=parse_rfc3339(body.to, "to"),
        ticket=body.ticket,
        reason=body.reason,
        limit=body.limit,
    )
    access = maintenance.access_frames(contract_id, window, actor=actor, storage=runtime.storage(), now=utcnow())
    return json_response(
        200,
        {
            "contract_id": access.contract_id,
            "camera_id": window.camera_id,
            "from": format_rfc3339(access.window.start),
            "to": format_rfc3339(access.window.end),
            "ticket": access.window.ticket,
            "items": [frames.frame_view(item) for item in access.items],
            "truncated": access.truncated,
            "url_ttl_seconds": access.url_ttl,
            "audit_seq": access.audit_seq,
        },
    )
