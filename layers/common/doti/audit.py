"""The audit log (issue 3 §4): append-only, one hash chain per contract, kept after the contract's data is purged.

Each entry carries the SHA-256 of its predecessor; `verify_chain` recomputes the chain and reports the first broken
link. Appends are conditional on the next sequence number, so concurrent writers never fork the chain: the loser
re-reads the head and retries. Entries hold no image data and no secrets (keys that look like secrets are refused).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pynamodb.connection import Connection
from pynamodb.exceptions import PynamoDBException, TransactWriteError
from pynamodb.transactions import TransactWrite

from doti.clock import format_rfc3339
from doti.entities import StaffMember, User
from doti.errors import Conflict, StorageError
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
    chain = contract_id or SYSTEM
    details = json.loads(json.dumps(details or {}, default=str))  # what is hashed is exactly what is stored
    _check_no_secrets(details)
    for _ in range(_APPEND_ATTEMPTS):
        head = _head(chain)
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
        # Entry and head move together, on condition that nobody appended since we read the head.
        head_unchanged = AuditHeadModel.head_seq == seq - 1 if head else AuditHeadModel.contract_id.does_not_exist()
        try:
            with TransactWrite(connection=_connection()) as transaction:
                transaction.save(item, condition=AuditEntryModel.seq.does_not_exist())
                transaction.save(new_head, condition=head_unchanged)
        except TransactWriteError as exc:
            if getattr(exc, "cause_response_code", None) == "TransactionCanceledException":
                continue  # another writer appended first; chain onto theirs
            raise StorageError("could not write the audit log") from exc
        return _entry(item)
    raise Conflict("the audit log is busy; try again", contract_id=chain)


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


def entry_view(entry: AuditEntry) -> dict[str, Any]:
    return {
        "seq": entry.seq,
        "at": format_rfc3339(entry.at),
        "actor": entry.actor,
        "action": entry.action,
        "subject": entry.subject,
        "details": entry.details,
        "hash": entry.hash,
        "prev_hash": entry.prev_hash,
    }
