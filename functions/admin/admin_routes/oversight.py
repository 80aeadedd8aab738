"""Staff routes for oversight: the audit log, third-party disclosures, leak incidents and notices."""

# No `from __future__ import annotations`: Powertools reads the route signatures for OpenAPI validation.
from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query
from pydantic import Field

from admin_routes.common import StaffRequest, staff
from doti import access_log, audit, disclosures, incidents, notices, openapi, runtime
from doti.clock import format_rfc3339, parse_rfc3339, utcnow
from doti.http import json_response

router = Router()

# The notice kinds staff publish (SPEC §8); "inactivity" and "deletion" notices are the jobs' own.
STAFF_NOTICE_KINDS = Literal["maintenance", "suspension", "terms_change", "fee_change", "service_end", "incident"]
_ID = r"^[A-Za-z0-9_\-]{1,64}$"


class NoticeCreate(StaffRequest):
    audience: str = Field(min_length=1, max_length=64, pattern=_ID, description='"all" or a contract id')
    kind: STAFF_NOTICE_KINDS
    title: str = Field(min_length=1, max_length=200)
    body: str = Field(min_length=1, max_length=10_000)
    effective_at: str | None = Field(default=None, max_length=40, json_schema_extra=openapi.TIME)


class IncidentCreate(StaffRequest):
    title: str = Field(min_length=1, max_length=200)
    description: str = Field(min_length=1, max_length=10_000)
    occurred_at: str = Field(min_length=1, max_length=40, json_schema_extra=openapi.TIME)
    contract_ids: list[Annotated[str, Field(min_length=1, max_length=64, pattern=_ID)]] = Field(
        min_length=1, max_length=incidents.MAX_CONTRACTS
    )
    data_affected: str = Field(min_length=1, max_length=2_000)


class DisclosureCreate(StaffRequest):
    basis: Literal["art10-3-1", "art10-3-2", "art10-3-3", "art10-3-4", "art10-3-5"]
    recipient: str = Field(min_length=1, max_length=300)
    reason: str = Field(min_length=1, max_length=2_000)
    camera_id: str = Field(min_length=1, max_length=64)
    frame_ids: list[Annotated[str, Field(min_length=1, max_length=64)]] | None = Field(
        default=None, min_length=1, max_length=disclosures.MAX_PACKAGE_FRAMES
    )
    from_: str | None = Field(default=None, alias="from", max_length=40, json_schema_extra=openapi.TIME)
    to: str | None = Field(default=None, max_length=40, json_schema_extra=openapi.TIME)
    legal_reference: str | None = Field(default=None, max_length=300)


# audit


@router.get("/v1/admin/contracts/<contract_id>/audit", responses=openapi.answers(200, 404))
def list_audit(
    contract_id: str,
    limit: Annotated[int, Query(ge=1, le=access_log.MAX_PAGE)] = 50,
    after_seq: Annotated[int | None, Query(ge=1, le=access_log.MAX_SEQ)] = None,
) -> Response[dict[str, Any]]:
    staff(router)
    entries, next_seq = access_log.staff_page(contract_id, limit=limit, after_seq=after_seq)
    body: dict[str, Any] = {"contract_id": contract_id, "items": [access_log.staff_entry_view(e) for e in entries]}
    if next_seq:
        body["next_after_seq"] = next_seq
    return json_response(200, body)


@router.get("/v1/admin/contracts/<contract_id>/audit/verify", responses=openapi.answers(200, 404))
def verify_audit(contract_id: str) -> Response[dict[str, Any]]:
    staff(router)
    report = access_log.verify(contract_id)
    return json_response(
        200,
        {
            "contract_id": report.contract_id,
            "entries": report.entries,
            "intact": report.intact,
            "first_broken_seq": report.first_broken_seq,
            "problem": report.problem,
        },
    )


# notices and incidents


@router.post("/v1/admin/notices", responses=openapi.answers(201, 404, 409))
def publish_notice(body: NoticeCreate) -> Response[dict[str, Any]]:
    # A notice to every customer speaks for the company: admins only.
    member = staff(router, "admin" if body.audience == notices.ALL else "operator")
    notice = notices.publish(
        audience=body.audience,
        kind=body.kind,
        title=body.title,
        body=body.body,
        actor=audit.staff_actor(member),
        mailer=runtime.mailer(),
        now=utcnow(),
        effective_at=parse_rfc3339(body.effective_at, "effective_at") if body.effective_at else None,
    )
    return json_response(
        201,
        {
            "audience": notice.audience,
            **{k: v for k, v in notices.notice_view(notice, None).items() if k not in {"read", "read_at"}},
            "site_delivered_at": format_rfc3339(notice.site_delivered_at),
            "emails_sent": len(notice.email_delivered),
            "email_delivered": notice.email_delivered if notice.audience != notices.ALL else None,
        },
    )


@router.post("/v1/admin/incidents", responses=openapi.answers(201, 404, 409))
def report_incident(body: IncidentCreate) -> Response[dict[str, Any]]:
    member = staff(router, "admin")
    report = incidents.IncidentReport(
        title=body.title,
        description=body.description,
        occurred_at=parse_rfc3339(body.occurred_at, "occurred_at"),
        contract_ids=tuple(body.contract_ids),
        data_affected=body.data_affected,
    )
    incident = incidents.report_incident(report, actor=audit.staff_actor(member), mailer=runtime.mailer(), now=utcnow())
    return json_response(
        201,
        {
            "incident_id": incident.incident_id,
            "reported_at": format_rfc3339(incident.reported_at),
            "notices": [
                {
                    "contract_id": n.contract_id,
                    "notice_id": n.notice.notice_id,
                    "email_sent_at": n.notice.email_delivered.get(n.contract_id),
                }
                for n in incident.notified
            ],
        },
    )


# disclosures


@router.post("/v1/admin/contracts/<contract_id>/disclosures", responses=openapi.answers(201, 404, 409))
def create_disclosure(contract_id: str, body: DisclosureCreate) -> Response[dict[str, Any]]:
    """201 with the disclosure and a link to its package; the same request asked again by the same staff member soon
    after (an error, no answer) is 201 with the disclosure it made and a new link, not a second disclosure."""
    member = staff(router, "admin")
    request = disclosures.DisclosureRequest(
        contract_id=contract_id,
        basis=body.basis,
        recipient=body.recipient,
        reason=body.reason,
        camera_id=body.camera_id,
        frame_ids=tuple(body.frame_ids) if body.frame_ids is not None else None,
        start=parse_rfc3339(body.from_, "from") if body.from_ else None,
        end=parse_rfc3339(body.to, "to") if body.to else None,
        legal_reference=body.legal_reference,
    )
    disclosure, link = disclosures.create_disclosure(request, staff=member, storage=runtime.storage(), now=utcnow())
    return json_response(201, disclosures.disclosure_view(disclosure, link))


@router.get("/v1/admin/disclosures/<disclosure_id>", responses=openapi.answers(200, 404, 409))
def get_disclosure(disclosure_id: str) -> Response[dict[str, Any]]:
    member = staff(router, "admin")
    disclosure, link = disclosures.get_disclosure(disclosure_id, staff=member, storage=runtime.storage(), now=utcnow())
    return json_response(200, disclosures.disclosure_view(disclosure, link))
