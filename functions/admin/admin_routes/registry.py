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
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from pydantic import Field
from pydantic.json_schema import SkipJsonSchema

from admin_routes.common import StaffRequest, staff
from doti import openapi, runtime
from doti.api import staff as api
from doti.api.purposes import PurposesBody
from doti.clock import parse_rfc3339, utcnow
from doti.contracts import public_ids, purpose_registry, registry
from doti.errors import ValidationError
from doti.http import json_response
from doti.ingest import activity, masks
from doti.jobs.remask import jobs
from doti.oversight import audit, maintenance, takedown
from doti.public_urls import public_base_url
from doti.viewing import frames

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
        description="RFC 3339 time with offset, at most 5 minutes ahead of the server clock",
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
    # Loose on purpose: doti.accounts.login_ids is the one definition (normalised, then checked), and answers field
    # login_id.
    login_id: str = Field(min_length=1, max_length=512)
    name: str = Field(min_length=1, max_length=200)
    role: str = Field(pattern=r"^(owner|manager|viewer)$")
    site_ids: list[str] | None = None
    # Staff no longer choose passwords (the server makes a temporary one). A client that still sends one is told so
    # by name (422, field "password") rather than refused as an unknown field; the document does not list it.
    password: SkipJsonSchema[Any] = Field(default=None, exclude=True, repr=False)


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


def _reason(body: StaffNote | None) -> str | None:
    return body.reason if body else None


# sites, cameras, devices, users of a contract


@router.post("/v1/admin/contracts/<contract_id>/sites", responses=openapi.answers(201, 404, 409))
def create_site(contract_id: str, body: SiteCreate) -> Response[api.Site]:
    actor = audit.staff_actor(staff(router))
    public_base_url()  # checked before the site is stored: a misconfigured deployment answers 500 and stores nothing
    site = registry.create_site(contract_id, body.name, body.address, utcnow(), actor=actor)
    return json_response(201, api.Site.of(site, public_ids.notice_url(site)))


@router.get("/v1/admin/contracts/<contract_id>/sites", responses=openapi.answers(200, 404))
def list_sites(contract_id: str) -> Response[api.SiteList]:
    staff(router)
    # A site made before public ids gets its id here, the first time its notice_url is asked for.
    items = [api.Site.of(s, public_ids.notice_url(s)) for s in registry.sites_of(contract_id)]
    return json_response(200, api.SiteList(items=items))


@router.post("/v1/admin/contracts/<contract_id>/cameras", responses=openapi.answers(201, 404, 409))
def create_camera(contract_id: str, body: CameraCreate) -> Response[api.Camera]:
    actor = audit.staff_actor(staff(router))
    camera = registry.create_camera(
        contract_id, body.site_id, body.name, utcnow(), consents=body.consents.model_dump(), actor=actor
    )
    return json_response(201, api.Camera.of(camera))


@router.get("/v1/admin/contracts/<contract_id>/cameras", responses=openapi.answers(200, 404))
def list_cameras(contract_id: str) -> Response[api.CameraList]:
    staff(router)
    return json_response(200, api.CameraList(items=[api.Camera.of(c) for c in registry.cameras_of(contract_id)]))


@router.post("/v1/admin/contracts/<contract_id>/devices", responses=openapi.answers(201, 404, 409))
def register_device(contract_id: str, body: DeviceCreate) -> Response[api.DeviceWithSecret]:
    actor = audit.staff_actor(staff(router))
    registered = registry.register_device(
        contract_id, body.site_id, body.name, runtime.secret_box(), utcnow(), actor=actor
    )
    # Shown this once; only KMS ciphertext is stored.
    return json_response(201, api.DeviceWithSecret.registered(registered))


@router.get("/v1/admin/contracts/<contract_id>/devices", responses=openapi.answers(200, 404))
def list_devices(contract_id: str) -> Response[api.DeviceList]:
    staff(router)
    return json_response(200, api.DeviceList(items=[api.Device.of(d) for d in registry.devices_of(contract_id)]))


# Staff never know a working customer password: the server makes a temporary one, shown this once (the response is
# no-store; only its scrypt hash is kept), which the customer must change at first login.
@router.post("/v1/admin/contracts/<contract_id>/users", responses=openapi.answers(201, 404, 409))
def create_user(contract_id: str, body: UserCreate) -> Response[api.CreatedUser]:
    actor = audit.staff_actor(staff(router))
    if "password" in body.model_fields_set:
        raise ValidationError(
            "staff do not set passwords: the answer carries a temporary one, which the customer changes at first login",
            field="password",
        )
    created = registry.create_user_with_temporary_password(
        contract_id,
        login_id=body.login_id,
        name=body.name,
        role=body.role,
        site_ids=body.site_ids,
        now=utcnow(),
        actor=actor,
    )
    return json_response(201, api.CreatedUser.created(created, utcnow()))


