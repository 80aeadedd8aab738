"""Customer passwords and sessions (SPEC §2, Art. 6).

Login ids have one definition, doti.accounts.login_ids. An id that is not a valid login id is, at login, an id nobody
has: the same attempt counted (on its canonical form), the same reads, one scrypt hash, the same 401.

Passwords: scrypt with a per-user salt; at least 10 characters, never containing the login id. Every attempt is
counted on the login id BEFORE its password is verified, in one conditional write, so concurrent guesses cannot
outrun the count: five attempts within 15 minutes of each other lock the id until 15 minutes after the last (423),
and a right password clears the count. Real and unknown ids keep the count alike (an item keyed by the id's hash),
make the same calls and verify one scrypt hash, so neither the answer nor its timing tells which ids exist.

Sessions: opaque random tokens, stored only as SHA-256, with TTL. Revoking a user's sessions (password change,
staff lock, reset, compromised report of Art. 6-3, user removal) deletes them through the by-login index and also
sets a cut-off on the user, so a session the eventually consistent index had not listed yet is refused too.

A temporary password (staff reset, compromised report) must be changed before anything but the account itself
(`/v1/me`, password change, logout) is served. Owners' invitations make none: the invitee chooses their own password
on the invitation page (doti.accounts.invitations).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from doti import tokens
from doti.accounts import login_ids
from doti.clock import format_rfc3339
from doti.contracts import terms
from doti.entities import Session, User
from doti.errors import (
    AccountLocked,
    ContractTerminated,
    Forbidden,
    NotFound,
    StorageError,
    Unauthorized,
    ValidationError,
)
from doti.observability import logger
from doti.oversight import audit
from doti.settings import get_settings
from doti.store import accounts, registry

MIN_PASSWORD_LENGTH = 10
LOCK_AFTER_FAILURES = 5
LOCK_DURATION = timedelta(minutes=15)
SESSION_LIFETIME = timedelta(hours=12)
TOKEN_PREFIX = "dst_"  # noqa: S105 - a prefix that makes leaked tokens recognisable, not a secret
_BAD_CREDENTIALS = "invalid login id or password"
_LOCKED = "too many failed logins; try again later"

# scrypt's cost: N from the settings (the production cost unless a test lowered it), r=8, p=1. Each hash records
# its parameters, so a hash made at another N still verifies.
_SCRYPT_R, _SCRYPT_P = 8, 1
# Read instead of an invalid login id: longer than any valid id, and not of their alphabet, so nobody holds it.
_NO_USER_KEY = "~" * (login_ids.MAX_CHARS + 1)


def _scrypt_n() -> int:
    return get_settings().password_scrypt_n


def _dummy_hash() -> str:
    """Verified instead when the login id is unknown, so both paths cost one scrypt of the same parameters."""
    b64 = base64.b64encode
    return f"scrypt${_scrypt_n()}${_SCRYPT_R}${_SCRYPT_P}${b64(bytes(16)).decode()}${b64(bytes(32)).decode()}"


# Why a password breaks the policy (password_problem), for pages that explain it in their own words.
TOO_SHORT, CONTAINS_LOGIN_ID = "too_short", "contains_login_id"
_POLICY_MESSAGES = {
    TOO_SHORT: f"must have at least {MIN_PASSWORD_LENGTH} characters",
    CONTAINS_LOGIN_ID: "must not contain the login id",
}


def password_problem(password: str, login_id: str) -> str | None:
    """Which rule the password breaks (TOO_SHORT, CONTAINS_LOGIN_ID), or None: at least MIN_PASSWORD_LENGTH
    characters, and neither the login id nor containing it, compared as login ids are (doti.accounts.login_ids.fold), so
    a full-width or upper-case copy of the id counts too. `login_id` is a valid id (callers parse it first)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return TOO_SHORT
    key = login_ids.canonical(login_id)
    # An empty key is "contained" in every text; a valid id is never empty, so only a caller's bug could pass one.
    if not key or key in login_ids.fold(password):
        return CONTAINS_LOGIN_ID
    return None


