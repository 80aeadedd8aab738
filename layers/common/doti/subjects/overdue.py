"""Overdue requests from people filmed (issue 15 point 5): the suspension job's REQUEST_OVERDUE items.

Each request schedules its item at its due time when it arrives. When the item comes due and the request is still
open, a notice goes to the contract (on the site, and by e-mail to the contract's address through the notice's mail
work), in one transaction with the request's `overdue_notified_at` and a customer-visible "subject_request.overdue"
entry: a rerun finds the request marked and sends nothing twice. An answered or purged request is skipped.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from doti.clock import format_rfc3339
from doti.contracts import notices, terms
from doti.errors import Conflict, NotFound
from doti.jobs import schedule
from doti.oversight import audit
from doti.store import subject_requests as store
from doti.subjects import requests
from doti.subjects.requests import JST


def _notice_text(request_id: str, due_at: datetime) -> tuple[str, str]:
    due = due_at.astimezone(JST).strftime("%Y-%m-%d %H:%M JST")
    title = "A request from a person filmed is overdue / 撮影された方からのご請求の回答期限が過ぎています"
    body = (
        f"Request {request_id} was due on {due} and has not been answered. Answer it in the viewer (Console → "
        "Requests): people filmed are owed a timely answer under the Act on the Protection of Personal Information.\n\n"
        f"ご請求 {request_id} の回答期限({due})が過ぎていますが、まだ回答されていません。ビューアーの「コンソール → "
        "ご請求」から回答してください。"
    )
    return title, body


def notify_overdue(work: schedule.ScheduledWork, *, actor: str, now: datetime) -> bool:
    """Publish the overdue notice of the item's request once; False when there is nothing to do."""
    try:
        request = store.get_request(work.ref or "")
    except NotFound:
        return False
    if request.status != requests.OPEN or request.overdue_notified_at is not None or request.due_at > now:
        return False
    contract = terms.get_contract(request.contract_id)
    if contract.state in terms.ENDED_STATES:
        return False
    title, body = _notice_text(request.request_id, request.due_at)
    draft = notices.draft(
        audience=contract.contract_id, kind="request_overdue", title=title, body=body, actor=actor, now=now
    )

    def prepare() -> audit.StateWrite:
        seen = store.get_request(request.request_id)
        if seen.status != requests.OPEN or seen.overdue_notified_at is not None:
            raise Conflict("the request was answered or flagged", status=seen.status)

        def add(transaction: Any) -> None:
            store.add_change(transaction, seen, overdue_notified_at=now)
            notices.stage(transaction, draft)

        return audit.StateWrite(add, {"due_at": format_rfc3339(seen.due_at), "notice_id": draft.notice_id})

    try:
        audit.record_with(
            contract.contract_id,
            actor=actor,
            action="subject_request.overdue",
            subject=request.request_id,
            now=now,
            prepare=prepare,
        )
    except Conflict:
        return False
    return True
