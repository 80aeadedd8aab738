"""Data access for notices (one item per audience and notice, newest last) and the reads of each login."""

from __future__ import annotations

from datetime import datetime

from pynamodb.exceptions import DoesNotExist, PynamoDBException

from doti.entities import Notice
from doti.errors import StorageError
from doti.store.mapping import to_entity, to_item
from doti.store.models import NoticeModel, NoticeReadModel
from doti.store.transactions import Transaction


def _notice(item: NoticeModel) -> Notice:
    return to_entity(Notice, item, email_delivered=item.email_delivered or {})


def _item(notice: Notice, published_by: str) -> NoticeModel:
    return to_item(NoticeModel, notice, published_by=published_by)


def add_notice(transaction: Transaction, notice: Notice, published_by: str) -> None:
    """Store a notice in a transaction (the same notice twice writes the same item)."""
    transaction.save(_item(notice, published_by))


def put_notice(notice: Notice, published_by: str) -> None:
    try:
        _item(notice, published_by).save()
    except PynamoDBException as exc:
        raise StorageError("could not store the notice") from exc


def get_notice(audience: str, notice_id: str) -> Notice | None:
    """The notice as stored (a consistent read), or None."""
    try:
        return _notice(NoticeModel.get(audience, notice_id, consistent_read=True))
    except DoesNotExist:
        return None
    except PynamoDBException as exc:
        raise StorageError("could not read the notice") from exc


def add_email_delivered(transaction: Transaction, audience: str, notice_id: str, delivered: dict[str, str]) -> None:
    """Record the notice's e-mail delivery in a transaction, on condition that the notice is still stored."""
    transaction.update(
        NoticeModel(audience, notice_id),
        actions=[NoticeModel.email_delivered.set(delivered)],
        condition=NoticeModel.notice_id.exists(),
    )


def set_email_delivered(audience: str, notice_id: str, delivered: dict[str, str]) -> None:
    try:
        NoticeModel(audience, notice_id).update(actions=[NoticeModel.email_delivered.set(delivered)])
    except PynamoDBException as exc:
        raise StorageError("could not record the notice's delivery") from exc


def newest_notices(audiences: tuple[str, ...], limit: int) -> list[Notice]:
    """Up to `limit` newest notices of each audience."""
    try:
        return [
            _notice(item)
            for audience in audiences
            for item in NoticeModel.query(audience, scan_index_forward=False, limit=limit)
        ]
    except PynamoDBException as exc:
        raise StorageError("could not list notices") from exc


def reads_of(login_id: str) -> dict[str, datetime]:
    """When the login read each notice it read, by notice id."""
    try:
        return {r.notice_id: r.read_at for r in NoticeReadModel.query(login_id)}
    except PynamoDBException as exc:
        raise StorageError("could not list notices") from exc


def is_addressed(audiences: tuple[str, ...], notice_id: str) -> bool:
    """Whether the notice is stored under one of `audiences`."""
    try:
        return any(NoticeModel.count(audience, NoticeModel.notice_id == notice_id) for audience in audiences)
    except PynamoDBException as exc:
        raise StorageError("could not record the read") from exc


def put_read(login_id: str, notice_id: str, read_at: datetime) -> None:
    try:
        NoticeReadModel(login_id=login_id, notice_id=notice_id, read_at=read_at).save()
    except PynamoDBException as exc:
        raise StorageError("could not record the read") from exc
