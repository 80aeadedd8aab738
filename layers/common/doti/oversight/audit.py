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
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from doti.clock import format_rfc3339
from doti.entities import AuditEntry, StaffMember, User
from doti.errors import StorageError
from doti.store import audit as store
from doti.store.transactions import NotCommitted, Transaction

SYSTEM = "_system"  # the chain of entries that concern no single contract (incidents, broadcast notices)
GENESIS = "0" * 64
_APPEND_ATTEMPTS = 8
_SECRET_WORDS = ("password", "secret", "token", "api_key", "apikey")


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


@dataclass(frozen=True)
class StateWrite:
    """A state change to commit in one DynamoDB transaction with its audit entry (see `record_with`).

    `add` puts the change's own operations, with their conditions, into the transaction it is handed (a PynamoDB
    transaction: doti.store adds to it, domain code only passes it on); `details` are the entry's.
    """

    add: Callable[[Transaction], None]
    details: dict[str, Any]


def _nothing(_transaction: Transaction) -> None:
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
        entry = _next(chain, store.head(chain), now, actor, action, subject, details, customer_visible)
        try:
            store.append(entry, write.add)
        except NotCommitted as exc:
            if store.is_written(entry):
                return entry  # ours applied; only its answer was lost
            if exc.cancelled:
                continue  # another writer appended first, or the change's item moved: read both again
            raise StorageError("could not write the audit log") from exc
        return entry
    # Transient (appends and changes kept winning the race), not a conflict: a job must not take it for "someone
    # else made this change", and a client retries a 503.
    raise StorageError("the audit log is busy; try again", contract_id=chain)


def _next(
    chain: str,
    head: tuple[int, str] | None,
    now: datetime,
    actor: str,
    action: str,
    subject: str | None,
    details: dict[str, Any],
    customer_visible: bool,
) -> AuditEntry:
    """The entry that follows the chain's head (seq, hash)."""
    seq, prev_hash = (head[0] + 1, head[1]) if head else (1, GENESIS)
    digest = entry_hash(chain, seq, now, actor, action, subject, details, customer_visible, prev_hash)
    return AuditEntry(chain, seq, now, actor, action, subject, details, customer_visible, prev_hash, digest)


def entries(
    contract_id: str, *, customer_only: bool = False, limit: int = 100, after_seq: int | None = None
) -> tuple[list[AuditEntry], int | None]:
    """A page of the chain, newest first; returns the page and the seq to continue after (None at the end)."""
    page, more = store.page(contract_id, customer_only=customer_only, limit=limit, after_seq=after_seq)
    return page, (page[-1].seq if more else None)


def verify_chain(contract_id: str, anchored: Mapping[int, str] | None = None) -> ChainReport:
    """Recompute every hash in order; report the first entry whose hash or link does not hold, and a chain whose
    newest entries were cut (the head, written with each entry, names the last one).

    `anchored` are (seq: hash) pairs the chain's digests recorded outside DynamoDB (doti.oversight.anchor): an entry
    rewritten with every later hash and the head recomputed still links, but no longer has its anchored hash."""
    anchored = anchored or {}
    expected_prev, expected_seq, count = GENESIS, 1, 0
    head = store.head(contract_id)
    for entry in store.chain(contract_id):
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
        if anchored.get(entry.seq, entry.hash) != entry.hash:
            problem = "the entry is not the one its digest anchored (it or one before it was rewritten)"
            return ChainReport(contract_id, count, False, entry.seq, problem)
        expected_prev, expected_seq = entry.hash, entry.seq + 1
    last_seq = expected_seq - 1
    head_seq = head[0] if head else 0
    if head_seq != last_seq or (head is not None and head[1] != expected_prev):
        return ChainReport(
            contract_id, count, False, last_seq + 1, f"the chain ends at seq {last_seq} but its head says {head_seq}"
        )
    beyond = sorted(seq for seq in anchored if seq > last_seq)
    if beyond:
        problem = f"a digest anchored seq {beyond[0]} but the chain ends at seq {last_seq}"
        return ChainReport(contract_id, count, False, beyond[0], problem)
    return ChainReport(contract_id, count, True)
