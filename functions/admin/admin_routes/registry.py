"""Staff routes for a contract's registry: sites, cameras, devices and users."""

# No `from __future__ import annotations`: Powertools reads the route signatures for OpenAPI validation.
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from pydantic import Field

from admin_routes.common import StaffRequest, staff
from doti import registry, runtime
from doti.clock import utcnow
from doti.entities import Camera, Site
from doti.http import json_response

router = Router()


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


def _site_view(s: Site) -> dict[str, Any]:
    return {"site_id": s.site_id, "contract_id": s.contract_id, "name": s.name, "address": s.address}


def _camera_view(c: Camera) -> dict[str, Any]:
    return {"camera_id": c.camera_id, "contract_id": c.contract_id, "site_id": c.site_id, "name": c.name}


@router.post("/v1/admin/contracts/<contract_id>/sites")
def create_site(contract_id: str, body: SiteCreate) -> Response[dict[str, Any]]:
    staff(router)
    return json_response(201, _site_view(registry.create_site(contract_id, body.name, body.address, utcnow())))


@router.post("/v1/admin/contracts/<contract_id>/cameras")
def create_camera(contract_id: str, body: CameraCreate) -> Response[dict[str, Any]]:
    staff(router)
    return json_response(201, _camera_view(registry.create_camera(contract_id, body.site_id, body.name, utcnow())))


@router.post("/v1/admin/contracts/<contract_id>/devices")
def register_device(contract_id: str, body: DeviceCreate) -> Response[dict[str, Any]]:
    staff(router)
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


@router.post("/v1/admin/contracts/<contract_id>/users")
def create_user(contract_id: str, body: UserCreate) -> Response[dict[str, Any]]:
    staff(router)
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
