"""The staff API's bodies (SPEC §7); frames are doti.api.content's."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from doti.api import purposes as purpose_api
from doti.api.content import Frame
from doti.api.fields import Number, Omittable, ResponseModel, Time
from doti.auth import customer
from doti.contracts import lifecycle, notices, registry
from doti.entities import Camera as CameraEntity
from doti.entities import Contract as ContractEntity
from doti.entities import Device as DeviceEntity
from doti.entities import Site as SiteEntity
from doti.entities import User as UserEntity
from doti.ingest import activity
from doti.jobs.remask import jobs
from doti.oversight import audit, disclosures, incidents, maintenance, takedown

# contracts


class Contract(ResponseModel):
    contract_id: str
    name: str
    state: str
    contact_email: str
    security_contract_id: str | None
    retention_days: int
    signed_url_ttl: int
    max_object_bytes: int
    max_pixels: int
    monthly_byte_quota: int
    service_start: Time | None
    created_at: Time
    updated_at: Time
    cancel_effective_at: Time | None
    terminated_at: Time | None
    purge_due_at: Time | None
    purged_at: Time | None
    security_contract_ended_at: Time | None
    last_used_at: Time | None
    idle_notified_at: Time | None
    operator_name: str | None = Field(description="who operates the cameras, as the public notice names them")
    inquiry_contact: str | None = Field(description="whom the people filmed contact (address, phone or URL)")
    request_due_days: int | None = Field(description="days to answer a request from a person filmed; null: 14")
    request_keep_days: int | None = Field(description="days such a request is kept after its last change; null: 365")

    @classmethod
    def of(cls, c: ContractEntity) -> Contract:
        return cls.from_entity(c)


class ContractPage(ResponseModel):
    items: list[Contract]
    cursor: Omittable[str] = Field(description="absent on the last page")


class Suspension(ResponseModel):
    """A planned suspension window."""

    suspension_id: str
    contract_id: str
    starts_at: Time
    ends_at: Time
    ground: str
    reason: str
    status: str
    created_by: str
    created_at: Time

    @classmethod
    def of(cls, window: lifecycle.SuspensionWindow) -> Suspension:
        return cls.from_entity(window)


class SuspensionList(ResponseModel):
    items: list[Suspension]


# a contract's registry


class Site(ResponseModel):
    site_id: str
    contract_id: str
    name: str
    address: str | None
    created_at: Time | None
    notice_url: str = Field(description="the absolute address of the site's public notice page, /p/{public_id}")

    @classmethod
    def of(cls, s: SiteEntity, notice_url: str) -> Site:
        return cls.from_entity(s, notice_url=notice_url)


class SiteList(ResponseModel):
    items: list[Site]


class Camera(ResponseModel):
    camera_id: str
    contract_id: str
    site_id: str
    name: str
    consents: dict[str, dict[str, str]] | None = Field(description="Art. 2-1..3, as staff recorded them")
    privacy_mask: list[list[list[Number]]] = Field(description="normalized polygons; empty: no mask")
    mask_version: str | None
    activity_threshold: Number
    expected_interval_seconds: int = Field(description="how often it is expected to send a frame (its status)")
    created_at: Time | None
    purposes: list[str] = purpose_api.PURPOSES_FIELD
    other_text: str | None = purpose_api.OTHER_TEXT_FIELD
    coverage: str | None = purpose_api.COVERAGE_FIELD
    people_filmed: bool | None = purpose_api.PEOPLE_FILMED_FIELD
    purposes_updated_at: Time | None = purpose_api.UPDATED_FIELD
    purposes_registered: bool = purpose_api.REGISTERED_FIELD

    @classmethod
    def of(cls, c: CameraEntity) -> Camera:
        return cls.from_entity(
            c,
            privacy_mask=c.privacy_mask or [],
            activity_threshold=activity.effective_threshold(c.activity_threshold),
            expected_interval_seconds=c.expected_interval_seconds or registry.DEFAULT_INTERVAL_SECONDS,
            **purpose_api.view_values(c),
        )


class CameraList(ResponseModel):
    items: list[Camera]


class Device(ResponseModel):
    device_id: str
    contract_id: str
    site_id: str
    name: str
    status: str
    created_at: Time | None
    rotated_at: Time | None
    revoked_at: Time | None

    @classmethod
    def of(cls, d: DeviceEntity) -> Device:
        return cls.from_entity(d)


class DeviceWithSecret(Device):
    """A device registered or rotated: its secret is shown this once (only KMS ciphertext is stored)."""

    device_secret: str

    @classmethod
    def registered(cls, registered: registry.RegisteredDevice) -> DeviceWithSecret:
        return cls(**Device.of(registered.device).field_values(), device_secret=registered.secret)


class DeviceList(ResponseModel):
    items: list[Device]


class User(ResponseModel):
    user_id: str
    login_id: str
    contract_id: str
    name: str
    role: str
    site_ids: list[str] | None = Field(description="null: every site of the contract")
    locked_by_staff: bool
    locked_until: Time | None = Field(description="the lock after repeated failed logins, not the staff lock")
    reset_pending: bool = Field(description="the user holds a temporary password they must change")
    created_at: Time | None

    @classmethod
    def of(cls, u: UserEntity, now: datetime) -> User:
        return cls.from_entity(
            u,
            site_ids=sorted(u.site_ids) if u.site_ids else None,
            locked_until=customer.locked_until(u.login_id, now),
            reset_pending=u.must_change_password,
        )


class LockedUser(User):
    sessions_revoked: int

    @classmethod
    def locked(cls, user: UserEntity, sessions_revoked: int, now: datetime) -> LockedUser:
        return cls(**User.of(user, now).field_values(), sessions_revoked=sessions_revoked)


class CreatedUser(User):
    """A user staff created: the temporary password the server made is shown this once (the answer is no-store), and
    must be changed at first login."""

    temporary_password: str

    @classmethod
    def created(cls, created: registry.CreatedUser, now: datetime) -> CreatedUser:
        return cls(**User.of(created.user, now).field_values(), temporary_password=created.temporary_password)


class ResetUser(User):
    """A staff reset or compromised report: the temporary password is shown this once (the answer is no-store)."""

    temporary_password: str
    sessions_revoked: int

    @classmethod
    def reset(cls, reset: registry.CredentialReset, now: datetime) -> ResetUser:
        return cls(
            **User.of(reset.user, now).field_values(),
            temporary_password=reset.temporary_password,
            sessions_revoked=reset.sessions_revoked,
        )


class UserList(ResponseModel):
    items: list[User]


class RemaskJob(ResponseModel):
    job_id: str
    contract_id: str
    camera_id: str
    mask_version: str
    status: str
    frames_masked: int
    frames_skipped: int
    frames_failed: int
    failed_frame_ids: list[str]
    frames_done: int
    cursor: str | None
    slices: int
    reason: str
    created_by: str
    created_at: Time
    updated_at: Time
    finished_at: Time | None

    @classmethod
    def of(cls, job: jobs.RemaskJob) -> RemaskJob:
        return cls.from_entity(job, frames_done=job.frames_masked + job.frames_skipped + job.frames_failed)


class Takedown(ResponseModel):
    """One item taken down: a note (`note_id`, `at`) or a frame (`frame_id`, `captured_at`)."""

    contract_id: str
    camera_id: str
    note_id: Omittable[str] = Field(description="a note taken down")
    at: Omittable[Time] = Field(description="with note_id")
    frame_id: Omittable[str] = Field(description="a frame taken down")
    captured_at: Omittable[Time] = Field(description="with frame_id")
    ground: str
    ground_text: str
    reason: str
    taken_down_at: Time
    taken_down_by: str
    bytes_deleted: int
    audit_seq: int

    @classmethod
    def of(cls, record: takedown.Takedown) -> Takedown:
        note = record.note_id is not None
        return cls(
            contract_id=record.contract_id,
            camera_id=record.camera_id,
            note_id=record.note_id,
            at=record.captured_at if note else None,
            frame_id=None if note else record.frame_id,
            captured_at=None if note else record.captured_at,
            ground=record.ground,
            ground_text=takedown.GROUNDS[record.ground],
            reason=record.reason,
            taken_down_at=record.taken_down_at,
            taken_down_by=record.actor,
            bytes_deleted=record.bytes_deleted,
            audit_seq=record.audit_seq,
        )


class MaintenanceAccess(ResponseModel):
    contract_id: str
    camera_id: str
    from_: Time = Field(alias="from")
    to: Time
    ticket: str
    items: list[Frame]
    truncated: bool = Field(description="more frames in the window than the limit; ask again with a later `from`")
    url_ttl_seconds: int
    audit_seq: int

    @classmethod
    def of(cls, access: maintenance.MaintenanceAccess) -> MaintenanceAccess:
        return cls(
            contract_id=access.contract_id,
            camera_id=access.window.camera_id,
            from_=access.window.start,
            to=access.window.end,
            ticket=access.window.ticket,
            items=[Frame.of(item) for item in access.items],
            truncated=access.truncated,
            url_ttl_seconds=access.url_ttl,
            audit_seq=access.audit_seq,
        )


# oversight


class AuditEntry(ResponseModel):
    seq: int
    at: Time
    actor: str
    action: str
    subject: str | None
    details: dict[str, Any]
    hash: str
    prev_hash: str
    customer_visible: bool

    @classmethod
    def of(cls, entry: audit.AuditEntry) -> AuditEntry:
        return cls.from_entity(entry)


class AuditPage(ResponseModel):
    contract_id: str
    items: list[AuditEntry]
    next_after_seq: Omittable[int] = Field(description="absent on the last page")


class AuditVerification(ResponseModel):
    contract_id: str
    entries: int
    intact: bool
    first_broken_seq: int | None
    problem: str | None

    @classmethod
    def of(cls, report: audit.ChainReport) -> AuditVerification:
        return cls.from_entity(report)


class PublishedNotice(ResponseModel):
    audience: str
    notice_id: str
    kind: str
    title: str
    body: str
    published_at: Time
    effective_at: Time | None
    site_delivered_at: Time
    emails_sent: int
    email_delivered: dict[str, str] | None = Field(description="per contract; null for a notice to all")

    @classmethod
    def of(cls, notice: notices.Notice) -> PublishedNotice:
        return cls.from_entity(
            notice,
            emails_sent=len(notice.email_delivered),
            email_delivered=notice.email_delivered if notice.audience != notices.ALL else None,
        )


class IncidentNotice(ResponseModel):
    contract_id: str
    notice_id: str
    email_sent_at: str | None = Field(description="null: no e-mail confirmed sent")


class Incident(ResponseModel):
    incident_id: str
    reported_at: Time
    notices: list[IncidentNotice]

    @classmethod
    def of(cls, incident: incidents.Incident) -> Incident:
        notified = [
            IncidentNotice(
                contract_id=n.contract_id,
                notice_id=n.notice.notice_id,
                email_sent_at=n.notice.email_delivered.get(n.contract_id),
            )
            for n in incident.notified
        ]
        return cls(incident_id=incident.incident_id, reported_at=incident.reported_at, notices=notified)


class Disclosure(ResponseModel):
    disclosure_id: str
    contract_id: str
    basis: str
    basis_title: str
    recipient: str
    reason: str
    legal_reference: str | None
    scope: dict[str, Any]
    frames: int
    package_sha256: str
    package_bytes: int
    package_expires_at: Time
    package_url: str | None = Field(description="null once the package has passed its retention")
    expires_at: Time | None = Field(description="of package_url")
    created_by: str
    created_at: Time

    @classmethod
    def of(cls, disclosure: disclosures.Disclosure, link: disclosures.PackageLink) -> Disclosure:
        return cls(
            disclosure_id=disclosure.disclosure_id,
            contract_id=disclosure.contract_id,
            basis=disclosure.basis,
            basis_title=disclosures.BASES[disclosure.basis].title,
            recipient=disclosure.recipient,
            reason=disclosure.reason,
            legal_reference=disclosure.legal_reference,
            scope=disclosure.scope,
            frames=disclosure.frames,
            package_sha256=disclosure.package_sha256,
            package_bytes=disclosure.package_bytes,
            package_expires_at=disclosure.created_at + disclosures.EVIDENCE_RETENTION,
            package_url=link.url,
            expires_at=link.expires_at,
            created_by=disclosure.created_by,
            created_at=disclosure.created_at,
        )
