"""Passwords and sessions (SPEC §2, Art. 6): the password change and its rules, revocation on change and on a
compromised report, temporary passwords, the lockout that does not reveal which ids exist, consistent reads where a
revocation must count at once, last use (Art. 12-1-11), and logs that never hold a token, password or hash.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from doti.auth import customer
from doti.clock import utcnow
from doti.contracts import terms
from doti.errors import AccountLocked, DotiError, Unauthorized
from doti.observability import logger
from doti.oversight import audit
from doti.store import registry as registry_store
from doti.store.models import ContractModel
from doti.tokens import hash_token
from functions.viewer import app as viewer
from infra.provision import Provisioned
from tests.support import LambdaContext, admin_call, api_event, assert_error, body_of, customer_event, scan_table
from tests.support.hooks import botocore_hook
from tests.support.viewer import login, login_response

NEW_PASSWORD = "lighthouse-staple-9"


# helpers


def login_body(login_id: str, password: str) -> dict[str, Any]:
    response = login_response(login_id, password)
    assert response["statusCode"] == 200, response["body"]
    return body_of(response)


def change_password(token: str, current: str, new: str) -> dict[str, Any]:
    body = json.dumps({"current_password": current, "new_password": new})
    event = customer_event(
        "viewer/change_password.json",
        token,
        path="/v1/auth/password",
        resource="/v1/auth/password",
        method="POST",
        body=body,
    )
    return viewer.lambda_handler(event, LambdaContext())


def get(token: str, path: str) -> dict[str, Any]:
    event = customer_event("viewer/list_cameras.json", token, path=path, resource=path, query={})
    return viewer.lambda_handler(event, LambdaContext())


def me(token: str) -> dict[str, Any]:
    return get(token, "/v1/me")


def audit_entries(contract_id: str, action: str) -> list[audit.AuditEntry]:
    entries, _ = audit.entries(contract_id, limit=100)
    return [e for e in entries if e.action == action]


@pytest.fixture
def failing_contract_writes(aws: Provisioned) -> Iterator[None]:
    """Every write to the contracts table fails as if DynamoDB were unavailable (reads still work)."""
    table = aws.refs["ContractsTable"]

    def fail(model: Any, params: dict[str, Any], **_: Any) -> None:
        if model.name in {"UpdateItem", "PutItem"} and params.get("TableName") == table:
            raise ClientError({"Error": {"Code": "InternalServerError", "Message": "injected"}}, model.name)

    with botocore_hook("before-parameter-build", fail, "test-sessions-failing-writes"):
        yield


# the password change


@pytest.mark.parametrize(
    ("new_password", "problem"),
    [
        pytest.param("nine-char", "at least 10 characters", id="too-short"),
        pytest.param("{login_id}", "must not contain the login id", id="the-login-id"),
        pytest.param("my-{LOGIN_ID}-2026", "must not contain the login id", id="contains-the-login-id"),
        pytest.param("{current}", "must differ from the current password", id="the-current-password"),
    ],
)
def test_a_new_password_that_breaks_the_rules_is_refused_and_nothing_changes(world, new_password, problem):
    # Given a logged-in user
    token = login(world.login_id, world.password)
    candidate = new_password.format(login_id=world.login_id, LOGIN_ID=world.login_id.upper(), current=world.password)

    # When they try to change their password to one that breaks a rule
    response = change_password(token, world.password, candidate)

    # Then it is 422 on new_password, and the old password and the session still work
    error = assert_error(response, 422, "validation_error")
    assert error["details"]["field"] == "new_password"
    assert problem in error["message"]
    assert me(token)["statusCode"] == 200
    assert login_response(world.login_id, world.password)["statusCode"] == 200
    assert audit_entries(world.contract_id, "user.password_changed") == []


def test_a_ten_character_password_is_long_enough(world):
    # Given a logged-in user
    token = login(world.login_id, world.password)

    # When they choose a password of exactly the minimum length
    response = change_password(token, world.password, "x" * customer.MIN_PASSWORD_LENGTH)

    # Then it is accepted and opens a session
    assert response["statusCode"] == 200, response["body"]
    assert login_response(world.login_id, "x" * customer.MIN_PASSWORD_LENGTH)["statusCode"] == 200


def test_a_password_change_ends_every_session_and_answers_with_a_new_one(aws, world):
    # Given a user logged in on three devices
    tokens = [login(world.login_id, world.password) for _ in range(3)]

    # When they change their password from the first
    response = change_password(tokens[0], world.password, NEW_PASSWORD)

    # Then the answer carries a new session, and every old one (the caller's too) is gone
    assert response["statusCode"] == 200, response["body"]
    body = body_of(response)
    assert set(body) == {"token", "expires_at", "must_change_password"}
    assert body["must_change_password"] is False
    assert response["multiValueHeaders"]["Cache-Control"] == ["no-store"]
    assert me(body["token"])["statusCode"] == 200
    for token in tokens:
        assert_error(me(token), 401, "unauthorized")
    stored = {item["token_hash"]["S"] for item in scan_table(aws.refs["SessionsTable"])}
    assert stored & {hash_token(t) for t in tokens} == set()
    # and only the new password logs in
    assert_error(login_response(world.login_id, world.password), 401, "unauthorized")
    assert login_response(world.login_id, NEW_PASSWORD)["statusCode"] == 200
    # and the change is audited as the user's own act, with no password in it
    (entry,) = audit_entries(world.contract_id, "user.password_changed")
    user = registry_store.get_user(world.login_id)
    assert entry.actor == f"user:{user.user_id}"
    assert entry.details == {"login_id": world.login_id, "was_temporary": False, "sessions_revoked": 3}
    assert world.password not in json.dumps(entry.details)
    assert NEW_PASSWORD not in json.dumps(entry.details)


def test_a_session_the_index_missed_is_refused_after_a_password_change(world):
    # Given a session, and its stored item as it was before the change
    token = login(world.login_id, world.password)
    session, _ = customer.authenticate_session(f"Bearer {token}", utcnow())

    # When the password changes, and the old session item is back as if the eventually consistent index had
    # not listed it when the sessions were deleted
    assert change_password(token, world.password, NEW_PASSWORD)["statusCode"] == 200
    registry_store.put_session(session, session.created_at)

    # Then the old token is still refused: it was opened before the user's sessions were cut off
    assert_error(me(token), 401, "unauthorized")


def test_a_session_and_its_user_are_read_consistently(aws, world, aws_calls):
    # Given a session
    token = login(world.login_id, world.password)

    # When it is used
    aws_calls.clear()
    assert me(token)["statusCode"] == 200

    # Then the session and the user were read strongly consistently, so a logout, a removal or a revocation written a
    # moment before is never missed
    reads = {(params["TableName"], params.get("ConsistentRead")) for op, params in aws_calls if op == "GetItem"}
    assert (aws.refs["SessionsTable"], True) in reads
    assert (aws.refs["UsersTable"], True) in reads
    assert {table for table, consistent in reads if not consistent} & {
        aws.refs["SessionsTable"],
        aws.refs["UsersTable"],
    } == set()


def test_a_wrong_current_password_is_refused_and_counts_toward_the_lockout(world):
    # Given a session (say, a stolen one) whose holder does not know the password
    token = login(world.login_id, world.password)

    # When they guess the current password as many times as the lockout allows
    for _ in range(customer.LOCK_AFTER_FAILURES):
        error = assert_error(change_password(token, "not-the-password", NEW_PASSWORD), 403, "forbidden")
        assert error["details"] == {"field": "current_password"}

    # Then the account is locked: even the right current password and the login form answer 423
    assert_error(change_password(token, world.password, NEW_PASSWORD), 423, "account_locked")
    assert_error(login_response(world.login_id, world.password), 423, "account_locked")
    assert customer.verify_password(world.password, registry_store.get_user(world.login_id).password_hash)


def test_a_password_change_needs_a_session(world):
    # Given no session
    body = json.dumps({"current_password": world.password, "new_password": NEW_PASSWORD})
    event = api_event("viewer/change_password.json", headers={"Authorization": ""}, body=body)

    # When the change is posted
    response = viewer.lambda_handler(event, LambdaContext())

    # Then it is 401, and the password is unchanged
    assert_error(response, 401, "unauthorized")
    assert login_response(world.login_id, world.password)["statusCode"] == 200


# temporary passwords and the compromised report (Art. 6-3)


def test_a_compromised_report_ends_every_session_even_one_the_index_missed(world):
    # Given a user with two sessions, one of whose items will escape the index
    tokens = [login(world.login_id, world.password) for _ in range(2)]
    escaped, _ = customer.authenticate_session(f"Bearer {tokens[1]}", utcnow())

    # When staff record that the credentials are compromised
    response = admin_call("POST", f"/v1/admin/users/{world.login_id}/compromised", world.staff_key)
    assert response["statusCode"] == 200, response["body"]
    registry_store.put_session(escaped, escaped.created_at)

    # Then no old session works
    for token in tokens:
        assert_error(me(token), 401, "unauthorized")


def test_a_staff_reset_lifts_a_failed_login_lockout(world):
    # Given a user locked out by wrong passwords
    for _ in range(customer.LOCK_AFTER_FAILURES):
        assert_error(login_response(world.login_id, "not-the-password"), 401, "unauthorized")
    assert_error(login_response(world.login_id, world.password), 423, "account_locked")

    # When staff reset the password
    reset = admin_call("POST", f"/v1/admin/users/{world.login_id}/reset", world.staff_key)

    # Then the temporary password logs in at once
    assert login_response(world.login_id, body_of(reset)["temporary_password"])["statusCode"] == 200


def test_a_temporary_password_opens_only_the_account_until_it_is_changed(world):
    # Given a user whose credentials were reported compromised, logged in with the temporary password
    reset = admin_call("POST", f"/v1/admin/users/{world.login_id}/compromised", world.staff_key)
    temporary = body_of(reset)["temporary_password"]
    signed_in = login_body(world.login_id, temporary)
    token = signed_in["token"]
    assert signed_in["must_change_password"] is True

    # When they use the service before changing it
    cameras = get(token, "/v1/cameras")
    account = me(token)

    # Then the service refuses with a clear 403, and their account says why
    error = assert_error(cameras, 403, "forbidden")
    assert error["details"] == {"must_change_password": True}
    assert "/v1/auth/password" in error["message"]
    assert account["statusCode"] == 200
    assert body_of(account)["must_change_password"] is True

    # When they set their own password
    changed = change_password(token, temporary, NEW_PASSWORD)

    # Then the new session is served everywhere, and the flag is gone
    assert changed["statusCode"] == 200, changed["body"]
    new_token = body_of(changed)["token"]
    assert get(new_token, "/v1/cameras")["statusCode"] == 200
    assert body_of(me(new_token))["must_change_password"] is False
    (entry,) = audit_entries(world.contract_id, "user.password_changed")
    assert entry.details["was_temporary"] is True


# lockout without revealing which ids exist


def test_an_unknown_login_id_locks_like_a_real_one(aws, world):
    # Given a real id and an id nobody has, each failing as many times as the lockout allows
    ghost = f"ghost-{world.contract_id}"
    for login_id in (world.login_id, ghost):
        for _ in range(customer.LOCK_AFTER_FAILURES):
            assert_error(login_response(login_id, "not-the-password"), 401, "unauthorized")

    # When each tries once more
    real_response = login_response(world.login_id, "not-the-password")
    unknown_response = login_response(ghost, "not-the-password")
    real = assert_error(real_response, 423, "account_locked")
    unknown = assert_error(unknown_response, 423, "account_locked")

    # Then both are locked alike: the same message and the same kind of details
    assert real["message"] == unknown["message"]
    assert set(real["details"]) == set(unknown["details"]) == {"retry_after"}
    assert "Retry-After" in real_response["multiValueHeaders"]
    assert "Retry-After" in unknown_response["multiValueHeaders"]
    # and the unknown id is not stored in the clear
    assert ghost not in json.dumps(scan_table(aws.refs["SessionsTable"]))


def test_the_unknown_id_lock_passes_like_a_real_one(world):
    # Given an unknown id locked by five failures
    ghost = f"ghost-{world.contract_id}"
    started = utcnow()
    for _ in range(customer.LOCK_AFTER_FAILURES):
        with pytest.raises(Unauthorized):
            customer.sign_in(ghost, "not-the-password", started)

    # When it is tried during and after the 15 minutes
    with pytest.raises(AccountLocked):
        customer.sign_in(ghost, "not-the-password", started + customer.LOCK_DURATION - timedelta(seconds=1))
    with pytest.raises(Unauthorized):
        customer.sign_in(ghost, "not-the-password", started + customer.LOCK_DURATION + timedelta(seconds=1))


@pytest.fixture
def scrypt_calls(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, int]]:
    """Every hashlib.scrypt call's cost parameters (the real function still runs)."""
    calls: list[dict[str, int]] = []
    real = hashlib.scrypt

    def counting(password: bytes, *, salt: bytes, n: int, r: int, p: int, dklen: int, **kwargs: Any) -> bytes:
        calls.append({"n": n, "r": r, "p": p, "dklen": dklen})
        return real(password, salt=salt, n=n, r=r, p=p, dklen=dklen, **kwargs)

    monkeypatch.setattr(hashlib, "scrypt", counting)
    return calls


