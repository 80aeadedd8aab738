"""Staff routes for contracts: create, read, list, plan updates, transitions and planned suspensions (SPEC §3, §7).

Roles: an `operator` key does everything here except ending a contract: a transition to `terminated` needs an
`admin` key, because it starts the countdown to the irrecoverable purge (Art. 10-5). `purged` is not a target of
this route at all; the termination job reaches it once the data is gone. Every change is audited with the staff id.
"""

# No `from __future__ import annotations`: Powertools reads the route signatures for OpenAPI validation.
import base64
import re
from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query
from pydantic import EmailStr, Field

from admin_routes.common import StaffRequest, staff
from doti import openapi, runtime
from doti.api.staff import Contract as ContractOut
from doti.api.staff import ContractPage, Suspension, SuspensionList
from doti.clock import parse_rfc3339, utcnow
from doti.contracts import contract_states, lifecycle, purposes, suspensions, terms
from doti.errors import ValidationError
from doti.http import json_response
from doti.oversight import audit
from doti.settings import get_settings
from doti.subjects import periods

router = Router()

MAX_PAGE = 200
_TARGETS = Literal[tuple(state.value for state in contract_states.STAFF_TARGETS)]  # type: ignore[valid-type]
_STATES = Literal[tuple(state.value for state in contract_states.ContractState)]  # type: ignore[valid-type]
_CONTRACT_ID = re.compile(r"ctr_[0-9a-z]{20}")  # doti.ids.new_id("ctr")

# The plan's numbers, bounded here as in terms.Plan.validate so that no value reaches arithmetic or a write that
# cannot hold it; the domain still names the exact rule (one of the retention classes, quota >= object size).
_RETENTION_DAYS = Field(ge=min(terms.RETENTION_CLASSES), le=max(terms.RETENTION_CLASSES))
_SIGNED_URL_TTL = Field(ge=terms.MIN_SIGNED_URL_TTL, le=terms.MAX_SIGNED_URL_TTL)
_MAX_OBJECT_BYTES = Field(ge=terms.MIN_OBJECT_BYTES, le=terms.MAX_OBJECT_BYTES)
_MAX_PIXELS = Field(ge=terms.MIN_PIXELS, le=terms.MAX_PIXELS)
_MONTHLY_BYTE_QUOTA = Field(ge=terms.MIN_OBJECT_BYTES, le=terms.MAX_MONTHLY_BYTE_QUOTA)


class ContractCreate(StaffRequest):
    name: str = Field(min_length=1, max_length=200)
    contact_email: EmailStr
    security_contract_id: str | None = Field(default=None, max_length=100)
    service_start: str | None = Field(
        default=None, max_length=40, json_schema_extra=openapi.TIME
    )  # a future start makes the contract pending
    retention_days: Annotated[int, _RETENTION_DAYS] = terms.Plan.retention_days
    signed_url_ttl: Annotated[int, _SIGNED_URL_TTL] = terms.Plan.signed_url_ttl
    max_object_bytes: Annotated[int, _MAX_OBJECT_BYTES] = terms.Plan.max_object_bytes
    max_pixels: Annotated[int, _MAX_PIXELS] = terms.Plan.max_pixels
    monthly_byte_quota: Annotated[int, _MONTHLY_BYTE_QUOTA] = terms.Plan.monthly_byte_quota


