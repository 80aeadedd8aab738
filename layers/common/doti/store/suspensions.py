"""Data access for planned suspension windows: one key range per contract, oldest first."""

from __future__ import annotations

from collections.abc import Iterable

from pynamodb.exceptions import DoesNotExist, PynamoDBException, UpdateError

from doti.entities import SuspensionWindow
from doti.errors import NotFound, StorageError
from doti.store.conditions import is_condition_failure
from doti.store.mapping import to_entity, to_item
from doti.store.models import SuspensionModel
from doti.store.transactions import Transaction


def _window(item: SuspensionModel) -> SuspensionWindow:
    return to_entity(SuspensionWindow, item)


def add_new_window(transaction: Transaction, window: SuspensionWindow) -> None:
    """Store a new window, in the transaction of its "suspension.scheduled" entry."""
    item = to_item(SuspensionModel, window)
    transaction.save(item, condition=SuspensionModel.suspension_id.does_not_exist())


def windows_of(contract_id: str) -> list[SuspensionWindow]:
    try:
        return [_window(item) for item in SuspensionModel.query(contract_id, consistent_read=True)]
    except PynamoDBException as exc:
        raise StorageError("could not read the suspension windows") from exc


def get_window(contract_id: str, suspension_id: str) -> SuspensionWindow:
    try:
        return _window(SuspensionModel.get(contract_id, suspension_id, consistent_read=True))
    except DoesNotExist as exc:
        raise NotFound("suspension window not found") from exc
    except PynamoDBException as exc:
        raise StorageError("could not read the suspension window") from exc


def set_status(window: SuspensionWindow, expected: Iterable[str], status: str) -> bool:
    """Move the window to `status` if it is still in one of `expected`; False when it had moved on."""
    condition = SuspensionModel.status.is_in(*expected)
    try:
        SuspensionModel(window.contract_id, window.suspension_id).update(
            actions=[SuspensionModel.status.set(status)], condition=condition
        )
    except UpdateError as exc:
        if is_condition_failure(exc):
            return False
        raise StorageError("could not update the suspension window") from exc
    return True


def add_status(transaction: Transaction, contract_id: str, suspension_id: str, expected: str, status: str) -> None:
    """Move the window from `expected` to `status` in a transaction (cancelled when it is no longer `expected`)."""
    transaction.update(
        SuspensionModel(contract_id, suspension_id),
        actions=[SuspensionModel.status.set(status)],
        condition=SuspensionModel.status == expected,
    )