def test_every_open_login_path_costs_one_scrypt_and_a_locked_id_none(world, scrypt_calls):
    # Given a real id, a locked real id and a locked unknown id
    ghost = f"ghost-{world.contract_id}"
    paths = {
        "right password": (world.login_id, world.password),
        "wrong password": (world.login_id, "not-the-password"),
        "unknown id": (f"nobody-{world.contract_id}", "not-the-password"),
    }
    costs = {}
    for name, (login_id, password) in paths.items():
        scrypt_calls.clear()
        login_response(login_id, password)
        costs[name] = list(scrypt_calls)
    for login_id in (world.login_id, ghost):
        for _ in range(customer.LOCK_AFTER_FAILURES):
            login_response(login_id, "not-the-password")

    # When the locked ids are tried
    for name, login_id in (("locked real id", world.login_id), ("locked unknown id", ghost)):
        scrypt_calls.clear()
        assert_error(login_response(login_id, "not-the-password"), 423, "account_locked")
        costs[name] = list(scrypt_calls)

    # Then each open path verified exactly one scrypt hash, all with the cost of a stored password
    stored = registry_store.get_user(world.login_id).password_hash.split("$")
    expected = {"n": int(stored[1]), "r": int(stored[2]), "p": int(stored[3]), "dklen": 32}
    assert {name: costs[name] for name in paths} == {name: [expected] for name in paths}
    # and a locked id, real or not, is refused before any password is verified
    assert costs["locked real id"] == costs["locked unknown id"] == []


