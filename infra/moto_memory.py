"""moto as a long-running local AWS: it must not keep what it no longer holds.

moto registers every model object it creates (S3 objects, DynamoDB items and tables, SQS messages…) in a class-level
list, `instances_tracked`, for its /moto-api/data.json dashboard, and empties those lists only when all state is
reset. In a test that lasts seconds that is harmless; in the local stack, which runs for days, nothing moto ever
created can be freed: a deleted object's metadata, every version of every DynamoDB item, and, worst, the full copy of
each table that TransactWriteItems takes for its rollback (one per table per transaction: the frames table, the
claims and the usage table, on every frame the demo camera sends). Measured with moto 5.2.5: 100 transactions on a
3,000-item table kept 680 MB.

The local stack turns the registration off before its moto server starts: objects then live exactly as long as moto's
backends refer to them. The price is an empty /moto-api/data.json; nothing the service calls reads these lists.

Those table copies also cost time: each transaction deep-copies every table it touches, all items, so ingesting a
frame slows down as frames accumulate (0.5 s per transaction on a 3,000-item table here; a day of the demo camera is
17,280 frames and as many claims). `copy_touched_items_only` makes the rollback copy only the items the transaction
names, which is all a rollback restores: the cost of a transaction no longer depends on the size of its tables.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

_in_transaction = threading.local()


def stop_tracking_instances() -> Callable[[], None]:
    """Make moto's models stop registering their instances, and forget those registered; returns the undo."""
    from moto.core.common_models import BaseModel
    from moto.core.model_instances import reset_model_data

    tracking_new = BaseModel.__dict__["__new__"]

    def untracked_new(cls: type[Any], *_args: Any, **_kwargs: Any) -> Any:
        return super(BaseModel, cls).__new__(cls)  # what BaseModel.__new__ does, less the registration

    BaseModel.__new__ = staticmethod(untracked_new)  # type: ignore[method-assign,assignment]
    reset_model_data()  # drops the lists' references only; the backends keep what they hold

    def undo() -> None:
        BaseModel.__new__ = tracking_new  # type: ignore[method-assign]

    return undo


@contextmanager
def untracked_instances() -> Iterator[None]:
    """stop_tracking_instances for a block (tests): moto's own behaviour is back afterwards."""
    undo = stop_tracking_instances()
    try:
        yield
    finally:
        undo()


class _TableCopies:
    """Stands for the `copy` module inside moto.dynamodb.models: during a transaction (on this thread) a table
    "copy" is the table itself, since the touched items are saved apart; every other copy is a real one."""

    def __init__(self, table_type: type) -> None:
        self._table_type = table_type

    def deepcopy(self, value: Any, memo: dict[int, Any] | None = None) -> Any:
        if isinstance(value, self._table_type) and getattr(_in_transaction, "active", False):
            return value
        return copy.deepcopy(value, memo)

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)


def _item_key(backend: Any, operation: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """The table and key a TransactWriteItems operation names, as moto reads them; None when it names none."""
    (op_type, op), *_ = operation.items()
    table_name = op.get("TableName")
    if table_name not in backend.tables:
        return None
    if op_type != "Put":
        return table_name, op.get("Key", {})
    table = backend.tables[table_name]
    key_names = [table.hash_key_attr] + ([table.range_key_attr] if table.range_key_attr else [])
    return table_name, {name: op["Item"][name] for name in key_names if name in op.get("Item", {})}


def _readable(backend: Any, named: tuple[str, dict[str, Any]]) -> bool:
    """Whether the key is one moto can read: a malformed one makes moto refuse the transaction before any write."""
    from moto.dynamodb.exceptions import MockValidationException

    try:
        backend.get_item(*named)
    except (MockValidationException, KeyError, TypeError):
        return False
    return True


def copy_touched_items_only() -> Callable[[], None]:
    """Make moto's TransactWriteItems save and restore only the items it names; returns the undo."""
    from moto.dynamodb import models
    from moto.dynamodb.models.table import Table

    original = models.DynamoDBBackend.transact_write_items

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        saved = []
        for operation in transact_items:
            named = _item_key(self, operation) if isinstance(operation, dict) and operation else None
            if named is not None and _readable(self, named):
                item = self.get_item(*named)
                saved.append((named, None if item is None else item.to_json()["Attributes"]))
        _in_transaction.active = True
        try:
            original(self, transact_items)
        except Exception:
            for (table_name, key), attributes in reversed(saved):  # as moto's rollback: every named item as it was
                self.delete_item(table_name, key)
                if attributes is not None:
                    self.put_item(table_name, attributes)
            raise
        finally:
            _in_transaction.active = False

    models.copy = _TableCopies(Table)  # type: ignore[assignment]
    models.DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]

    def undo() -> None:
        models.copy = copy
        models.DynamoDBBackend.transact_write_items = original  # type: ignore[method-assign]

    return undo


@contextmanager
def lean_transactions() -> Iterator[None]:
    """copy_touched_items_only for a block (tests)."""
    undo = copy_touched_items_only()
    try:
        yield
    finally:
        undo()
