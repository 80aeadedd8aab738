"""Test helpers: registry worlds, API Gateway events built from events/, and signed device requests."""

from __future__ import annotations

import base64
import json
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import boto3

from doti import runtime
from doti.auth.device import signed_headers
from doti.auth.staff import create_staff_key
from doti.clock import format_rfc3339, utcnow
from doti.contracts import registry, terms

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "events"


@dataclass(frozen=True)
class World:
    """One tenant: a contract with one site, camera, device and owner user."""

    contract_id: str
    site_id: str
    camera_id: str
    device_id: str
    device_secret: str
    login_id: str
    password: str
    staff_key: str


def now() -> datetime:
    """The wall clock, to the microsecond (doti.clock.utcnow truncates to milliseconds)."""
    return datetime.now(UTC)


def later(**delta: float) -> str:
    """An RFC 3339 time `delta` (timedelta's keywords) from now; negative for earlier."""
    return format_rfc3339(utcnow() + timedelta(**delta))


def camera_consents(when: datetime) -> dict[str, dict[str, str]]:
    """The three consents of Art. 2-1..3 that registering a camera needs, as staff record them."""
    consent = {"consented_by": "Site manager", "consented_at": format_rfc3339(when), "evidence_ref": "doc-1"}
    return dict.fromkeys(("building_manager", "security_contract_holder", "camera_owner"), consent)


def make_world(**plan: Any) -> World:
    now = utcnow()
    contract = terms.create_contract(
        name="Test Shop",
        contact_email="owner@test-shop.example",
        plan=terms.Plan(**plan),
        security_contract_id=None,
        now=now,
    )
    cid = contract.contract_id
    site = registry.create_site(cid, "Store", None, now)
    camera = registry.create_camera(cid, site.site_id, "Entrance", now, consents=camera_consents(now))
    device = registry.register_device(cid, site.site_id, "Panel", runtime.secret_box(), now)
    login_id = f"owner-{secrets.token_hex(4)}"
    password = "pw-" + secrets.token_urlsafe(12)
    registry.create_user(cid, login_id=login_id, name="Owner", role="owner", password=password, site_ids=None, now=now)
    _, staff_key = create_staff_key("Test Operator", "admin", now)
    return World(
        cid, site.site_id, camera.camera_id, device.device.device_id, device.secret, login_id, password, staff_key
    )


# Every sample in events/ is written as if sent at this moment (a device's X-Doti-Timestamp, a schedule's "time").
# The files keep their fixed, readable dates for `sam local invoke -e`; the tests move every date in them by the
# same amount so that the sample's "now" is the test's now, and a window such as list_frames' from/to keeps its
# place around it whatever the calendar says.
SAMPLE_NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
_SAMPLE_TIME = re.compile(r"\b(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?)Z\b")


def shift_sample_times(text: str, now: datetime) -> str:
    """Every RFC 3339 UTC time in `text` moved by `now - SAMPLE_NOW`, in the format it was written in."""
    offset = now - SAMPLE_NOW

    def moved(match: re.Match[str]) -> str:
        written = match.group(1)
        when = datetime.fromisoformat(written).replace(tzinfo=UTC) + offset
        if "." in written:
            digits = len(written.rsplit(".", 1)[1])
            return when.strftime("%Y-%m-%dT%H:%M:%S.%f")[: len("2026-11-25T12:00:00.") + digits] + "Z"
        return when.replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")

    return _SAMPLE_TIME.sub(moved, text)


@cache
def _sample_text(name: str) -> str:
    return (EVENTS / name).read_text(encoding="utf-8")


def _sample(name: str) -> dict[str, Any]:
    return json.loads(shift_sample_times(_sample_text(name), datetime.now(UTC)))


def sample_event(name: str) -> dict[str, Any]:
    """The sample event events/<name>, its dates moved so that the moment it was written for is now."""
    return _sample(name)


def api_event(
    sample: str,
    *,
    method: str | None = None,
    resource: str | None = None,
    path: str | None = None,
    headers: dict[str, str] | None = None,
    replace_headers: bool = False,
    body: bytes | str | None = None,
    binary: bool | None = None,
    path_parameters: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
) -> dict[str, Any]:
    """An API Gateway REST proxy event: the sample from events/ with the given parts replaced."""
    event = _sample(sample)
    if method:
        event["httpMethod"] = event["requestContext"]["httpMethod"] = method
    if resource:
        event["resource"] = event["requestContext"]["resourcePath"] = resource
    if path:
        event["path"] = path
        event["requestContext"]["path"] = f"/{event['requestContext']['stage']}{path}"
    if headers is not None:
        base = (
            {}
            if replace_headers
            else {k: v for k, v in event["headers"].items() if k.lower() not in {h.lower() for h in headers}}
        )
        event["headers"] = {**base, **headers}
        event["multiValueHeaders"] = {k: [v] for k, v in event["headers"].items()}
    if body is not None:
        is_binary = binary if binary is not None else isinstance(body, bytes)
        if is_binary:
            event["body"] = base64.b64encode(body if isinstance(body, bytes) else body.encode()).decode()
        else:
            event["body"] = body if isinstance(body, str) else body.decode()
        event["isBase64Encoded"] = is_binary
    if path_parameters is not None:
        event["pathParameters"] = path_parameters
    if query is not None:
        event["queryStringParameters"] = query or None
        event["multiValueQueryStringParameters"] = {k: [v] for k, v in query.items()} or None
    return event


