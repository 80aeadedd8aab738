"""Data access for customer accounts beyond the registry: the login attempts of every login id, session cut-offs,
the removal of a user by an owner of the same contract, and an owner's choice of mail alerts."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from pynamodb.exceptions import DeleteError, DoesNotExist, PynamoDBException, TransactWriteError, UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from doti.entities import User
from doti.errors import Conflict, NotFound, RateLimited, StorageError
from doti.store.models import LoginThrottleModel, UserModel
from doti.store.transactions import Transaction

_THROTTLE_PREFIX = "login:"
# A reservation loses a round only when another request moved the item between two of its calls (a window that
# lapsed, or a right password that cleared it); three lost rounds in a row mean a flood on one id.
_RESERVE_ROUNDS = 3


def _is_cancelled(exc: PynamoDBException) -> bool:
    return getattr(exc, "cause_response_code", None) in (
        "ConditionalCheckFailedException",
        "TransactionCanceledException",
    )


def _throttle(login_id: str) -> LoginThrottleModel:
    """The attempts item of a login id, keyed by its hash: ids nobody has are kept too, and not in the clear."""
    return LoginThrottleModel(throttle_key=_THROTTLE_PREFIX + hashlib.sha256(login_id.encode()).hexdigest())


def reserve_login_attempt(login_id: str, limit: int, window: timedelta, now: datetime) -> datetime | None:
    """Count a login attempt BEFORE its password is verified; None when it may be verified, else until when the id
    is locked.

    Each attempt is one conditional write, so however many arrive at once, at most `limit` are counted (and verified)
    per window; the window ends `window` after the last counted attempt, and once `limit` attempts are counted the id
    stays locked until then. A right password clears the count (`clear_login_attempts`).
    """
    item = _throttle(login_id)
    ends = now + window
    stamp = [
        LoginThrottleModel.window_ends_at.set(ends),
        LoginThrottleModel.expires_at.set(ends + timedelta(seconds=1)),
    ]
    lapsed = LoginThrottleModel.window_ends_at.does_not_exist() | (LoginThrottleModel.window_ends_at <= now)
    counting = (LoginThrottleModel.window_ends_at > now) & (LoginThrottleModel.failed_logins < limit)
    for _ in range(_RESERVE_ROUNDS):
        if _updated(item, [LoginThrottleModel.failed_logins.set(1), *stamp], lapsed):
            return None
        if _updated(item, [LoginThrottleModel.failed_logins.add(1), *stamp], counting):
            return None
        locked_until = _lock_end(item.throttle_key, limit, now)
        if locked_until is not None:
            return locked_until
    raise RateLimited("too many logins at once; try again shortly")


def _updated(item: LoginThrottleModel, actions: list[Action], condition: Condition) -> bool:
    try:
        item.update(actions=actions, condition=condition)
    except UpdateError as exc:
        if _is_cancelled(exc):
            return False
        raise StorageError("could not count the login attempt") from exc
    return True


def _lock_end(throttle_key: str, limit: int, now: datetime) -> datetime | None:
    try:
        item = LoginThrottleModel.get(throttle_key, consistent_read=True)
    except DoesNotExist:
        return None
    except PynamoDBException as exc:
        raise StorageError("could not read the login attempts") from exc
    if item.failed_logins >= limit and item.window_ends_at is not None and item.window_ends_at > now:
        return item.window_ends_at
    return None


def lock_end(login_id: str, limit: int, now: datetime) -> datetime | None:
    """When the login id's lock after `limit` counted failures ends; None when it is not locked."""
    return _lock_end(_throttle(login_id).throttle_key, limit, now)


def clear_login_attempts(login_id: str) -> None:
    """Forget a login id's counted attempts and lock (a right password, a staff unlock or a new password)."""
    try:
        _throttle(login_id).delete()
    except DeleteError as exc:
        raise StorageError("could not clear the login attempts") from exc


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


def delete_user_by_owner(login_id: str, user_id: str, contract_id: str, owner_login_id: str) -> None:
    """Delete a user of the contract, on condition that it is still the user the owner was shown (`user_id`: not a
    new holder of the same login id) and that the owner who asks still is one of its owners.

    One transaction, so two owners removing each other at the same time cannot both succeed: a contract never loses
    its last owner. A user of another contract (or none) is NotFound; a lost race is a Conflict.
    """
    try:
        with TransactWrite(connection=UserModel._get_connection().connection) as transaction:
            transaction.delete(
                UserModel(login_id=login_id),
                condition=(UserModel.contract_id == contract_id) & (UserModel.user_id == user_id),
            )
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


def add_mail_alerts(transaction: Transaction, *, user: User, events: frozenset[str]) -> None:
    """Set the event types an owner receives by e-mail (none: the attribute removed), in the transaction of its audit
    entry, on condition that the login id is still this person's and an owner's."""
    action = UserModel.mail_alerts.set(set(events)) if events else UserModel.mail_alerts.remove()
    transaction.update(
        UserModel(login_id=user.login_id),
        actions=[action],
        condition=(UserModel.user_id == user.user_id) & (UserModel.role == "owner"),
    )
