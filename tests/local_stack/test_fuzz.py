"""schemathesis on the three OpenAPI documents, against the local stack (issue 10, acceptance 8).

Each operation of each document gets a bounded, seeded run of generated requests (valid and invalid ones), sent as
its real caller sends them: device requests signed with doti.auth.device (method, path, query, timestamp, body),
customer requests with a session from a login, staff requests with the staff key. Every response must be no server
error, a documented status with its documented media type, and match the documented schema where one is typed.

Nothing is excluded: the routes that would end the fuzzer's own access are fuzzed with credentials of their own.
- POST /v1/auth/logout ends a fresh session of the owner, logged in for that request alone.
- POST /v1/auth/password uses the session of a second user, whose lockout after wrong passwords harms nobody.
- DELETE /v1/users/{login_id}, when it names a real user, names a third user, created to be removed.
- Staff routes act on a contract of their own, made for them through the staff API (terminating it is fair game);
  the customer and device routes use another fresh contract, so neither the demo contract nor other tests' tenants
  are touched (only a notice to "all" reaches them).
Every other generated request names, in turn, a real id of those contracts or the generated one, so that both the
routes' work and their refusals of unknown ids are reached.
"""

from __future__ import annotations

import json
import secrets
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import hypothesis
import pytest
import requests
import schemathesis
from schemathesis import BaseSchema, Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from doti.auth.device import signed_headers
from doti.clock import format_rfc3339
from infra.drawing import draw_frame, encode_jpeg
from infra.seed import create_user_with_password
from tests.local_stack.http import Staff, Tenant, send

pytestmark = pytest.mark.local_stack

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
# Derandomized generation (a fixed seed) and no example database: the same requests on every run, so CI is
# repeatable. EXAMPLES bounds the run: about 600 requests in 70 s for the three documents on this kind of machine.
EXAMPLES = 6
SETTINGS = hypothesis.settings(
    max_examples=EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(hypothesis.HealthCheck),
    phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
)
MIN_REQUESTS = 400  # far fewer would mean operations went unexercised
SUMMARY = Path(__file__).resolve().parents[2] / "test-output" / "fuzz.json"  # requests, time and statuses of the run


@dataclass
class World:
    """The two contracts the fuzzers act on, and the real ids generated requests may name."""

    api_url: str
    staff_key: str
    customer: Tenant  # the customer and device routes' contract
    staff: Tenant  # the staff routes' contract
    owner_token: str
    password_token: str  # the second user's, for POST /v1/auth/password
    removable_login_id: str  # the third user's, for DELETE /v1/users/{login_id}
    customer_ids: dict[str, str]
    staff_ids: dict[str, str]
    sent: Counter[str] = field(default_factory=Counter)  # requests per document
    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)  # (document, status)
    started: float = field(default_factory=time.monotonic)


class DeviceSigner(requests.auth.AuthBase):
    """Signs a request as the device does, over the bytes and query that will actually be sent."""

    def __init__(self, device_id: str, secret: str) -> None:
        self.device_id, self.secret = device_id, secret

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        url = urlsplit(request.url or "")
        body = request.body or b""
        query = parse_qs(url.query, keep_blank_values=True)
        signed = signed_headers(
            self.device_id,
            self.secret,
            request.method or "POST",
            url.path,
            body.encode() if isinstance(body, str) else body,
            datetime.now(UTC),
            query=query,
        )
        request.headers.update(signed)
        return request


