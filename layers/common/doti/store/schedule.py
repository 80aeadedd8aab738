"""Data access for the schedule table: work due at a time, keyed `due_key` = "<RFC 3339 time>#<contract>#<ref>".

The domain's side (the kinds of work, what each job does with it) is doti.jobs.schedule.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from pynamodb.exceptions import DoesNotExist, PynamoDBException, UpdateError

from doti.clock import format_rfc3339
from doti.entities import ScheduledWork
from doti.errors import StorageError
from doti.store.conditions import is_condition_failure
from doti.store.models import ScheduledWorkModel
from doti.store.transactions import Transaction


def due_key(due_at: datetime, contract_id: str, ref: str | None = None) -> str:
    return f"{format_rfc3339(due_at)}#{contract_id}#{ref or ''}"


def schedule_work(kind: str, due_at: datetime, contract_id: str, ref: str | None = None) -> None:
    """Record that `kind` work on the contract is due at `due_at` (idempotent: same arguments, same item)."""
    try:
        _item(kind, due_at, contract_id, ref).save()
    except PynamoDBException as exc:
        raise StorageError("could not schedule work", kind=kind) from exc


def add_work(transaction: Transaction, kind: str, due_at: datetime, contract_id: str, ref: str | None = None) -> None:
    """`schedule_work` as part of a transaction: the work commits with the change that needs it, or neither does."""
    transaction.save(_item(kind, due_at, contract_id, ref))


def _item(kind: str, due_at: datetime, contract_id: str, ref: str | None) -> ScheduledWorkModel:
    return ScheduledWorkModel(kind, due_key(due_at, contract_id, ref), contract_id=contract_id, ref=ref, due_at=due_at)


def due_work(kind: str, now: datetime, limit: int, *, skip: Collection[str] = ()) -> list[ScheduledWork]:
    """Up to `limit` items of `kind` due at or before `now`, oldest first, leaving out the due keys in `skip` (the
    items a run failed on stay for the next run; it reads past them rather than fetch them again)."""
    # "~" sorts after "#", so every key whose time equals `now` is included
    condition = ScheduledWorkModel.due_key < f"{format_rfc3339(now)}~"
    try:
        items = list(ScheduledWorkModel.query(kind, condition, limit=limit + len(skip)))
    except PynamoDBException as exc:
        raise StorageError("could not read due work", kind=kind) from exc
    return [_work(i) for i in items if i.due_key not in skip]


def _work(item: ScheduledWorkModel) -> ScheduledWork:
    return ScheduledWork(item.kind, item.due_key, item.contract_id, item.ref, item.due_at, item.claimed_by)


def work_for(kind: str, contract_id: str, ref: str | None, due_at: datetime) -> ScheduledWork:
    """The handle of an item scheduled with these arguments (to cancel it with `done_work`)."""
    return ScheduledWork(kind, due_key(due_at, contract_id, ref), contract_id, ref, due_at)


def done_work(work: ScheduledWork) -> None:
    """Remove a work item whose effect is durable (deleting one that is gone already is fine)."""
    try:
        ScheduledWorkModel(work.kind, work.due_key).delete()
    except PynamoDBException as exc:
        raise StorageError("could not remove done work", kind=work.kind) from exc


def get_work(work: ScheduledWork) -> ScheduledWork | None:
    """The item as stored now (a consistent read), or None once it is done."""
    try:
        return _work(ScheduledWorkModel.get(work.kind, work.due_key, consistent_read=True))
    except DoesNotExist:
        return None
    except PynamoDBException as exc:
        raise StorageError("could not read scheduled work", kind=work.kind) from exc


def claim_work(work: ScheduledWork, token: str) -> str | None:
    """Take the item on under `token` before doing work that must not be done twice. Returns who holds it: `token`,
    or an earlier taker (who may have done the work, or stopped before it), or None when the item is done (gone).

    A claim whose answer was lost, or that botocore resent (the resend fails its own condition), is found by reading
    the item back: it holds our token."""
    condition = ScheduledWorkModel.kind.exists() & ScheduledWorkModel.claimed_by.does_not_exist()
    try:
        ScheduledWorkModel(work.kind, work.due_key).update(
            actions=[ScheduledWorkModel.claimed_by.set(token)], condition=condition
        )
    except UpdateError as exc:
        stored = get_work(work)
        if stored is None or stored.claimed_by is not None:
            return stored.claimed_by if stored else None
        raise StorageError("could not claim scheduled work", kind=work.kind) from exc
    return token


def release_work(work: ScheduledWork, token: str) -> None:
    """Give up a claim whose work was not done (the next taker does it); a claim that is not ours is left alone."""
    try:
        ScheduledWorkModel(work.kind, work.due_key).update(
            actions=[ScheduledWorkModel.claimed_by.remove()], condition=ScheduledWorkModel.claimed_by == token
        )
    except UpdateError as exc:
        if not is_condition_failure(exc):
            raise StorageError("could not release scheduled work", kind=work.kind) from exc


def add_done(transaction: Transaction, work: ScheduledWork, holder: str) -> None:
    """Delete a claimed item in the transaction that records its effect, on condition that `holder` still holds it:
    the effect is recorded once, by whoever finishes the work first."""
    transaction.delete(ScheduledWorkModel(work.kind, work.due_key), condition=ScheduledWorkModel.claimed_by == holder)
