"""Typed responses (issue 12): every body the API functions answer with is what their OpenAPI documents publish, and
what clients received before the bodies became models.

Each app is driven through its real handler (moto underneath), route by route. Every answer is validated against
the schema its own document declares for that route and status, with `date-time` read as the wire format of SPEC §12
(RFC 3339 UTC, milliseconds, `Z`); and the keys of each shape are pinned, in order, as the dict builders wrote them
before the models replaced them: a key added, dropped, renamed, moved, or written null where it used to be absent fails.
Each test ends by checking that it saw every JSON success its document declares, so a new route cannot go unchecked.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
from datetime import timedelta
from typing import Any

import pytest
from jsonschema import Draft202012Validator, FormatChecker

from doti.auth.device import sign
from doti.clock import format_rfc3339, utcnow
from functions.admin import app as admin
from functions.ingest import app as ingest
from functions.viewer import app as viewer
from tests.support import (
    LambdaContext,
    World,
    admin_call,
    api_event,
    body_of,
    camera_consents,
    frame_event,
    sample_image,
    subject_requests,
)
from tests.support.shares import GROUND
from tests.support.viewer import owner_token

WIRE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z")

# The shapes as the dict builders wrote them (key order included). A key in brackets is written only when it applies.
INGESTED_FRAME = [
    "frame_id", "device_frame_id", "camera_id", "captured_at", "received_at", "content_type", "size", "width",
    "height", "sha256", "expires_at",
]  # fmt: skip
FRAME = [
    "frame_id", "device_frame_id", "camera_id", "captured_at", "content_type", "size", "width", "height", "sha256",
    "activity_score", "thumbnail_url", "image_url", "url_expires_at",
]  # fmt: skip
NOTE = ["note_id", "kind", "camera_id", "site_id", "at", "text", "author", "event_id", "created_at", "expires_at"]
SIGNED_IN = ["token", "expires_at", "must_change_password"]
ME = ["user_id", "login_id", "name", "role", "site_ids", "must_change_password", "contract"]
CAMERA_CARD = [
    "camera_id", "site_id", "name", "last_frame_id", "last_captured_at", "thumbnail_url", "url_expires_at", "status",
    "last_frame_at", "site_name", "purposes", "other_text", "coverage", "people_filmed", "purposes_updated_at",
    "purposes_registered",
]  # fmt: skip
TIMELINE = ["date", "tz", "start", "end", "buckets", "markers", "markers_truncated"]
SHARE = [
    "share_id", "camera_id", "frame_id", "from", "to", "purpose", "purpose_label", "purpose_note", "one_time", "status",
    "created_by", "created_at", "expires_at", "consumed_at", "revoked_at",
]  # fmt: skip
QUEUED_EXPORT = ["export_id", "status", "camera_id", "from", "to", "created_at", "expires_at"]
NOTICE = ["notice_id", "kind", "title", "body", "published_at", "effective_at", "read", "read_at"]
USER = ["login_id", "user_id", "name", "role", "site_ids", "must_change_password", "created_at"]
INVITATION = ["invitation_id", "name", "role", "site_ids", "created_by", "created_at", "expires_at"]
CONTRACT = [
    "contract_id", "name", "state", "contact_email", "security_contract_id", "retention_days", "signed_url_ttl",
    "max_object_bytes", "max_pixels", "monthly_byte_quota", "service_start", "created_at", "updated_at",
    "cancel_effective_at", "terminated_at", "purge_due_at", "purged_at", "security_contract_ended_at",
    "last_used_at", "idle_notified_at", "operator_name", "inquiry_contact", "request_due_days", "request_keep_days",
]  # fmt: skip
SUSPENSION = [
    "suspension_id", "contract_id", "starts_at", "ends_at", "ground", "reason", "status", "created_by", "created_at",
]  # fmt: skip
SITE = ["site_id", "contract_id", "name", "address", "created_at", "notice_url"]  # notice_url: issue 15
STAFF_CAMERA = [
    "camera_id", "contract_id", "site_id", "name", "consents", "privacy_mask", "mask_version", "activity_threshold",
    "expected_interval_seconds", "created_at", "purposes", "other_text", "coverage", "people_filmed",
    "purposes_updated_at", "purposes_registered",
]  # fmt: skip
DEVICE = ["device_id", "contract_id", "site_id", "name", "status", "created_at", "rotated_at", "revoked_at"]
STAFF_USER = [
    "user_id", "login_id", "contract_id", "name", "role", "site_ids", "locked_by_staff", "locked_until",
    "reset_pending", "created_at",
]  # fmt: skip
REMASK_JOB = [
    "job_id", "contract_id", "camera_id", "mask_version", "status", "frames_masked", "frames_skipped",
    "frames_failed", "failed_frame_ids", "frames_done", "cursor", "slices", "reason", "created_by", "created_at",
    "updated_at", "finished_at",
]  # fmt: skip
AUDIT_ENTRY = ["seq", "at", "actor", "action", "subject", "details", "hash", "prev_hash", "customer_visible"]
SUBJECT_REQUEST = [
    "request_id", "kind", "status", "site_id", "site_name", "camera_id", "camera_name", "from", "to", "created_at",
    "due_at", "overdue", "answers",
]  # fmt: skip
WEBHOOK = [
    "webhook_id", "url", "events", "include_image_links", "status", "created_at", "consecutive_failures",
    "failing_since", "last_success_at", "disabled_at", "disabled_reason", "previous_secret_until",
]  # fmt: skip
WEBHOOK_OPTIONAL = ("failing_since", "last_success_at", "disabled_at", "disabled_reason", "previous_secret_until")
DELIVERY_ATTEMPT = ["attempted_at", "event_id", "event_type", "attempt", "ok", "status", "latency_ms", "error"]
DISCLOSURE = [
    "disclosure_id", "contract_id", "basis", "basis_title", "recipient", "reason", "legal_reference", "scope",
    "frames", "package_sha256", "package_bytes", "package_expires_at", "package_url", "expires_at", "created_by",
    "created_at",
]  # fmt: skip


def _wire_time(value: object) -> bool:
    return not isinstance(value, str) or WIRE_TIME.fullmatch(value) is not None


FORMATS = FormatChecker(formats=())
FORMATS.checks("date-time")(_wire_time)


class Published:
    """One app's served OpenAPI document, and the check of an answer against it."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self.paths = [(re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", path) + "$"), path) for path in document["paths"]]
        self.checked: set[tuple[str, str, int]] = set()

    def check(self, method: str, path: str, response: dict[str, Any], status: int) -> Any:
        """The body of an answer with `status`, once it validates against the document's schema for it."""
        assert response["statusCode"] == status, response["body"]
        template = next(t for pattern, t in self.paths if pattern.match(path))
        declared = self.document["paths"][template][method.lower()]["responses"][str(status)]
        self.checked.add((method, template, status))
        if "content" not in declared:
            assert not response.get("body"), response["body"]
            return None
        schema = declared["content"]["application/json"]["schema"]
        body = body_of(response)
        validator = Draft202012Validator({**schema, "components": self.document["components"]}, format_checker=FORMATS)
        problems = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(body)]
        assert not problems, f"{method} {template} {status}: {problems}"
        return body


