"""Data access for the audit log: the entries of each chain and the head item that names the newest one.

Function roles may only read and append here (template.yaml AuditAppendPolicy): an append is one TransactWriteItems of
two conditional Puts, the entry and its chain's head, so nothing in this module updates or deletes an audit item.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from pynamodb.exceptions import PynamoDBException

from doti.entities import AuditEntry
from doti.errors import StorageError
from doti.store.models import AuditEntryModel, AuditHeadModel, ContractModel
from doti.store.transactions import Transaction, commit

HEAD_SEQ = 0  # the head item's sort key; entries start at 1


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


def head(chain: str) -> tuple[int, str] | None:
    """The chain's newest (seq, hash) as its head item names them (a consistent read); None for an empty chain."""
    try:
        item = AuditHeadModel.get(chain, HEAD_SEQ, consistent_read=True)
    except AuditHeadModel.DoesNotExist:
        return None
    except PynamoDBException as exc:
        raise StorageError("could not read the audit log") from exc
    return int(item.head_seq), item.head_hash


def append(entry: AuditEntry, add: Callable[[Transaction], None]) -> None:
    """Commit `entry`, the head that names it and what `add` puts in, in one transaction, on condition that the
    head still names the entry before (nobody appended since it was read). Raises NotCommitted."""
    item = AuditEntryModel(**{name: getattr(entry, name) for name in AuditEntry.__dataclass_fields__})
    new_head = AuditHeadModel(contract_id=entry.contract_id, seq=HEAD_SEQ, head_seq=entry.seq, head_hash=entry.hash)
    first = entry.seq == HEAD_SEQ + 1
    head_unchanged = AuditHeadModel.contract_id.does_not_exist() if first else AuditHeadModel.head_seq == entry.seq - 1

    def write(transaction: Transaction) -> None:
        transaction.save(item, condition=AuditEntryModel.seq.does_not_exist())
        transaction.save(new_head, condition=head_unchanged)
        add(transaction)

    commit(write)


def is_written(entry: AuditEntry) -> bool:
    """Whether the chain holds exactly this entry (a consistent read of its seq); raises StorageError when the
    answer cannot be known."""
    try:
        stored = AuditEntryModel.get(entry.contract_id, entry.seq, consistent_read=True)
    except AuditEntryModel.DoesNotExist:
        return False
    except PynamoDBException as exc:
        raise StorageError("could not read the audit log back") from exc
    return stored.hash == entry.hash


def page(contract_id: str, *, customer_only: bool, limit: int, after_seq: int | None) -> tuple[list[AuditEntry], bool]:
    """Up to `limit` entries, newest first, after `after_seq`; and whether more may follow."""
    last_key = {"contract_id": {"S": contract_id}, "seq": {"N": str(after_seq)}} if after_seq else None
    condition: Any = AuditEntryModel.customer_visible == True if customer_only else None  # noqa: E712 - PynamoDB
    found: list[AuditEntry] = []
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
            found.append(_entry(item))
            if len(found) == limit:
                break
        more = len(found) == limit and query.last_evaluated_key is not None
    except PynamoDBException as exc:
        raise StorageError("could not read the audit log") from exc
    return found, more


def chain(contract_id: str) -> Iterator[AuditEntry]:
    """Every entry of the chain, oldest first (consistent reads)."""
    try:
        for item in AuditEntryModel.query(
            contract_id, AuditEntryModel.seq > HEAD_SEQ, scan_index_forward=True, consistent_read=True
        ):
            yield _entry(item)
    except PynamoDBException as exc:
        raise StorageError("could not read the audit log") from exc


def contract_chains() -> Iterator[str]:
    """The id of every contract, whose chain shares it: a scan of the contracts table (ids only), never of the audit
    entries. Contracts are never deleted (a purged one keeps a minimal record), so no chain of a contract is missed."""
    try:
        for item in ContractModel.scan(attributes_to_get=["contract_id"]):
            yield item.contract_id
    except PynamoDBException as exc:
        raise StorageError("could not list the contracts") from exc