def check_password_policy(password: str, login_id: str, field: str = "password") -> None:
    """The password policy (password_problem) as a 422 `validation_error` on `field`."""
    problem = password_problem(password, login_id)
    if problem is not None:
        raise ValidationError(f"{field} {_POLICY_MESSAGES[problem]}", field=field)


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    n = _scrypt_n()
    digest = hashlib.scrypt(password.encode(), salt=salt, n=n, r=_SCRYPT_R, p=_SCRYPT_P, dklen=32)
    b64 = base64.b64encode
    return f"scrypt${n}${_SCRYPT_R}${_SCRYPT_P}${b64(salt).decode()}${b64(digest).decode()}"


def verify_password(password: str, stored: str) -> bool:
    _, n, r, p, salt, digest = stored.split("$")
    expected = base64.b64decode(digest)
    actual = hashlib.scrypt(
        password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p), dklen=len(expected)
    )
    return hmac.compare_digest(actual, expected)


@dataclass(frozen=True)
class SignIn:
    token: str
    session: Session
    # Set by a staff reset, a compromised report or an invitation: the password is temporary and must be changed.
    must_change_password: bool


def login(login_id: str, password: str, now: datetime) -> tuple[str, Session]:
    """A new session token for valid credentials. Unknown ids and wrong passwords fail alike."""
    signed_in = sign_in(login_id, password, now)
    return signed_in.token, signed_in.session


def locked_until(login_id: str, now: datetime) -> datetime | None:
    """When the login id's lock after repeated failures ends (None: not locked), for staff answering a customer."""
    return accounts.lock_end(login_ids.canonical(login_id), LOCK_AFTER_FAILURES, now)


def _refuse_staff_lock(user: User) -> None:
    if user.locked_by_staff:
        raise AccountLocked("the account is locked by the service operator; contact support", locked_by_staff=True)


def _refuse_ended_contract(user: User) -> None:
    """No new session for a terminated or purged contract (SPEC §3: its sessions are revoked)."""
    if registry.get_contract(user.contract_id).state in terms.ENDED_STATES:
        raise ContractTerminated("the contract has ended")


def _count_attempt(login_id: str, now: datetime) -> None:
    """Count a password attempt on the login id before it is verified; 423 once the id is locked."""
    locked_until = accounts.reserve_login_attempt(login_id, LOCK_AFTER_FAILURES, LOCK_DURATION, now)
    if locked_until is not None:
        raise AccountLocked(_LOCKED, retry_at=locked_until, retry_after=format_rfc3339(locked_until))


def _record_use(user: User, now: datetime) -> None:
    """Art. 12-1-11: a login or an authenticated request is use of the service, once the password is the user's own.

    Bookkeeping only: a storage failure here is logged and never fails the customer's request.
    """
    if user.must_change_password:
        return
    try:
        terms.record_use(user.contract_id, now)
    except StorageError:
        logger.warning("could not record the use of the service", extra={"contract_id": user.contract_id})


def sign_in(login_id: str, password: str, now: datetime) -> SignIn:
    """`login`, also telling whether the password is a temporary one that must be changed.

    An unknown id and a wrong password take the same path: the attempt counted, the user read, one scrypt hash
    verified (a fixed dummy when there is no user), 401; the attempt stays counted. An id that is not a valid login id
    (doti.accounts.login_ids) is an unknown id: counted on its canonical form, and the read asks for _NO_USER_KEY, which
    no valid id can be, so the calls made are the same and no malformed key reaches the table.
    """
    key = login_ids.canonical(login_id)
    _count_attempt(key, now)
    try:
        user: User | None = registry.get_user(key if login_ids.is_valid(key) else _NO_USER_KEY, consistent_read=True)
    except NotFound:
        user = None
    valid = verify_password(password, user.password_hash if user else _dummy_hash())
    if user is None or not valid:
        raise Unauthorized(_BAD_CREDENTIALS)
    accounts.clear_login_attempts(key)
    _refuse_staff_lock(user)  # after the password check, so the lock is told only to who knows the password
    _refuse_ended_contract(user)
    _record_use(user, now)
    return _open_session(user, now)


def _open_session(user: User, now: datetime) -> SignIn:
    token = tokens.new_token(TOKEN_PREFIX)
    session = Session(
        token_hash=tokens.hash_token(token),
        login_id=user.login_id,
        user_id=user.user_id,
        contract_id=user.contract_id,
        expires_at=now + SESSION_LIFETIME,
        created_at=now,
    )
    registry.put_session(session, now)
    return SignIn(token=token, session=session, must_change_password=user.must_change_password)


