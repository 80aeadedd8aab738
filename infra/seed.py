"""The demo contract, created through the real staff routes over HTTP.

Staff never learn a working customer password: a user they create gets a temporary one, shown once, that must be
changed at first login. The demo owner is the one exception, and only because this is a local demo: the seed logs in
with the temporary password and sets the demo password through the customer's own route, as the owner would, so that
`make run` can print a login that works (its banner says so).
"""

from __future__ import annotations

import json
import secrets
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any


@dataclass(frozen=True)
class Demo:
    contract_id: str
    site_id: str
    camera_id: str
    device_id: str
    device_secret: str
    login_id: str
    password: str


def call(api_url: str, method: str, path: str, *, body: Any = None, headers: dict[str, str] | None = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        api_url + path,
        data=data,
        method=method,
        headers={"Content-Type": "application/json", **(headers or {})},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        raw = response.read()
        return json.loads(raw) if raw else None


def demo_consents() -> dict[str, dict[str, str]]:
    """The three consents of Art. 2-1..3 that a camera is registered with (demo values)."""
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "building_manager": {"consented_by": "Demo building manager", "consented_at": now, "evidence_ref": "demo-1"},
        "security_contract_holder": {"consented_by": "Demo Shop Co.", "consented_at": now, "evidence_ref": "demo-2"},
        "camera_owner": {"consented_by": "Demo Shop Co.", "consented_at": now, "evidence_ref": "demo-3"},
    }


def create_user_with_password(
    api_url: str, staff_key: str, contract_id: str, user: dict[str, Any], password: str
) -> None:
    """A user staff create (with a temporary password), who then sets `password` at first login as a person does:
    for the local demo and the local stack's tests, which need a login that works without a browser."""
    created = call(
        api_url, "POST", f"/v1/admin/contracts/{contract_id}/users", body=user, headers={"X-Api-Key": staff_key}
    )
    temporary = created["temporary_password"]
    signed_in = call(api_url, "POST", "/v1/auth/login", body={"login_id": user["login_id"], "password": temporary})
    call(
        api_url,
        "POST",
        "/v1/auth/password",
        body={"current_password": temporary, "new_password": password},
        headers={"Authorization": f"Bearer {signed_in['token']}"},
    )


def seed_demo(api_url: str, staff_key: str, *, login_id: str = "demo-owner") -> Demo:
    def admin(path: str, body: dict[str, Any]) -> Any:
        return call(api_url, "POST", path, body=body, headers={"X-Api-Key": staff_key})

    contract = admin(
        "/v1/admin/contracts",
        {
            "name": "Demo Shop Co.",
            "contact_email": "owner@demo-shop.example",
            # The shortest retention class: what the demo camera sends (about 100 KB every 5 s) is held in the
            # embedded AWS's memory until the retention job deletes it, so a day of frames is what `make run` holds.
            "retention_days": 1,
            "signed_url_ttl": 300,
        },
    )
    cid = contract["contract_id"]
    site = admin(f"/v1/admin/contracts/{cid}/sites", {"name": "Shibuya store", "address": "Tokyo"})
    camera = admin(
        f"/v1/admin/contracts/{cid}/cameras",
        {"site_id": site["site_id"], "name": "Entrance", "consents": demo_consents()},
    )
    device = admin(f"/v1/admin/contracts/{cid}/devices", {"site_id": site["site_id"], "name": "Alarm panel"})
    password = "demo-" + secrets.token_urlsafe(9)
    owner = {"login_id": login_id, "name": "Demo Owner", "role": "owner"}
    create_user_with_password(api_url, staff_key, cid, owner, password)
    return Demo(
        contract_id=cid,
        site_id=site["site_id"],
        camera_id=camera["camera_id"],
        device_id=device["device_id"],
        device_secret=device["device_secret"],
        login_id=login_id,
        password=password,
    )
