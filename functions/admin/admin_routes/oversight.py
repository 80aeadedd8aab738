"""Staff routes for oversight: the audit log, third-party disclosures, leak incidents and notices."""

# No `from __future__ import annotations`: Powertools reads the route signatures for OpenAPI validation.
from typing import Annotated, Literal

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query
from pydantic import Field

from admin_routes.common import StaffRequest, staff
from doti import openapi, runtime
from doti.api import staff as api
from doti.clock import parse_rfc3339, utcnow
from doti.contracts import notices
from doti.http import json_response
from doti.oversight import access_log, audit, disclosures, incidents

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
) -> Response[api.AuditPage]:
    staff(router)
    entries, next_seq = access_log.staff_page(contract_id, limit=limit, after_seq=after_seq)
    items = [api.AuditEntry.of(e) for e in entries]
    return json_response(200, api.AuditPage(contract_id=contract_id, items=items, next_after_seq=next_seq or None))


@router.get("/v1/admin/contracts/<contract_id>/audit/verify", responses=openapi.answers(200, 404))
def verify_audit(contract_id: str) -> Response[api.AuditVerification]:
    staff(router)
    return json_response(200, api.AuditVerification.of(access_log.verify(contract_id)))


# notices and incidents


@router.post("/v1/admin/notices", responses=openapi.answers(201, 404, 409))
def publish_notice(body: NoticeCreate) -> Response[api.PublishedNotice]:
    # A notice to every customer speaks for the company: admins only.
    member = staff(router, "admin" if body.audience == notices.ALL else "operator")
    notice = notices.publish(
        audience=body.audience,
        kind=body.kind,
        title=body.title,
        body=body.body,
        actor=audit.staff_actor(member),
        mailer=runtime.mailer(),
        events=runtime.events(),
        now=utcnow(),
        effective_at=parse_rfc3339(body.effective_at, "effective_at") if body.effective_at else None,
    )
    return json_response(201, api.PublishedNotice.of(notice))


@router.post("/v1/admin/incidents", responses=openapi.answers(201, 404, 409))
def report_incident(body: IncidentCreate) -> Response[api.Incident]:
    member = staff(router, "admin")
    report = incidents.IncidentReport(
        title=body.title,
        description=body.description,
        occurred_at=parse_rfc3339(body.occurred_at, "occurred_at"),
        contract_ids=tuple(body.contract_ids),
        data_affected=body.data_affected,
    )
    incident = incidents.report_incident(
        report, actor=audit.staff_actor(member), mailer=runtime.mailer(), events=runtime.events(), now=utcnow()
    )
    return json_response(201, api.Incident.of(incident))


# disclosures


@router.post("/v1/admin/contracts/<contract_id>/disclosures", responses=openapi.answers(201, 404, 409))
def create_disclosure(contract_id: str, body: DisclosureCreate) -> Response[api.Disclosure]:
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
    return json_response(201, api.Disclosure.of(disclosure, link))


@router.get("/v1/admin/disclosures/<disclosure_id>", responses=openapi.answers(200, 404, 409))
def get_disclosure(disclosure_id: str) -> Response[api.Disclosure]:
    member = staff(router, "admin")
    disclosure, link = disclosures.get_disclosure(disclosure_id, staff=member, storage=runtime.storage(), now=utcnow())
    return json_response(200, api.Disclosure.of(disclosure, link))