def _cut_off(session: Session, user: User) -> bool:
    """Whether the session was opened before the user's sessions were last revoked."""
    return (
        user.sessions_valid_from is not None
        and session.created_at is not None
        and session.created_at < user.sessions_valid_from
    )


def authenticate_session(authorization: str | None, now: datetime) -> tuple[Session, User]:
    """The session and user behind an `Authorization: Bearer` header; any authenticated request is use of the
    service (Art. 12-1-11), recorded at most hourly."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("missing bearer token")
    try:
        # Both read consistently, so a logout, a removal or a cut-off written a moment ago already counts; the
        # cut-off covers the sessions the eventually consistent by-login index had not listed when they were deleted.
        session = registry.get_session(tokens.hash_token(token.strip()))
        user = registry.get_user(session.login_id, consistent_read=True)
    except NotFound as exc:
        raise Unauthorized("invalid or expired session") from exc
    if session.expires_at <= now or user.user_id != session.user_id or _cut_off(session, user):
        raise Unauthorized("invalid or expired session")
    # A lock revokes the sessions too; this also covers one the sessions index had not listed yet.
    _refuse_staff_lock(user)
    _record_use(user, now)
    return session, user


def require_password_changed(user: User) -> None:
    """A temporary password opens only the account routes until the customer sets their own (403)."""
    if user.must_change_password:
        raise Forbidden(
            "the password is temporary: set a new one with POST /v1/auth/password first", must_change_password=True
        )


def logout(session: Session) -> None:
    registry.delete_session(session.token_hash)


def revoke_sessions(login_id: str, now: datetime) -> int:
    """End every session of a login id (staff lock, reset, compromised report); returns how many were listed."""
    accounts.cut_off_sessions(login_id, now)
    return delete_sessions_of(login_id)


def delete_sessions_of(login_id: str) -> int:
    """Delete the session items the by-login index lists; returns how many."""
    token_hashes = registry.session_hashes_of_login(login_id)
    registry.delete_sessions(token_hashes)
    return len(token_hashes)


def change_password(user: User, current_password: str, new_password: str, now: datetime) -> SignIn:
    """The customer sets a new password: every session of the user ends, the caller's too, and a new session is
    returned in the same answer, so whoever held an old token (a thief included) is out and the caller is not.

    The current password is an attempt on the login id like a login's, counted before it is verified: a stolen
    session cannot be used to guess the password faster than the login form allows, and a locked account (423)
    cannot change it either. The new password's rules, which need no secret, are checked first.
    """
    terms.require_account_open(terms.get_contract(user.contract_id), now)
    check_password_policy(new_password, user.login_id, field="new_password")
    if hmac.compare_digest(new_password.encode(), current_password.encode()):
        raise ValidationError("new_password must differ from the current password", field="new_password")
    _count_attempt(user.login_id, now)
    if not verify_password(current_password, user.password_hash):
        raise Forbidden("the current password is not correct", field="current_password")
    changed = registry.set_user_password(  # also clears the counted attempts
        user.login_id, hash_password(new_password), must_change=False, sessions_valid_from=now
    )
    revoked = delete_sessions_of(user.login_id)
    signed_in = _open_session(changed, now)
    details = {"login_id": user.login_id, "was_temporary": user.must_change_password, "sessions_revoked": revoked}
    audit.record(
        user.contract_id,
        actor=audit.user_actor(user),
        action="user.password_changed",
        subject=user.user_id,
        details=details,
        now=now,
    )
    return signed_in


_TEMPORARY_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_TEMPORARY_CHARS = 22  # at least 22 * log2(62) = 131 bits, whichever letter is left out


def temporary_password(login_id: str) -> str:
    """A random one-time password that meets the policy, for a staff reset or a compromised report (never stored in
    plaintext).

    Made in one draw from an alphabet without the id's first character (either case), so it cannot contain the id:
    no retry loop whose end depends on the id (issue 10: an empty id once made such a loop spin forever). The id is
    checked first.
    """
    key = login_ids.parse(login_id)
    alphabet = [c for c in _TEMPORARY_ALPHABET if c.casefold() != key[0]]
    password = "".join(secrets.choice(alphabet) for _ in range(_TEMPORARY_CHARS))
    check_password_policy(password, key)  # holds by construction; a change that broke it must fail loudly
    return password