def sign_in_outcome(login_id: str, password: str, now: datetime) -> tuple[str, str | None, datetime | None]:
    try:
        customer.sign_in(login_id, password, now)
    except DotiError as exc:
        return exc.code, exc.message, exc.retry_at
    return "accepted", None, None


def test_a_real_and_an_unknown_id_make_the_same_calls_and_get_the_same_answers(aws, world, aws_calls):
    # Given a schedule of wrong passwords: four, a pause longer than the lockout window, six more (the sixth within
    # the window of the fifth), and one after that lock has passed
    window = customer.LOCK_DURATION
    start = utcnow()
    resumed = start + window + timedelta(minutes=1)
    schedule = [start + timedelta(seconds=i) for i in range(4)]
    schedule += [resumed + timedelta(seconds=i) for i in range(6)]
    schedule.append(resumed + timedelta(seconds=4) + window + timedelta(seconds=1))

    def run(login_id: str) -> tuple[list[Any], list[list[tuple[str, str | None]]]]:
        answers, calls = [], []
        for now in schedule:
            aws_calls.clear()
            answers.append(sign_in_outcome(login_id, "not-the-password", now))
            calls.append([(operation, params.get("TableName")) for operation, params in aws_calls])
        return answers, calls

    # When a real id and an id nobody has each follow it
    real_answers, real_calls = run(world.login_id)
    unknown_answers, unknown_calls = run(f"ghost-{world.contract_id}")

    # Then the earlier four lapsed for both, the next five failed, the sixth was locked until 15 minutes after the
    # fifth, and the last failed again
    codes = [code for code, _, _ in real_answers]
    assert codes == ["unauthorized"] * 9 + ["account_locked", "unauthorized"]
    assert real_answers[9][2] == schedule[8] + window
    # and the two ids got the same answers from the same sequence of AWS calls on the same tables
    assert unknown_answers == real_answers
    assert unknown_calls == real_calls
    assert {table for attempt in real_calls for _, table in attempt} == {
        aws.refs["SessionsTable"],
        aws.refs["UsersTable"],
    }