@router.get("/v1/admin/contracts/<contract_id>/users", responses=openapi.answers(200, 404))
def list_users(contract_id: str) -> Response[api.UserList]:
    staff(router)
    return json_response(200, api.UserList(items=[api.User.of(u, utcnow()) for u in registry.users_of(contract_id)]))


# cameras: privacy mask and purposes (Art. 2-4), activity threshold, re-mask of stored frames


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
    event_minutes: int | SkipJsonSchema[None] = Field(
        default=None,
        description=f"at most one frame.activity event per this many minutes ({activity.MIN_EVENT_MINUTES} to "
        f"{activity.MAX_EVENT_MINUTES}; {activity.DEFAULT_EVENT_MINUTES} unless set); left as it is when absent",
    )
    reason: str | None = Field(default=None, max_length=1000)


class ExpectedIntervalUpdate(StaffRequest):
    """One of `seconds` (the published body) or `expected_interval_seconds` (with the wider lower bound)."""

    seconds: int | SkipJsonSchema[None] = Field(
        default=None,
        description=f"how often the camera sends a frame, {registry.MIN_PUBLISHED_INTERVAL_SECONDS} to "
        f"{registry.MAX_INTERVAL_SECONDS} s ({registry.DEFAULT_INTERVAL_SECONDS} unless set): its health job marks "
        "it offline once its newest frame is older; customers see it online within 3 intervals, stale within 30",
    )
    expected_interval_seconds: int | SkipJsonSchema[None] = Field(
        default=None,
        description=f"the same, {registry.MIN_INTERVAL_SECONDS} to {registry.MAX_INTERVAL_SECONDS} s",
    )
    reason: str | None = Field(default=None, max_length=1000)


class RemaskStart(StaffRequest):
    reason: str = Field(min_length=1, max_length=jobs.MAX_REASON)


@router.put("/v1/admin/cameras/<camera_id>/privacy-mask", responses=openapi.answers(200, 404, 409))
def set_privacy_mask(camera_id: str, body: PrivacyMaskUpdate) -> Response[api.Camera]:
    """Frames the camera sends from now on are blacked out before they are stored; stored frames need a re-mask."""
    actor = audit.staff_actor(staff(router))
    camera = registry.set_privacy_mask(camera_id, body.polygons, reason=body.reason, actor=actor, now=utcnow())
    return json_response(200, api.Camera.of(camera))


@router.put("/v1/admin/cameras/<camera_id>/activity-threshold", responses=openapi.answers(200, 404, 409))
def set_activity_threshold(camera_id: str, body: ActivityThresholdUpdate) -> Response[api.Camera]:
    actor = audit.staff_actor(staff(router))
    camera = registry.set_activity_threshold(
        camera_id, body.threshold, event_minutes=body.event_minutes, reason=body.reason, actor=actor, now=utcnow()
    )
    return json_response(200, api.Camera.of(camera))


@router.put("/v1/admin/cameras/<camera_id>/expected-interval", responses=openapi.answers(200, 404))
def set_expected_interval(camera_id: str, body: ExpectedIntervalUpdate) -> Response[api.Camera]:
    actor = audit.staff_actor(staff(router))
    if (body.seconds is None) == (body.expected_interval_seconds is None):
        raise ValidationError("give the interval as `seconds` (or `expected_interval_seconds`), once", field="seconds")
    published = body.seconds is not None
    camera = registry.set_expected_interval(
        camera_id,
        body.seconds if published else body.expected_interval_seconds,  # type: ignore[arg-type]
        reason=body.reason,
        actor=actor,
        now=utcnow(),
        field="seconds" if published else "expected_interval_seconds",
        minimum=registry.MIN_PUBLISHED_INTERVAL_SECONDS if published else registry.MIN_INTERVAL_SECONDS,
    )
    return json_response(200, api.Camera.of(camera))


@router.put("/v1/admin/cameras/<camera_id>/purposes", responses=openapi.answers(200, 404, 409))
def set_purposes(camera_id: str, body: PurposesBody) -> Response[api.Camera]:
    """Art. 2-4: why the camera records, what it covers, whether it films people; audited customer-visible."""
    actor = audit.staff_actor(staff(router))
    camera = purpose_registry.register_by_staff(camera_id, body.fields(), actor=actor, now=utcnow())
    return json_response(200, api.Camera.of(camera))


