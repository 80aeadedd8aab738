"""Data access for customer accounts beyond the registry: the lockout of unknown login ids, session cut-offs and the
removal of a user by an owner of the same contract."""

from __future__ import annotations

from datetime import datetime

from pynamodb.exceptions import DoesNotExist, PynamoDBException, TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from doti.errors import Conflict, NotFound, StorageError
from doti.store.models import LoginThrottleModel, UserModel

_THROTTLE_PREFIX = "login:"


def _is_cancelled(exc: PynamoDBException) -> bool:
    return getattr(exc, "cause_response_code", None) in (
        "ConditionalCheckFailedException",
        "TransactionCanceledException",
    )


def unknown_login_lock(key_hash: str) -> datetime | None:
    """Until when an unknown login id is locked (None: it is not)."""
    try:
        return LoginThrottleModel.get(_THROTTLE_PREFIX + key_hash).locked_until
    except DoesNotExist:
        return None
    except PynamoDBException as exc:
        raise StorageError("could not read the login lockout") from exc


def record_unknown_login_failure(key_hash: str, lock_after: int, locked_until: datetime, now: datetime) -> None:
    """Count a failed login on an unknown id; the count that reaches `lock_after` locks it until `locked_until`.

    The record expires (TTL) when the lock would, so only ids under attack leave anything behind, briefly.
    """
    item = LoginThrottleModel(throttle_key=_THROTTLE_PREFIX + key_hash)
    expires = int(max(locked_until, now).timestamp()) + 1
    try:
        item.update(actions=[LoginThrottleModel.failed_logins.add(1), LoginThrottleModel.expires_at.set(expires)])
        if item.failed_logins >= lock_after:
            item.update(
                actions=[LoginThrottleModel.locked_until.set(locked_until), LoginThrottleModel.failed_logins.set(0)]
            )
    except PynamoDBException as exc:
        raise StorageError("could not record the login failure") from exc


def cut_off_sessions(login_id: str, moment: datetime) -> None:
    """Sessions of the login id opened before `moment` stop working at once (the session index may lag)."""
    try:
        UserModel(login_id=login_id).update(
            actions=[UserModel.sessions_valid_from.set(moment)], condition=UserModel.login_id.exists()
        )
    except UpdateError as exc:
        if _is_cancelled(exc):
            raise NotFound("user not found") from exc
        raise StorageError("could not update the user") from exc


def delete_user_by_owner(login_id: str, contract_id: str, owner_login_id: str) -> None:
    """Delete a user of the contract, on condition that the owner who asks still is one of its owners.

    One transaction, so two owners removing each other at the same time cannot both succeed: a contract never loses
    its last owner. A user of another contract (or none) is NotFound; a lost race is a Conflict.
    """
    try:
        with TransactWrite(connection=UserModel._get_connection().connection) as transaction:
            transaction.delete(UserModel(login_id=login_id), condition=UserModel.contract_id == contract_id)
            transaction.condition_check(
                UserModel,
                owner_login_id,
                condition=(UserModel.contract_id == contract_id) & (UserModel.role == "owner"),
            )
    except TransactWriteError as exc:
        if not _is_cancelled(exc):
            raise StorageError("could not delete the user") from exc
        if _is_owner(owner_login_id, contract_id):
            raise NotFound("user not found") from exc  # so the target was not (or no longer) a user of the contract
        raise Conflict("you are no longer an owner of this contract") from exc


def _is_owner(login_id: str, contract_id: str) -> bool:
    try:
        item = UserModel.get(login_id, consistent_read=True)
    except DoesNotExist:
        return False
    except PynamoDBException as exc:
        raise StorageError("could not read the user") from exc
    return item.contract_id == contract_id and item.role == "owner"