def _uncovered(published: Published) -> list[tuple[str, str, int]]:
    """The JSON success answers of a document that the test did not see (static files and documents aside)."""
    declared = {
        (method.upper(), path, int(status))
        for path, item in published.document["paths"].items()
        for method, operation in item.items()
        for status, response in operation["responses"].items()
        if status.startswith("2") and "application/json" in response.get("content", {})
    }
    exempt = {path for path in published.document["paths"] if path.endswith("openapi.json") or "/assets/" in path}
    return sorted(answer for answer in declared - published.checked if answer[1] not in exempt)


def _served(app: Any, path: str, headers: dict[str, str]) -> Published:
    event = api_event("viewer/list_cameras.json", path=path, resource=path, headers=headers, replace_headers=True)
    response = app.lambda_handler(event, LambdaContext())
    assert response["statusCode"] == 200, response["body"]
    return Published(body_of(response))


def _keys(body: dict[str, Any], shape: list[str], *optional: str) -> None:
    """The body's keys are `shape` in order, with those of `optional` it has where the builders put them."""
    expected = [key for key in shape if key not in optional or key in body]
    assert list(body) == expected


# device API


def _device_call(world: World, route: str, body: dict[str, Any], sample: str) -> dict[str, Any]:
    raw = json.dumps(body).encode()
    stamp = format_rfc3339(utcnow())
    headers = {
        "Content-Type": "application/json",
        "X-Doti-Device": world.device_id,
        "X-Doti-Timestamp": stamp,
        "X-Doti-Signature": sign(world.device_secret, "POST", route, stamp, raw),
    }
    event = api_event(f"ingest/{sample}.json", headers=headers, replace_headers=True, body=raw, binary=False)
    return ingest.lambda_handler(event, LambdaContext())


