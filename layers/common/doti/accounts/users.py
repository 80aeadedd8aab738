"""The customer's own user management (SPEC §2): a contract's owners list, invite and remove its users.

Owners invite by link (doti.accounts.invitations): the invitation names the person, their role and sites, and the person
who opens the link chooses their own login id and password there. So a login id taken in another contract is told only
to the person claiming it, never to an owner (issue 10: an owner choosing ids could learn which ids other contracts
use, and each miss created a user). Staff, who see every contract, still create users with a chosen id
(doti.contracts.registry).

A site-scoped owner invites, sees and removes only users (and invitations) whose sites all lie within the owner's
own: an invitation never widens what anyone can see, and a scoped owner cannot list or remove a user who sees more
than they do (an unscoped one, the contract-wide owner included). Users outside the owner's reach are not found
(404), as another contract's are.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from doti.accounts import login_ids, roles
from doti.accounts.roles import Permission
from doti.auth import customer
from doti.contracts import registry, terms
from doti.entities import User
from doti.errors import Conflict, Forbidden, NotFound
from doti.oversight import audit
from doti.store import accounts
from doti.store import registry as store


def require_owner(owner: User, now: datetime) -> None:
    """The caller manages the contract's users, and the contract is serving (SPEC §3)."""
    terms.require_serving(terms.get_contract(owner.contract_id), now)
    roles.require(owner, Permission.MANAGE_USERS)


def within_reach(owner: User, site_ids: Collection[str] | None) -> bool:
    """Whether the owner manages someone with this site scope (None: every site): an unscoped owner everyone, a
    scoped one only people scoped to their sites."""
    return owner.site_ids is None or (site_ids is not None and set(site_ids) <= owner.site_ids)


def check_invitation_scope(owner: User, site_ids: list[str] | None) -> None:
    """A site-scoped owner invites only to their own sites: 403 without a scope, 404 for a site beyond theirs (as
    another contract's site is)."""
    if owner.site_ids is None:
        return
    if site_ids is None:
        raise Forbidden("a site-scoped owner can invite users only to their own sites: name them in site_ids")
    if not set(site_ids) <= owner.site_ids:
        raise NotFound("site not found")


def list_users(owner: User, now: datetime) -> list[User]:
    require_owner(owner, now)
    return [user for user in registry.users_of(owner.contract_id) if within_reach(owner, user.site_ids)]


def remove_user(owner: User, login_id: str, now: datetime) -> User:
    """Remove a user of the owner's contract and end their sessions. An owner cannot remove themselves, so the
    contract always keeps an owner; another contract's user, or one beyond a scoped owner's sites, is 404."""
    require_owner(owner, now)
    key = login_ids.parse(login_id)
    if key == owner.login_id:
        raise Conflict("you cannot remove your own login id; another owner can")
    target = store.get_user(key)
    if target.contract_id != owner.contract_id or not within_reach(owner, target.site_ids):
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
