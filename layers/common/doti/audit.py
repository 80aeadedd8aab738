"""The audit log (issue 3 §4): append-only, one hash chain per contract, kept after the contract's data is purged.

Each entry carries the SHA-256 of its predecessor; `verify_chain` recomputes the chain and reports the first broken
link. Appends are conditional on the next sequence number, so concurrent writers never fork the chain: the loser
re-reads the head and retries. Entries hold no image data and no secrets (keys that look like secrets are refused).

A state change and the entry that records it commit in the same transaction (`record_with`): a change is never
visible without its entry, nor an entry without its change, whatever fails between them.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pynamodb.connection import Connection
from pynamodb.exceptions import PynamoDBException, TransactWriteError
from pynamodb.transactions import TransactWrite

from doti.clock import format_rfc3339
from doti.entities import StaffMember, User
from doti.errors import StorageError
from doti.store.models import AuditEntryModel, AuditHeadModel

SYSTEM = "_system"  # the chain of entries that concern no single contract (incidents, broadcast notices)
GENESIS = "0" * 64
_APPEND_ATTEMPTS = 8
_SECRET_WORDS = ("password", "secret", "token", "api_key", "apikey")


@dataclass(frozen=True)
class AuditEntry:
    contract_id: str
    seq: int
    at: datetime
    actor: str
    action: str
    subject: str | None
    details: dict[str, Any]
    customer_visible: bool
    prev_hash: str
    hash: str


@dataclass(frozen=True)
class ChainReport:
    contract_id: str
    entries: int
    intact: bool
    first_broken_seq: int | None = None
    problem: str | None = None


def staff_actor(member: StaffMember) -> str:
    return f"staff:{member.staff_id}"


def user_actor(user: User) -> str:
    """A customer user, by user id (login ids can be reused after a deletion; user ids never are)."""
    return f"user:{user.user_id}"


def job_actor(name: str) -> str:
    return f"job:{name}"


def _check_no_secrets(details: Any, path: str = "") -> None:
    if isinstance(details, dict):
        for key, value in details.items():
            if any(word in str(key).lower() for word in _SECRET_WORDS):
                raise ValueError(f"audit details must not carry secrets ({path}{key})")
            _check_no_secrets(value, f"{path}{key}.")
    elif isinstance(details, list):
        for item in details:
            _check_no_secrets(item, path)


def entry_hash(
    contract_id: str,
    seq: int,
    at: datetime,
    actor: str,
    action: str,
    subject: str | None,
    details: dict[str, Any],
    customer_visible: bool,
    prev_hash: str,
) -> str:
    """SHA-256 over a canonical JSON of every field but the hash itself."""
    canonical = json.dumps(
        [contract_id, seq, format_rfc3339(at), actor, action, subject, details, customer_visible, prev_hash],
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def _entry(item: AuditEntryModel) -> AuditEntry:
    return AuditEntry(
        contract_id=item.contract_id,
        seq=int(item.seq),
        at=item.at,
        actor=item.actor,
        action=item.action,
        subject=item.subject,
        details=item.details or {},
        customer_visible=bool(item.customer_visible),
        prev_hash=item.prev_hash,
        hash=item.hash,
    )


HEAD_SEQ = 0  # the head item's sort key; entries start at 1


def _head(contract_id: str) -> AuditHeadModel | None:
    try:
        return AuditHeadModel.get(contract_id, HEAD_SEQ, consistent_read=True)
    except AuditHeadModel.DoesNotExist:
        return None
    except PynamoDBException as exc:
        raise StorageError("could not read the audit log") from exc


@dataclass(frozen=True)
class StateWrite:
    """A state change to commit in one DynamoDB transaction with its audit entry (see `record_with`).

    `add` puts the change's own operations, with their conditions, into the transaction it is handed (a PynamoDB
    TransactWrite: data-access code adds to it, domain code only passes it on); `details` are the entry's.
    """

    add: Callable[[TransactWrite], None]
    details: dict[str, Any]


def _nothing(_transaction: TransactWrite) -> None:
    """The state write of an entry that records no state change of its own."""


def record(
    contract_id: str | None,
    *,
    actor: str,
    action: str,
    now: datetime,
    subject: str | None = None,
    details: dict[str, Any] | None = None,
    customer_visible: bool = True,
) -> AuditEntry:
    """Append one entry to the contract's chain (or the system chain when contract_id is None)."""
    entry = StateWrite(_nothing, details or {})
    return record_with(
        contract_id,
        actor=actor,
        action=action,
        now=now,
        subject=subject,
        customer_visible=customer_visible,
        prepare=lambda: entry,
    )


