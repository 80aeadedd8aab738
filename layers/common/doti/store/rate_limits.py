"""Counters in the sessions table, kept only as long as they matter (DynamoDB TTL): fixed-window rate limits (the
public request form's per-ip and per-site limits, the mail alerts' per-contract limit) and once-only marks (a mail
alert sent for an event, never again)."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any

from pynamodb.exceptions import DeleteError, PynamoDBException, UpdateError

from doti.errors import StorageError
from doti.store.conditions import is_condition_failure
from doti.store.models import RateCounterModel

_RATE_PREFIX = "rate:"
_ONCE_PREFIX = "once:"


def _add_one(item: RateCounterModel, expires_at: datetime, condition: Any, failure: str) -> bool:
    """ADD 1 to the counter, kept until `expires_at`, if `condition` holds; False when it did not."""
    try:
        item.update(
            actions=[RateCounterModel.count.add(1), RateCounterModel.expires_at.set(expires_at)], condition=condition
        )
    except UpdateError as exc:
        if is_condition_failure(exc):
            return False
        raise StorageError(failure) from exc
    except PynamoDBException as exc:
        raise StorageError(failure) from exc
    return True


def count_in_window(scope: str, limit: int, window: timedelta, now: datetime) -> bool:
    """Count one submission against `scope`'s limit in the fixed window that holds `now`; False (nothing counted)
    once `limit` are counted. One conditional ADD: however many arrive at once, at most `limit` are counted."""
    seconds = int(window.total_seconds())
    start = int(now.timestamp()) // seconds * seconds
    digest = hashlib.sha256(f"{scope}#{start}".encode()).hexdigest()
    item = RateCounterModel(counter_key=_RATE_PREFIX + digest)
    ends = datetime.fromtimestamp(start + seconds, now.tzinfo)
    below = RateCounterModel.count.does_not_exist() | (RateCounterModel.count < limit)
    return _add_one(item, ends + timedelta(seconds=1), below, "could not count the submission")


def _once_item(scope: str) -> RateCounterModel:
    return RateCounterModel(counter_key=_ONCE_PREFIX + hashlib.sha256(scope.encode()).hexdigest())


def claim_once(scope: str, until: datetime) -> bool:
    """Mark `scope` done, kept until `until`; False when it was marked already (by another attempt, or a retry of
    this write whose answer was lost: the caller cannot tell, and must treat it as done)."""
    return _add_one(_once_item(scope), until, RateCounterModel.count.does_not_exist(), "could not mark it done")


def release_once(scope: str) -> None:
    """Undo `claim_once` for work that did not happen after all, so a later attempt may do it."""
    try:
        _once_item(scope).delete()
    except (DeleteError, PynamoDBException) as exc:
        raise StorageError("could not release the mark") from exc
