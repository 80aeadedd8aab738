"""What each customer role may do (SPEC §2): the one place role rules live.

`owner` manages the contract's users, registers each camera's purposes (Art. 2-4), prints the sites' signs, chooses
the e-mail alerts and may do everything a `manager` does; a `manager` views, writes notes, creates shares and
exports; a `viewer` only views.
Each domain operation calls `require(user, Permission.X)` before it reads or writes anything; a missing right is 403
`forbidden`. A user's optional site scope is a separate, data-level limit (`in_scope`): it narrows which cameras a
user sees, never what the user may do with them.
"""

from __future__ import annotations

from enum import Enum

from doti.entities import User
from doti.errors import Forbidden


class Permission(Enum):
    VIEW = "view"
    WRITE_NOTES = "write_notes"
    SHARE = "share"
    EXPORT = "export"
    MANAGE_USERS = "manage_users"
    VIEW_ACCESS_LOG = "view_access_log"  # who accessed the contract's data (also needs no site scope: access_log)
    # Art. 2-4: why each camera records; the operator answers for it on the public notice, so only the owner
    REGISTER_PURPOSES = "register_purposes"
    # the site's printed sign (issue 15): it names the operator to the public, so only the owner downloads it
    PRINT_SIGNAGE = "print_signage"
    # requests from the people filmed (issue 15): they may need footage shared or deleted, as managers may
    HANDLE_REQUESTS = "handle_requests"
    # issue 16: where the contract's events go (webhook endpoints); they hear of every site, so the owner's alone
    MANAGE_WEBHOOKS = "manage_webhooks"
    # which events the contract's registered address is mailed (issue 16 §5): the owner speaks for the contract
    MANAGE_ALERTS = "manage_alerts"


OWNER, MANAGER, VIEWER = "owner", "manager", "viewer"
ROLES = (OWNER, MANAGER, VIEWER)

_VIEWER_RIGHTS = frozenset({Permission.VIEW})
_MANAGER_RIGHTS = _VIEWER_RIGHTS | {
    Permission.WRITE_NOTES,
    Permission.SHARE,
    Permission.EXPORT,
    Permission.VIEW_ACCESS_LOG,
    Permission.HANDLE_REQUESTS,
}
GRANTS: dict[str, frozenset[Permission]] = {
    VIEWER: _VIEWER_RIGHTS,
    MANAGER: _MANAGER_RIGHTS,
    OWNER: _MANAGER_RIGHTS
    | {
        Permission.MANAGE_USERS,
        Permission.REGISTER_PURPOSES,
        Permission.PRINT_SIGNAGE,
        Permission.MANAGE_WEBHOOKS,
        Permission.MANAGE_ALERTS,
    },
}


def allows(role: str, permission: Permission) -> bool:
    """Whether a role holds a permission; an unknown role holds none."""
    return permission in GRANTS.get(role, frozenset())


def require(user: User, permission: Permission) -> None:
    """Raise 403 `forbidden` unless the user's role holds the permission."""
    if not allows(user.role, permission):
        raise Forbidden(f"the {user.role} role cannot do this", required_permission=permission.value, role=user.role)


def in_scope(user: User, site_id: str) -> bool:
    """Whether a site is within the user's site scope (no scope means every site of the contract)."""
    return user.site_ids is None or site_id in user.site_ids
