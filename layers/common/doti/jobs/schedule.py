"""Work due at a time: what the scheduled jobs read instead of scanning contracts.

Each item lives in the schedule table under its kind, sorted by `due_key` = "<RFC 3339 time>#<contract>#<ref>"; the
times share one fixed-width format, so "everything due by now" is one key-range query whose cost grows with what is
due, not with what exists. Putting the same (kind, due_at, contract, ref) twice writes one item, so scheduling is
idempotent; a job deletes an item with `done_work` only once its effect is durable, so a stopped run resumes.

Work that must not be done twice (an e-mail: SES has no idempotency key) is claimed first (`claim_work`), and its item
is deleted in the same transaction as its effect is recorded (`add_done`): whoever finds an item claimed by someone
else knows the work may have been done, and does not do it again.
"""

from __future__ import annotations

from doti.entities import ScheduledWork
from doti.store.schedule import (
    add_done,
    add_work,
    claim_work,
    done_work,
    due_key,
    due_work,
    get_work,
    release_work,
    schedule_work,
    work_for,
)

__all__ = [
    "ScheduledWork",
    "add_done",
    "add_work",
    "claim_work",
    "done_work",
    "due_key",
    "due_work",
    "get_work",
    "release_work",
    "schedule_work",
    "work_for",
]

# kinds of work (the job that consumes each in brackets)
SERVICE_START = "service_start"  # pending -> active when service starts (suspension job)
SUSPENSION_START = "suspension_start"  # apply a planned suspension window (suspension job)
SUSPENSION_END = "suspension_end"  # lift it (suspension job)
SECURITY_CONTRACT_ENDED = "security_contract_ended"  # the security-service contract ended (suspension job)
IDLE_CHECK = "idle_check"  # Art. 12-1-11, no use for 3 months (suspension job)
CANCEL_EFFECTIVE = "cancel_effective"  # cancelling -> terminated (termination job)
PURGE = "purge"  # terminated -> purged after the grace period (termination job)
NOTICE_MAIL = "notice_mail"  # e-mail a stored notice to its contract, once (its publisher, else the suspension job)
REQUEST_OVERDUE = "request_overdue"  # a request from a person filmed not answered by its due date (suspension job)
REQUEST_DELETE = "request_delete"  # delete the footage a request's answer named (retention job)
CAMERA_HEALTH = "camera_health"  # a camera's next health check, ref = camera id (health job)
