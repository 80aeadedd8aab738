"""Staff routes for contracts: create, read, list, plan updates, transitions and planned suspensions."""

# No `from __future__ import annotations`: Powertools reads the route signatures for OpenAPI validation.
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from pydantic import EmailStr, Field

from admin_routes.common import StaffRequest, staff
from doti import contracts
from doti.clock import format_rfc3339, utcnow
from doti.entities import Contract
from doti.http import json_response

router = Router()


class ContractCreate(StaffRequest):
    name: str = Field(min_length=1, max_length=200)
    contact_email: EmailStr
    security_contract_id: str | None = Field(default=None, max_length=100)
    retention_days: int = contracts.Plan.retention_days
    signed_url_ttl: int = contracts.Plan.signed_url_ttl
    max_object_bytes: int = contracts.Plan.max_object_bytes
    max_pixels: int = contracts.Plan.max_pixels
    monthly_byte_quota: int = contracts.Plan.monthly_byte_quota


def _contract_view(c: Contract) -> dict[str, Any]:
    return {
        "contract_id": c.contract_id,
        "name": c.name,
        "state": c.state,
        "contact_email": c.contact_email,
        "security_contract_id": c.security_contract_id,
        "retention_days": c.retention_days,
        "signed_url_ttl": c.signed_url_ttl,
        "max_object_bytes": c.max_object_bytes,
        "max_pixels": c.max_pixels,
        "monthly_byte_quota": c.monthly_byte_quota,
        "service_start": format_rfc3339(c.service_start) if c.service_start else None,
        "created_at": format_rfc3339(c.created_at),
    }


@router.post("/v1/admin/contracts")
def create_contract(body: ContractCreate) -> Response[dict[str, Any]]:
    staff(router)
    plan = contracts.Plan(
        retention_days=body.retention_days,
        signed_url_ttl=body.signed_url_ttl,
        max_object_bytes=body.max_object_bytes,
        max_pixels=body.max_pixels,
        monthly_byte_quota=body.monthly_byte_quota,
    )
    contract = contracts.create_contract(
        name=body.name,
        contact_email=str(body.contact_email),
        plan=plan,
        security_contract_id=body.security_contract_id,
        now=utcnow(),
    )
    return json_response(201, _contract_view(contract))


@router.get("/v1/admin/contracts/<contract_id>")
def get_contract(contract_id: str) -> Response[dict[str, Any]]:
    staff(router)
    return json_response(200, _contract_view(contracts.get_contract(contract_id)))
