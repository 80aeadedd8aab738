"""Plain entities the domain works with; the store converts PynamoDB items to and from these."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Contract:
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
    service_start: datetime | None
    created_at: datetime
    updated_at: datetime
    cancel_effective_at: datetime | None = None
    terminated_at: datetime | None = None
    purge_due_at: datetime | None = None
    purged_at: datetime | None = None
    security_contract_ended_at: datetime | None = None
    last_used_at: datetime | None = None
    idle_notified_at: datetime | None = None
    # when the termination job recorded closing an ended contract's access ("contract.access_revoked", once)
    access_revoked_at: datetime | None = None
    # Art. 2-4 (issue 15): the operator the public notice names, and whom people filmed contact
    operator_name: str | None = None
    inquiry_contact: str | None = None
    # requests from people filmed (doti.subjects): days to answer, and days a request is kept after its last change
    request_due_days: int | None = None
    request_keep_days: int | None = None


@dataclass(frozen=True)
class Site:
    site_id: str
    contract_id: str
    name: str
    address: str | None
    created_at: datetime
    public_id: str | None = None  # the public notice page /p/{public_id}; random, names neither contract nor site


@dataclass(frozen=True)
class Camera:
    camera_id: str
    contract_id: str
    site_id: str
    name: str
    created_at: datetime
    last_frame_id: str | None = None
    consents: dict | None = None
    # Art. 2-4 privacy mask: normalized polygons (doti.ingest.masks) and their version digest; None: no mask
    privacy_mask: list | None = None
    mask_version: str | None = None
    activity_threshold: float | None = None  # None: doti.ingest.activity.DEFAULT_THRESHOLD
    last_signature: bytes | None = None  # activity signature of last_frame_id, moved with it
    expected_interval_seconds: int | None = None  # None: doti.viewing.cameras.DEFAULT_INTERVAL_SECONDS
    # Art. 2-4 purpose registry (doti.contracts.purposes); None until registered
    purposes: frozenset[str] | None = None
    purpose_other_text: str | None = None
    coverage: str | None = None
    people_filmed: bool | None = None
    purposes_updated_at: datetime | None = None
    # Camera health (doti.jobs.health): None until the camera's first frame (or for one stored before health existed)
    health: str | None = None  # online | offline | paused (its contract stopped serving)
    offline_since: datetime | None = None
    health_due_at: datetime | None = None  # when the health job next looks at it (its one live schedule item)
    activity_event_at: datetime | None = None  # capture time of the frame of its last frame.activity event
    activity_event_minutes: int | None = None  # at most one frame.activity per this many minutes; None: the default


@dataclass(frozen=True)
class Device:
    device_id: str
    contract_id: str
    site_id: str
    name: str
    status: str
    secret_ciphertext: bytes
    created_at: datetime
    rotated_at: datetime | None = None
    revoked_at: datetime | None = None


@dataclass(frozen=True)
class User:
    user_id: str
    login_id: str
    contract_id: str
    name: str
    role: str
    site_ids: frozenset[str] | None
    password_hash: str
    created_at: datetime
    locked_by_staff: bool = False
    must_change_password: bool = False
    # Sessions opened before this moment are refused: a revocation holds even before the session index lists them.
    sessions_valid_from: datetime | None = None
    # The event types an owner receives by e-mail (doti.webhooks.alerts); None: none chosen
    mail_alerts: frozenset[str] | None = None


@dataclass(frozen=True)
class Session:
    token_hash: str
    login_id: str
    user_id: str
    contract_id: str
    expires_at: datetime
    created_at: datetime | None = None


@dataclass(frozen=True)
class StaffMember:
    staff_id: str
    name: str
    role: str


@dataclass(frozen=True)
class Frame:
    camera_id: str
    frame_id: str
    contract_id: str
    site_id: str
    device_id: str
    device_frame_id: str
    captured_at: datetime
    received_at: datetime
    content_type: str
    size: int
    width: int
    height: int
    sha256: str
    object_key: str
    thumb_key: str | None  # a stored thumbnail (clips; stills stored before thumbnails were rendered when viewed)
    thumb_size: int  # its bytes; 0 without one
    thumb_width: int
    thumb_height: int
    retention_class: str
    expires_at: datetime
    activity_score: float | None = None  # None: nothing to compare with (doti.ingest.activity)
    mask_version: str | None = None  # the privacy mask the stored objects are blacked out under
    duration_ms: int | None = None  # clips only (large uploads, doti.ingest.video)
    frame_count: int | None = None  # clips only


@dataclass(frozen=True)
class Note:
    """Text data (SPEC §4): a device's event text (`kind` "event") or a customer's note (`kind` "note").

    `camera_id` is None for a device event about the whole site (no camera named).
    """

    note_id: str
    kind: str
    contract_id: str
    site_id: str
    camera_id: str | None
    at: datetime
    text: str
    author_type: str  # device | user
    author_id: str
    author_name: str
    created_at: datetime
    expires_at: datetime
    event_id: str | None = None  # the device's own id for the event (its idempotency key)


@dataclass(frozen=True)
class Share:
    """A share link: one frame (`frame_id`) or a camera's window [window_start, window_end)."""

    share_id: str
    token_hash: str
    contract_id: str
    site_id: str
    camera_id: str
    frame_id: str | None
    window_start: datetime | None
    window_end: datetime | None
    purpose: str  # a code of doti.viewing.share_purposes, or the free text of a link made before the codes
    one_time: bool
    created_by: str
    created_at: datetime
    expires_at: datetime
    consumed_at: datetime | None = None
    revoked_at: datetime | None = None
    revoked_by: str | None = None
    purpose_note: str | None = None  # one line that says more than the purpose's code


