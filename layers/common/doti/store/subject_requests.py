"""Data access for requests from people filmed (doti.subjects.requests). (The public form's fixed-window counters are
doti.store.rate_limits'.)

A request's changes are conditional on the revision they read (+1 each time), so two answers given at once, or a job
and an answer, never overwrite each other: the second is cancelled and reads again.
"""

from __future__ import annotations

from typing import Any

from pynamodb.exceptions import PynamoDBException

from doti.entities import SubjectRequest
from doti.errors import NotFound, StorageError
from doti.store.mapping import to_entity, to_item
from doti.store.models import SubjectRequestModel
from doti.store.transactions import Transaction


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
