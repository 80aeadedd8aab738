"""Reading the audit log: staff read and verify any chain; a customer reads what concerns their own data.

The customer's access log (`GET /v1/access-log`) lists the contract's entries that were written as
`customer_visible`, newest first, and shows each in a reduced shape:

- the actor is a kind, not an internal id: "staff" (a security-company employee), "system" (a scheduled job).
  The customer's own actors keep their id, because the customer knows them: "user" (their login's user id),
  "device" (their alarm device), "share" (a share link they created).
- detail keys named in the entry's `withheld_from_customer` list are left out, and the list itself is shown as
  `withheld`, so the customer learns that something was withheld but not what (see doti.oversight.disclosures for which
  Art. 10-3 bases withhold the recipient, and which hide the disclosure entirely);
- internal ids of staff (`staff_id`, `staff_name`) never appear, nor the entry's sequence number and hashes:
  the cursor is opaque, so the gaps left by entries the customer does not see are not shown either.

Each entry is also put in words on the server, so that every role that reads the log sees the same names (a manager
may not list the contract's users): `actor_name` is the user's name (their login id if the name is blank) or the
device's name, resolved only among THIS contract's users and devices; staff are always the security company as a whole
(`STAFF_NAME`), never one employee, disclosures included (what a disclosure entry shows beyond that is fixed when it
is written, see doti.oversight.disclosures); jobs are the service itself. `camera_name` names the camera of a
camera-scoped entry (its `camera_id` detail, a disclosure's scope's, or its subject) when that camera is the
contract's. A share link's entries (created, viewed, revoked) carry the link's `purpose` code in their details, and
`purpose_label` says it in words, Japanese and English (doti.viewing.share_purposes; a registered purpose `other` by
the camera's text for it now). The names of a page
cost one BatchGetItem per table (cameras, devices) and one query of the contract's users, whatever the page's length;
a user or device since removed, or an id of another contract, gets the generic wording and never another tenant's
name.

Only owners and managers without a site scope read it: the log covers the whole contract, including disclosures,
which a site-scoped or viewer account is not meant to learn about.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from doti import cursors
from doti.accounts import roles
from doti.contracts import terms
from doti.entities import Camera, User
from doti.errors import Forbidden, ValidationError
from doti.oversight import audit
from doti.store import registry as registry_store
from doti.viewing import share_purposes

MAX_PAGE = 200
# The largest audit sequence number a page may continue from: JSON's safe integer, far beyond any chain's length,
# and well within what a DynamoDB Number holds (a 10**40 would fail the query instead of finding nothing).
MAX_SEQ = 2**53 - 1
WITHHELD_KEY = "withheld_from_customer"
_INTERNAL_KEYS = frozenset({WITHHELD_KEY, "staff_id", "staff_name"})
_ACTOR_KINDS = {
    "staff": "staff",
    "job": "system",
    "user": "user",
    "device": "device",
    "share": "share",
    "public": "public",  # a person filmed, on a notice page's request form (doti.subjects.requests.ACTOR)
}
_CUSTOMER_OWNED_ACTORS = frozenset({"user", "device", "share"})
# The words for actors that are not one of the customer's own named users or devices. Staff are the company as a
# whole: the customer contracted with the company, and a staff member's name is not theirs to learn (nor an id).
STAFF_NAME = "the security company"
SYSTEM_NAME = "the service (automatic)"
SHARE_NAME = "a share link"
FORMER_USER_NAME = "a former user"  # a user removed since, whose name is no longer kept
FORMER_DEVICE_NAME = "a former device"
PUBLIC_NAME = "a person filmed (the notice page's form)"
_KIND_NAMES = {"staff": STAFF_NAME, "system": SYSTEM_NAME, "share": SHARE_NAME, "public": PUBLIC_NAME}
_CAMERA_PREFIX = "cam_"
_SHARE_ACTIONS = "share."


# staff


def _require_chain(contract_id: str) -> None:
    """A contract's chain, or the system chain; an unknown contract is NotFound rather than an empty, intact log."""
    if contract_id != audit.SYSTEM:
        terms.get_contract(contract_id)


def staff_page(contract_id: str, *, limit: int, after_seq: int | None) -> tuple[list[audit.AuditEntry], int | None]:
    """Every entry of the chain (customer-visible or not), newest first, continuing below `after_seq`."""
    _require_chain(contract_id)
    if not 1 <= limit <= MAX_PAGE:
        raise ValidationError(f"limit must be between 1 and {MAX_PAGE}", field="limit")
    if after_seq is not None and not 1 <= after_seq <= MAX_SEQ:
        raise ValidationError(f"after_seq must be between 1 and {MAX_SEQ}", field="after_seq")
    return audit.entries(contract_id, limit=limit, after_seq=after_seq)


def verify(contract_id: str) -> audit.ChainReport:
    _require_chain(contract_id)
    return audit.verify_chain(contract_id)


# customers


