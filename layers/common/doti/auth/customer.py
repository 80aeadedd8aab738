"""Customer passwords and sessions (SPEC §2, Art. 6).

Passwords: scrypt with a per-user salt. Sessions: opaque random tokens, stored only as SHA-256, with TTL.
A staff lock refuses login and every session (423) until staff unlock; a staff reset or a compromised report
(Art. 6-3) sets a temporary password the customer must change, and ends every session of the login id.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from doti.clock import format_rfc3339
from doti.entities import Session, User
from doti.errors import AccountLocked, ContractTerminated, NotFound, Unauthorized, ValidationError
from doti.store import registry

MIN_PASSWORD_LENGTH = 10
LOCK_AFTER_FAILURES = 5
LOCK_DURATION = timedelta(minutes=15)
SESSION_LIFETIME = timedelta(hours=12)
_ENDED_STATES = frozenset({"terminated", "purged"})
TOKEN_PREFIX = "dst_"  # noqa: S105 - a prefix that makes leaked tokens recognisable, not a secret

# scrypt cost: N=2^14, r=8 (16 MiB, ~50 ms here): memory-hard, affordable in a 512 MB Lambda.
_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**14, 8, 1
# Verified against when the login id is unknown, so both paths cost one scrypt.
_DUMMY_HASH = "scrypt$16384$8$1$" + base64.b64encode(b"\0" * 16).decode() + "$" + base64.b64encode(b"\0" * 32).decode()


def normalize_login_id(login_id: str) -> str:
    return login_id.strip().lower()


def check_password_policy(password: str, login_id: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationError(f"password must have at least {MIN_PASSWORD_LENGTH} characters", field="password")
    if normalize_login_id(login_id) in password.lower():
        raise ValidationError("password must not contain the login id", field="password")


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_SCRYPT_N, r=_SCRYPT_R, p=_SCRYPT_P, dklen=32)
    b64 = base64.b64encode
    return f"scrypt${_SCRYPT_N}${_SCRYPT_R}${_SCRYPT_P}${b64(salt).decode()}${b64(digest).decode()}"


def verify_password(password: str, stored: str) -> bool:
    _, n, r, p, salt, digest = stored.split("$")
    expected = base64.b64decode(digest)
    actual = hashlib.scrypt(
        password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p), dklen=len(expected)
    )
    return hmac.compare_digest(actual, expected)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class SignIn:
    token: str
    session: Session
    # Set by a staff reset or a compromised report: the password is a temporary one the customer must change.
    must_change_password: bool


def login(login_id: str, password: str, now: datetime) -> tuple[str, Session]:
    """A new session token for valid credentials. Unknown ids and wrong passwords fail alike."""
    signed_in = sign_in(login_id, password, now)
    return signed_in.token, signed_in.session


def _refuse_staff_lock(user: User) -> None:
    if user.locked_by_staff:
        raise AccountLocked("the account is locked by the service operator; contact support", locked_by_staff=True)


def _refuse_ended_contract(user: User) -> None:
    """No new session for a terminated or purged contract (SPEC §3: its sessions are revoked)."""
    if registry.get_contract(user.contract_id).state in _ENDED_STATES:
        raise ContractTerminated("the contract has ended")


def sign_in(login_id: str, password: str, now: datetime) -> SignIn:
    """`login`, also telling whether the password is a temporary one that must be changed."""
    key = normalize_login_id(login_id)
    try:
        user: User | None = registry.get_user(key)
    except NotFound:
        user = None
    valid = verify_password(password, user.password_hash if user else _DUMMY_HASH)
    if user is None:
        raise Unauthorized("invalid login id or password")
    if user.locked_until and user.locked_until > now:
        raise AccountLocked("too many failed logins; try again later", retry_after=format_rfc3339(user.locked_until))
    if not valid:
        registry.record_login_failure(key, LOCK_AFTER_FAILURES, now + LOCK_DURATION)
        raise Unauthorized("invalid login id or password")
    _refuse_staff_lock(user)  # after the password check, so the lock is told only to who knows the password
    _refuse_ended_contract(user)
    if user.failed_logins or user.locked_until:
        registry.clear_login_failures(key)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session = Session(
        token_hash=hash_token(token),
        login_id=user.login_id,
        user_id=user.user_id,
        contract_id=user.contract_id,
        expires_at=now + SESSION_LIFETIME,
    )
    registry.put_session(session, now)
    return SignIn(token=token, session=session, must_change_password=user.must_change_password)


def authenticate_session(authorization: str | None, now: datetime) -> tuple[Session, User]:
    """The session and user behind an `Authorization: Bearer` header."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("missing bearer token")
    try:
        session = registry.get_session(hash_token(token.strip()))
        user = registry.get_user(session.login_id)
    except NotFound as exc:
        raise Unauthorized("invalid or expired session") from exc
    if session.expires_at <= now or user.user_id != session.user_id:
        raise Unauthorized("invalid or expired session")
    # A lock revokes the sessions too; this also covers one the sessions index had not listed yet.
    _refuse_staff_lock(user)
    return session, user


def logout(session: Session) -> None:
    registry.delete_session(session.token_hash)


def revoke_sessions(login_id: str) -> int:
    """End every session of a login id (staff lock, reset, compromised report); returns how many there were."""
    token_hashes = registry.session_hashes_of_login(login_id)
    registry.delete_sessions(token_hashes)
    return len(token_hashes)


def temporary_password(login_id: str) -> str:
    """A random one-time password that meets the policy, for a staff reset (never stored in plaintext)."""
    while True:
        candidate = secrets.token_urlsafe(15)  # 20 characters, 120 bits
        try:
            check_password_policy(candidate, login_id)
        except ValidationError:
            continue  # the random text happened to contain the login id
        return candidate