def test_given_the_device_routes_when_called_then_each_body_is_the_published_and_former_shape(world: World) -> None:
    device = _served(ingest, "/v1/device/openapi.json", {})
    event = frame_event(world, sample_image(), frame_id="f-typed-1")
    created = device.check("POST", "/v1/device/frames", ingest.lambda_handler(event, LambdaContext()), 201)
    _keys(created, INGESTED_FRAME)
    replayed = device.check("POST", "/v1/device/frames", ingest.lambda_handler(event, LambdaContext()), 200)
    assert replayed == created

    upload = {
        "camera_id": world.camera_id,
        "content_type": "video/mp4",
        "size": 1024,
        "captured_at": format_rfc3339(utcnow()),
        "frame_id": "f-typed-2",
    }
    grant = device.check(
        "POST", "/v1/device/uploads", _device_call(world, "/v1/device/uploads", upload, "post_upload"), 201
    )
    _keys(grant, ["url", "fields", "expires_at"])

    text = {"occurred_at": format_rfc3339(utcnow()), "text": "door opened", "event_id": "e-typed-1"}
    note = device.check("POST", "/v1/device/events", _device_call(world, "/v1/device/events", text, "post_event"), 201)
    _keys(note, NOTE)
    assert note["camera_id"] is None  # a site-wide event: null, not absent
    assert list(note["author"]) == ["type", "id", "name"]
    again = device.check("POST", "/v1/device/events", _device_call(world, "/v1/device/events", text, "post_event"), 200)
    assert again == note

    image = base64.b64encode(sample_image()).decode()
    at = format_rfc3339(utcnow())
    frames = [
        {"camera_id": world.camera_id, "captured_at": at, "frame_id": "f-typed-3", "content_type": "image/jpeg",
         "data": image},
        {"camera_id": world.camera_id, "captured_at": at, "frame_id": "f-typed-1", "content_type": "image/jpeg",
         "data": base64.b64encode(b"another image").decode()},
    ]  # fmt: skip
    route = "/v1/device/frames/batch"
    batch = device.check("POST", route, _device_call(world, route, {"frames": frames}, "post_frame_batch"), 200)
    assert list(batch) == ["items"]
    stored, refused = batch["items"]
    _keys(stored, ["frame_id", "status", "frame"])
    _keys(stored["frame"], INGESTED_FRAME)
    _keys(refused, ["frame_id", "status", "error"])
    assert (refused["status"], list(refused["error"])) == (415, ["code", "message", "details"])  # not an image
    assert _uncovered(device) == []


# customer API


