"""Customer login, lockout, sessions and the bearer check on every customer route (SPEC §2, §10, §12)."""

from __future__ import annotations

import hashlib
import json
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from moto.dynamodb.models import DynamoDBBackend

from doti.auth import customer
from doti.clock import parse_rfc3339, utcnow
from doti.contracts import lifecycle, registry, terms
from doti.errors import AccountLocked, DotiError
from doti.oversight import audit
from doti.store import registry as registry_store
from doti.tokens import hash_token
from functions.viewer import app as viewer
from tests.support import LambdaContext, api_event, assert_error, body_of, scan_table
from tests.support.viewer import login, login_response

# (method, path, resource) of every customer route that needs a session; {cam} and {frame} are filled in per test.
CUSTOMER_ROUTES = [
    ("POST", "/v1/auth/logout", "/v1/auth/logout"),
    ("GET", "/v1/me", "/v1/me"),
    ("GET", "/v1/cameras", "/v1/cameras"),
    ("GET", "/v1/cameras/{cam}/frames", "/v1/cameras/{camera_id}/frames"),
    ("GET", "/v1/cameras/{cam}/frames/{frame}", "/v1/cameras/{camera_id}/frames/{frame_id}"),
]
A_FRAME_ID = "01KAXYZ0000000000000000000"


def call(method: str, path: str, resource: str, headers: dict[str, str]) -> dict[str, Any]:
    event = api_event(
        "viewer/list_cameras.json",
        method=method,
        path=path,
        resource=resource,
        headers=headers,
        replace_headers=True,
        query={},
    )
    return viewer.lambda_handler(event, LambdaContext())


def me(token: str) -> dict[str, Any]:
    return call("GET", "/v1/me", "/v1/me", {"Authorization": f"Bearer {token}"})


def test_login_returns_a_token_and_its_expiry(world):
    # Given a customer user
    before = utcnow()

    # When they log in with the right password
    response = login_response(world.login_id, world.password)

    # Then they get an opaque token and when it expires, and the token opens their session
    assert response["statusCode"] == 200, response["body"]
    body = body_of(response)
    assert set(body) == {"token", "expires_at", "must_change_password"}
    assert body["must_change_password"] is False
    assert body["token"].startswith(customer.TOKEN_PREFIX)
    assert len(body["token"]) > 40
    assert body["expires_at"].endswith("Z")
    expires_at = parse_rfc3339(body["expires_at"], "expires_at")
    assert before + customer.SESSION_LIFETIME <= expires_at <= utcnow() + customer.SESSION_LIFETIME
    assert response["multiValueHeaders"]["Cache-Control"] == ["no-store"]
    assert me(body["token"])["statusCode"] == 200