def record_with(
    contract_id: str | None,
    *,
    actor: str,
    action: str,
    now: datetime,
    prepare: Callable[[], StateWrite],
    subject: str | None = None,
    customer_visible: bool = True,
    recheck: Callable[[], None] | None = None,
) -> AuditEntry:
    """Commit a state change and its audit entry together, in one transaction with the chain's head, or neither.

    Each attempt calls `prepare`, which reads what it is about to change and returns the write with the entry's
    details; it raises (a Conflict, say) when the change no longer applies, and that ends the attempts. A
    transaction cancelled because the head moved (another append) or the write's own condition failed (its item
    changed since `prepare` read it) is prepared and tried again, at most _APPEND_ATTEMPTS times (then StorageError).
    A change made under a claim (a job's lease, a run's token) passes `recheck`, called before every attempt after
    the first: a cancelled transaction may mean the claim moved, and `recheck` raises when it is no longer ours.

    A transaction that applied although its answer said otherwise (the response lost, or botocore's resend of an
    applied transaction failing its own conditions) is recognised by reading the entry back: the entry at our seq
    with our hash is ours, as nobody else can write that hash. The client request token makes DynamoDB itself treat
    such a resend as the same transaction for 10 minutes; the read-back is what holds beyond that, and in moto.
    """
    chain = contract_id or SYSTEM
    for attempt in range(_APPEND_ATTEMPTS):
        if attempt and recheck is not None:
            recheck()
        write = prepare()
        details = json.loads(json.dumps(write.details, default=str))  # what is hashed is exactly what is stored
        _check_no_secrets(details)
        head = _head(chain)
        item, new_head, head_unchanged = _next(chain, head, now, actor, action, subject, details, customer_visible)
        try:
            with TransactWrite(connection=_connection(), client_request_token=uuid.uuid4().hex) as transaction:
                # Entry and head move together, on condition that nobody appended since we read the head.
                transaction.save(item, condition=AuditEntryModel.seq.does_not_exist())
                transaction.save(new_head, condition=head_unchanged)
                write.add(transaction)
        except TransactWriteError as exc:
            if _is_written(item):
                return _entry(item)  # ours applied; only its answer was lost
            if getattr(exc, "cause_response_code", None) == "TransactionCanceledException":
                continue  # another writer appended first, or the change's item moved: read both again
            raise StorageError("could not write the audit log") from exc
        return _entry(item)
    # Transient (appends and changes kept winning the race), not a conflict: a job must not take it for "someone
    # else made this change", and a client retries a 503.
    raise StorageError("the audit log is busy; try again", contract_id=chain)