# last use of the service (Art. 12-1-11)


def test_any_authenticated_request_records_use_at_most_hourly(world):
    # Given a session opened (and its use recorded) two hours ago
    two_hours_ago = utcnow() - timedelta(hours=2)
    token, _ = customer.login(world.login_id, world.password, two_hours_ago)
    assert terms.get_contract(world.contract_id).last_used_at == two_hours_ago

    # When the customer uses the service now, several times
    before = utcnow()
    assert me(token)["statusCode"] == 200
    recorded = ContractModel.get(world.contract_id)
    for _ in range(3):
        assert me(token)["statusCode"] == 200

    # Then the first request recorded the use, and the others wrote nothing (the item's version did not move)
    assert recorded.last_used_at >= before
    after = ContractModel.get(world.contract_id)
    assert (after.last_used_at, after.version) == (recorded.last_used_at, recorded.version)


def test_requests_on_a_temporary_password_are_not_use_of_the_service(world):
    # Given a contract never used, whose user holds a temporary password after a compromised report
    reset = admin_call("POST", f"/v1/admin/users/{world.login_id}/compromised", world.staff_key)
    token = login(world.login_id, body_of(reset)["temporary_password"])

    # When the user reaches the service (refused until the password is changed) and their account
    assert_error(get(token, "/v1/cameras"), 403, "forbidden")
    assert me(token)["statusCode"] == 200

    # Then no use was recorded: the service was not used yet
    assert terms.get_contract(world.contract_id).last_used_at is None