def full_width(text: str) -> str:
    """The full-width spelling of an ASCII text (U+FF01..U+FF5E mirror U+0021..U+007E)."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


@pytest.mark.parametrize(
    "spelling",
    [
        lambda i: f"  {i.upper()} ",
        full_width,
        lambda i: full_width(i.upper()),
        lambda i: f"\u3000{i}\u3000",
    ],
    ids=["upper-case-spaced", "full-width", "full-width-upper-case", "ideographic-spaces"],
)
def test_login_id_is_read_as_its_one_spelling(world, spelling):
    # Given a user whose login id was registered in lower case
    # When they type it another way that doti.accounts.login_ids reads as the same id
    token = login(spelling(world.login_id), world.password)

    # Then they are logged in as that user
    assert body_of(me(token))["login_id"] == world.login_id


def test_wrong_password_and_unknown_login_id_fail_alike(world):
    # Given a user
    # When one login has a wrong password and another an id nobody has
    wrong_password = login_response(world.login_id, world.password + "x")
    unknown_id = login_response(f"nobody-{world.contract_id}", world.password)

    # Then both are 401 with the same error, so the answer does not reveal which ids exist
    wrong = assert_error(wrong_password, 401, "unauthorized")
    unknown = assert_error(unknown_id, 401, "unauthorized")
    assert wrong == unknown


def test_login_with_a_malformed_body_is_a_validation_error(world):
    # Given a login body without a password
    event = api_event("viewer/login.json", body=json.dumps({"login_id": world.login_id}))

    # When it is posted
    response = viewer.lambda_handler(event, LambdaContext())

    # Then it is refused as invalid, naming the missing field
    error = assert_error(response, 422, "validation_error")
    assert any(p["field"] == "password" for p in error["details"]["problems"])


def test_five_failures_lock_the_account_for_fifteen_minutes(world):
    # Given a user who mistypes the password five times
    started = utcnow()
    for _ in range(customer.LOCK_AFTER_FAILURES):
        assert_error(login_response(world.login_id, "not-the-password"), 401, "unauthorized")

    # When they then use the right password
    locked = login_response(world.login_id, world.password)

    # Then the account is locked for 15 minutes, even with the right password
    error = assert_error(locked, 423, "account_locked")
    retry_after = error["details"]["retry_after"]
    assert retry_after.endswith("Z")
    until = parse_rfc3339(retry_after, "retry_after")
    fifteen_minutes = timedelta(minutes=15)
    assert started + fifteen_minutes <= until <= utcnow() + fifteen_minutes
    # and the HTTP header says how long to wait, in whole seconds
    assert 0 < int(locked["multiValueHeaders"]["Retry-After"][0]) <= fifteen_minutes.total_seconds()
    # and a wrong password during the lock says locked too (the count does not restart the lock)
    assert_error(login_response(world.login_id, "not-the-password"), 423, "account_locked")
    # and just before the lock ends it still holds
    with pytest.raises(AccountLocked):
        customer.login(world.login_id, world.password, until - timedelta(seconds=1))

    # When the lock has passed
    token, _ = customer.login(world.login_id, world.password, until + timedelta(seconds=1))

    # Then the right password opens a working session
    assert me(token)["statusCode"] == 200


def test_a_successful_login_resets_the_failure_count(world):
    # Given a user who failed four times and then logged in
    for _ in range(customer.LOCK_AFTER_FAILURES - 1):
        assert_error(login_response(world.login_id, "not-the-password"), 401, "unauthorized")
    login(world.login_id, world.password)

    # When they fail four more times
    for _ in range(customer.LOCK_AFTER_FAILURES - 1):
        assert_error(login_response(world.login_id, "not-the-password"), 401, "unauthorized")

    # Then the account is not locked: the earlier failures no longer count
    assert login_response(world.login_id, world.password)["statusCode"] == 200


@pytest.fixture
def atomic_dynamodb(monkeypatch: pytest.MonkeyPatch) -> None:
    """DynamoDB applies each item write atomically, condition and all; moto, called from several threads, can let two
    writes pass one condition. One lock around moto's item operations restores DynamoDB's behaviour."""
    lock = threading.RLock()

    def locked(real: Callable[..., Any]) -> Callable[..., Any]:
        def call(self: DynamoDBBackend, *args: Any, **kwargs: Any) -> Any:
            with lock:
                return real(self, *args, **kwargs)

        return call

    for name in ("get_item", "put_item", "update_item", "delete_item"):
        monkeypatch.setattr(DynamoDBBackend, name, locked(getattr(DynamoDBBackend, name)))


WRONG_GUESS = "not-the-password"


class HeldGuesses:
    """Wrong guesses on threads, each held inside its scrypt verification until `release`: the moment an attempt has
    been let through but not judged yet, where a lockout that checks before it counts is outrun."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.outcomes: list[str] = []
        self.verified = 0
        self._lock = threading.Lock()
        self._arrived = threading.Semaphore(0)
        self._open = threading.Event()
        self._threads: list[threading.Thread] = []
        real = hashlib.scrypt

        def held(password: bytes, **kwargs: Any) -> bytes:
            if password == WRONG_GUESS.encode():
                with self._lock:
                    self.verified += 1
                self._arrived.release()
                self._open.wait(timeout=60)
            return real(password, **kwargs)

        monkeypatch.setattr(hashlib, "scrypt", held)

    def start(self, attempt: Callable[[str], Any], count: int) -> None:
        """Start `count` wrong guesses at once; returns when each is held in its verification or answered."""

        def guess() -> None:
            outcome = outcome_of(attempt, WRONG_GUESS)
            with self._lock:
                self.outcomes.append(outcome)
            self._arrived.release()

        self._threads = [threading.Thread(target=guess) for _ in range(count)]
        for thread in self._threads:
            thread.start()
        for _ in range(count):
            assert self._arrived.acquire(timeout=30), "a guess neither reached its verification nor was answered"

    def release(self) -> None:
        self._open.set()
        for thread in self._threads:
            thread.join(timeout=60)


