"""Notices to customers (SPEC §8, Art. 5): on the site and by e-mail to the contract's registered address.

A notice goes to one contract or to all; each records when it counts as delivered (Art. 5-3): on the site when
it is published (viewable), by e-mail when sent, per contract.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pynamodb.exceptions import PynamoDBException

from doti import audit, contracts, ids
from doti.clock import format_optional, format_rfc3339
from doti.entities import Contract, User
from doti.errors import NotFound, StorageError, ValidationError
from doti.mail import Mailer
from doti.store import registry
from doti.store.models import NoticeModel, NoticeReadModel

ALL = "all"
KINDS = ("maintenance", "suspension", "terms_change", "fee_change", "service_end", "incident", "inactivity", "deletion")
SERVICE_END_NOTICE = timedelta(days=91)  # Art. 8-3: at least three months ahead
_DEAD_STATES = frozenset({"purged"})


@dataclass(frozen=True)
class Notice:
    audience: str
    notice_id: str
    kind: str
    title: str
    body: str
    published_at: datetime
    effective_at: datetime | None
    site_delivered_at: datetime
    email_delivered: dict[str, str]


def _notice(item: NoticeModel) -> Notice:
    return Notice(
        audience=item.audience,
        notice_id=item.notice_id,
        kind=item.kind,
        title=item.title,
        body=item.body,
        published_at=item.published_at,
        effective_at=item.effective_at,
        site_delivered_at=item.site_delivered_at,
        email_delivered=item.email_delivered or {},
    )


def _recipients(audience: str) -> Iterable[Contract]:
    if audience == ALL:
        return (c for c in registry.iter_contracts() if c.state not in _DEAD_STATES)
    return [registry.get_contract(audience)]


def publish(
    *,
    audience: str,
    kind: str,
    title: str,
    body: str,
    actor: str,
    mailer: Mailer,
    now: datetime,
    effective_at: datetime | None = None,
) -> Notice:
    """Publish a notice on the site and e-mail it to every addressed contract; audited on each contract's chain."""
    if kind not in KINDS:
        raise ValidationError("unknown notice kind", field="kind", allowed=KINDS)
    if kind == "service_end" and (effective_at is None or effective_at < now + SERVICE_END_NOTICE):
        raise ValidationError(
            "ending the service needs notice at least three months ahead (Art. 8-3)", field="effective_at"
        )
    recipients = list(_recipients(audience))
    item = NoticeModel(
        audience=audience,
        notice_id=ids.time_sorted_id(now),
        kind=kind,
        title=title,
        body=body,
        published_at=now,
        effective_at=effective_at,
        published_by=actor,
        site_delivered_at=now,
        email_delivered={},
    )
    try:
        item.save()
    except PynamoDBException as exc:
        raise StorageError("could not store the notice") from exc
    delivered: dict[str, str] = {}
    for contract in recipients:
        sent_at = mailer.send(contract.contact_email, f"[doti] {title}", body, now)
        delivered[contract.contract_id] = format_rfc3339(sent_at)
        audit.record(
            contract.contract_id,
            actor=actor,
            action="notice.delivered",
            subject=item.notice_id,
            details={"kind": kind, "title": title, "email_sent_at": delivered[contract.contract_id]},
            now=now,
        )
    try:
        item.update(actions=[NoticeModel.email_delivered.set(delivered)])
    except PynamoDBException as exc:
        raise StorageError("could not record the notice's delivery") from exc
    if audience == ALL:
        audit.record(
            None, actor=actor, action="notice.published", subject=item.notice_id, details={"kind": kind}, now=now
        )
    return _notice(item)


def _require_account_open(user: User, now: datetime) -> None:
    # Suspended customers still read notices: they are how the suspension is explained (SPEC §3).
    contracts.require_account_open(contracts.get_contract(user.contract_id), now)


def notices_for(user: User, *, now: datetime, limit: int = 50) -> list[tuple[Notice, datetime | None]]:
    """The user's notices (their contract's and everyone's), unread first, newest first within each group."""
    _require_account_open(user, now)
    try:
        found = [
            _notice(item)
            for audience in (user.contract_id, ALL)
            for item in NoticeModel.query(audience, scan_index_forward=False, limit=limit)
        ]
        reads = {r.notice_id: r.read_at for r in NoticeReadModel.query(user.login_id)}
    except PynamoDBException as exc:
        raise StorageError("could not list notices") from exc
    found.sort(key=lambda n: (n.notice_id in reads, _desc(n.notice_id)))
    return [(n, reads.get(n.notice_id)) for n in found[:limit]]


def _desc(notice_id: str) -> list[int]:
    return [-ord(c) for c in notice_id]


def mark_read(user: User, notice_id: str, now: datetime) -> None:
    """Record that the user read a notice addressed to them; other notices are NotFound."""
    _require_account_open(user, now)
    try:
        visible = any(
            NoticeModel.count(audience, NoticeModel.notice_id == notice_id) for audience in (user.contract_id, ALL)
        )
        if not visible:
            raise NotFound("notice not found")
        NoticeReadModel(login_id=user.login_id, notice_id=notice_id, read_at=now).save()
    except PynamoDBException as exc:
        raise StorageError("could not record the read") from exc


def notice_view(notice: Notice, read_at: datetime | None) -> dict[str, Any]:
    return {
        "notice_id": notice.notice_id,
        "kind": notice.kind,
        "title": notice.title,
        "body": notice.body,
        "published_at": format_rfc3339(notice.published_at),
        "effective_at": format_optional(notice.effective_at),
        "read": read_at is not None,
        "read_at": format_optional(read_at),
    }
