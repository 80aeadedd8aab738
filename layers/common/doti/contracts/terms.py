"""Contracts: plan limits, plan updates and what each state allows (SPEC §3).

The states, what each allows and the moves between them are tables in doti.contracts.contract_states;
doti.contracts.lifecycle makes the moves. This module creates contracts, changes their plan and answers, for every route
family, whether the contract's state lets a request through. Each request reads the contract afresh (no cache), so a
suspension or termination takes effect on the next request, within DynamoDB's read consistency (typically well under a
second).
"""

from __future__ import annotations

import calendar
import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from doti import ids
from doti.clock import format_rfc3339
from doti.contracts import contract_states, purposes
from doti.contracts.contract_states import Capability, ContractState, states_allowing, states_where
from doti.contracts.retention_policy import RETENTION_CLASSES
from doti.entities import Contract
from doti.errors import Conflict, ValidationError
from doti.jobs import schedule
from doti.oversight import audit
from doti.store import contracts as store
from doti.store import registry
from doti.subjects.periods import check_request_periods

# The states by name, as callers compare contract.state with them (a StrEnum equals its value).
PENDING, ACTIVE, SUSPENDED, CANCELLING, TERMINATED, PURGED = ContractState
STATES = tuple(ContractState)
SERVING_STATES = states_allowing(Capability.SERVING)
ACCOUNT_STATES = states_allowing(Capability.ACCOUNT)
ENDED_STATES = states_where("ended")

MIN_SIGNED_URL_TTL, MAX_SIGNED_URL_TTL = 30, 3600
# A direct frame upload travels base64-encoded inside a Lambda event (6 MB cap): ~4.4 MB of image at most.
# Anything larger (clips) goes through a presigned upload, up to the plan's max_object_bytes.
DIRECT_UPLOAD_MAX_BYTES = 4 * 1024 * 1024
MAX_OBJECT_BYTES = 256 * 1024 * 1024  # the largest plan limit: the processor holds a clip in memory and in /tmp
MIN_OBJECT_BYTES = 1024
MIN_PIXELS, MAX_PIXELS = 64 * 64, 100_000_000
# 1 PiB a month: far above any camera's traffic, and a bound so a typo cannot store a number DynamoDB refuses.
MAX_MONTHLY_BYTE_QUOTA = 2**50
# Art. 12-1-11: "no use of the service for three months or more"
IDLE_MONTHS = 3


@dataclass(frozen=True)
class Plan:
    retention_days: int = 31
    signed_url_ttl: int = 300
    max_object_bytes: int = DIRECT_UPLOAD_MAX_BYTES
    max_pixels: int = 3840 * 2160
    monthly_byte_quota: int = 50 * 1024**3

    def validate(self) -> None:
        if self.retention_days not in RETENTION_CLASSES:
            raise ValidationError("retention_days must be one of the retention classes", allowed=RETENTION_CLASSES)
        if not MIN_SIGNED_URL_TTL <= self.signed_url_ttl <= MAX_SIGNED_URL_TTL:
            raise ValidationError(
                "signed_url_ttl is out of range", minimum=MIN_SIGNED_URL_TTL, maximum=MAX_SIGNED_URL_TTL
            )
        if not MIN_OBJECT_BYTES <= self.max_object_bytes <= MAX_OBJECT_BYTES:
            raise ValidationError(
                "max_object_bytes is out of range", minimum=MIN_OBJECT_BYTES, maximum=MAX_OBJECT_BYTES
            )
        if not MIN_PIXELS <= self.max_pixels <= MAX_PIXELS:
            raise ValidationError("max_pixels is out of range", minimum=MIN_PIXELS, maximum=MAX_PIXELS)
        if self.monthly_byte_quota < self.max_object_bytes:
            raise ValidationError("monthly_byte_quota must be at least max_object_bytes")
        if self.monthly_byte_quota > MAX_MONTHLY_BYTE_QUOTA:
            raise ValidationError("monthly_byte_quota is out of range", maximum=MAX_MONTHLY_BYTE_QUOTA)