def _encode_cursor(seq: int) -> str:
    return cursors.pack({"s": seq})


def _decode_cursor(cursor: str) -> int:
    data = cursors.unpack(cursor)
    seq = data.get("s") if isinstance(data, dict) else None
    if not isinstance(seq, int) or isinstance(seq, bool) or not 1 <= seq <= MAX_SEQ:
        raise ValidationError("cursor is not valid", field="cursor")
    return seq


@dataclass(frozen=True)
class CustomerEntry:
    """An entry as the customer reads it: the actor a kind, internal and withheld details left out."""

    at: datetime
    actor: str
    actor_id: str | None  # the customer's own actors only
    action: str
    subject: str | None
    details: dict[str, Any]
    withheld: list[str]  # the detail keys left out, so the customer learns that something was
    actor_name: str = SYSTEM_NAME  # the actor in words (see the module's docstring)
    camera_name: str | None = None  # the contract's camera the entry is about, if any
    purpose_label: dict[str, str] | None = None  # a share link's purpose in words, {"ja", "en"}


def customer_entry(entry: audit.AuditEntry) -> CustomerEntry:
    withheld = [str(key) for key in entry.details.get(WITHHELD_KEY) or []]
    details = {k: v for k, v in entry.details.items() if k not in _INTERNAL_KEYS and k not in withheld}
    prefix, _, ident = entry.actor.partition(":")
    kind = _ACTOR_KINDS.get(prefix, "system")
    actor_id = ident if kind in _CUSTOMER_OWNED_ACTORS and ident else None
    return CustomerEntry(entry.at, kind, actor_id, entry.action, entry.subject, details, withheld)


def customer_page(
    user: User, *, limit: int, cursor: str | None, now: datetime
) -> tuple[list[CustomerEntry], str | None]:
    """A page of the user's contract's customer-visible entries, newest first, and the cursor of the next page."""
    terms.require_serving(terms.get_contract(user.contract_id), now)
    if not roles.allows(user.role, roles.Permission.VIEW_ACCESS_LOG) or user.site_ids:
        raise Forbidden("the access log is open to owners and managers of the whole contract")
    if not 1 <= limit <= MAX_PAGE:
        raise ValidationError(f"limit must be between 1 and {MAX_PAGE}", field="limit")
    after_seq = _decode_cursor(cursor) if cursor else None
    entries, last = audit.entries(user.contract_id, customer_only=True, limit=limit, after_seq=after_seq)
    named = with_names(user.contract_id, [customer_entry(e) for e in entries])
    return named, (_encode_cursor(last) if last else None)


def _camera_of(entry: CustomerEntry) -> str | None:
    """The camera the entry is about: its `camera_id` detail, its scope's (a disclosure's), or its subject."""
    scope = entry.details.get("scope")
    for camera_id in (entry.details.get("camera_id"), scope.get("camera_id") if isinstance(scope, dict) else None):
        if isinstance(camera_id, str) and camera_id:
            return camera_id
    if entry.subject and entry.subject.startswith(_CAMERA_PREFIX):
        return entry.subject
    return None


def with_names(contract_id: str, entries: list[CustomerEntry]) -> list[CustomerEntry]:
    """The entries with their actor and camera in words, looked up among the contract's own only, in one batch each."""
    actor_ids = {kind: {e.actor_id for e in entries if e.actor == kind and e.actor_id} for kind in ("user", "device")}
    users = {}
    if actor_ids["user"]:
        users = {u.user_id: u.name.strip() or u.login_id for u in registry_store.users_of_contract(contract_id)}
    devices = {d.device_id: d.name for d in registry_store.devices_by_id(contract_id, actor_ids["device"]).values()}
    camera_ids = {camera_id for e in entries if (camera_id := _camera_of(e))}
    cameras = registry_store.cameras_by_id(contract_id, camera_ids)

    def actor_name(entry: CustomerEntry) -> str:
        if entry.actor == "user":
            return users.get(entry.actor_id or "", FORMER_USER_NAME)
        if entry.actor == "device":
            return devices.get(entry.actor_id or "", FORMER_DEVICE_NAME)
        return _KIND_NAMES.get(entry.actor, SYSTEM_NAME)

    def named(entry: CustomerEntry) -> CustomerEntry:
        camera = cameras.get(_camera_of(entry) or "")
        return replace(
            entry,
            actor_name=actor_name(entry),
            camera_name=camera.name if camera else None,
            purpose_label=_share_purpose(entry, camera),
        )

    return [named(entry) for entry in entries]


def _share_purpose(entry: CustomerEntry, camera: Camera | None) -> dict[str, str] | None:
    """A share entry's purpose in words; a view recorded before views named the purpose has none."""
    purpose = entry.details.get("purpose")
    if not entry.action.startswith(_SHARE_ACTIONS) or not isinstance(purpose, str):
        return None
    return share_purposes.describe(purpose, camera).labels()
