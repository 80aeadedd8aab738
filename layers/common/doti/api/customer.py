"""The customer API's bodies (SPEC §6, §12); frames and notes are doti.api.content's."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from doti.accounts import invitations
from doti.api import purposes as purpose_api
from doti.api.fields import Number, Omittable, ResponseModel, Time
from doti.auth.customer import SignIn
from doti.contracts.notices import Notice as NoticeEntity
from doti.entities import User as UserEntity
from doti.oversight import access_log
from doti.viewing import exports, shares, timeline
from doti.viewing.account import Account
from doti.viewing.cameras import CameraCard


def _sites(site_ids: frozenset[str] | None) -> list[str] | None:
    return sorted(site_ids) if site_ids else None


_SITES = Field(description="null: every site of the contract")


class SignedIn(ResponseModel):
    token: str
    expires_at: Time
    must_change_password: bool = Field(
        description="after a staff reset, a compromised report or an invitation the password is temporary and must "
        "be changed"
    )

    @classmethod
    def of(cls, signed_in: SignIn) -> SignedIn:
        return cls(
            token=signed_in.token,
            expires_at=signed_in.session.expires_at,
            must_change_password=signed_in.must_change_password,
        )


class ContractSummary(ResponseModel):
    contract_id: str
    name: str
    state: str
    operator_name: str | None = Field(description="who operates the cameras, as the public notice names them")
    inquiry_contact: str | None = Field(description="whom the people filmed contact (address, phone or URL)")


class Me(ResponseModel):
    """The user, their role and their contract's state."""

    user_id: str
    login_id: str
    name: str
    role: str
    site_ids: list[str] | None = _SITES
    must_change_password: bool
    contract: ContractSummary

    @classmethod
    def of(cls, account: Account) -> Me:
        user, contract = account.user, account.contract
        return cls.from_entity(user, site_ids=_sites(user.site_ids), contract=ContractSummary.from_entity(contract))


class Camera(ResponseModel):
    """A camera with its newest frame's thumbnail (the four last-frame fields are null until it sends one, or once
    that frame expired or was taken down) and its status."""

    camera_id: str
    site_id: str
    name: str
    last_frame_id: str | None
    last_captured_at: Time | None
    thumbnail_url: str | None
    url_expires_at: Time | None
    status: Literal["online", "stale", "offline"] = Field(
        description="from the newest frame's capture time against the camera's expected interval (60 s unless staff "
        "set it): online within 3 intervals, stale within 30, offline beyond or if it never sent a frame"
    )
    last_frame_at: Time | None = Field(description="capture time of the newest frame it sent; null: never")
    site_name: str | None = Field(description="the name of the camera's site (what the invite form offers)")
    purposes: list[str] = purpose_api.PURPOSES_FIELD
    other_text: str | None = purpose_api.OTHER_TEXT_FIELD
    coverage: str | None = purpose_api.COVERAGE_FIELD
    people_filmed: bool | None = purpose_api.PEOPLE_FILMED_FIELD
    purposes_updated_at: Time | None = purpose_api.UPDATED_FIELD
    purposes_registered: bool = purpose_api.REGISTERED_FIELD

    @classmethod
    def of(cls, card: CameraCard) -> Camera:
        camera, last = card.camera, card.last_frame
        return cls(
            camera_id=camera.camera_id,
            site_id=camera.site_id,
            site_name=card.site_name,
            name=camera.name,
            last_frame_id=last.frame.frame_id if last else None,
            last_captured_at=last.frame.captured_at if last else None,
            thumbnail_url=last.thumbnail_url if last else None,
            url_expires_at=last.url_expires_at if last else None,
            status=card.status,
            last_frame_at=card.last_frame_at,
            **purpose_api.view_values(camera),
        )


class CameraList(ResponseModel):
    items: list[Camera]


class TimelineBucket(ResponseModel):
    start: Time = Field(description="the bucket's start; buckets are 15 minutes and cover the local day")
    count: int = Field(description="frames captured in the bucket")
    max_activity: Number | None = Field(description="the highest activity score among them; null: none scored")
    first_frame_id: str | None = Field(description="the earliest of them; null: none")