def _next(
    chain: str,
    head: AuditHeadModel | None,
    now: datetime,
    actor: str,
    action: str,
    subject: str | None,
    details: dict[str, Any],
    customer_visible: bool,
) -> tuple[AuditEntryModel, AuditHeadModel, Any]:
    """The entry that follows `head`, the head that names it, and the condition that the head has not moved."""
    seq = int(head.head_seq) + 1 if head else 1
    prev_hash = head.head_hash if head else GENESIS
    digest = entry_hash(chain, seq, now, actor, action, subject, details, customer_visible, prev_hash)
    item = AuditEntryModel(
        contract_id=chain,
        seq=seq,
        at=now,
        actor=actor,
        action=action,
        subject=subject,
        details=details,
        customer_visible=customer_visible,
        prev_hash=prev_hash,
        hash=digest,
    )
    new_head = AuditHeadModel(contract_id=chain, seq=HEAD_SEQ, head_seq=seq, head_hash=digest)
    head_unchanged = AuditHeadModel.head_seq == seq - 1 if head else AuditHeadModel.contract_id.does_not_exist()
    return item, new_head, head_unchanged


def _is_written(item: AuditEntryModel) -> bool:
    """Whether the chain holds exactly this entry (a consistent read of its seq); raises StorageError when the
    answer cannot be known."""
    try:
        stored = AuditEntryModel.get(item.contract_id, item.seq, consistent_read=True)
    except AuditEntryModel.DoesNotExist:
        return False
    except PynamoDBException as exc:
        raise StorageError("could not read the audit log back") from exc
    return stored.hash == item.hash


def _connection() -> Connection:
    return AuditEntryModel._get_connection().connection


def entries(
    contract_id: str, *, customer_only: bool = False, limit: int = 100, after_seq: int | None = None
) -> tuple[list[AuditEntry], int | None]:
    """A page of the chain, newest first; returns the page and the seq to continue after (None at the end)."""
    last_key = {"contract_id": {"S": contract_id}, "seq": {"N": str(after_seq)}} if after_seq else None
    condition = AuditEntryModel.customer_visible == True if customer_only else None  # noqa: E712 - PynamoDB operator
    page: list[AuditEntry] = []
    try:
        query = AuditEntryModel.query(
            contract_id,
            AuditEntryModel.seq > HEAD_SEQ,
            scan_index_forward=False,
            filter_condition=condition,
            last_evaluated_key=last_key,
            page_size=limit,
        )
        for item in query:
            page.append(_entry(item))
            if len(page) == limit:
                break
        more = len(page) == limit and query.last_evaluated_key is not None
    except PynamoDBException as exc:
        raise StorageError("could not read the audit log") from exc
    return page, (page[-1].seq if more else None)


def verify_chain(contract_id: str) -> ChainReport:
    """Recompute every hash in order; report the first entry whose hash or link does not hold, and a chain whose
    newest entries were cut (the head, written with each entry, names the last one)."""
    expected_prev, expected_seq, count = GENESIS, 1, 0
    try:
        head = _head(contract_id)
        for item in AuditEntryModel.query(
            contract_id, AuditEntryModel.seq > HEAD_SEQ, scan_index_forward=True, consistent_read=True
        ):
            entry = _entry(item)
            count += 1
            if entry.seq != expected_seq:
                return ChainReport(contract_id, count, False, entry.seq, f"expected seq {expected_seq}")
            if entry.prev_hash != expected_prev:
                return ChainReport(contract_id, count, False, entry.seq, "prev_hash does not match the entry before")
            recomputed = entry_hash(
                entry.contract_id,
                entry.seq,
                entry.at,
                entry.actor,
                entry.action,
                entry.subject,
                entry.details,
                entry.customer_visible,
                entry.prev_hash,
            )
            if recomputed != entry.hash:
                return ChainReport(contract_id, count, False, entry.seq, "the entry was altered after it was written")
            expected_prev, expected_seq = entry.hash, entry.seq + 1
    except PynamoDBException as exc:
        raise StorageError("could not read the audit log") from exc
    last_seq = expected_seq - 1
    head_seq = int(head.head_seq) if head else 0
    if head_seq != last_seq or (head is not None and head.head_hash != expected_prev):
        return ChainReport(
            contract_id, count, False, last_seq + 1, f"the chain ends at seq {last_seq} but its head says {head_seq}"
        )
    return ChainReport(contract_id, count, True)
