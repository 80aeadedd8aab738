"""Plain entities the domain works with; the store converts PynamoDB items to and from these."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


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


@dataclass(frozen=True)
class Site:
    site_id: str
    contract_id: str
    name: str
    address: str | None
    created_at: datetime


@dataclass(frozen=True)
class Camera:
    camera_id: str
    contract_id: str
    site_id: str
    name: str
    created_at: datetime
    last_frame_id: str | None = None
    consents: dict | None = None


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
    failed_logins: int
    locked_until: datetime | None
    created_at: datetime
    locked_by_staff: bool = False
    must_change_password: bool = False


@dataclass(frozen=True)
class Session:
    token_hash: str
    login_id: str
    user_id: str
    contract_id: str
    expires_at: datetime


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
    thumb_key: str
    thumb_size: int
    thumb_width: int
    thumb_height: int
    retention_class: str
    expires_at: datetime