@dataclass(frozen=True)
class SubjectRequest:
    """A request from a person filmed (doti.subjects.requests): its contact is sealed with KMS and its status link
    is `<request_id>.<secret>`, of which only the secret's SHA-256 is stored."""

    request_id: str
    contract_id: str
    site_id: str
    kind: str
    text: str
    contact_ciphertext: bytes
    secret_hash: str
    status: str
    created_at: datetime
    due_at: datetime
    expires_at: datetime
    camera_id: str | None = None
    window_start: datetime | None = None
    window_end: datetime | None = None
    answers: tuple[dict[str, Any], ...] = ()
    overdue_notified_at: datetime | None = None
    frames_deleted: int | None = None  # so far, by the deletion an answer asked for (doti.subjects.deletion)
    revision: int = 0


@dataclass(frozen=True)
class Webhook:
    """A customer's webhook endpoint (doti.webhooks.endpoints). Its secret is sealed with KMS (encryption context =
    the webhook id); during a rotation's overlap the previous one still signs until `previous_secret_until`."""

    webhook_id: str
    contract_id: str
    url: str
    events: frozenset[str]
    include_image_links: bool
    status: str  # active | disabled
    secret_ciphertext: bytes
    created_at: datetime
    created_by: str
    updated_at: datetime
    previous_secret_ciphertext: bytes | None = None
    previous_secret_until: datetime | None = None
    consecutive_failures: int = 0  # attempts failed since the last success
    failing_since: datetime | None = None  # the first of them
    last_success_at: datetime | None = None
    disabled_at: datetime | None = None
    disabled_reason: str | None = None


@dataclass(frozen=True)
class WebhookAttempt:
    """One delivery attempt of an event to an endpoint, as its delivery log shows it."""

    webhook_id: str
    attempted_at: datetime
    event_id: str
    event_type: str
    attempt: int  # 1 for the first try of the event, then one more per retry
    ok: bool
    latency_ms: int
    expires_at: datetime
    status: int | None = None  # the HTTP status, if an answer came
    error: str | None = None  # why it failed (None: a 2xx)


@dataclass(frozen=True)
class Export:
    """A backup export of a camera's frames in [window_start, window_end) (Art. 10-4)."""

    export_id: str
    contract_id: str
    site_id: str
    camera_id: str
    window_start: datetime
    window_end: datetime
    status: str
    requested_by: str
    created_at: datetime
    updated_at: datetime
    expires_at: datetime
    object_key: str | None = None
    size: int | None = None
    frames: int | None = None
    sha256: str | None = None
    error_code: str | None = None
    error_message: str | None = None


@dataclass(frozen=True)
class AuditEntry:
    contract_id: str
    seq: int
    at: datetime
    actor: str
    action: str
    subject: str | None
    details: dict[str, Any]
    customer_visible: bool
    prev_hash: str
    hash: str


@dataclass(frozen=True)
class ScheduledWork:
    """An item of the schedule table (doti.jobs.schedule): `kind` work on a contract, due at `due_at`."""

    kind: str
    due_key: str
    contract_id: str
    ref: str | None
    due_at: datetime
    claimed_by: str | None = None  # claimed work only (`claim_work`)


@dataclass(frozen=True)
class Notice:
    """A notice to one contract (`audience`) or to all (SPEC §8, doti.contracts.notices)."""

    audience: str
    notice_id: str
    kind: str
    title: str
    body: str
    published_at: datetime
    effective_at: datetime | None
    site_delivered_at: datetime
    email_delivered: dict[str, str]


@dataclass(frozen=True)
class SuspensionWindow:
    """A planned suspension (Art. 8-2), applied and lifted by the suspension job (doti.contracts.lifecycle)."""

    contract_id: str
    suspension_id: str
    starts_at: datetime
    ends_at: datetime
    ground: str
    reason: str
    status: str  # scheduled | applied | lifted | cancelled
    created_by: str
    created_at: datetime


@dataclass(frozen=True)
class Disclosure:
    """A disclosure of frames to a third party (doti.oversight.disclosures), with its evidence package."""

    disclosure_id: str
    contract_id: str
    basis: str
    recipient: str
    reason: str
    legal_reference: str | None
    scope: dict[str, Any]
    frames: int
    package_key: str
    package_sha256: str
    package_bytes: int
    created_by: str
    created_at: datetime
