"""Owners' invitations, accepted by link (SPEC §2, Art. 7-11; issue 10).

An owner invites a person by name, role and optional sites; the answer is a one-time link, `<base>/i/<token>`, valid
for seven days. The person opens it on their phone, chooses a login id and a password on that page, and becomes a
user of the contract; the link is then used up. Owners see pending invitations and may revoke them.

Why by link: login ids are unique across every contract (one id per person, Art. 7-11), so whoever picks one learns
whether somebody anywhere holds it. When owners picked them, any owner could test another contract's ids (and each
miss created a user). Now the answer "not available" goes only to the person claiming an id, on the invitation page,
and at most MAX_TAKEN_ANSWERS times per invitation: after that the invitation is spent, and a new one is an audited
act of an owner. Staff, who see every contract, still choose ids directly (doti.terms.registry.create_user).

The token carries 256 random bits and only its SHA-256 is stored (doti.tokens), as share links do. The user and the
use of the invitation are one transaction, so a link cannot make two users, and an id taken meanwhile leaves the
invitation usable. The invitee's password is their own from the start (no forced change). A site-scoped owner invites
only within their sites, and sees and revokes only such invitations (doti.accounts.users). Audited: `user.invited`,
`invitation.accepted` (the invitee's own act, with the user id and login id), `invitation.revoked`, `invitation.spent`.
"""

from __future__ import annotations

import hmac
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from doti import ids, tokens
from doti.accounts import login_ids, users
from doti.auth import customer
from doti.clock import floor_to_second, format_rfc3339
from doti.contracts import contract_states, registry, terms
from doti.entities import User
from doti.errors import (
    Conflict,
    NotFound,
    ValidationError,
)
from doti.oversight import audit
from doti.store import invitations as store
from doti.store.invitations import Invitation

LIFETIME = timedelta(days=7)
MAX_TAKEN_ANSWERS = 5  # "login id not available" answers per invitation before it is spent
MAX_NAME_CHARS = 200
_MAX_TOKEN_CHARS = 128
_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]")
ACTOR = "invitation"  # the system acting on an invitation (spending it), by id: "invitation:<id>"


@dataclass(frozen=True)
class CreatedInvitation:
    invitation: Invitation
    token: str  # shown once, in the link; never stored


# owners


def _name(text: str) -> str:
    name = text.strip()
    if not name or len(name) > MAX_NAME_CHARS or _CONTROL_CHARS.search(name):
        raise ValidationError(f"name must be one line of 1 to {MAX_NAME_CHARS} characters", field="name")
    return name


def _check_grant(contract_id: str, role: str, site_ids: list[str] | None) -> None:
    """What the invitation will grant is what a user may hold (the same rules as doti.terms.registry.new_user)."""
    if role not in registry.USER_ROLES:
        raise ValidationError("role must be one of owner, manager, viewer", field="role")
    if site_ids is not None and not site_ids:
        raise ValidationError("site_ids must name at least one site, or be left out for every site", field="site_ids")
    for site_id in site_ids or []:
        registry.site_of_contract(contract_id, site_id)


def invite(owner: User, *, name: str, role: str, site_ids: list[str] | None, now: datetime) -> CreatedInvitation:
    """A new invitation to the owner's contract; its token is returned once, for the link. A site of another
    contract, or beyond a scoped owner's sites, is 404."""
    users.require_owner(owner, now)
    users.check_invitation_scope(owner, site_ids)
    person = _name(name)
    _check_grant(owner.contract_id, role, site_ids)
    token = tokens.new_token()
    invitation = Invitation(
        invitation_id=ids.new_id("inv"),
        token_hash=tokens.hash_token(token),
        contract_id=owner.contract_id,
        name=person,
        role=role,
        site_ids=frozenset(site_ids) if site_ids else None,
        created_by=owner.user_id,
        created_at=now,
        expires_at=floor_to_second(now + LIFETIME),
    )
    store.put_invitation(invitation)
    details = {
        "name": person,
        "role": role,
        "site_ids": sorted(site_ids) if site_ids else None,
        "expires_at": format_rfc3339(invitation.expires_at),
    }
    audit.record(
        owner.contract_id,
        actor=audit.user_actor(owner),
        action="user.invited",
        subject=invitation.invitation_id,
        details=details,
        now=now,
    )
    return CreatedInvitation(invitation=invitation, token=token)


