"""Leak incidents (Art. 11-4): when customers' confidential or personal data was, or may have been, stolen or
leaked, every affected customer is told at once.

An incident is recorded on the system audit chain (with the list of affected contracts, for staff only) and, per
affected contract, as an "incident" notice (site and e-mail, SPEC §8) plus an entry on that contract's chain. A
contract's own entry and notice never name the other affected contracts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from doti import ids
from doti.clock import format_rfc3339
from doti.contracts import notices, terms
from doti.errors import NotFound, ValidationError
from doti.mail import Mailer
from doti.oversight import audit
from doti.store.events import EventSink

# One request notifies at most this many contracts within the API's 29 s; an incident that touches every customer
# is a notice to "all" (POST /v1/admin/notices, kind "incident").
MAX_CONTRACTS = 100
FUTURE_TOLERANCE = timedelta(minutes=5)


@dataclass(frozen=True)
class IncidentReport:
    title: str
    description: str
    occurred_at: datetime
    contract_ids: tuple[str, ...]
    data_affected: str


@dataclass(frozen=True)
class ContractNotified:
    contract_id: str
    notice: notices.Notice


@dataclass(frozen=True)
class Incident:
    incident_id: str
    reported_at: datetime
    notified: list[ContractNotified]


def _validate(report: IncidentReport, now: datetime) -> list[str]:
    contract_ids = list(dict.fromkeys(report.contract_ids))  # unique, in the order given
    if not contract_ids:
        raise ValidationError("contract_ids must name at least one affected contract", field="contract_ids")
    if len(contract_ids) > MAX_CONTRACTS:
        raise ValidationError("too many contracts for one report", field="contract_ids", maximum=MAX_CONTRACTS)
    if report.occurred_at > now + FUTURE_TOLERANCE:
        raise ValidationError("occurred_at is in the future", field="occurred_at")
    unknown = []
    for contract_id in contract_ids:
        try:
            terms.get_contract(contract_id)
        except NotFound:
            unknown.append(contract_id)
    if unknown:
        raise NotFound("unknown contracts; nothing was recorded or sent", contract_ids=unknown)
    return contract_ids


def notice_body(incident_id: str, report: IncidentReport) -> str:
    return (
        f"{report.description}\n\n"
        f"発生日時 / Occurred at: {format_rfc3339(report.occurred_at)}\n"
        f"影響を受けたデータ / Data affected: {report.data_affected}\n"
        f"お問い合わせ番号 / Incident reference: {incident_id}\n"
    )


def report_incident(
    report: IncidentReport, *, actor: str, mailer: Mailer, events: EventSink, now: datetime
) -> Incident:
    """Validate every affected contract first, then record the incident and notify each contract."""
    contract_ids = _validate(report, now)
    incident_id = ids.new_id("inc")
    occurred_at = format_rfc3339(report.occurred_at)
    audit.record(
        None,
        actor=actor,
        action="incident.reported",
        subject=incident_id,
        details={
            "title": report.title,
            "description": report.description,
            "occurred_at": occurred_at,
            "data_affected": report.data_affected,
            "contract_ids": contract_ids,
        },
        now=now,
    )
    body = notice_body(incident_id, report)
    notified = []
    for contract_id in contract_ids:
        notice = notices.publish(
            audience=contract_id,
            kind="incident",
            title=report.title,
            body=body,
            actor=actor,
            mailer=mailer,
            events=events,
            now=now,
        )
        audit.record(
            contract_id,
            actor=actor,
            action="incident.notified",
            subject=incident_id,
            details={
                "title": report.title,
                "occurred_at": occurred_at,
                "data_affected": report.data_affected,
                "notice_id": notice.notice_id,
            },
            now=now,
        )
        notified.append(ContractNotified(contract_id, notice))
    return Incident(incident_id=incident_id, reported_at=now, notified=notified)
