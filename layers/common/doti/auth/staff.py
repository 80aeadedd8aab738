"""Staff API keys: per person, random, stored as SHA-256 (they are high-entropy, so no slow hash is needed)."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from doti import ids
from doti.entities import StaffMember
from doti.errors import Forbidden, NotFound, Unauthorized
from doti.store import registry

ROLES = ("operator", "admin")
KEY_PREFIX = "dsk_"


def hash_key(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()


def create_staff_key(name: str, role: str, now: datetime) -> tuple[StaffMember, str]:
    """A new staff member's key; the plaintext is returned once and never stored."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {ROLES}")
    member = StaffMember(staff_id=ids.new_id("stf"), name=name, role=role)
    api_key = KEY_PREFIX + secrets.token_urlsafe(32)
    registry.put_staff_key(hash_key(api_key), member, now)
    return member, api_key


def authenticate_staff(api_key: str | None, *, required_role: str = "operator") -> StaffMember:
    if not api_key:
        raise Unauthorized("missing X-Api-Key")
    try:
        member, revoked_at = registry.get_staff_key(hash_key(api_key.strip()))
    except NotFound as exc:
        raise Unauthorized("invalid API key") from exc
    if revoked_at is not None:
        raise Unauthorized("invalid API key")
    if ROLES.index(member.role) < ROLES.index(required_role):
        raise Forbidden(f"this action needs the {required_role} role")
    return member
