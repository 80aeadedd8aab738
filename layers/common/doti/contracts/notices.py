"""Notices to customers (SPEC §8, Art. 5): on the site and by e-mail to the contract's registered address.

A notice goes to one contract or to all; each records when it counts as delivered (Art. 5-3): on the site when
it is published (viewable), by e-mail when sent, per contract.

Each addressed contract is told `notice.published` (doti.webhooks.producers): a notice to all as it is stored, one
event per live contract; a notice to one contract when its e-mail work is taken up (`deliver`), which every staged
notice gets, whoever staged it (staff, a suspension, a job), right after publishing or by the suspension job's next
run. A retried delivery tells it again under the same event id.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from doti import ids
from doti.clock import format_optional, format_rfc3339
from doti.contracts import contract_states, terms
from doti.entities import Contract, Notice, User
from doti.errors import DotiError, NotFound, StorageError, ValidationError
from doti.jobs import schedule
from doti.mail import Mailer, MailUnconfirmed
from doti.observability import logger
from doti.oversight import audit
from doti.store import notices as store
from doti.store import registry
from doti.store.events import EventSink
from doti.store.transactions import NotCommitted, Transaction, commit
from doti.webhooks import producers

ALL = "all"
KINDS = (
    "maintenance",
    "suspension",
    "terms_change",
    "fee_change",
    "service_end",
    "incident",
    "inactivity",
    "deletion",
    "request_overdue",  # a request from a person filmed not answered in time (doti.subjects.overdue)
    "webhook_disabled",  # an endpoint failed every delivery for over a day (doti.webhooks.dispatch)
)
SERVICE_END_NOTICE = timedelta(days=91)  # Art. 8-3: at least three months ahead
MAIL_DELAY = timedelta(minutes=1)  # longer than a request runs (29 s): the job never races a publisher's own send
# how e-mailing a staged notice went (`deliver`)
SENT, UNCONFIRMED, DONE = "sent", "unconfirmed", "done"


def _live_contracts() -> Iterable[Contract]:
    return (c for c in registry.iter_contracts() if not contract_states.rules_of(c).purged)


def publish(
    *,
    audience: str,
    kind: str,
    title: str,
    body: str,
    actor: str,
    mailer: Mailer,
    events: EventSink,
    now: datetime,
    effective_at: datetime | None = None,
) -> Notice:
    """Publish a notice on the site and e-mail it to every addressed contract; audited on each contract's chain.

    A notice to one contract is stored with its e-mail work (one transaction) and then e-mailed (`deliver`): an
    e-mail that could not go now is left to the suspension job, never lost and never sent twice."""
    notice = draft(
        audience=audience, kind=kind, title=title, body=body, actor=actor, now=now, effective_at=effective_at
    )
    if audience == ALL:
        return _broadcast(notice, mailer, events)
    registry.get_contract(audience)  # NotFound for an unknown contract
    work = mail_work(notice)
    try:
        commit(lambda transaction: stage(transaction, notice))
    except NotCommitted as exc:
        if store.get_notice(audience, notice.notice_id) is None:  # else it applied, and only its answer was lost
            raise StorageError("could not store the notice") from exc
    try:
        outcome = deliver(work, mailer=mailer, events=events, actor=actor, now=now)
    except DotiError as exc:  # not sent: the suspension job sends it (its work item stays)
        logger.warning(
            "notice e-mail left to the suspension job", extra={"notice_id": notice.notice_id, "code": exc.code}
        )
        outcome = None
    delivered = {audience: format_rfc3339(now)} if outcome == SENT else {}
    return replace(notice.notice(), email_delivered=delivered)


@dataclass(frozen=True)
class Draft:
    """A notice about to be stored (`stage`): its id is fixed, so storing it again writes the same notice."""

    audience: str
    notice_id: str
    kind: str
    title: str
    body: str
    actor: str
    now: datetime
    effective_at: datetime | None = None

    def notice(self) -> Notice:
        """The notice as it is stored: on the site (delivered there, Art. 5-3) when published, not yet e-mailed."""
        return Notice(
            audience=self.audience,
            notice_id=self.notice_id,
            kind=self.kind,
            title=self.title,
            body=self.body,
            published_at=self.now,
            effective_at=self.effective_at,
            site_delivered_at=self.now,
            email_delivered={},
        )


def draft(
    *,
    audience: str,
    kind: str,
    title: str,
    body: str,
    actor: str,
    now: datetime,
    effective_at: datetime | None = None,
) -> Draft:
    """A checked notice with a fresh id (nothing is written)."""
    if kind not in KINDS:
        raise ValidationError("unknown notice kind", field="kind", allowed=KINDS)
    if kind == "service_end" and (effective_at is None or effective_at < now + SERVICE_END_NOTICE):
        raise ValidationError(
            "ending the service needs notice at least three months ahead (Art. 8-3)", field="effective_at"
        )
    return Draft(audience, ids.time_sorted_id(now), kind, title, body, actor, now, effective_at)


def stage(transaction: Transaction, notice: Draft) -> schedule.ScheduledWork:
    """Add a notice to one contract, and the work of e-mailing it, to a transaction: the notice is on the site (and
    so delivered, Art. 5-3) once the transaction commits, and its e-mail cannot be lost. The e-mail is due a little
    later (MAIL_DELAY), so the suspension job sends it only if its publisher did not (`deliver`).

    Idempotent: the same draft adds the same writes (a retried transaction)."""
    if notice.audience == ALL:
        raise ValueError("a notice to all is e-mailed as it is published, not staged")
    store.add_notice(transaction, notice.notice(), notice.actor)
    work = mail_work(notice)
    schedule.add_work(transaction, work.kind, work.due_at, work.contract_id, work.ref)
    return work


def mail_work(notice: Draft) -> schedule.ScheduledWork:
    """The handle of a staged notice's e-mail work."""
    return schedule.work_for(schedule.NOTICE_MAIL, notice.audience, notice.notice_id, notice.now + MAIL_DELAY)