def pending(owner: User, now: datetime) -> list[Invitation]:
    """The contract's invitations still open, newest first, within a scoped owner's sites."""
    users.require_owner(owner, now)
    found = [
        invitation
        for invitation in store.invitations_of_contract(owner.contract_id)
        if invitation.expires_at > now and users.within_reach(owner, invitation.site_ids)
    ]
    return sorted(found, key=lambda i: (i.created_at, i.invitation_id), reverse=True)


def revoke(owner: User, invitation_id: str, now: datetime) -> None:
    """Withdraw a pending invitation; another contract's, one beyond a scoped owner's sites, or one no longer pending
    is 404."""
    users.require_owner(owner, now)
    found = [i for i in store.invitations_of_contract(owner.contract_id) if i.invitation_id == invitation_id]
    if not found or not users.within_reach(owner, found[0].site_ids) or not store.delete_invitation(found[0]):
        raise NotFound("invitation not found")
    invitation = found[0]
    audit.record(
        owner.contract_id,
        actor=audit.user_actor(owner),
        action="invitation.revoked",
        subject=invitation.invitation_id,
        details={"name": invitation.name, "role": invitation.role},
        now=now,
    )


# the page the invitee opens


UNKNOWN, EXPIRED, SPENT = "unknown", "expired", "spent"
SUSPENDED, ENDED = contract_states.PAGE_SUSPENDED, contract_states.PAGE_ENDED  # as the contract's state says
# The link is dead (404: never issued, used, revoked, expired or spent), or its contract is not serving (403).
REFUSAL_STATUS = {UNKNOWN: 404, EXPIRED: 404, SPENT: 404, SUSPENDED: 403, ENDED: 403}

# Why the form is shown again, per field.
LOGIN_ID_INVALID, LOGIN_ID_TAKEN = "login_id_invalid", "login_id_taken"
PASSWORD_TOO_SHORT, PASSWORD_CONTAINS_LOGIN_ID = customer.TOO_SHORT, customer.CONTAINS_LOGIN_ID
PASSWORDS_DIFFER = "passwords_differ"


@dataclass(frozen=True)
class InvitationRefusal:
    reason: str  # one of REFUSAL_STATUS

    @property
    def status(self) -> int:
        return REFUSAL_STATUS[self.reason]


@dataclass(frozen=True)
class OpenInvitation:
    invitation: Invitation
    contract_name: str


@dataclass(frozen=True)
class FormRejected:
    opened: OpenInvitation
    problems: dict[str, str]  # field -> why
    login_id: str  # as typed, to fill the form again

    @property
    def status(self) -> int:
        # The 409 of a taken id goes to the person claiming it, and to nobody else.
        return 409 if LOGIN_ID_TAKEN in self.problems.values() else 422


@dataclass(frozen=True)
class Accepted:
    user: User
    contract_name: str


