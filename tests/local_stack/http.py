"""Plain HTTP clients for the local stack: staff, device and customer, each as its real caller would talk."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import requests

from doti.auth.device import signed_headers
from doti.clock import format_rfc3339
from infra.camera import FRAMES_PATH, DeviceCredentials
from infra.seed import create_user_with_password, demo_consents


@dataclass
class Tenant:
    contract_id: str
    site_id: str
    camera_id: str
    device: DeviceCredentials
    login_id: str
    password: str


class Staff:
    def __init__(self, api_url: str, api_key: str):
        self.api_url = api_url
        self.headers = {"X-Api-Key": api_key}

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = requests.post(self.api_url + path, json=body, headers=self.headers, timeout=30)
        assert response.status_code == 201, response.text
        return response.json()

    def new_tenant(self, **plan: Any) -> Tenant:
        contract = self.post(
            "/v1/admin/contracts", {"name": "HTTP Test Shop", "contact_email": "ops@http-test.example", **plan}
        )
        cid = contract["contract_id"]
        site = self.post(f"/v1/admin/contracts/{cid}/sites", {"name": "Main store"})
        camera = self.post(
            f"/v1/admin/contracts/{cid}/cameras",
            {"site_id": site["site_id"], "name": "Till", "consents": demo_consents()},
        )
        device = self.post(f"/v1/admin/contracts/{cid}/devices", {"site_id": site["site_id"], "name": "Panel"})
        login_id, password = f"http-{secrets.token_hex(4)}", "pw-" + secrets.token_urlsafe(12)
        owner = {"login_id": login_id, "name": "Owner", "role": "owner"}
        create_user_with_password(self.api_url, self.headers["X-Api-Key"], cid, owner, password)
        creds = DeviceCredentials(self.api_url, device["device_id"], device["device_secret"], camera["camera_id"])
        return Tenant(cid, site["site_id"], camera["camera_id"], creds, login_id, password)


class Customer:
    def __init__(self, api_url: str, login_id: str, password: str):
        self.api_url = api_url
        response = requests.post(
            api_url + "/v1/auth/login", json={"login_id": login_id, "password": password}, timeout=30
        )
        assert response.status_code == 200, response.text
        self.headers = {"Authorization": f"Bearer {response.json()['token']}"}

    def get(self, path: str, **params: str) -> requests.Response:
        return requests.get(self.api_url + path, params=params, headers=self.headers, timeout=30)

    def frames(self, camera_id: str, **params: str) -> list[dict[str, Any]]:
        response = self.get(f"/v1/cameras/{camera_id}/frames", **params)
        assert response.status_code == 200, response.text
        return response.json()["items"]


def send(
    tenant: Tenant,
    body: bytes,
    *,
    captured_at: datetime | None = None,
    content_type: str = "image/jpeg",
    device_id: str | None = None,
    secret: str | None = None,
    camera_id: str | None = None,
    signed_at: datetime | None = None,
    omit: tuple[str, ...] = (),
) -> tuple[int, dict[str, Any]]:
    """POST /v1/device/frames as a device would, with any part of the request made wrong on purpose."""
    device = tenant.device
    auth = signed_headers(
        device_id or device.device_id,
        secret or device.device_secret,
        "POST",
        FRAMES_PATH,
        body,
        signed_at or datetime.now(UTC),
    )
    headers = {
        **auth,
        "Content-Type": content_type,
        "X-Doti-Camera": camera_id or device.camera_id,
        "X-Doti-Captured-At": format_rfc3339(captured_at or datetime.now(UTC)),
        "X-Doti-Frame-Id": f"http-{secrets.token_hex(6)}",
    }
    headers = {name: value for name, value in headers.items() if name not in omit}
    response = requests.post(device.api_url + FRAMES_PATH, data=body, headers=headers, timeout=30)
    return response.status_code, response.json()


UPLOADS_PATH = "/v1/device/uploads"


def upload(tenant: Tenant, body: bytes, content_type: str, *, captured_at: datetime | None = None) -> str:
    """A clip or large still as a device sends it: a signed grant request, then the presigned POST straight to the
    bucket (the local stack's S3 tells the processor's queue, as S3 does); the frame id it was declared under."""
    device = tenant.device
    frame_id = f"http-{secrets.token_hex(6)}"
    request = {
        "camera_id": device.camera_id,
        "content_type": content_type,
        "size": len(body),
        "captured_at": format_rfc3339(captured_at or datetime.now(UTC)),
        "frame_id": frame_id,
    }
    payload = json.dumps(request).encode()
    auth = signed_headers(device.device_id, device.device_secret, "POST", UPLOADS_PATH, payload, datetime.now(UTC))
    headers = {**auth, "Content-Type": "application/json"}
    granted = requests.post(device.api_url + UPLOADS_PATH, data=payload, headers=headers, timeout=30)
    assert granted.status_code == 201, granted.text
    grant = granted.json()
    stored = requests.post(grant["url"], data=grant["fields"], files={"file": ("upload", body)}, timeout=30)
    assert stored.status_code in (200, 201, 204), stored.text
    return frame_id
