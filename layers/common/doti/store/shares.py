"""Data access for share links: one item per link, keyed by the SHA-256 of its token, listed per contract."""

from __future__ import annotations

from datetime import datetime

from pynamodb.exceptions import PynamoDBException
from pynamodb.transactions import TransactWrite

from doti.entities import Share
from doti.errors import NotFound, StorageError
from doti.store.mapping import to_entity, to_item
from doti.store.models import ShareModel


def _share(item: ShareModel) -> Share:
    return to_entity(Share, item)


def add_new_share(transaction: TransactWrite, share: Share) -> None:
    """Store a new share, in the transaction of its "share.created" entry."""
    item = to_item(ShareModel, share)
    transaction.save(item, condition=ShareModel.token_hash.does_not_exist())


def share_by_token_hash(token_hash: str) -> Share | None:
    try:
        return _share(ShareModel.get(token_hash, consistent_read=True))
    except ShareModel.DoesNotExist:
        return None
    except PynamoDBException as exc:
        raise StorageError("could not read the share") from exc


def shares_of_contract(contract_id: str) -> list[Share]:
    """Every share item of a contract (a handful: each lives at most seven days, then TTL removes it)."""
    try:
        return [_share(item) for item in ShareModel.by_contract.query(contract_id)]
    except PynamoDBException as exc:
        raise StorageError("could not list shares") from exc


def share_of_contract(contract_id: str, share_id: str) -> Share:
    """A share by its public id, only within its contract: another contract's share is NotFound."""
    try:
        found = list(ShareModel.by_contract.query(contract_id, filter_condition=ShareModel.share_id == share_id))
    except PynamoDBException as exc:
        raise StorageError("could not read the share") from exc
    if not found:
        raise NotFound("share not found")
    return _share(found[0])


def add_revoked(transaction: TransactWrite, share: Share, by: str, now: datetime) -> None:
    """Revoke a share, in the transaction of its "share.revoked" entry, unless it was revoked already (the first
    revocation stands)."""
    transaction.update(
        ShareModel(token_hash=share.token_hash),
        actions=[ShareModel.revoked_at.set(now), ShareModel.revoked_by.set(by)],
        condition=ShareModel.token_hash.exists() & ShareModel.revoked_at.does_not_exist(),
    )


def add_consumed(transaction: TransactWrite, share: Share, now: datetime) -> None:
    """Spend a one-time share's single view, in the transaction of its "share.viewed" entry, unless another view
    (or a revocation) came first."""
    transaction.update(
        ShareModel(token_hash=share.token_hash),
        actions=[ShareModel.consumed_at.set(now)],
        condition=(
            ShareModel.token_hash.exists()
            & ShareModel.consumed_at.does_not_exist()
            & ShareModel.revoked_at.does_not_exist()
        ),
    )