def _login(api_url: str, login_id: str, password: str) -> str:
    response = requests.post(api_url + "/v1/auth/login", json={"login_id": login_id, "password": password}, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()["token"]


def _jpeg() -> bytes:
    return encode_jpeg(draw_frame(320, 240, "fuzz", datetime.now(UTC)))


def _add_user(staff: Staff, tenant: Tenant, role: str) -> tuple[str, str]:
    login_id, password = f"fuzz-{secrets.token_hex(4)}", "pw-" + secrets.token_urlsafe(12)
    body = {"login_id": login_id, "name": "Fuzz", "role": role}
    create_user_with_password(staff.api_url, staff.headers["X-Api-Key"], tenant.contract_id, body, password)
    return login_id, password


def _customer_ids(api_url: str, staff: Staff, tenant: Tenant, token: str) -> dict[str, str]:
    """Real ids of the customer contract: a frame, a share, an export, an invitation, a notice."""
    headers = {"Authorization": f"Bearer {token}"}
    status, frame = send(tenant, _jpeg())
    assert status == 201, frame
    share = requests.post(
        api_url + "/v1/shares",
        json={
            "camera_id": tenant.camera_id,
            "frame_id": frame["frame_id"],
            "purpose": "ground:art10-3-2",
            "expires_in": 3600,
        },
        headers=headers,
        timeout=30,
    ).json()
    now = datetime.now(UTC)
    window = {"from": format_rfc3339(now - timedelta(hours=1)), "to": format_rfc3339(now + timedelta(minutes=1))}
    export = requests.post(
        api_url + "/v1/exports", json={"camera_id": tenant.camera_id, **window}, headers=headers, timeout=30
    ).json()
    invitation = requests.post(
        api_url + "/v1/users", json={"name": "Fuzz Invitee", "role": "viewer"}, headers=headers, timeout=30
    ).json()
    notice = staff.post(
        "/v1/admin/notices", {"audience": tenant.contract_id, "kind": "maintenance", "title": "Fuzz", "body": "Fuzz"}
    )
    return {
        "camera_id": tenant.camera_id,
        "frame_id": frame["frame_id"],
        "share_id": share["share_id"],
        "share_token": share["url"].rsplit("/", 1)[1],
        "export_id": export["export_id"],
        "invitation_id": invitation["invitation_id"],
        "invitation_token": invitation["url"].rsplit("/", 1)[1],
        "notice_id": notice["notice_id"],
    }


def _staff_ids(staff: Staff, tenant: Tenant, login_id: str) -> dict[str, str]:
    """Real ids of the staff routes' contract, a scheduled suspension of it included."""
    now = datetime.now(UTC)
    suspension = staff.post(
        f"/v1/admin/contracts/{tenant.contract_id}/suspensions",
        {
            "starts_at": format_rfc3339(now + timedelta(days=30)),
            "ends_at": format_rfc3339(now + timedelta(days=31)),
            "ground": "art8-2",
            "reason": "fuzz",
        },
    )
    return {
        "contract_id": tenant.contract_id,
        "camera_id": tenant.camera_id,
        "device_id": tenant.device.device_id,
        "login_id": login_id,
        "suspension_id": suspension["suspension_id"],
    }


@pytest.fixture(scope="module")
def world(local_stack: dict[str, Any]) -> World:
    api_url, staff_key = local_stack["api_url"], local_stack["staff_api_key"]
    staff = Staff(api_url, staff_key)
    customer, staffs = staff.new_tenant(), staff.new_tenant()
    owner_token = _login(api_url, customer.login_id, customer.password)
    password_user = _add_user(staff, customer, "viewer")
    removable_login_id, _ = _add_user(staff, customer, "viewer")
    staff_user, _ = _add_user(staff, staffs, "viewer")
    return World(
        api_url=api_url,
        staff_key=staff_key,
        customer=customer,
        staff=staffs,
        owner_token=owner_token,
        password_token=_login(api_url, *password_user),
        removable_login_id=removable_login_id,
        customer_ids=_customer_ids(api_url, staff, customer, owner_token),
        staff_ids=_staff_ids(staff, staffs, staff_user),
    )


def _schema(world: World, path: str, **headers: str) -> BaseSchema:
    # The credentials are the fuzzer's own (below), not generated: an invalid request is invalid in what it asks.
    config = schemathesis.Config.from_dict({"generation": {"with-security-parameters": False}})
    return schemathesis.openapi.from_url(world.api_url + path, config=config, headers=headers, timeout=30)


def _real_ids(case: Case, ids: dict[str, str]) -> None:
    """Name the contract's real ids in the path instead of the generated ones."""
    for name in case.path_parameters or {}:
        key = name
        if name == "token":  # a share link's or an invitation's, by the page it opens
            key = "share_token" if case.operation.path.startswith("/s/") else "invitation_token"
        if key in ids:
            case.path_parameters[name] = ids[key]


def _fuzz(world: World, document: str, schema: BaseSchema, send: Callable[[Case], dict[str, Any]]) -> list[str]:
    """Every operation of the document, EXAMPLES valid and EXAMPLES invalid requests each; what failed, as curl.

    schemathesis' pytest integration (`from_fixture`) does not run under pytest 9 (it sets `Node._nodeid`), so its
    Python API drives Hypothesis here: one derandomized run per operation and mode, without shrinking (a failure is
    reported as first found, and the run stays bounded).
    """
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @hypothesis.settings(SETTINGS)
            @hypothesis.given(case=operation.as_strategy(generation_mode=mode))
            def run(case: Case) -> None:
                world.sent[document] += 1
                response = case.call_and_validate(base_url=world.api_url, checks=CHECKS, timeout=30, **send(case))
                world.statuses[document, response.status_code] += 1

            try:
                run()
            except hypothesis.errors.Unsatisfiable:
                continue  # nothing of this operation can be made invalid (no parameters, no body)
            except (FailureGroup, Exception) as exc:  # a failed check, with its request; the other operations still run
                failures.append(f"{operation.label} ({mode.value}): {exc}")
    return failures


def test_device_api(world: World) -> None:
    tenant = world.customer
    signer = DeviceSigner(tenant.device.device_id, tenant.device.device_secret)

    def send(case: Case) -> dict[str, Any]:
        if world.sent["device"] % 2:
            # A frame the pipeline takes whole, or an event or grant about the device's own camera, now.
            now = format_rfc3339(datetime.now(UTC))
            if case.operation.path == "/v1/device/frames":
                case.body, case.media_type = _jpeg(), "image/jpeg"
                case.headers = {**(case.headers or {}), "X-Doti-Camera": tenant.camera_id, "X-Doti-Captured-At": now}
            elif isinstance(case.body, dict):
                case.body.update({"camera_id": tenant.camera_id}, **dict.fromkeys(("occurred_at", "captured_at"), now))
        return {"auth": None if case.operation.path.endswith("openapi.json") else signer}

    failures = _fuzz(world, "device", _schema(world, "/v1/device/openapi.json"), send)

    assert failures == [], "\n\n".join(failures)


def test_customer_api(world: World) -> None:
    def send(case: Case) -> dict[str, Any]:
        if world.sent["customer"] % 2:
            _real_ids(case, {**world.customer_ids, "login_id": world.removable_login_id})
        route = (case.method.upper(), case.operation.path)
        token = world.owner_token
        if route == ("POST", "/v1/auth/logout"):
            token = _login(world.api_url, world.customer.login_id, world.customer.password)
        elif route == ("POST", "/v1/auth/password"):
            token = world.password_token
        secured = case.operation.definition.raw.get("security")
        return {"headers": {"Authorization": f"Bearer {token}"} if secured else {}}

    failures = _fuzz(world, "customer", _schema(world, "/v1/openapi.json"), send)

    assert failures == [], "\n\n".join(failures)


def test_staff_api(world: World) -> None:
    def send(case: Case) -> dict[str, Any]:
        if world.sent["staff"] % 2:
            _real_ids(case, world.staff_ids)
        return {"headers": {"X-Api-Key": world.staff_key}}

    schema = _schema(world, "/v1/admin/openapi.json", **{"X-Api-Key": world.staff_key})
    failures = _fuzz(world, "staff", schema, send)

    assert failures == [], "\n\n".join(failures)


def test_the_fuzzers_sent_a_bounded_number_of_requests(world: World) -> None:
    # Runs after the three fuzzers (file order): they reached every document, and sent enough to mean something.
    summary = {
        "requests": sum(world.sent.values()),
        "seconds": round(time.monotonic() - world.started),
        "per_document": dict(world.sent),
        "statuses": {f"{document} {status}": n for (document, status), n in sorted(world.statuses.items())},
    }
    SUMMARY.parent.mkdir(parents=True, exist_ok=True)
    SUMMARY.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    print(f"\nfuzz: {summary['requests']} requests in {summary['seconds']} s {summary['per_document']} ({SUMMARY})")

    assert set(world.sent) == {"device", "customer", "staff"}
    assert summary["requests"] > MIN_REQUESTS, summary