class ContractUpdate(StaffRequest):
    """Only the fields given change; null clears security_contract_id or security_contract_ended_at."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    contact_email: EmailStr | None = None
    security_contract_id: str | None = Field(default=None, min_length=1, max_length=100)
    security_contract_ended_at: str | None = Field(default=None, max_length=40, json_schema_extra=openapi.TIME)
    service_start: str | None = Field(default=None, max_length=40, json_schema_extra=openapi.TIME)
    retention_days: Annotated[int, _RETENTION_DAYS] | None = None
    signed_url_ttl: Annotated[int, _SIGNED_URL_TTL] | None = None
    max_object_bytes: Annotated[int, _MAX_OBJECT_BYTES] | None = None
    max_pixels: Annotated[int, _MAX_PIXELS] | None = None
    monthly_byte_quota: Annotated[int, _MONTHLY_BYTE_QUOTA] | None = None
    # Art. 2-4: what the public notice names; one line each (doti.contracts.purposes checks it), null clears
    operator_name: str | None = Field(default=None, min_length=1, max_length=purposes.MAX_OPERATOR_NAME)
    inquiry_contact: str | None = Field(
        default=None, min_length=1, max_length=purposes.MAX_INQUIRY_CONTACT, description="an address, phone or URL"
    )
    # requests from people filmed (doti.subjects.periods): days to answer, days kept; null: the default
    request_due_days: int | None = Field(
        default=None, description=f"days to answer a request (default {periods.DEFAULT_DUE_DAYS})"
    )
    request_keep_days: int | None = Field(
        default=None, description=f"days a request is kept after its last change (default {periods.DEFAULT_KEEP_DAYS})"
    )


class TransitionRequest(StaffRequest):
    to: _TARGETS
    ground: str | None = Field(default=None, max_length=40)
    reason: str = Field(min_length=1, max_length=2000)
    effective_at: str | None = Field(default=None, max_length=40, json_schema_extra=openapi.TIME)


class SuspensionRequest(StaffRequest):
    starts_at: str = Field(min_length=1, max_length=40, json_schema_extra=openapi.TIME)
    ends_at: str = Field(min_length=1, max_length=40, json_schema_extra=openapi.TIME)
    ground: str = Field(min_length=1, max_length=40)
    reason: str = Field(min_length=1, max_length=2000)


_TIME_FIELDS = ("security_contract_ended_at", "service_start")


def _encode_cursor(contract_id: str) -> str:
    return base64.urlsafe_b64encode(contract_id.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> str:
    """The contract id a page continues after; 422 for anything _encode_cursor cannot have written."""
    try:
        # ValueError covers bad base64 (binascii.Error), non-ASCII text and bytes that are not UTF-8.
        contract_id = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except ValueError as exc:
        raise ValidationError("cursor is not valid", field="cursor") from exc
    if not _CONTRACT_ID.fullmatch(contract_id):
        raise ValidationError("cursor is not valid", field="cursor")
    return contract_id


@router.post("/v1/admin/contracts", responses=openapi.answers(201, 409))
def create_contract(body: ContractCreate) -> Response[ContractOut]:
    member = staff(router)
    plan = terms.Plan(
        retention_days=body.retention_days,
        signed_url_ttl=body.signed_url_ttl,
        max_object_bytes=body.max_object_bytes,
        max_pixels=body.max_pixels,
        monthly_byte_quota=body.monthly_byte_quota,
    )
    contract = terms.create_contract(
        name=body.name,
        contact_email=str(body.contact_email),
        plan=plan,
        security_contract_id=body.security_contract_id,
        now=utcnow(),
        service_start=parse_rfc3339(body.service_start, "service_start") if body.service_start else None,
        actor=audit.staff_actor(member),
    )
    return json_response(201, ContractOut.of(contract))


@router.get("/v1/admin/contracts", responses=openapi.answers(200))
def list_contracts(
    state: Annotated[_STATES | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Response[ContractPage]:
    staff(router)
    page, after = terms.iter_contract_page(state, limit, _decode_cursor(cursor) if cursor else None)
    items = [ContractOut.of(c) for c in page]
    return json_response(200, ContractPage(items=items, cursor=_encode_cursor(after) if after else None))


@router.get("/v1/admin/contracts/<contract_id>", responses=openapi.answers(200, 404))
def get_contract(contract_id: str) -> Response[ContractOut]:
    staff(router)
    return json_response(200, ContractOut.of(terms.get_contract(contract_id)))


@router.patch("/v1/admin/contracts/<contract_id>", responses=openapi.answers(200, 404, 409))
def update_contract(contract_id: str, body: ContractUpdate) -> Response[ContractOut]:
    member = staff(router)
    changes: dict[str, Any] = {}
    for name in body.model_fields_set:
        value = getattr(body, name)
        if name in _TIME_FIELDS and value is not None:
            value = parse_rfc3339(value, name)
        elif name == "contact_email" and value is not None:
            value = str(value)
        changes[name] = value
    contract = terms.update_plan(contract_id, changes, audit.staff_actor(member), utcnow())
    return json_response(200, ContractOut.of(contract))


@router.post("/v1/admin/contracts/<contract_id>/transitions", responses=openapi.answers(200, 404, 409))
def transition_contract(contract_id: str, body: TransitionRequest) -> Response[ContractOut]:
    member = staff(router, "admin" if body.to == terms.TERMINATED else "operator")
    contract = lifecycle.transition(
        contract_id,
        body.to,
        body.ground,
        body.reason,
        parse_rfc3339(body.effective_at, "effective_at") if body.effective_at else None,
        audit.staff_actor(member),
        utcnow(),
        mailer=runtime.mailer(),
        events=runtime.events(),
        purge_grace_days=get_settings().purge_grace_days,
    )
    return json_response(200, ContractOut.of(contract))


@router.post("/v1/admin/contracts/<contract_id>/suspensions", responses=openapi.answers(201, 404, 409))
def schedule_suspension(contract_id: str, body: SuspensionRequest) -> Response[Suspension]:
    member = staff(router)
    window = suspensions.schedule_suspension(
        contract_id,
        starts_at=parse_rfc3339(body.starts_at, "starts_at"),
        ends_at=parse_rfc3339(body.ends_at, "ends_at"),
        ground=body.ground,
        reason=body.reason,
        actor=audit.staff_actor(member),
        now=utcnow(),
        mailer=runtime.mailer(),
        events=runtime.events(),
    )
    return json_response(201, Suspension.of(window))


@router.get("/v1/admin/contracts/<contract_id>/suspensions", responses=openapi.answers(200, 404))
def list_suspensions(contract_id: str) -> Response[SuspensionList]:
    staff(router)
    return json_response(
        200, SuspensionList(items=[Suspension.of(w) for w in suspensions.list_suspensions(contract_id)])
    )


@router.delete(
    "/v1/admin/contracts/<contract_id>/suspensions/<suspension_id>", responses=openapi.answers(204, 404, 409)
)
def cancel_suspension(contract_id: str, suspension_id: str) -> Response[str]:
    member = staff(router)
    suspensions.cancel_suspension(
        contract_id,
        suspension_id,
        actor=audit.staff_actor(member),
        now=utcnow(),
        mailer=runtime.mailer(),
        events=runtime.events(),
    )
    return Response(status_code=204, body="", headers={"Cache-Control": "no-store"})