class TimelineMarker(ResponseModel):
    at: Time
    kind: Literal["event", "note"] = Field(description="a device event or a customer's note")
    text: str = Field(description="exactly as stored, to be shown as text")


class Timeline(ResponseModel):
    """One local day of a camera: 96 buckets (92 or 100 on a DST change) and that day's events and notes."""

    date: str = Field(description="YYYY-MM-DD, local to tz")
    tz: str = Field(description="the IANA time zone of the day")
    start: Time = Field(description="local midnight")
    end: Time = Field(description="the next local midnight")
    buckets: list[TimelineBucket]
    markers: list[TimelineMarker] = Field(description=f"oldest first, at most {timeline.MAX_MARKERS}")
    markers_truncated: bool = Field(description=f"more than {timeline.MAX_MARKERS} markers: the newest were left out")

    @classmethod
    def of(cls, day: timeline.Timeline) -> Timeline:
        return cls(
            date=day.date.isoformat(),
            tz=day.tz,
            start=day.start,
            end=day.end,
            buckets=[TimelineBucket.from_entity(bucket) for bucket in day.buckets],
            markers=[TimelineMarker.from_entity(marker) for marker in day.markers],
            markers_truncated=day.markers_truncated,
        )


class PurposeLabel(ResponseModel):
    """A share's purpose in words: its kind and what it is ("Registered purpose: Crime prevention")."""

    ja: str
    en: str


class ShareCreated(ResponseModel):
    share_id: str
    url: str = Field(description="the link; shown only here")
    expires_at: Time


class Share(ResponseModel):
    """A share link (never its token, which is not stored)."""

    share_id: str
    camera_id: str
    frame_id: str | None
    from_: Time | None = Field(alias="from")
    to: Time | None
    purpose: str = Field(
        description="purpose:<code> (a registered purpose of the camera), ground:<key> (a statutory ground), "
        "request:<request_id> (the answer to a data-subject request), or, on a link made before these codes, its "
        "free text"
    )
    purpose_label: PurposeLabel
    purpose_note: str | None
    one_time: bool
    status: str
    created_by: str
    created_at: Time
    expires_at: Time
    consumed_at: Time | None
    revoked_at: Time | None

    @classmethod
    def of(cls, listed: shares.ListedShare, now: datetime) -> Share:
        share = listed.share
        return cls.from_entity(
            share,
            from_=share.window_start,
            to=share.window_end,
            status=shares.share_status(share, now),
            purpose_label=PurposeLabel(**listed.purpose.labels()),
        )


class ShareList(ResponseModel):
    items: list[Share]


class ExportAccepted(ResponseModel):
    export_id: str
    status: str


class ExportError(ResponseModel):
    code: str | None
    message: str | None


class Export(ResponseModel):
    """A backup export: its size and digest once ready, its signed download link while it can be fetched."""

    export_id: str
    status: str
    camera_id: str
    from_: Time = Field(alias="from")
    to: Time
    created_at: Time
    expires_at: Time
    frames: Omittable[int] = Field(description="when ready")
    size: Omittable[int] = Field(description="when ready")
    sha256: Omittable[str] = Field(description="when ready")
    download_url: Omittable[str] = Field(description="while it can be downloaded")
    url_expires_at: Omittable[Time] = Field(description="with download_url")
    error: Omittable[ExportError] = Field(description="when failed")

    @classmethod
    def of(cls, status: exports.ExportStatus) -> Export:
        export, download = status.export, status.download
        ready = export.status == exports.READY
        return cls(
            export_id=export.export_id,
            status=export.status,
            camera_id=export.camera_id,
            from_=export.window_start,
            to=export.window_end,
            created_at=export.created_at,
            expires_at=export.expires_at,
            frames=export.frames if ready else None,
            size=export.size if ready else None,
            sha256=export.sha256 if ready else None,
            download_url=download.url if download else None,
            url_expires_at=download.expires_at if download else None,
            error=ExportError(code=export.error_code, message=export.error_message)
            if export.status == exports.FAILED
            else None,
        )


class ExportPage(ResponseModel):
    """The contract's exports of the user's sites, newest first, each as GET /v1/exports/{export_id} gives it."""

    items: list[Export]
    cursor: Omittable[str] = Field(description="absent on the last page")