PLAN_FIELDS = tuple(f.name for f in dataclasses.fields(Plan))
# What staff may change on a contract besides its plan; the state changes only through doti.contracts.lifecycle.
# operator_name and inquiry_contact are what the public notice names (Art. 2-4, doti.contracts.purposes)
PROFILE_FIELDS = (
    "name",
    "contact_email",
    "security_contract_id",
    "security_contract_ended_at",
    "service_start",
    "operator_name",
    "inquiry_contact",
    "request_due_days",
    "request_keep_days",
)
NULLABLE_FIELDS = frozenset(
    {
        "security_contract_id",
        "security_contract_ended_at",
        "operator_name",
        "inquiry_contact",
        "request_due_days",
        "request_keep_days",
    }
)


def add_months(moment: datetime, months: int) -> datetime:
    """The same day and time `months` calendar months later, clamped to the month's last day (Jan 31 + 1 = Feb 28)."""
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    return moment.replace(year=year, month=month, day=min(moment.day, calendar.monthrange(year, month)[1]))


def last_use(contract: Contract) -> datetime:
    """When the contract was last used, or when its service started if it never was (Art. 12-1-11)."""
    return max(t for t in (contract.last_used_at, contract.service_start, contract.created_at) if t is not None)


def create_contract(
    *,
    name: str,
    contact_email: str,
    plan: Plan,
    security_contract_id: str | None,
    now: datetime,
    service_start: datetime | None = None,
    actor: str | None = None,
) -> Contract:
    """A new contract: active at once, or `pending` until a future service start (Art. 3).

    Its first inactivity check (Art. 12-1-11) is scheduled three months after the service starts; a pending
    contract also gets a "service_start" work item that the suspension job turns into activation.
    """
    plan.validate()
    starts_later = service_start is not None and service_start > now
    contract = Contract(
        contract_id=ids.new_id("ctr"),
        name=name,
        state=PENDING if starts_later else ACTIVE,
        contact_email=contact_email,
        security_contract_id=security_contract_id,
        retention_days=plan.retention_days,
        signed_url_ttl=plan.signed_url_ttl,
        max_object_bytes=plan.max_object_bytes,
        max_pixels=plan.max_pixels,
        monthly_byte_quota=plan.monthly_byte_quota,
        service_start=service_start or now,
        created_at=now,
        updated_at=now,
    )
    # Work first: an item whose contract never got stored is dropped by the job; a contract without its work is not.
    if starts_later:
        schedule.schedule_work(schedule.SERVICE_START, contract.service_start, contract.contract_id)
    schedule.schedule_work(schedule.IDLE_CHECK, add_months(last_use(contract), IDLE_MONTHS), contract.contract_id)
    registry.put_contract(contract)
    if actor is not None:
        details = {"state": contract.state, "service_start": format_rfc3339(contract.service_start), **plan.__dict__}
        audit.record(
            contract.contract_id,
            actor=actor,
            action="contract.created",
            subject=contract.contract_id,
            details=details,
            now=now,
        )
    return contract


def get_contract(contract_id: str) -> Contract:
    return registry.get_contract(contract_id)


def update_plan(contract_id: str, changes: Mapping[str, Any], actor: str, now: datetime) -> Contract:
    """Change plan and profile fields (validated as a whole), audited with each field's old and new value.

    `security_contract_ended_at` schedules the suspension that the suspension job applies when that time comes;
    `service_start` can move only while the contract is pending. A purged contract changes no more.
    """
    unknown = sorted(set(changes) - set(PLAN_FIELDS) - set(PROFILE_FIELDS))
    if unknown:
        raise ValidationError("these fields cannot be changed", fields=unknown)
    if not changes:
        raise ValidationError("nothing to change")
    cleared = sorted(k for k, v in changes.items() if v is None and k not in NULLABLE_FIELDS)
    if cleared:
        raise ValidationError("these fields cannot be cleared", fields=cleared)
    changes = {**changes, **purposes.check_contract_fields(changes)}
    check_request_periods(changes)

    def plan_changes(current: Contract) -> dict[str, Any]:
        if current.state == PURGED:
            raise Conflict("a purged contract cannot be changed", current_state=current.state)
        merged = {
            **{f: getattr(current, f) for f in PLAN_FIELDS},
            **{k: v for k, v in changes.items() if k in PLAN_FIELDS},
        }
        Plan(**merged).validate()
        if "service_start" in changes:
            _check_service_start(current, changes["service_start"], now)
        return {**changes, "updated_at": now}  # a None clears the field

    before, after = store.update_contract(contract_id, plan_changes, before_write=lambda c: _schedule_for(c, changes))
    if before.service_start != after.service_start and before.service_start is not None:
        schedule.done_work(schedule.work_for(schedule.SERVICE_START, contract_id, None, before.service_start))
    diff = {
        field: {"from": _plain(getattr(before, field)), "to": _plain(getattr(after, field))}
        for field in changes
        if getattr(before, field) != getattr(after, field)
    }
    audit.record(contract_id, actor=actor, action="contract.updated", subject=contract_id, details=diff, now=now)
    return after


