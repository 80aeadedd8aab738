"""Work due at a time: what the scheduled jobs read instead of scanning contracts.

Each item lives in the schedule table under its kind, sorted by `due_key` = "<RFC 3339 time>#<contract>#<ref>"; the
times share one fixed-width format, so "everything due by now" is one key-range query whose cost grows with what is
due, not with what exists. Putting the same (kind, due_at, contract, ref) twice writes one item, so scheduling is
idempotent; a job deletes an item with `done_work` only once its effect is durable, so a stopped run resumes.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from pynamodb.exceptions import PynamoDBException

from doti.clock import format_rfc3339
from doti.errors import StorageError
from doti.store.models import ScheduledWorkModel

# kinds of work (the job that consumes each in brackets)
SERVICE_START = "service_start"  # pending -> active when service starts (suspension job)
SUSPENSION_START = "suspension_start"  # apply a planned suspension window (suspension job)
SUSPENSION_END = "suspension_end"  # lift it (suspension job)
SECURITY_CONTRACT_ENDED = "security_contract_ended"  # the security-service contract ended (suspension job)
IDLE_CHECK = "idle_check"  # Art. 12-1-11, no use for 3 months (suspension job)
CANCEL_EFFECTIVE = "cancel_effective"  # cancelling -> terminated (termination job)
PURGE = "purge"  # terminated -> purged after the grace period (termination job)


@dataclass(frozen=True)
class ScheduledWork:
    kind: str
    due_key: str
    contract_id: str
    ref: str | None
    due_at: datetime


def due_key(due_at: datetime, contract_id: str, ref: str | None = None) -> str:
    return f"{format_rfc3339(due_at)}#{contract_id}#{ref or ''}"


def schedule_work(kind: str, due_at: datetime, contract_id: str, ref: str | None = None) -> None:
    """Record that `kind` work on the contract is due at `due_at` (idempotent: same arguments, same item)."""
    item = ScheduledWorkModel(kind, due_key(due_at, contract_id, ref), contract_id=contract_id, ref=ref, due_at=due_at)
    try:
        item.save()
    except PynamoDBException as exc:
        raise StorageError("could not schedule work", kind=kind) from exc


def due_work(kind: str, now: datetime, limit: int, *, skip: Collection[str] = ()) -> list[ScheduledWork]:
    """Up to `limit` items of `kind` due at or before `now`, oldest first, leaving out the due keys in `skip` (the
    items a run failed on stay for the next run; it reads past them rather than fetch them again)."""
    # "~" sorts after "#", so every key whose time equals `now` is included
    condition = ScheduledWorkModel.due_key < f"{format_rfc3339(now)}~"
    try:
        items = list(ScheduledWorkModel.query(kind, condition, limit=limit + len(skip)))
    except PynamoDBException as exc:
        raise StorageError("could not read due work", kind=kind) from exc
    return [ScheduledWork(i.kind, i.due_key, i.contract_id, i.ref, i.due_at) for i in items if i.due_key not in skip]


def work_for(kind: str, contract_id: str, ref: str | None, due_at: datetime) -> ScheduledWork:
    """The handle of an item scheduled with these arguments (to cancel it with `done_work`)."""
    return ScheduledWork(kind, due_key(due_at, contract_id, ref), contract_id, ref, due_at)


def done_work(work: ScheduledWork) -> None:
    """Remove a work item whose effect is durable (deleting one that is gone already is fine)."""
    try:
        ScheduledWorkModel(work.kind, work.due_key).delete()
    except PynamoDBException as exc:
        raise StorageError("could not remove done work", kind=work.kind) from exc