class Notice(ResponseModel):
    notice_id: str
    kind: str
    title: str
    body: str
    published_at: Time
    effective_at: Time | None
    read: bool
    read_at: Time | None

    @classmethod
    def of(cls, notice: NoticeEntity, read_at: datetime | None) -> Notice:
        return cls.from_entity(notice, read=read_at is not None, read_at=read_at)


class NoticeList(ResponseModel):
    items: list[Notice]


class AccessEntry(ResponseModel):
    """An access-log entry as the customer reads it (doti.oversight.access_log says what is left out, and why)."""

    at: Time
    actor: str = Field(description="staff, system, user, device or share")
    actor_id: Omittable[str] = Field(description="the customer's own actors only: user, device, share")
    action: str
    subject: str | None
    details: dict[str, Any]
    withheld: Omittable[list[str]] = Field(description="detail keys left out, when there are any")
    actor_name: str = Field(
        description="the actor in words: a user's name or a device's name (this contract's only); otherwise "
        f'"{access_log.STAFF_NAME}", "{access_log.SYSTEM_NAME}", "{access_log.SHARE_NAME}", '
        f'"{access_log.FORMER_USER_NAME}" or "{access_log.FORMER_DEVICE_NAME}"; never a staff member'
    )
    camera_name: Omittable[str] = Field(description="the name of the contract's camera the entry is about, if any")
    purpose_label: Omittable[PurposeLabel] = Field(
        description="a share link's entries: the link's purpose (the `purpose` detail) in words"
    )

    @classmethod
    def of(cls, entry: access_log.CustomerEntry) -> AccessEntry:
        label = PurposeLabel(**entry.purpose_label) if entry.purpose_label else None
        return cls.from_entity(entry, withheld=entry.withheld or None, purpose_label=label)


class AccessLogPage(ResponseModel):
    items: list[AccessEntry]
    cursor: Omittable[str] = Field(description="absent on the last page")


class DeletionCounts(ResponseModel):
    frames: int
    notes: int
    bytes: int


class DeletionSources(ResponseModel):
    retention: DeletionCounts = Field(description="deleted by the retention job")
    takedown: DeletionCounts = Field(description="deleted by staff takedowns (Art. 7-2)")


class DeletionReceipt(ResponseModel):
    day: str = Field(description="YYYY-MM-DD (UTC)")
    frames: int
    notes: int
    bytes: int
    by_source: DeletionSources | None = Field(
        description="the totals split by source; null for a day counted, at least in part, before sources were "
        "(the split is unknown)"
    )


class DeletionList(ResponseModel):
    items: list[DeletionReceipt]


class User(ResponseModel):
    """A user as their contract's owners see it."""

    login_id: str
    user_id: str
    name: str
    role: str
    site_ids: list[str] | None = _SITES
    must_change_password: bool
    created_at: Time

    @classmethod
    def of(cls, user: UserEntity) -> User:
        return cls.from_entity(user, site_ids=_sites(user.site_ids))


class Invitation(ResponseModel):
    """A pending invitation (never its token, which is not stored)."""

    invitation_id: str
    name: str
    role: str
    site_ids: list[str] | None = _SITES
    created_by: str
    created_at: Time
    expires_at: Time

    @classmethod
    def of(cls, invitation: invitations.Invitation) -> Invitation:
        return cls.from_entity(invitation, site_ids=_sites(invitation.site_ids))


class UserList(ResponseModel):
    items: list[User]
    invitations: list[Invitation] = Field(description="still pending")


class InvitationCreated(ResponseModel):
    invitation_id: str
    url: str = Field(description="the one-time link; shown only here")
    expires_at: Time
    role: str
    name: str
    site_ids: list[str] | None = _SITES

    @classmethod
    def of(cls, created: invitations.CreatedInvitation, url: str) -> InvitationCreated:
        return cls.from_entity(created.invitation, url=url, site_ids=_sites(created.invitation.site_ids))


class MailAlerts(ResponseModel):
    """The event types the contract's registered address is mailed at an owner's choice (issue 16 §5)."""

    events: list[str] = Field(description="chosen by this owner")
    available: list[str] = Field(description="what an owner may choose")