@pytest.fixture
def held_guesses(monkeypatch: pytest.MonkeyPatch) -> Iterator[HeldGuesses]:
    guesses = HeldGuesses(monkeypatch)
    yield guesses
    guesses.release()


def outcome_of(attempt: Callable[[str], Any], password: str) -> str:
    try:
        attempt(password)
    except DotiError as exc:
        return exc.code
    return "accepted"


@pytest.mark.parametrize(("route", "wrong_code"), [("login", "unauthorized"), ("password change", "forbidden")])
def test_concurrent_guesses_are_counted_before_they_are_verified(
    aws, world, atomic_dynamodb, held_guesses, route, wrong_code
):
    # Given a user with a session (on the password change, say a stolen one whose holder guesses the password)
    now = utcnow()
    token, _ = customer.login(world.login_id, world.password, now)
    _, user = customer.authenticate_session(f"Bearer {token}", now)

    def attempt(password: str) -> Any:
        if route == "login":
            return customer.sign_in(world.login_id, password, now)
        return customer.change_password(user, password, "lighthouse-staple-9", now)

    # When twelve wrong guesses arrive at once, and the right password is tried while the guesses let through are
    # still being verified
    held_guesses.start(attempt, 12)
    right = outcome_of(attempt, world.password)
    held_guesses.release()

    # Then only as many guesses as the lockout allows were ever verified, the rest and the right password are 423
    assert held_guesses.verified == customer.LOCK_AFTER_FAILURES
    assert Counter(held_guesses.outcomes) == {wrong_code: customer.LOCK_AFTER_FAILURES, "account_locked": 7}
    assert right == "account_locked"
    # and no session was opened nor the password changed by the right one
    sessions = [i for i in scan_table(aws.refs["SessionsTable"]) if i.get("login_id", {}).get("S") == world.login_id]
    assert len(sessions) == 1
    assert customer.verify_password(world.password, registry_store.get_user(world.login_id).password_hash)
    assert outcome_of(attempt, world.password) == "account_locked"


def test_failures_on_unknown_ids_lock_no_real_user(world):
    # Given enough failed logins on an id that does not exist to lock it (tests/customer/test_sessions.py: it locks
    # like a real one, so the lockout does not reveal which ids exist)
    for _ in range(customer.LOCK_AFTER_FAILURES):
        assert_error(login_response(f"ghost-{world.contract_id}", "whatever-password"), 401, "unauthorized")

    # When the real user logs in
    # Then the real user was not locked
    assert login_response(world.login_id, world.password)["statusCode"] == 200


def test_session_token_and_password_are_stored_only_as_hashes(aws, world):
    # Given a logged-in user
    token = login(world.login_id, world.password)

    # When the sessions and users tables are read
    sessions = scan_table(aws.refs["SessionsTable"])
    users = scan_table(aws.refs["UsersTable"])

    # Then no item holds the token or the password, and the session is keyed by the token's SHA-256
    assert token not in json.dumps(sessions)
    assert token.removeprefix(customer.TOKEN_PREFIX) not in json.dumps(sessions)
    assert hashlib.sha256(token.encode()).hexdigest() in {item["token_hash"]["S"] for item in sessions}
    assert world.password not in json.dumps(users)
    assert all(item["password_hash"]["S"].startswith("scrypt$") for item in users)


