"""Data access for usage counters: bytes stored per contract and UTC month, counted with atomic ADDs."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pynamodb.exceptions import DoesNotExist, PynamoDBException

from doti.errors import StorageError
from doti.store.models import UsageModel


def bytes_used(contract_id: str, period: str) -> int:
    """Bytes charged to the contract in `period` (0 if nothing yet); a strongly consistent read."""
    try:
        return int(UsageModel.get(contract_id, period, consistent_read=True).bytes_stored or 0)
    except DoesNotExist:
        return 0
    except PynamoDBException as exc:
        raise StorageError("could not read the contract's usage") from exc


def charge_update(
    contract_id: str, period: str, size: int, quota: int, *, objects: int = 1
) -> tuple[UsageModel, list[Any], Any]:
    """The (item, actions, condition) of a transactional charge: ADD `size` bytes and `objects` objects, only if the
    counter still has room for them (DynamoDB conditions cannot add, so the bound is precomputed)."""
    actions = [UsageModel.bytes_stored.add(size), UsageModel.objects_stored.add(objects)]
    condition = UsageModel.bytes_stored.does_not_exist() | (UsageModel.bytes_stored <= quota - size)
    return UsageModel(contract_id, period), actions, condition


def fitting(sizes: Iterable[int], used: int, quota: int) -> int:
    """How many of `sizes`, in order, fit in a month that has `used` of its `quota` bytes."""
    count = 0
    for size in sizes:
        used += size
        if used > quota:
            break
        count += 1
    return count