@router.post("/v1/admin/cameras/<camera_id>/remask", responses=openapi.answers(202, 404, 409))
def start_remask(camera_id: str, body: RemaskStart) -> Response[api.RemaskJob]:
    """Black the camera's stored frames out under its current mask, in place; follow it at /v1/admin/remask-jobs."""
    actor = audit.staff_actor(staff(router))
    job = jobs.start_remask(camera_id, reason=body.reason, actor=actor, queue=runtime.remask_queue(), now=utcnow())
    return json_response(202, api.RemaskJob.of(job))


@router.get("/v1/admin/remask-jobs/<job_id>", responses=openapi.answers(200, 404))
def get_remask_job(job_id: str) -> Response[api.RemaskJob]:
    staff(router)
    return json_response(200, api.RemaskJob.of(jobs.get_job(job_id)))


# devices


@router.post("/v1/admin/devices/<device_id>/rotate", responses=openapi.answers(200, 404, 409))
def rotate_device(device_id: str, body: StaffNote | None = None) -> Response[api.DeviceWithSecret]:
    actor = audit.staff_actor(staff(router))
    rotated = registry.rotate_device_secret(
        device_id, runtime.secret_box(), actor=actor, now=utcnow(), reason=_reason(body)
    )
    # The new secret is shown this once; the old one no longer verifies.
    return json_response(200, api.DeviceWithSecret.registered(rotated))


@router.post("/v1/admin/devices/<device_id>/revoke", responses=openapi.answers(200, 404, 409))
def revoke_device(device_id: str, body: StaffNote | None = None) -> Response[api.Device]:
    actor = audit.staff_actor(staff(router))
    device = registry.revoke_device(device_id, actor=actor, now=utcnow(), reason=_reason(body))
    return json_response(200, api.Device.of(device))


# users


# The login id in these paths arrives as API Gateway decoded it, once; decoding it again would let `%40` stand for `@`
# (issue 10). doti.contracts.registry reads it as doti.accounts.login_ids defines ids: 422 when it is none, 404 when
# nobody holds it.
@router.post("/v1/admin/users/<login_id>/lock", responses=openapi.answers(200, 404, 409))
def lock_user(login_id: str, body: StaffNote | None = None) -> Response[api.LockedUser]:
    actor = audit.staff_actor(staff(router))
    user, revoked = registry.lock_user(login_id, actor=actor, now=utcnow(), reason=_reason(body))
    return json_response(200, api.LockedUser.locked(user, revoked, utcnow()))


@router.post("/v1/admin/users/<login_id>/unlock", responses=openapi.answers(200, 404, 409))
def unlock_user(login_id: str, body: StaffNote | None = None) -> Response[api.User]:
    actor = audit.staff_actor(staff(router))
    user = registry.unlock_user(login_id, actor=actor, now=utcnow(), reason=_reason(body))
    return json_response(200, api.User.of(user, utcnow()))


@router.post("/v1/admin/users/<login_id>/reset", responses=openapi.answers(200, 404, 409))
def reset_user(login_id: str, body: StaffNote | None = None) -> Response[api.ResetUser]:
    actor = audit.staff_actor(staff(router))
    # The temporary password is shown this once (the response is no-store); only its scrypt hash is kept.
    reset = registry.reset_user(login_id, actor=actor, now=utcnow(), reason=_reason(body))
    return json_response(200, api.ResetUser.reset(reset, utcnow()))


@router.post("/v1/admin/users/<login_id>/compromised", responses=openapi.answers(200, 404, 409))
def report_compromised(login_id: str, body: StaffNote | None = None) -> Response[api.ResetUser]:
    actor = audit.staff_actor(staff(router))
    reset = registry.report_compromised(login_id, actor=actor, now=utcnow(), reason=_reason(body))
    return json_response(200, api.ResetUser.reset(reset, utcnow()))


# takedown (Art. 7-2) and maintenance access (Art. 10-1)


@router.post("/v1/admin/contracts/<contract_id>/takedowns", responses=openapi.answers(200, 404, 409))
def take_down(contract_id: str, body: TakedownCreate) -> Response[api.Takedown]:
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
    return json_response(200, api.Takedown.of(record))


@router.post("/v1/admin/contracts/<contract_id>/maintenance-access", responses=openapi.answers(200, 404, 409))
def maintenance_access(contract_id: str, body: MaintenanceAccessRequest) -> Response[api.MaintenanceAccess]:
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
    return json_response(200, api.MaintenanceAccess.of(access))