def test_the_same_password_is_stored_under_a_different_salt_for_each_user(world):
    # Given two users who chose the same password
    shared = "correct-horse-battery"
    logins = [f"same-{i}-{world.contract_id}" for i in range(2)]
    for login_id in logins:
        registry.create_user(
            world.contract_id,
            login_id=login_id,
            name="Same",
            role="viewer",
            password=shared,
            site_ids=None,
            now=utcnow(),
        )

    # When their stored hashes are compared
    first, second = (registry_store.get_user(login_id).password_hash for login_id in logins)

    # Then salts and digests differ, and each still verifies the password
    assert first.split("$")[4] != second.split("$")[4]
    assert first.split("$")[5] != second.split("$")[5]
    assert customer.verify_password(shared, first)
    assert customer.verify_password(shared, second)


def test_logout_ends_the_session(aws, world):
    # Given two sessions of the same user
    token = login(world.login_id, world.password)
    other = login(world.login_id, world.password)

    # When the first one logs out
    response = call("POST", "/v1/auth/logout", "/v1/auth/logout", {"Authorization": f"Bearer {token}"})

    # Then logout answers 204, that token no longer works, and the other session is untouched
    assert response["statusCode"] == 204
    assert not response.get("body")
    assert_error(me(token), 401, "unauthorized")
    assert_error(
        call("POST", "/v1/auth/logout", "/v1/auth/logout", {"Authorization": f"Bearer {token}"}), 401, "unauthorized"
    )
    assert me(other)["statusCode"] == 200
    stored = {item["token_hash"]["S"] for item in scan_table(aws.refs["SessionsTable"])}
    assert hash_token(token) not in stored


def test_an_expired_session_is_refused(world):
    # Given a session that was opened more than its lifetime ago
    token, _ = customer.login(world.login_id, world.password, utcnow() - customer.SESSION_LIFETIME - timedelta(1))

    # When it is used
    # Then it is unauthorized
    assert_error(me(token), 401, "unauthorized")


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "",
        "Bearer",
        "Bearer ",
        "Basic b3duZXI6cGFzc3dvcmQ=",
        "Token {token}",
        "Bearer dst_not-a-real-session-token",
        "Bearer {token}x",
    ],
    ids=["absent", "empty", "scheme-only", "blank-token", "basic", "other-scheme", "unknown-token", "altered-token"],
)
def test_every_customer_route_needs_a_valid_bearer_token(world, authorization):
    # Given a logged-in user and requests without a usable Authorization header
    token = login(world.login_id, world.password)
    headers = {} if authorization is None else {"Authorization": authorization.format(token=token)}

    for method, path, resource in CUSTOMER_ROUTES:
        # When each customer route is called
        response = call(method, path.format(cam=world.camera_id, frame=A_FRAME_ID), resource, headers)

        # Then it is 401 with the SPEC error shape and a Bearer challenge
        assert_error(response, 401, "unauthorized")
        assert response["multiValueHeaders"]["WWW-Authenticate"] == ['Bearer realm="doti"']
    # and the real session was not ended by a refused logout
    assert me(token)["statusCode"] == 200


def test_bearer_scheme_is_case_insensitive(world):
    # Given a session token
    token = login(world.login_id, world.password)

    # When the scheme is written in lower case
    response = call("GET", "/v1/me", "/v1/me", {"authorization": f"bearer {token}"})

    # Then the session is accepted
    assert response["statusCode"] == 200, response["body"]


def test_a_login_records_use_of_the_service_at_most_hourly(world):
    # Given a contract never used
    assert terms.get_contract(world.contract_id).last_used_at is None

    # When the customer logs in twice in a row
    login(world.login_id, world.password)
    first = terms.get_contract(world.contract_id).last_used_at
    login(world.login_id, world.password)
    second = terms.get_contract(world.contract_id).last_used_at

    # Then the first login recorded the use, and the second (within the hour) wrote nothing new
    assert first is not None
    assert second == first


def test_a_terminated_contract_cannot_sign_in(world):
    # Given a contract that staff terminated (Art. 12-2)
    lifecycle.transition(
        world.contract_id,
        "terminated",
        "art12-2",
        "antisocial forces",
        None,
        audit.job_actor("test"),
        utcnow(),
        purge_grace_days=30,
    )

    # When its user logs in with the right password
    response = login_response(world.login_id, world.password)

    # Then no session is created: 403 contract_terminated
    assert_error(response, 403, "contract_terminated")