class _Refused(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def open_invitation(token: str, now: datetime) -> OpenInvitation | InvitationRefusal:
    """What the link's holder sees: the invitation, or why there is none."""
    try:
        return _open(token, now)
    except _Refused as refused:
        return InvitationRefusal(refused.reason)


def _open(token: str, now: datetime) -> OpenInvitation:
    if not token or len(token) > _MAX_TOKEN_CHARS:
        raise _Refused(UNKNOWN)
    invitation = store.invitation_by_token_hash(tokens.hash_token(token))
    if invitation is None:
        raise _Refused(UNKNOWN)
    if invitation.expires_at <= now:
        raise _Refused(EXPIRED)  # the table's TTL removes it, days later at worst
    try:
        contract = terms.get_contract(invitation.contract_id)
    except NotFound as exc:
        raise _Refused(UNKNOWN) from exc
    refused = contract_states.refusal(contract, contract_states.Capability.SERVING, now)
    if refused is not None:
        raise _Refused(refused.page_refusal)  # SUSPENDED or ENDED
    return OpenInvitation(invitation, contract.name)


def _form_problems(login_id: str, password: str, password_again: str) -> tuple[str | None, dict[str, str]]:
    problems: dict[str, str] = {}
    try:
        key: str | None = login_ids.parse(login_id)
    except ValidationError:
        key = None
        problems["login_id"] = LOGIN_ID_INVALID
    if key is not None and (problem := customer.password_problem(password, key)):
        problems["password"] = problem
    elif len(password) < customer.MIN_PASSWORD_LENGTH:
        problems["password"] = PASSWORD_TOO_SHORT
    if not hmac.compare_digest(password.encode(), password_again.encode()):
        problems["password_again"] = PASSWORDS_DIFFER
    return key, problems


def accept(
    token: str, *, login_id: str, password: str, password_again: str, now: datetime
) -> Accepted | FormRejected | InvitationRefusal:
    """The invitee claims a login id with a password of their own: a new user of the contract, with the invitation's
    name, role and sites, and the invitation used up. A problem with the form shows it again; a taken id is told
    here only (409), and spends the invitation after MAX_TAKEN_ANSWERS."""
    try:
        opened = _open(token, now)
        key, problems = _form_problems(login_id, password, password_again)
        if key is None or problems:
            return FormRejected(opened, problems, login_id)
        user = _claim(opened.invitation, key, password, now)
    except _Refused as refused:
        return InvitationRefusal(refused.reason)
    if user is None:
        return FormRejected(opened, {"login_id": LOGIN_ID_TAKEN}, login_id)
    invitation = opened.invitation
    details = {
        "user_id": user.user_id,
        "login_id": user.login_id,
        "role": user.role,
        "site_ids": sorted(user.site_ids) if user.site_ids else None,
        "invited_by": invitation.created_by,
    }
    audit.record(
        invitation.contract_id,
        actor=audit.user_actor(user),  # the invitee's own act, as the user they have just become
        action="invitation.accepted",
        subject=invitation.invitation_id,
        details=details,
        now=now,
    )
    return Accepted(user, opened.contract_name)


def _claim(invitation: Invitation, key: str, password: str, now: datetime) -> User | None:
    """The new user, stored with the invitation used up; None when the id is taken (and the answer may be given)."""
    try:
        user = registry.new_user(
            invitation.contract_id,
            login_id=key,
            name=invitation.name,
            role=invitation.role,
            password=password,
            site_ids=invitation.site_ids,
            now=now,
        )
    except NotFound as exc:
        raise _Refused(UNKNOWN) from exc  # one of its sites is gone
    except Conflict as exc:
        raise _Refused(ENDED) from exc  # the contract ended since the invitation was opened
    try:
        store.accept(invitation, user, now)
    except NotFound as exc:
        raise _Refused(UNKNOWN) from exc  # used up, revoked or expired meanwhile
    except Conflict as exc:
        if store.count_taken_answer(invitation, MAX_TAKEN_ANSWERS):
            return None
        _spend(invitation, now)
        raise _Refused(SPENT) from exc
    return user


def _spend(invitation: Invitation, now: datetime) -> None:
    """Too many taken ids asked for on one link: it goes, and its owners see why (a new one is an owner's act)."""
    if store.delete_invitation(invitation):
        audit.record(
            invitation.contract_id,
            actor=f"{ACTOR}:{invitation.invitation_id}",
            action="invitation.spent",
            subject=invitation.invitation_id,
            details={"name": invitation.name, "taken_answers": MAX_TAKEN_ANSWERS},
            now=now,
        )