def _check_service_start(current: Contract, value: datetime | None, now: datetime) -> None:
    if current.state != PENDING:
        raise Conflict("the service start moves only while the contract is pending", current_state=current.state)
    if value is None or value <= now:
        raise ValidationError(
            "service_start must be in the future; start the service now with a transition to active",
            field="service_start",
        )


def _schedule_for(current: Contract, changes: Mapping[str, Any]) -> None:
    """Write-ahead: the work a change needs is scheduled before the change is stored (the job re-checks)."""
    ended_at = changes.get("security_contract_ended_at")
    if ended_at is not None:
        schedule.schedule_work(schedule.SECURITY_CONTRACT_ENDED, ended_at, current.contract_id)
    if changes.get("service_start") is not None and current.state == PENDING:
        schedule.schedule_work(schedule.SERVICE_START, changes["service_start"], current.contract_id)


def _plain(value: Any) -> Any:
    return format_rfc3339(value) if isinstance(value, datetime) else value


# what each state lets through (SPEC §3)


def require_serving(contract: Contract, now: datetime | None = None) -> None:
    """Raise the SPEC §3 error for a contract whose state stops ingest and viewing.

    Given `now`, a cancelling contract past its effective date counts as terminated even before the hourly
    termination job has moved it.
    """
    contract_states.require(contract, Capability.SERVING, now)


def require_account_open(contract: Contract, now: datetime | None = None) -> None:
    """Raise the SPEC §3 error for a contract whose state closes even the customer's own account view
    (`/v1/me` and notices stay open while suspended)."""
    contract_states.require(contract, Capability.ACCOUNT, now)


USE_RECORD_INTERVAL = timedelta(hours=1)


class UseRecorder:
    """Notes that the customer used the service (Art. 12-1-11), at most once an hour per contract.

    A write per request is waste, and so is a read: the process remembers the last use it saw stored and touches
    nothing for an hour after it. Past that, it reads the contract and writes on condition that the stored last use
    is still an hour old, so when several Lambda processes see the hour pass, one write wins and the rest change
    nothing.
    """

    def __init__(self) -> None:
        self._seen: dict[str, datetime] = {}

    def record(self, contract_id: str, now: datetime) -> None:
        seen = self._seen.get(contract_id)
        if seen is not None and now - seen < USE_RECORD_INTERVAL:
            return
        self._seen[contract_id] = store.record_use_if_stale(contract_id, now, USE_RECORD_INTERVAL)


_use_recorder = UseRecorder()


def record_use(contract_id: str, now: datetime) -> None:
    """Note a customer's use of the service (login or any authenticated request); see UseRecorder."""
    _use_recorder.record(contract_id, now)


def mark_idle_notified(contract_id: str, now: datetime) -> Contract:
    """Record that the inactivity notice of Art. 12-1-11 went out (leaves the state alone)."""
    _, after = store.update_contract(contract_id, lambda _current: {"idle_notified_at": now})
    return after


def iter_contract_page(state: str | None, limit: int, after: str | None) -> tuple[list[Contract], str | None]:
    """A page of contracts, optionally of one state; returns the page and the contract id to continue after, or
    None on the last page."""
    return store.contract_page(state, limit, after)
