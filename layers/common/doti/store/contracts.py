"""Data access for the contract item: read consistently, written under its version attribute.

Every write but the last use's is conditional on the version read, so two writers that decided on the same
contract cannot both win; the loser reads again.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pynamodb.exceptions import DoesNotExist, PynamoDBException, UpdateError

from doti.entities import Contract
from doti.errors import Conflict, NotFound, StorageError
from doti.store.conditions import is_condition_failure
from doti.store.models import ContractModel
from doti.store.transactions import Transaction

_WRITE_ATTEMPTS = 5


@dataclass(frozen=True)
class Versioned:
    """A contract as read, and the version that a write decided on it is conditional on."""

    contract: Contract
    version: int | None


def as_contract(item: ContractModel) -> Contract:
    return Contract(**{f.name: getattr(item, f.name) for f in dataclasses.fields(Contract)})


def contract_item(contract_id: str) -> ContractModel:
    try:
        return ContractModel.get(contract_id, consistent_read=True)
    except DoesNotExist as exc:
        raise NotFound("contract not found") from exc
    except PynamoDBException as exc:
        raise StorageError("could not read the contract") from exc


def read_contract(contract_id: str) -> Contract:
    """The contract as stored now (a consistent read); NotFound when there is none."""
    return as_contract(contract_item(contract_id))


def read_versioned(contract_id: str) -> Versioned:
    item = contract_item(contract_id)
    return Versioned(as_contract(item), item.version)


def _actions(changes: Mapping[str, Any]) -> list[Any]:
    """Set each named attribute to its value; None removes it (the contract's and its item's names are the same)."""
    return [
        getattr(ContractModel, name).remove() if value is None else getattr(ContractModel, name).set(value)
        for name, value in changes.items()
    ]


def add_update(transaction: Transaction, read: Versioned, changes: Mapping[str, Any]) -> None:
    """Change the contract in a transaction, on condition that its version is still the one read."""
    item = ContractModel(read.contract.contract_id)
    if read.version is not None:  # an item written without one (a batch write) is conditional on having none
        item.version = read.version
    # PynamoDB adds the version condition and the increment
    transaction.update(item, actions=_actions(changes))


def update_versioned(
    contract_id: str,
    actions_for: Callable[[ContractModel], list[Any]],
    *,
    before_write: Callable[[Contract], None] | None = None,
    same_state_retry: bool = True,
) -> tuple[Contract, Contract]:
    """Read the contract, compute the update from it and write it on condition that its version is unchanged.

    A lost race re-reads: if the state moved meanwhile, the caller's decision is stale and a Conflict names the
    current state; otherwise (another field changed, e.g. last use) the update is recomputed and retried.
    `actions_for` validates and may raise. Returns the contract before and after.
    """
    for _ in range(_WRITE_ATTEMPTS):
        item = contract_item(contract_id)
        before = as_contract(item)
        actions = actions_for(item)
        if before_write is not None:
            before_write(before)
        try:
            item.update(actions=actions)
        except UpdateError as exc:
            if not is_condition_failure(exc):
                raise StorageError("could not update the contract") from exc
            current = contract_item(contract_id).state
            if current != before.state or not same_state_retry:
                raise Conflict(f"the contract changed meanwhile and is {current} now", current_state=current) from exc
            continue
        return before, as_contract(item)
    raise Conflict("the contract is busy; try again", current_state=before.state)


def update_contract(
    contract_id: str,
    changes_for: Callable[[Contract], Mapping[str, Any]],
    *,
    before_write: Callable[[Contract], None] | None = None,
) -> tuple[Contract, Contract]:
    """`update_versioned` with the changes computed from the contract as read (field -> value; None removes)."""
    return update_versioned(
        contract_id, lambda item: _actions(changes_for(as_contract(item))), before_write=before_write
    )


def record_use_if_stale(contract_id: str, now: datetime, interval: timedelta) -> datetime:
    """Store `now` as the last use unless a use within `interval` is stored; returns the last use now stored."""
    item = contract_item(contract_id)
    if item.last_used_at is not None and now - item.last_used_at < interval:
        return item.last_used_at
    stale = ContractModel.last_used_at.does_not_exist() | (ContractModel.last_used_at < now - interval)
    try:
        # No version condition: the last use is independent of every other field; the version still moves, so a
        # concurrent versioned writer re-reads rather than overwrites.
        item.update(actions=[ContractModel.last_used_at.set(now)], condition=stale, add_version_condition=False)
    except UpdateError as exc:
        if not is_condition_failure(exc):
            raise StorageError("could not record the use of the service") from exc
    return now  # either this write or another process's, made since the read, is within the interval


def contract_page(state: str | None, limit: int, after: str | None) -> tuple[list[Contract], str | None]:
    """A page of contracts (the contracts table, never frame data), optionally of one state; returns the page
    and the contract id to continue after, or None on the last page."""
    condition = ContractModel.state == state if state else None
    last_key = {"contract_id": {"S": after}} if after else None
    page: list[Contract] = []
    try:
        scan: Iterator[ContractModel] = ContractModel.scan(
            filter_condition=condition, last_evaluated_key=last_key, page_size=max(limit, 25)
        )
        for item in scan:
            if len(page) == limit:
                return page, page[-1].contract_id  # another matching contract follows
            page.append(as_contract(item))
    except PynamoDBException as exc:
        raise StorageError("could not list contracts") from exc
    return page, None
