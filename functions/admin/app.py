"""Admin: staff operations on contracts and their registry (SPEC §7). Every route needs a staff X-Api-Key."""

# No `from __future__ import annotations`: Powertools reads the route signatures for OpenAPI validation,
# and string annotations behind decorators (tracer) cannot be resolved.
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, EmailStr, Field

from doti import contracts, registry, runtime
from doti.auth.staff import authenticate_staff
from doti.clock import format_rfc3339, utcnow
from doti.entities import Camera, Contract, Site, StaffMember
from doti.http import json_response, lower_headers, make_resolver, openapi_response
from doti.observability import logger, tracer
from doti.settings import get_settings


class StaffRequest(BaseModel):
    # A misspelt field must not silently fall back to a default (e.g. a 31-day retention instead of the one meant).
    model_config = ConfigDict(extra="forbid")


class ContractCreate(StaffRequest):
    name: str = Field(min_length=1, max_length=200)
    contact_email: EmailStr
    security_contract_id: str | None = Field(default=None, max_length=100)
    retention_days: int = contracts.Plan.retention_days
    signed_url_ttl: int = contracts.Plan.signed_url_ttl
    max_object_bytes: int = contracts.Plan.max_object_bytes
    max_pixels: int = contracts.Plan.max_pixels
    monthly_byte_quota: int = contracts.Plan.monthly_byte_quota


class SiteCreate(StaffRequest):
    name: str = Field(min_length=1, max_length=200)
    address: str | None = Field(default=None, max_length=500)


class CameraCreate(StaffRequest):
    site_id: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=200)


class DeviceCreate(StaffRequest):
    site_id: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=200)


class UserCreate(StaffRequest):
    login_id: str = Field(min_length=3, max_length=128, pattern=r"^[A-Za-z0-9._@+\-]+$")
    name: str = Field(min_length=1, max_length=200)
    role: str = Field(pattern=r"^(owner|manager|viewer)$")
    password: str = Field(min_length=1, max_length=1024)
    site_ids: list[str] | None = None


def _staff(role: str = "operator") -> StaffMember:
    member = authenticate_staff(lower_headers(app).get("x-api-key"), required_role=role)
    logger.append_keys(staff_id=member.staff_id)
    return member


# Every staff route needs a key, so a request that fails validation is authenticated before it is answered.
app = make_resolver(authenticate=_staff)


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


def _site_view(s: Site) -> dict[str, Any]:
    return {"site_id": s.site_id, "contract_id": s.contract_id, "name": s.name, "address": s.address}


def _camera_view(c: Camera) -> dict[str, Any]:
    return {"camera_id": c.camera_id, "contract_id": c.contract_id, "site_id": c.site_id, "name": c.name}


@app.post("/v1/admin/contracts")
def create_contract(body: ContractCreate) -> Response[dict[str, Any]]:
    _staff()
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


@app.get("/v1/admin/contracts/<contract_id>")
def get_contract(contract_id: str) -> Response[dict[str, Any]]:
    _staff()
    return json_response(200, _contract_view(contracts.get_contract(contract_id)))


@app.post("/v1/admin/contracts/<contract_id>/sites")
def create_site(contract_id: str, body: SiteCreate) -> Response[dict[str, Any]]:
    _staff()
    return json_response(201, _site_view(registry.create_site(contract_id, body.name, body.address, utcnow())))


@app.post("/v1/admin/contracts/<contract_id>/cameras")
def create_camera(contract_id: str, body: CameraCreate) -> Response[dict[str, Any]]:
    _staff()
    return json_response(201, _camera_view(registry.create_camera(contract_id, body.site_id, body.name, utcnow())))


@app.post("/v1/admin/contracts/<contract_id>/devices")
def register_device(contract_id: str, body: DeviceCreate) -> Response[dict[str, Any]]:
    _staff()
    registered = registry.register_device(contract_id, body.site_id, body.name, runtime.secret_box(), utcnow())
    device = registered.device
    return json_response(
        201,
        {
            "device_id": device.device_id,
            "contract_id": device.contract_id,
            "site_id": device.site_id,
            "name": device.name,
            "status": device.status,
            # Shown this once; only KMS ciphertext is stored.
            "device_secret": registered.secret,
        },
    )


@app.post("/v1/admin/contracts/<contract_id>/users")
def create_user(contract_id: str, body: UserCreate) -> Response[dict[str, Any]]:
    _staff()
    user = registry.create_user(
        contract_id,
        login_id=body.login_id,
        name=body.name,
        role=body.role,
        password=body.password,
        site_ids=body.site_ids,
        now=utcnow(),
    )
    return json_response(
        201,
        {
            "user_id": user.user_id,
            "login_id": user.login_id,
            "contract_id": user.contract_id,
            "name": user.name,
            "role": user.role,
            "site_ids": sorted(user.site_ids) if user.site_ids else None,
        },
    )


@app.get("/v1/admin/openapi.json")
def openapi_document() -> Response[str]:
    _staff()
    return openapi_response(app, "doti staff API")


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    get_settings()
    return app.resolve(event, context)
