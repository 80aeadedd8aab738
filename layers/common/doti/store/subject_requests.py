"""Data access for requests from people filmed (doti.subjects.requests), and the fixed-window counters that limit how
many the public form accepts.

A request's changes are conditional on the revision they read (+1 each time), so two answers given at once, or a job
and an answer, never overwrite each other: the second is cancelled and reads again.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any

from pynamodb.exceptions import PynamoDBException, UpdateError

from doti.entities import SubjectRequest
from doti.errors import NotFound, StorageError
from doti.store.mapping import to_entity, to_item
from doti.store.models import RateCounterModel, SubjectRequestModel
from doti.store.transactions import Transaction

_RATE_PREFIX = "rate:"


def _request(item: SubjectRequestModel) -> SubjectRequest:
    return to_entity(SubjectRequest, item, answers=tuple(item.answers or ()))


def add_new_request(transaction: Transaction, request: SubjectRequest) -> None:
    """Store a new request, in the transaction of its "subject_request.received" entry."""
    item = to_item(SubjectRequestModel, request, answers=list(request.answers) or None)
    transaction.save(item, condition=SubjectRequestModel.request_id.does_not_exist())


def get_request(request_id: str) -> SubjectRequest:
    try:
        return _request(SubjectRequestModel.get(request_id, consistent_read=True))
    except SubjectRequestModel.DoesNotExist as exc:
        raise NotFound("request not found") from exc
    except PynamoDBException as exc:
        raise StorageError("could not read the request") from exc


def _change(seen: SubjectRequest, changes: dict[str, Any]) -> tuple[list[Any], Any]:
    actions = [SubjectRequestModel.revision.set(seen.revision + 1)]
    for name, value in changes.items():
        attribute = getattr(SubjectRequestModel, name)
        stored = list(value) if name == "answers" else value
        actions.append(attribute.remove() if stored is None else attribute.set(stored))
    return actions, SubjectRequestModel.request_id.exists() & (SubjectRequestModel.revision == seen.revision)


def add_change(transaction: Transaction, seen: SubjectRequest, **changes: Any) -> None:
    """Change a request as `changes` say (None removes an attribute), in the transaction of the audit entry that
    records it; cancelled unless the request is still the revision `seen` read."""
    actions, condition = _change(seen, changes)
    transaction.update(SubjectRequestModel(seen.request_id), actions=actions, condition=condition)


def add_deleted_frame(transaction: Transaction, request_id: str) -> None:
    """Count one frame of the deletion a request's answer asked for, in the transaction that removes it."""
    transaction.update(
        SubjectRequestModel(request_id),
        actions=[SubjectRequestModel.frames_deleted.add(1)],
        condition=SubjectRequestModel.status == "deleting",
    )


def requests_of_contract(
    contract_id: str, *, limit: int, after: dict[str, Any] | None = None
) -> tuple[list[SubjectRequest], dict[str, Any] | None]:
    """A page of a contract's requests, newest first, and the key to continue after (None at the end)."""
    try:
        query = SubjectRequestModel.by_contract.query(
            contract_id, scan_index_forward=False, limit=limit, last_evaluated_key=after
        )
        items = [_request(item) for item in query]
        return items, query.last_evaluated_key
    except PynamoDBException as exc:
        raise StorageError("could not list the requests") from exc


def count_in_window(scope: str, limit: int, window: timedelta, now: datetime) -> bool:
    """Count one submission against `scope`'s limit in the fixed window that holds `now`; False (nothing counted)
    once `limit` are counted. One conditional ADD: however many arrive at once, at most `limit` are counted."""
    seconds = int(window.total_seconds())
    start = int(now.timestamp()) // seconds * seconds
    digest = hashlib.sha256(f"{scope}#{start}".encode()).hexdigest()
    item = RateCounterModel(counter_key=_RATE_PREFIX + digest)
    ends = datetime.fromtimestamp(start + seconds, now.tzinfo)
    try:
        item.update(
            actions=[RateCounterModel.count.add(1), RateCounterModel.expires_at.set(ends + timedelta(seconds=1))],
            condition=RateCounterModel.count.does_not_exist() | (RateCounterModel.count < limit),
        )
    except UpdateError as exc:
        if getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException":
            return False
        raise StorageError("could not count the submission") from exc
    except PynamoDBException as exc:
        raise StorageError("could not count the submission") from exc
    return True