def deliver(work: schedule.ScheduledWork, *, mailer: Mailer, events: EventSink, actor: str, now: datetime) -> str:
    """E-mail a staged notice to its contract, at most once, and record it: its "notice.delivered" entry, its
    delivery time and the end of its work commit together (doti.oversight.audit.record_with).

    The work is claimed before the mail is sent. A send SES refused or that never reached it was not sent: the
    claim is given up and the error raised (the next attempt sends it). A send whose answer was lost, or a claim
    found held by an earlier attempt that stopped (before or after sending, or before recording it), may have sent
    it: the delivery is recorded "unconfirmed" and the mail never sent again. Returns SENT, UNCONFIRMED, or DONE when
    there was nothing left to do. The notice is told to `events` once the work is claimed, before the mail."""
    notice = store.get_notice(work.contract_id, work.ref or "")
    contract = _addressee(work.contract_id)
    if notice is None or contract is None:
        schedule.done_work(work)  # the notice or its contract was purged
        return DONE
    token = uuid.uuid4().hex
    holder = schedule.claim_work(work, token)
    if holder is None:
        return DONE  # delivered meanwhile
    producers.tell(events, [producers.notice_published(notice, work.contract_id)])
    sent_at: datetime | None = None
    if holder != token:
        outcome = UNCONFIRMED  # an earlier attempt stopped after its claim: its mail may have gone
    else:
        try:
            sent_at = mailer.send(contract.contact_email, f"[doti] {notice.title}", notice.body, now)
            outcome = SENT
        except MailUnconfirmed:
            outcome = UNCONFIRMED
        except DotiError:
            schedule.release_work(work, token)
            raise
    if outcome == UNCONFIRMED:
        logger.warning("notice e-mail unconfirmed: never resent", extra={"notice_id": notice.notice_id})
    try:
        recorded = _record_delivery(notice, work, holder, sent_at, actor, now)
    except StorageError:
        # Once more: the mail's fate is known now; left to a later attempt, it could only be called unconfirmed.
        recorded = _record_delivery(notice, work, holder, sent_at, actor, now)
    return outcome if recorded else DONE