class Customer:
    """Calls to the viewer handler with a session, each answer checked against the customer document."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.published = _served(viewer, "/v1/openapi.json", {})

    def call(self, method: str, path: str, status: int, body: Any = None, query: dict[str, str] | None = None) -> Any:
        template = next(t for pattern, t in self.published.paths if pattern.match(path))
        headers = {"Authorization": f"Bearer {self.token}"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        event = api_event(
            "viewer/list_cameras.json",
            method=method,
            resource=template,
            path=path,
            headers=headers,
            replace_headers=True,
            body=json.dumps(body) if body is not None else None,
            query=query or {},
        )
        return self.published.check(method, path, viewer.lambda_handler(event, LambdaContext()), status)


@pytest.fixture
def customer(world: World, public_base_url: str) -> Customer:
    return Customer(owner_token(world))


def test_given_the_customer_routes_when_called_then_each_body_is_the_published_and_former_shape(
    world: World, customer: Customer
) -> None:
    cameras = customer.call("GET", "/v1/cameras", 200)
    assert list(cameras) == ["items"]
    _keys(cameras["items"][0], CAMERA_CARD)
    assert cameras["items"][0]["last_frame_id"] is None  # no frame yet: null, not absent

    ingest.lambda_handler(frame_event(world, sample_image(), frame_id="f-typed-3"), LambdaContext())
    _keys(customer.call("GET", "/v1/cameras", 200)["items"][0], CAMERA_CARD)
    _keys(customer.call("GET", f"/v1/cameras/{world.camera_id}", 200), CAMERA_CARD)
    registration = {"purposes": ["safety"], "coverage": "the door", "people_filmed": True}
    _keys(customer.call("PUT", f"/v1/cameras/{world.camera_id}/purposes", 200, registration), CAMERA_CARD)
    frames_path = f"/v1/cameras/{world.camera_id}/frames"
    page = customer.call("GET", frames_path, 200)
    assert list(page) == ["items"]  # the last page has no cursor key
    _keys(page["items"][0], FRAME)
    first = customer.call("GET", frames_path, 200, query={"limit": "1"})
    assert list(first) == ["items", "cursor"] or list(first) == ["items"]
    frame_id = page["items"][0]["frame_id"]
    _keys(customer.call("GET", f"{frames_path}/{frame_id}", 200), [*FRAME, "download_url"])
    day = customer.call("GET", f"/v1/cameras/{world.camera_id}/timeline", 200)
    _keys(day, TIMELINE)
    _keys(day["buckets"][0], ["start", "count", "max_activity", "first_frame_id"])

    notes_path = f"/v1/cameras/{world.camera_id}/notes"
    _keys(customer.call("POST", notes_path, 201, {"text": "checked the door"}), NOTE)
    notes = customer.call("GET", notes_path, 200)
    assert list(notes) == ["items"]
    _keys(notes["items"][0], NOTE)
    marked = customer.call("GET", f"/v1/cameras/{world.camera_id}/timeline", 200)["markers"]
    _keys(marked[-1], ["at", "kind", "text"])

    now = utcnow()
    window = {"camera_id": world.camera_id, "from": format_rfc3339(now - timedelta(hours=1)), "to": format_rfc3339(now)}
    share = customer.call("POST", "/v1/shares", 201, {**window, "purpose": GROUND, "expires_in": 3600})
    _keys(share, ["share_id", "url", "expires_at"])
    shares = customer.call("GET", "/v1/shares", 200)
    _keys(shares["items"][0], SHARE)
    assert shares["items"][0]["frame_id"] is None
    customer.call("DELETE", f"/v1/shares/{share['share_id']}", 204)

    requested = customer.call("POST", "/v1/exports", 202, window)
    _keys(requested, ["export_id", "status"])
    export = customer.call("GET", f"/v1/exports/{requested['export_id']}", 200)
    _keys(export, QUEUED_EXPORT)
    listed = customer.call("GET", "/v1/exports", 200)
    assert list(listed) == ["items"]
    assert listed["items"] == [export]

    published = admin_call(
        "POST",
        "/v1/admin/notices",
        world.staff_key,
        {"audience": world.contract_id, "kind": "maintenance", "title": "Maintenance", "body": "Tonight."},
    )
    assert published["statusCode"] == 201, published["body"]
    notices = customer.call("GET", "/v1/notices", 200)
    _keys(notices["items"][0], NOTICE)
    customer.call("POST", f"/v1/notices/{notices['items'][0]['notice_id']}/read", 204)
    assert customer.call("GET", "/v1/notices", 200)["items"][0]["read"] is True

    access = customer.call("GET", "/v1/access-log", 200)
    assert list(access) == ["items"]
    for entry in access["items"]:
        _keys(
            entry,
            [
                "at", "actor", "actor_id", "action", "subject", "details", "withheld", "actor_name", "camera_name",
                "purpose_label",
            ],
            "actor_id",
            "withheld",
            "camera_name",
            "purpose_label",
        )  # fmt: skip
    assert list(customer.call("GET", "/v1/access-log", 200, query={"limit": "1"})) == ["items", "cursor"]
    deletions = customer.call("GET", "/v1/deletions", 200)
    assert list(deletions) == ["items"]
    for receipt in deletions["items"]:
        _keys(receipt, ["day", "frames", "notes", "bytes", "by_source"])

    invited = customer.call("POST", "/v1/users", 201, {"name": "Night shift", "role": "viewer"})
    _keys(invited, ["invitation_id", "url", "expires_at", "role", "name", "site_ids"])
    users = customer.call("GET", "/v1/users", 200)
    assert list(users) == ["items", "invitations"]
    _keys(users["items"][0], USER)
    _keys(users["invitations"][0], INVITATION)
    customer.call("DELETE", f"/v1/invitations/{invited['invitation_id']}", 204)

    subject_requests.status_token(
        subject_requests.post_form(
            form := subject_requests.open_form(world.site_id), subject_requests.form_fields(form, utcnow())
        )
    )
    (asked,) = customer.call("GET", "/v1/requests", 200)["items"]
    _keys(asked, SUBJECT_REQUEST)
    one = customer.call("GET", f"/v1/requests/{asked['request_id']}", 200)
    _keys(one, [*SUBJECT_REQUEST, "text", "contact"])
    answered = customer.call(
        "POST", f"/v1/requests/{asked['request_id']}/answer", 200, {"action": "reply", "text": "Noted."}
    )
    _keys(answered, [*SUBJECT_REQUEST, "text", "contact"])
    _keys(answered["answers"][0], ["action", "at", "text"])

    hook = {"url": "https://hooks.example.invalid/doti", "events": ["camera.offline", "share.viewed"]}
    made = customer.call("POST", "/v1/webhooks", 201, hook)
    _keys(made, [*WEBHOOK, "secret"], *WEBHOOK_OPTIONAL)
    assert made["events"] == ["camera.offline", "share.viewed"]
    assert made["secret"].startswith("whsec_")
    _keys(customer.call("GET", "/v1/webhooks", 200), ["items"])
    rotated = customer.call("POST", f"/v1/webhooks/{made['webhook_id']}/rotate", 200)
    _keys(rotated, [*WEBHOOK, "secret"], *WEBHOOK_OPTIONAL)
    assert "previous_secret_until" in rotated
    tried = customer.call("POST", f"/v1/webhooks/{made['webhook_id']}/test", 200)
    _keys(tried, DELIVERY_ATTEMPT)
    assert tried["ok"] is False
    assert tried["status"] is None
    log = customer.call("GET", f"/v1/webhooks/{made['webhook_id']}/deliveries", 200)
    _keys(log, ["items"])
    assert log["items"] == [tried]
    customer.call("DELETE", f"/v1/webhooks/{made['webhook_id']}", 204)

    alerts = customer.call("GET", "/v1/alerts/mail", 200)
    _keys(alerts, ["events", "available"])
    assert customer.call("PUT", "/v1/alerts/mail", 200, {"events": ["camera.offline"]})["events"] == ["camera.offline"]

    me = customer.call("GET", "/v1/me", 200)
    _keys(me, ME)
    assert list(me["contract"]) == ["contract_id", "name", "state", "operator_name", "inquiry_contact"]
    changed = customer.call(
        "POST", "/v1/auth/password", 200, {"current_password": world.password, "new_password": "pw-" + "x" * 20}
    )
    _keys(changed, SIGNED_IN)
    customer.token = changed["token"]
    customer.call("POST", "/v1/auth/logout", 204)
    customer.token = ""
    signed_in = customer.call("POST", "/v1/auth/login", 200, {"login_id": world.login_id, "password": "pw-" + "x" * 20})
    _keys(signed_in, SIGNED_IN)
    assert _uncovered(customer.published) == []


# staff API


class Staff:
    """Calls to the admin handler with an admin key, each answer checked against the staff document."""

    def __init__(self, key: str) -> None:
        self.key = key
        self.published = _served(admin, "/v1/admin/openapi.json", {"X-Api-Key": key})

    def call(self, method: str, path: str, status: int, body: Any = None, query: dict[str, str] | None = None) -> Any:
        return self.published.check(method, path, admin_call(method, path, self.key, body, query=query), status)


def test_given_the_staff_routes_when_called_then_each_body_is_the_published_and_former_shape(world: World) -> None:
    staff = Staff(world.staff_key)
    contract = staff.call("POST", "/v1/admin/contracts", 201, {"name": "Typed", "contact_email": "t@example.com"})
    _keys(contract, CONTRACT)
    contract_id = contract["contract_id"]
    listed = staff.call("GET", "/v1/admin/contracts", 200, query={"limit": "1"})
    assert list(listed) == ["items", "cursor"]
    _keys(listed["items"][0], CONTRACT)
    _keys(staff.call("GET", f"/v1/admin/contracts/{contract_id}", 200), CONTRACT)
    _keys(staff.call("PATCH", f"/v1/admin/contracts/{contract_id}", 200, {"name": "Typed 2"}), CONTRACT)
    now = utcnow()
    window = {"starts_at": format_rfc3339(now + timedelta(days=3)), "ends_at": format_rfc3339(now + timedelta(days=4))}
    suspension = staff.call(
        "POST", f"/v1/admin/contracts/{contract_id}/suspensions", 201, {**window, "ground": "art8-2", "reason": "work"}
    )
    _keys(suspension, SUSPENSION)
    _keys(staff.call("GET", f"/v1/admin/contracts/{contract_id}/suspensions", 200)["items"][0], SUSPENSION)
    staff.call("DELETE", f"/v1/admin/contracts/{contract_id}/suspensions/{suspension['suspension_id']}", 204)
    moved = staff.call(
        "POST",
        f"/v1/admin/contracts/{contract_id}/transitions",
        200,
        {"to": "suspended", "ground": "art8-1-1", "reason": "r"},
    )
    _keys(moved, CONTRACT)

    base = f"/v1/admin/contracts/{world.contract_id}"
    site = staff.call("POST", f"{base}/sites", 201, {"name": "Annex"})
    _keys(site, SITE)
    assert site["address"] is None
    _keys(staff.call("GET", f"{base}/sites", 200)["items"][0], SITE)
    camera = {"site_id": site["site_id"], "name": "Annex door", "consents": camera_consents(now)}
    created_camera = staff.call("POST", f"{base}/cameras", 201, camera)
    _keys(created_camera, STAFF_CAMERA)
    assert created_camera["privacy_mask"] == []  # no mask: an empty list, not null
    assert created_camera["mask_version"] is None
    _keys(staff.call("GET", f"{base}/cameras", 200)["items"][0], STAFF_CAMERA)
    device = staff.call("POST", f"{base}/devices", 201, {"site_id": world.site_id, "name": "Panel 2"})
    _keys(device, [*DEVICE, "device_secret"])
    _keys(staff.call("GET", f"{base}/devices", 200)["items"][0], DEVICE)
    _keys(staff.call("POST", f"/v1/admin/devices/{device['device_id']}/rotate", 200), [*DEVICE, "device_secret"])
    _keys(staff.call("POST", f"/v1/admin/devices/{device['device_id']}/revoke", 200, {"reason": "lost"}), DEVICE)
    login_id = f"typed-{secrets.token_hex(4)}"
    user = {"login_id": login_id, "name": "Clerk", "role": "viewer"}
    _keys(staff.call("POST", f"{base}/users", 201, user), [*STAFF_USER, "temporary_password"])
    _keys(staff.call("GET", f"{base}/users", 200)["items"][0], STAFF_USER)
    users = f"/v1/admin/users/{login_id}"
    _keys(staff.call("POST", f"{users}/lock", 200), [*STAFF_USER, "sessions_revoked"])
    _keys(staff.call("POST", f"{users}/unlock", 200), STAFF_USER)
    _keys(staff.call("POST", f"{users}/reset", 200), [*STAFF_USER, "temporary_password", "sessions_revoked"])
    _keys(staff.call("POST", f"{users}/compromised", 200), [*STAFF_USER, "temporary_password", "sessions_revoked"])

    cameras = f"/v1/admin/cameras/{world.camera_id}"
    _keys(staff.call("PUT", f"{cameras}/activity-threshold", 200, {"threshold": 3}), STAFF_CAMERA)
    _keys(staff.call("PUT", f"{cameras}/expected-interval", 200, {"expected_interval_seconds": 30}), STAFF_CAMERA)
    registration = {"purposes": ["staffing"], "coverage": "the till", "people_filmed": False}
    _keys(staff.call("PUT", f"{cameras}/purposes", 200, registration), STAFF_CAMERA)
    mask = {"polygons": [[[0, 0], [0.5, 0], [0.5, 0.5]]], "reason": "neighbour's window"}
    masked = staff.call("PUT", f"{cameras}/privacy-mask", 200, mask)
    _keys(masked, STAFF_CAMERA)
    job = staff.call("POST", f"{cameras}/remask", 202, {"reason": "neighbour's window"})
    _keys(job, REMASK_JOB)
    _keys(staff.call("GET", f"/v1/admin/remask-jobs/{job['job_id']}", 200), REMASK_JOB)

    frames = [ingest.lambda_handler(frame_event(world, sample_image()), LambdaContext()) for _ in range(3)]
    frame_ids = [body_of(f)["frame_id"] for f in frames]
    window = {"from": format_rfc3339(now - timedelta(hours=1)), "to": format_rfc3339(utcnow() + timedelta(seconds=1))}
    access = staff.call(
        "POST",
        f"{base}/maintenance-access",
        200,
        {"camera_id": world.camera_id, **window, "ticket": "T-123", "reason": "a fault report"},
    )
    _keys(
        access,
        ["contract_id", "camera_id", "from", "to", "ticket", "items", "truncated", "url_ttl_seconds", "audit_seq"],
    )
    _keys(access["items"][0], FRAME)
    disclosure = staff.call(
        "POST",
        f"{base}/disclosures",
        201,
        {
            "basis": "art10-3-1",
            "recipient": "Police",
            "reason": "a warrant",
            "camera_id": world.camera_id,
            "frame_ids": frame_ids[:1],
        },
    )
    _keys(disclosure, DISCLOSURE)
    _keys(staff.call("GET", f"/v1/admin/disclosures/{disclosure['disclosure_id']}", 200), DISCLOSURE)
    takedown = staff.call(
        "POST",
        f"{base}/takedowns",
        200,
        {"camera_id": world.camera_id, "frame_id": frame_ids[1], "ground": "art7-1-3", "reason": "a complaint"},
    )
    _keys(
        takedown,
        [
            "contract_id", "camera_id", "frame_id", "captured_at", "ground", "ground_text", "reason", "taken_down_at",
            "taken_down_by", "bytes_deleted", "audit_seq",
        ],
    )  # fmt: skip

    notice = staff.call(
        "POST",
        "/v1/admin/notices",
        201,
        {"audience": world.contract_id, "kind": "maintenance", "title": "Maintenance", "body": "Tonight."},
    )
    _keys(
        notice,
        [
            "audience", "notice_id", "kind", "title", "body", "published_at", "effective_at", "site_delivered_at",
            "emails_sent", "email_delivered",
        ],
    )  # fmt: skip
    incident = {
        "title": "Leak",
        "description": "a laptop was lost",
        "occurred_at": format_rfc3339(now - timedelta(days=1)),
        "contract_ids": [world.contract_id],
        "data_affected": "frames",
    }
    reported = staff.call("POST", "/v1/admin/incidents", 201, incident)
    _keys(reported, ["incident_id", "reported_at", "notices"])
    _keys(reported["notices"][0], ["contract_id", "notice_id", "email_sent_at"])

    audit = staff.call("GET", f"{base}/audit", 200, query={"limit": "2"})
    assert list(audit) == ["contract_id", "items", "next_after_seq"]
    _keys(audit["items"][0], AUDIT_ENTRY)
    verified = staff.call("GET", f"{base}/audit/verify", 200)
    _keys(verified, ["contract_id", "entries", "intact", "first_broken_seq", "problem"])

    hook = {"url": "https://hooks.example.invalid/doti", "events": ["device.event"], "include_image_links": True}
    made = staff.call("POST", f"{base}/webhooks", 201, hook)
    _keys(made, [*WEBHOOK, "secret"], *WEBHOOK_OPTIONAL)
    _keys(staff.call("GET", f"{base}/webhooks", 200)["items"][0], WEBHOOK, *WEBHOOK_OPTIONAL)
    _keys(
        staff.call("POST", f"{base}/webhooks/{made['webhook_id']}/rotate", 200), [*WEBHOOK, "secret"], *WEBHOOK_OPTIONAL
    )
    _keys(staff.call("POST", f"{base}/webhooks/{made['webhook_id']}/test", 200), DELIVERY_ATTEMPT)
    _keys(staff.call("GET", f"{base}/webhooks/{made['webhook_id']}/deliveries", 200), ["items"])
    staff.call("DELETE", f"{base}/webhooks/{made['webhook_id']}", 204)
    assert _uncovered(staff.published) == []