def sample_image() -> bytes:
    """The JPEG inside events/ingest/post_frame.json."""
    return base64.b64decode(_sample("ingest/post_frame.json")["body"])


def frame_event(
    world: World,
    body: bytes,
    *,
    captured_at: datetime | None = None,
    frame_id: str | None = None,
    content_type: str = "image/jpeg",
    camera_id: str | None = None,
    signed_at: datetime | None = None,
    secret: str | None = None,
    device_id: str | None = None,
    drop: tuple[str, ...] = (),
) -> dict[str, Any]:
    """A signed POST /v1/device/frames event, as a device would send it."""
    captured_at = captured_at or datetime.now(UTC)
    auth = signed_headers(
        device_id or world.device_id,
        secret or world.device_secret,
        "POST",
        "/v1/device/frames",
        body,
        signed_at or datetime.now(UTC),
    )
    headers = {
        **auth,
        "Content-Type": content_type,
        "X-Doti-Camera": camera_id or world.camera_id,
        "X-Doti-Captured-At": format_rfc3339(captured_at),
        "X-Doti-Frame-Id": frame_id or f"f-{secrets.token_hex(6)}",
    }
    event = api_event("ingest/post_frame.json", headers=headers, body=body, binary=content_type.startswith("image/"))
    # Dropped headers must not come back from the sample event either.
    event["headers"] = {k: v for k, v in event["headers"].items() if k not in drop}
    event["multiValueHeaders"] = {k: [v] for k, v in event["headers"].items()}
    return event


def customer_event(
    sample: str,
    token: str,
    *,
    path: str,
    resource: str,
    path_parameters: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    method: str = "GET",
    body: str | None = None,
) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"}
    if body is not None:
        headers["Content-Type"] = "application/json"
    return api_event(
        sample,
        method=method,
        resource=resource,
        path=path,
        headers=headers,
        body=body,
        path_parameters=path_parameters,
        query=query,
    )


def query_string(query: dict[str, str]) -> str:
    return "?" + urlencode(query) if query else ""


class LambdaContext:
    """The attributes Powertools reads from a Lambda context."""

    function_name = "doti-test"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:doti-test"
    aws_request_id = "test-request"

    def __init__(self, remaining_ms: float = 900_000):
        self._remaining = remaining_ms

    def get_remaining_time_in_millis(self) -> float:
        return self._remaining


def body_of(response: dict[str, Any]) -> Any:
    return json.loads(response["body"]) if response.get("body") else None


def created(response: dict[str, Any]) -> Any:
    """The body of a 201 answer (the answer must be one)."""
    assert response["statusCode"] == 201, response["body"]
    return body_of(response)


def assert_error(response: dict[str, Any], status: int, code: str) -> dict[str, Any]:
    """The SPEC §10 error shape with the given status and code; returns the error object."""
    assert response["statusCode"] == status, response["body"]
    body = body_of(response)
    assert set(body) == {"error"}
    error = body["error"]
    assert set(error) == {"code", "message", "details"}
    assert error["code"] == code
    assert isinstance(error["message"], str)
    assert error["message"]
    assert isinstance(error["details"], dict)
    return error


def scan_table(table_name: str) -> list[dict[str, Any]]:
    """Every item of a table, for checks of what is stored at rest (tests only: the service never scans)."""
    return boto3.client("dynamodb", region_name="us-east-1").scan(TableName=table_name)["Items"]


def admin_call(
    method: str,
    path: str,
    key: str | None = None,
    body: Any = None,
    *,
    query: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A staff request through the admin handler (the sample event with this method, path, key, body, query)."""
    from functions.admin import app as admin  # late: the handler module is only needed by staff tests

    headers = {"Content-Type": "application/json"}
    if key is not None:
        headers["X-Api-Key"] = key
    event = api_event(
        "admin/create_contract.json",
        method=method,
        path=path,
        resource=path,
        headers=headers,
        replace_headers=True,
        body=json.dumps(body) if body is not None else None,
        query=query or {},
    )
    if body is None:
        event["body"] = None
    return admin.lambda_handler(event, LambdaContext())