def _record_delivery(
    notice: Notice, work: schedule.ScheduledWork, holder: str, sent_at: datetime | None, actor: str, now: datetime
) -> bool:
    """The delivery's entry, its time on the notice and the end of its work, in one transaction; False when another
    attempt recorded it first."""
    details: dict[str, Any] = {
        "kind": notice.kind,
        "title": notice.title,
        "email_sent_at": format_optional(sent_at),
    }
    if sent_at is None:
        details["email"] = UNCONFIRMED
    delivered = {work.contract_id: format_rfc3339(sent_at)} if sent_at is not None else {}

    def prepare() -> audit.StateWrite:
        if schedule.get_work(work) is None:
            raise _Recorded

        def add(transaction: Transaction) -> None:
            schedule.add_done(transaction, work, holder)
            store.add_email_delivered(transaction, notice.audience, notice.notice_id, delivered)

        return audit.StateWrite(add, details)

    try:
        audit.record_with(
            work.contract_id, actor=actor, action="notice.delivered", subject=notice.notice_id, now=now, prepare=prepare
        )
    except _Recorded:
        return False
    return True


class _Recorded(Exception):
    """The delivery was recorded by another attempt."""


def _addressee(contract_id: str) -> Contract | None:
    try:
        contract = registry.get_contract(contract_id)
    except NotFound:
        return None
    return None if contract_states.rules_of(contract).purged else contract


def _broadcast(notice: Draft, mailer: Mailer, events: EventSink) -> Notice:
    """A notice to every customer, e-mailed to each live contract as it is published. A mail whose answer was lost
    is recorded unconfirmed and not resent; the others still go."""
    recipients = list(_live_contracts())
    stored = notice.notice()
    store.put_notice(stored, notice.actor)
    producers.tell(events, [producers.notice_published(stored, contract.contract_id) for contract in recipients])
    delivered: dict[str, str] = {}
    for contract in recipients:
        details: dict[str, Any] = {"kind": notice.kind, "title": notice.title}
        try:
            sent_at = mailer.send(contract.contact_email, f"[doti] {notice.title}", notice.body, notice.now)
        except MailUnconfirmed:
            details.update(email_sent_at=None, email=UNCONFIRMED)
        else:
            delivered[contract.contract_id] = details["email_sent_at"] = format_rfc3339(sent_at)
        audit.record(
            contract.contract_id,
            actor=notice.actor,
            action="notice.delivered",
            subject=notice.notice_id,
            details=details,
            now=notice.now,
        )
    store.set_email_delivered(stored.audience, stored.notice_id, delivered)
    audit.record(
        None,
        actor=notice.actor,
        action="notice.published",
        subject=notice.notice_id,
        details={"kind": notice.kind},
        now=notice.now,
    )
    return replace(stored, email_delivered=delivered)


def _require_account_open(user: User, now: datetime) -> None:
    # Suspended customers still read notices: they are how the suspension is explained (SPEC §3).
    terms.require_account_open(terms.get_contract(user.contract_id), now)


def notices_for(user: User, *, now: datetime, limit: int = 50) -> list[tuple[Notice, datetime | None]]:
    """The user's notices (their contract's and everyone's), unread first, newest first within each group."""
    _require_account_open(user, now)
    found = store.newest_notices((user.contract_id, ALL), limit)
    reads = store.reads_of(user.login_id)
    found.sort(key=lambda n: (n.notice_id in reads, _desc(n.notice_id)))
    return [(n, reads.get(n.notice_id)) for n in found[:limit]]


def _desc(notice_id: str) -> list[int]:
    return [-ord(c) for c in notice_id]


def mark_read(user: User, notice_id: str, now: datetime) -> None:
    """Record that the user read a notice addressed to them; other notices are NotFound."""
    _require_account_open(user, now)
    if not store.is_addressed((user.contract_id, ALL), notice_id):
        raise NotFound("notice not found")
    store.put_read(user.login_id, notice_id, now)
