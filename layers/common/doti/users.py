"""The customer's own user management (SPEC §2): a contract's owners list, invite and remove its users.

Invitations go through the registry's `create_user`, as staff's do: one login id per person across every contract
(Art. 7-11), the role and site scope validated there, the creation audited. The invitee gets a one-time temporary
password, shown once to the inviting owner, that must be changed before anything but the account is served.
A site-scoped owner invites, sees and removes only users whose sites all lie within the owner's own: an invitation
never widens what anyone can see, and a scoped owner cannot list or remove a user who sees more than they do (an
unscoped one, the contract-wide owner included). Users outside the owner's reach are not found (404), as another
contract's are.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from doti import audit, contracts, registry, roles
from doti.auth import customer
from doti.clock import format_rfc3339
from doti.entities import User
from doti.errors import Conflict, Forbidden, NotFound
from doti.roles import Permission
from doti.store import accounts
from doti.store import registry as store


@dataclass(frozen=True)
class Invitation:
    user: User
    temporary_password: str  # shown once to the owner who invited; only its scrypt hash is stored


def _require_owner(owner: User, now: datetime) -> None:
    contracts.require_serving(contracts.get_contract(owner.contract_id), now)
    roles.require(owner, Permission.MANAGE_USERS)


def _within_reach(owner: User, user: User) -> bool:
    """Whether the owner manages the user: an unscoped owner every user, a scoped one users scoped to their sites."""
    return owner.site_ids is None or (user.site_ids is not None and user.site_ids <= owner.site_ids)


def list_users(owner: User, now: datetime) -> list[User]:
    _require_owner(owner, now)
    return [user for user in registry.users_of(owner.contract_id) if _within_reach(owner, user)]


def invite_user(
    owner: User, *, login_id: str, name: str, role: str, site_ids: list[str] | None, now: datetime
) -> Invitation:
    """A new user of the owner's contract with a temporary password. A login id taken anywhere is 409; a site of
    another contract, or outside a scoped owner's sites, is 404."""
    _require_owner(owner, now)
    if owner.site_ids is not None:
        if site_ids is None:
            raise Forbidden("a site-scoped owner can invite users only to their own sites: name them in site_ids")
        if not set(site_ids) <= owner.site_ids:
            raise NotFound("site not found")
    temporary = customer.temporary_password(login_id)
    user = registry.create_user(
        owner.contract_id,
        login_id=login_id,
        name=name,
        role=role,
        password=temporary,
        site_ids=site_ids,
        now=now,
        actor=audit.user_actor(owner),
        must_change_password=True,
    )
    return Invitation(user=user, temporary_password=temporary)


def remove_user(owner: User, login_id: str, now: datetime) -> User:
    """Remove a user of the owner's contract and end their sessions. An owner cannot remove themselves, so the
    contract always keeps an owner; another contract's user, or one beyond a scoped owner's sites, is 404."""
    _require_owner(owner, now)
    key = customer.normalize_login_id(login_id)
    if key == owner.login_id:
        raise Conflict("you cannot remove your own login id; another owner can")
    target = store.get_user(key)
    if target.contract_id != owner.contract_id or not _within_reach(owner, target):
        raise NotFound("user not found")
    accounts.delete_user_by_owner(key, target.user_id, owner.contract_id, owner.login_id)
    revoked = customer.delete_sessions_of(key)  # already refused: their user record is gone
    details = {"login_id": key, "role": target.role, "sessions_revoked": revoked}
    audit.record(
        owner.contract_id,
        actor=audit.user_actor(owner),
        action="user.removed",
        subject=target.user_id,
        details=details,
        now=now,
    )
    return target


def user_view(user: User) -> dict[str, Any]:
    """A user as their contract's owners see it (no hash, no lockout internals)."""
    return {
        "login_id": user.login_id,
        "user_id": user.user_id,
        "name": user.name,
        "role": user.role,
        "site_ids": sorted(user.site_ids) if user.site_ids else None,
        "must_change_password": user.must_change_password,
        "created_at": format_rfc3339(user.created_at),
    }