def test_a_failure_to_record_use_is_logged_and_the_request_still_served(world, caplog, failing_contract_writes):
    # Given a session whose use was last recorded two hours ago, and contract writes that fail
    caplog.set_level(logging.WARNING, logger=logger.name)
    token, _ = customer.login(world.login_id, world.password, utcnow() - timedelta(hours=2))
    caplog.clear()

    # When the customer uses the service
    response = me(token)

    # Then the request is served, and the failure is a warning in the log
    assert response["statusCode"] == 200, response["body"]
    assert "could not record the use of the service" in [r.getMessage() for r in caplog.records]


def test_processes_that_see_the_hour_pass_write_the_last_use_once(world):
    # Given two Lambda processes, and a contract whose use the first recorded
    first, second = terms.UseRecorder(), terms.UseRecorder()
    start = utcnow()
    first.record(world.contract_id, start)
    version = ContractModel.get(world.contract_id).version

    # When the second sees a use within the hour
    second.record(world.contract_id, start + timedelta(minutes=10))

    # Then nothing is written
    assert ContractModel.get(world.contract_id).version == version

    # When both see uses after the hour
    second.record(world.contract_id, start + timedelta(minutes=61))
    first.record(world.contract_id, start + timedelta(minutes=62))

    # Then exactly one write happened, the first of the new hour
    item = ContractModel.get(world.contract_id)
    assert item.version == version + 1
    assert item.last_used_at == start + timedelta(minutes=61)


# logs


def test_no_log_line_holds_a_token_password_or_hash(aws, world, caplog, capsys):
    # Given the functions' logger at DEBUG, every record of it and of Powertools kept, and stdout captured
    logger.setLevel(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger=logger.name)
    caplog.set_level(logging.DEBUG, logger="aws_lambda_powertools")
    try:
        # When a user fails a login, logs in, uses the service, changes the password and logs in with it
        old_hash = registry_store.get_user(world.login_id).password_hash
        login_response(world.login_id, "wrong-password-guess")
        old_token = login(world.login_id, world.password)
        me(old_token)
        new_token = body_of(change_password(old_token, world.password, NEW_PASSWORD))["token"]
        me(new_token)
        last_token = login_body(world.login_id, NEW_PASSWORD)["token"]
    finally:
        logger.setLevel(logging.INFO)

    # Then lines were logged, and none of them holds a token, a password, or a hash of either
    lines = capsys.readouterr().out + "\n" + "\n".join(r.getMessage() + " " + str(r.__dict__) for r in caplog.records)
    assert "request refused" in lines
    password_hash = registry_store.get_user(world.login_id).password_hash
    tokens = [old_token, new_token, last_token]
    secrets = [
        *tokens,
        *(token.removeprefix(customer.TOKEN_PREFIX) for token in tokens),
        *(hash_token(token) for token in tokens),
        world.password,
        NEW_PASSWORD,
        "wrong-password-guess",
        old_hash,
        old_hash.rsplit("$", 1)[-1],
        password_hash,
        password_hash.rsplit("$", 1)[-1],
    ]
    leaked = [s for s in secrets if s in lines]
    assert leaked == []
    assert all(item["password_hash"]["S"].startswith("scrypt$") for item in scan_table(aws.refs["UsersTable"]))
