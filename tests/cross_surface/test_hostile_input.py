"""Hostile input at every entrance (issue 10, defects 3 and 4; SPEC §10): no request draws a 5xx.

Each attack class (times outside the service's range, numbers too large for time arithmetic, JSON too deep or with
an integer too long to convert, bodies that are not JSON or not UTF-8, cursors that are not ours) is sent to each
kind of entrance: the signed device routes, the customer routes, the staff routes and the public login. With
credentials it gets the exact SPEC §10 refusal; without them it gets 401 first, whatever is wrong with the body.
An unexpected failure is a bare 500 `internal_error`, logged with the request's correlation id.
"""

from __future__ import annotations

import base64
import io
import json
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

import pytest

from doti.auth.device import sign
from doti.clock import format_rfc3339, utcnow
from doti.observability import logger
from functions.admin import app as admin
from functions.ingest import app as ingest
from functions.viewer import app as viewer
from tests.support import LambdaContext, World, api_event, assert_error, body_of, camera_consents, later, sample_image
from tests.support.hooks import botocore_hook
from tests.support.shares import GROUND
from tests.support.viewer import owner_token

# Times that parse but sit outside any datetime once converted to UTC: year 0, year 10000.
UNDERFLOW = "0001-01-01T00:00:00+14:00"
OVERFLOW = "9999-12-31T23:59:59-14:00"
DEEP_JSON = "[" * 1000 + "]" * 1000  # deeper than Python's recursion limit
HUGE_INT = "9" * 5000  # past CPython's 4300-digit limit on int <-> str conversion
MULTIPART_WITHOUT_BOUNDARY = "multipart/form-data"
TOO_LARGE = 2 * 1024 * 1024


def cursor_of(value: Any) -> str:
    """A cursor in the shape ours have (URL-safe base64 of JSON, unpadded) holding whatever we like."""
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


@dataclass(frozen=True)
class Caller:
    """Sends requests to the three API functions as one tenant: with its credentials, or (anonymous) without any."""

    world: World
    token: str | None
    key: str | None
    signed: bool

    def anonymous(self) -> Caller:
        return replace(self, token=None, key=None, signed=False)

    def device(
        self,
        route: str,
        body: bytes,
        *,
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
        timestamp: str | None = None,
    ) -> dict[str, Any]:
        sent = {"Content-Type": content_type, **(headers or {})}
        if self.signed:
            stamp = timestamp or format_rfc3339(utcnow())
            sent |= {
                "X-Doti-Device": self.world.device_id,
                "X-Doti-Timestamp": stamp,
                "X-Doti-Signature": sign(self.world.device_secret, "POST", route, stamp, body),
            }
        sample = {
            "/v1/device/frames": "post_frame",
            "/v1/device/uploads": "post_upload",
            "/v1/device/events": "post_event",
        }
        # API Gateway base64-encodes only the binary media types (image/jpeg, image/png) of the template.
        binary = content_type.lower().startswith("image/")
        event = api_event(f"ingest/{sample[route]}.json", headers=sent, replace_headers=True, body=body, binary=binary)
        return ingest.lambda_handler(event, LambdaContext())

    def frame(self, **headers: str) -> dict[str, Any]:
        """A signed JPEG for the world's camera, with the X-Doti-* frame headers given replacing the defaults."""
        frame_headers = {
            "X-Doti-Camera": self.world.camera_id,
            "X-Doti-Captured-At": format_rfc3339(utcnow()),
            "X-Doti-Frame-Id": f"f-{secrets.token_hex(6)}",
        }
        timestamp = headers.pop("timestamp", None)
        body = headers.pop("body", None)
        content_type = headers.pop("content_type", "image/jpeg")
        frame_headers |= {f"X-Doti-{name.replace('_', '-').title()}": value for name, value in headers.items()}
        image = body.encode() if body is not None else sample_image()
        return self.device(
            "/v1/device/frames", image, content_type=content_type, headers=frame_headers, timestamp=timestamp
        )

    def customer(
        self,
        method: str,
        resource: str,
        *,
        body: str | bytes | None = None,
        content_type: str = "application/json",
        query: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        path = resource.replace("{camera_id}", self.world.camera_id)
        headers = {"Content-Type": content_type} if body is not None else {}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        event = api_event(
            "viewer/list_cameras.json",
            method=method,
            resource=resource,
            path=path,
            headers=headers,
            replace_headers=True,
            body=body,
            binary=isinstance(body, bytes),
            path_parameters={"camera_id": self.world.camera_id} if "{camera_id}" in resource else {},
            query=query or {},
        )
        return viewer.lambda_handler(event, LambdaContext())

    def staff(
        self,
        method: str,
        path: str,
        *,
        body: str | None = None,
        content_type: str = "application/json",
        query: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        path = path.replace("{contract_id}", self.world.contract_id)
        headers = {"Content-Type": content_type}
        if self.key:
            headers["X-Api-Key"] = self.key
        event = api_event(
            "admin/create_contract.json",
            method=method,
            path=path,
            resource=path,
            headers=headers,
            replace_headers=True,
            body=body if body is not None else "",
            query=query or {},
        )
        if body is None:
            event["body"] = None
        return admin.lambda_handler(event, LambdaContext())


@pytest.fixture
def caller(world: World) -> Caller:
    return Caller(world, owner_token(world), world.staff_key, signed=True)


def dumps(**fields: Any) -> str:
    return json.dumps(fields)


def share(caller: Caller, **fields: Any) -> str:
    body = {"camera_id": caller.world.camera_id, "purpose": GROUND, "expires_in": 3600}
    return json.dumps(body | fields)


def upload(caller: Caller, **fields: Any) -> bytes:
    body = {
        "camera_id": caller.world.camera_id,
        "content_type": "video/mp4",
        "size": 1000,
        "captured_at": format_rfc3339(utcnow()),
        "frame_id": f"clip-{secrets.token_hex(4)}",
    }
    return json.dumps(body | fields).encode()


def device_event(caller: Caller, **fields: Any) -> bytes:
    body = {"camera_id": caller.world.camera_id, "occurred_at": format_rfc3339(utcnow()), "text": "alarm"}
    return json.dumps(body | fields).encode()


def consents_with(when: str) -> dict[str, Any]:
    consents = camera_consents(utcnow())
    consents["camera_owner"] = {**consents["camera_owner"], "consented_at": when}
    return consents


Send = Callable[[Caller], dict[str, Any]]


@dataclass(frozen=True)
class Attack:
    send: Send
    status: int
    code: str


def frames(**query: str) -> Send:
    return lambda c: c.customer("GET", "/v1/cameras/{camera_id}/frames", query=query)


def notes(**query: str) -> Send:
    return lambda c: c.customer("GET", "/v1/cameras/{camera_id}/notes", query=query)


def access_log(cursor: str) -> Send:
    return lambda c: c.customer("GET", "/v1/access-log", query={"cursor": cursor})


def contracts(**query: str) -> Send:
    return lambda c: c.staff("GET", "/v1/admin/contracts", query=query)


def new_contract(**fields: Any) -> Send:
    return lambda c: c.staff("POST", "/v1/admin/contracts", body=dumps(name="X", contact_email="x@x.example", **fields))


def raw_body(entrance: str, body: str, content_type: str = "application/json") -> Send:
    """`body` as it is, to one JSON entrance of each kind."""
    routes: dict[str, Send] = {
        "upload": lambda c: c.device("/v1/device/uploads", body.encode(), content_type=content_type),
        "event": lambda c: c.device("/v1/device/events", body.encode(), content_type=content_type),
        "share": lambda c: c.customer("POST", "/v1/shares", body=body, content_type=content_type),
        "contract": lambda c: c.staff("POST", "/v1/admin/contracts", body=body, content_type=content_type),
        "login": lambda c: c.customer("POST", "/v1/auth/login", body=body, content_type=content_type),
    }
    return routes[entrance]


def to_every_json_entrance(body: str, status: int, code: str, content_type: str = "application/json") -> dict:
    return {
        f"{kind}-{entrance}": Attack(raw_body(entrance, body, content_type), status, code)
        for kind, entrance in JSON_ENTRANCES
    }


JSON_ENTRANCES = [("device", "upload"), ("device", "event"), ("customer", "share"), ("staff", "contract")]
JSON_ENTRANCES += [("public", "login")]  # the one public JSON route: no credentials to check first
UNPROCESSABLE = (422, "validation_error")
UNSUPPORTED = (415, "unsupported_media_type")

# Each attack class (issue 10, defect 3 and 4) at every kind of entrance: device-, customer-, staff-, public-.
ATTACKS: dict[str, dict[str, Attack]] = {
    "time-underflow": {
        # the signature's own time: a time the service cannot use is a failed authentication
        "device-signature-time": Attack(lambda c: c.frame(timestamp=UNDERFLOW), 401, "unauthorized"),
        "device-frame-captured-at": Attack(lambda c: c.frame(captured_at=UNDERFLOW), *UNPROCESSABLE),
        "device-upload-captured-at": Attack(
            lambda c: c.device("/v1/device/uploads", upload(c, captured_at=UNDERFLOW)), *UNPROCESSABLE
        ),
        "device-event-occurred-at": Attack(
            lambda c: c.device("/v1/device/events", device_event(c, occurred_at=UNDERFLOW)), *UNPROCESSABLE
        ),
        "customer-frames-from": Attack(frames(**{"from": UNDERFLOW}), *UNPROCESSABLE),
        "customer-notes-from": Attack(notes(**{"from": UNDERFLOW}), *UNPROCESSABLE),
        "customer-share-from": Attack(
            lambda c: c.customer("POST", "/v1/shares", body=share(c, **{"from": UNDERFLOW, "to": later(minutes=-1)})),
            *UNPROCESSABLE,
        ),
        "customer-export-from": Attack(
            lambda c: c.customer(
                "POST", "/v1/exports", body=dumps(camera_id=c.world.camera_id, **{"from": UNDERFLOW}, to=later())
            ),
            *UNPROCESSABLE,
        ),
        "staff-contract-service-start": Attack(new_contract(service_start=UNDERFLOW), *UNPROCESSABLE),
        "staff-suspension-starts-at": Attack(
            lambda c: c.staff(
                "POST",
                "/v1/admin/contracts/{contract_id}/suspensions",
                body=dumps(starts_at=UNDERFLOW, ends_at=later(days=1), ground="art12-1-1", reason="x"),
            ),
            *UNPROCESSABLE,
        ),
        "staff-camera-consented-at": Attack(
            lambda c: c.staff(
                "POST",
                "/v1/admin/contracts/{contract_id}/cameras",
                body=json.dumps({"site_id": c.world.site_id, "name": "Door", "consents": consents_with(UNDERFLOW)}),
            ),
            *UNPROCESSABLE,
        ),
        "staff-incident-occurred-at": Attack(
            lambda c: c.staff(
                "POST",
                "/v1/admin/incidents",
                body=dumps(
                    title="t",
                    description="d",
                    occurred_at=UNDERFLOW,
                    contract_ids=[c.world.contract_id],
                    data_affected="x",
                ),
            ),
            *UNPROCESSABLE,
        ),
        "staff-maintenance-from": Attack(
            lambda c: c.staff(
                "POST",
                "/v1/admin/contracts/{contract_id}/maintenance-access",
                body=json.dumps(
                    {"camera_id": c.world.camera_id, "from": UNDERFLOW, "to": later(), "ticket": "T-1", "reason": "x"}
                ),
            ),
            *UNPROCESSABLE,
        ),
        "staff-disclosure-from": Attack(
            lambda c: c.staff(
                "POST",
                "/v1/admin/contracts/{contract_id}/disclosures",
                body=json.dumps(
                    {
                        "basis": "art10-3-1",
                        "recipient": "Police",
                        "reason": "warrant",
                        "camera_id": c.world.camera_id,
                        "from": UNDERFLOW,
                        "to": later(),
                    }
                ),
            ),
            *UNPROCESSABLE,
        ),
    },
    "time-overflow": {
        "device-signature-time": Attack(lambda c: c.frame(timestamp=OVERFLOW), 401, "unauthorized"),
        "device-frame-captured-at": Attack(lambda c: c.frame(captured_at=OVERFLOW), *UNPROCESSABLE),
        "device-event-occurred-at": Attack(
            lambda c: c.device("/v1/device/events", device_event(c, occurred_at=OVERFLOW)), *UNPROCESSABLE
        ),
        "customer-frames-to": Attack(frames(to=OVERFLOW), *UNPROCESSABLE),
        "customer-share-to": Attack(
            lambda c: c.customer("POST", "/v1/shares", body=share(c, **{"from": later(hours=-1), "to": OVERFLOW})),
            *UNPROCESSABLE,
        ),
        "customer-note-at": Attack(
            lambda c: c.customer("POST", "/v1/cameras/{camera_id}/notes", body=dumps(text="x", at=OVERFLOW)),
            *UNPROCESSABLE,
        ),
        "staff-contract-ended-at": Attack(
            lambda c: c.staff(
                "PATCH", "/v1/admin/contracts/{contract_id}", body=dumps(security_contract_ended_at=OVERFLOW)
            ),
            *UNPROCESSABLE,
        ),
        "staff-transition-effective-at": Attack(
            lambda c: c.staff(
                "POST",
                "/v1/admin/contracts/{contract_id}/transitions",
                body=dumps(to="cancelling", ground="art13-1", reason="x", effective_at=OVERFLOW),
            ),
            *UNPROCESSABLE,
        ),
        "staff-notice-effective-at": Attack(
            lambda c: c.staff(
                "POST",
                "/v1/admin/notices",
                body=dumps(
                    audience=c.world.contract_id, kind="maintenance", title="t", body="b", effective_at=OVERFLOW
                ),
            ),
            *UNPROCESSABLE,
        ),
    },
    "time-outside-the-range": {
        # in datetime's range, outside the service's: [1970-01-01, 9000-01-01) UTC (doti.clock)
        "customer-frames-from-before-the-epoch": Attack(frames(**{"from": "1969-12-31T23:59:59.999Z"}), *UNPROCESSABLE),
        "customer-frames-to-year-9000": Attack(frames(to="9000-01-01T00:00:00Z"), *UNPROCESSABLE),
        "staff-contract-service-start-year-9000": Attack(
            new_contract(service_start="9000-01-01T09:00:00+09:00"), *UNPROCESSABLE
        ),
    },
    "number-too-large": {
        "device-upload-size": Attack(
            lambda c: c.device("/v1/device/uploads", upload(c, size=10**30)), 413, "payload_too_large"
        ),
        "customer-share-expires-in-1e14": Attack(
            lambda c: c.customer("POST", "/v1/shares", body=share(c).replace("3600", "1e14")), *UNPROCESSABLE
        ),
        "customer-share-expires-in-10e30": Attack(
            lambda c: c.customer("POST", "/v1/shares", body=share(c, expires_in=10**30)), *UNPROCESSABLE
        ),
        "customer-access-log-cursor-seq": Attack(access_log(cursor_of({"s": 10**30})), *UNPROCESSABLE),
        "staff-contract-monthly-byte-quota": Attack(new_contract(monthly_byte_quota=10**30), *UNPROCESSABLE),
        "staff-contract-retention-days": Attack(new_contract(retention_days=10**30), *UNPROCESSABLE),
        "staff-audit-after-seq": Attack(
            lambda c: c.staff("GET", "/v1/admin/contracts/{contract_id}/audit", query={"after_seq": str(10**30)}),
            *UNPROCESSABLE,
        ),
    },
    "json-too-deep": to_every_json_entrance(DEEP_JSON, *UNPROCESSABLE)
    | {
        "customer-share-nested-past-the-limit": Attack(
            raw_body("share", '{"purpose": ' + "[" * 100 + "]" * 100 + "}"), *UNPROCESSABLE
        ),
    },
    "integer-too-long": to_every_json_entrance(f'{{"size": {HUGE_INT}}}', *UNPROCESSABLE),
    "multipart-without-boundary": to_every_json_entrance("{}", *UNSUPPORTED, content_type="multipart/form-data"),
    "not-json": to_every_json_entrance("{}", *UNSUPPORTED, content_type="text/plain")
    | {
        "device-frame": Attack(lambda c: c.frame(body="hello", content_type="text/plain"), *UNSUPPORTED),
        "customer-share-form": Attack(
            raw_body("share", "purpose=x", "application/x-www-form-urlencoded"), *UNSUPPORTED
        ),
    },
    "unreadable-body": {
        "customer-share-not-utf8": Attack(
            lambda c: c.customer("POST", "/v1/shares", body=b'{"purpose": "\xff\xfe"}'), *UNPROCESSABLE
        ),
        "customer-share-nan": Attack(raw_body("share", '{"expires_in": NaN}'), *UNPROCESSABLE),
        "customer-share-lone-surrogate": Attack(raw_body("share", '{"purpose": "\\ud800"}'), *UNPROCESSABLE),
        # the signed device routes read their JSON with the same reader (doti.json_body), so nothing unencodable reaches
        # DynamoDB, which would refuse it with a 5xx-like error where moto stores it
        "device-event-lone-surrogate": Attack(raw_body("event", '{"camera_id": "\\ud800"}'), *UNPROCESSABLE),
        "device-upload-lone-surrogate": Attack(raw_body("upload", '{"frame_id": "\\udfff"}'), *UNPROCESSABLE),
        "staff-contract-lone-surrogate-key": Attack(raw_body("contract", '{"\\udfff": 1}'), *UNPROCESSABLE),
        "customer-share-too-large": Attack(
            lambda c: c.customer("POST", "/v1/shares", body=share(c, purpose="x" * TOO_LARGE)), 413, "payload_too_large"
        ),
        "staff-contract-too-large": Attack(raw_body("contract", " " * TOO_LARGE + "{}"), 413, "payload_too_large"),
    },
    # keys DynamoDB cannot hold (empty, or past 2048 bytes) name nothing: not found, never the store's 5xx
    "unstorable-key": {
        "customer-invitation-empty-site": Attack(
            lambda c: c.customer("POST", "/v1/users", body=dumps(name="x", role="viewer", site_ids=[""])),
            404,
            "not_found",
        ),
        "staff-user-empty-site": Attack(
            lambda c: c.staff(
                "POST",
                "/v1/admin/contracts/{contract_id}/users",
                body=dumps(login_id="empty-site", name="x", role="viewer", site_ids=[""]),
            ),
            404,
            "not_found",
        ),
        "staff-user-site-past-the-key-limit": Attack(
            lambda c: c.staff(
                "POST",
                "/v1/admin/contracts/{contract_id}/users",
                body=dumps(login_id="long-site", name="x", role="viewer", site_ids=["s" * 3000]),
            ),
            404,
            "not_found",
        ),
    },
    "foreign-cursor": {
        "customer-frames-non-ascii": Attack(frames(cursor="é"), *UNPROCESSABLE),
        "customer-frames-not-base64": Attack(frames(cursor="!!!!"), *UNPROCESSABLE),
        "customer-frames-not-json": Attack(frames(cursor=cursor_of("x")[:-2]), *UNPROCESSABLE),
        "customer-frames-wrong-types": Attack(frames(cursor=cursor_of({"c": [], "n": 1, "k": 7})), *UNPROCESSABLE),
        "customer-notes-non-ascii": Attack(notes(cursor="ü" * 8), *UNPROCESSABLE),
        "customer-access-log-non-ascii": Attack(access_log("ü"), *UNPROCESSABLE),
        "customer-access-log-nested": Attack(access_log(cursor_of([[[[[[[[[[]]]]]]]]]])), *UNPROCESSABLE),
        "staff-contracts-non-ascii": Attack(contracts(cursor="é"), *UNPROCESSABLE),
        "staff-contracts-not-utf8": Attack(
            contracts(cursor=base64.urlsafe_b64encode(b"ctr_\xff").decode()), *UNPROCESSABLE
        ),
        "staff-contracts-not-a-contract-id": Attack(
            contracts(cursor=base64.urlsafe_b64encode(b"ctr_\x00/../x").decode()), *UNPROCESSABLE
        ),
    },
}

# The direct frame route's media type is judged after the device's signature (doti.ingest.frames.ingest_direct).
_MEDIA_TYPE_BEFORE_SIGNATURE = "device-frame"


def mismatches(caller: Caller, attacks: dict[str, Attack], expect: Callable[[Attack], tuple[int, str]]) -> list[str]:
    """Every entrance whose answer is not the expected SPEC §10 error (all are sent, so one run shows them all)."""
    found = []
    for entrance, attack in attacks.items():
        response = attack.send(caller)
        status, code = expect(attack)
        try:
            error = assert_error(response, status, code)
            assert "problems" not in error["details"] or status != 401
        except AssertionError:
            found.append(f"{entrance}: expected {status} {code}, got {response['statusCode']} {response['body'][:300]}")
    return found


@pytest.mark.parametrize("attack_class", list(ATTACKS))
def test_hostile_input_gets_its_refusal_in_the_error_format(caller, attack_class):
    # When a caller with credentials sends each attack of the class to each entrance
    # Then each gets the exact refusal of SPEC §10, never a 5xx
    assert mismatches(caller, ATTACKS[attack_class], lambda attack: (attack.status, attack.code)) == []


@pytest.mark.parametrize("attack_class", list(ATTACKS))
def test_without_credentials_hostile_input_gets_401_first(caller, attack_class):
    # When the same requests come without a signature, session or staff key (the public login aside)
    attacks = {
        entrance: attack
        for entrance, attack in ATTACKS[attack_class].items()
        if not entrance.startswith("public-") and entrance != _MEDIA_TYPE_BEFORE_SIGNATURE
    }

    # Then each is 401, and nothing about its content is answered
    assert mismatches(caller.anonymous(), attacks, lambda _: (401, "unauthorized")) == []


def test_an_unsigned_frame_that_is_not_an_image_gets_401(caller):
    response = ATTACKS["not-json"][_MEDIA_TYPE_BEFORE_SIGNATURE].send(caller.anonymous())
    assert_error(response, 401, "unauthorized")


# media types


@pytest.mark.parametrize("content_type", ["APPLICATION/JSON", "application/json; charset=utf-8", "Application/Json"])
def test_json_media_types_are_compared_without_case_and_may_carry_parameters(caller, content_type):
    note = dumps(text="van at the gate")
    contract = dumps(name="Kanda Bakery", contact_email="owner@kanda.example")

    customer = caller.customer("POST", "/v1/cameras/{camera_id}/notes", body=note, content_type=content_type)
    staff = caller.staff("POST", "/v1/admin/contracts", body=contract, content_type=content_type)
    device = caller.device("/v1/device/events", device_event(caller), content_type=content_type)

    assert [customer["statusCode"], staff["statusCode"], device["statusCode"]] == [201, 201, 201], [
        customer["body"],
        staff["body"],
        device["body"],
    ]


def test_a_json_route_without_a_content_type_still_reads_json(caller):
    event = api_event(
        "viewer/login.json",
        headers={"Content-Type": ""},
        body=json.dumps({"login_id": caller.world.login_id, "password": caller.world.password}),
    )
    assert viewer.lambda_handler(event, LambdaContext())["statusCode"] == 200


def test_the_time_range_ends_are_usable(caller):
    # The first and the last millisecond of the range are times like any other (an empty listing, not an error).
    response = caller.customer(
        "GET",
        "/v1/cameras/{camera_id}/frames",
        query={"from": "1970-01-01T00:00:00Z", "to": "8999-12-31T23:59:59.999Z"},
    )
    assert response["statusCode"] == 200, response["body"]
    assert body_of(response) == {"items": []}


# the catch-all


@pytest.fixture
def failing_frame_queries(aws) -> Iterator[None]:
    """Every Query of the frames table fails with an error no layer of ours expects (a botocore before-call hook)."""

    def fail(model: Any, params: dict[str, Any], **_: Any) -> None:
        # before-call sees the serialized request: DynamoDB's is a JSON body naming the table
        if model.name == "Query" and json.loads(params["body"])["TableName"] == aws.refs["FramesTable"]:
            raise RuntimeError("connection pool in a state nobody planned for: secret-detail-42")

    with botocore_hook("before-call", fail, "test-hostile-unexpected"):
        yield


@pytest.fixture
def log_lines(monkeypatch: pytest.MonkeyPatch) -> Callable[[], list[dict[str, Any]]]:
    """The JSON lines the functions' logger writes. Its handler holds the stdout it was created with, which capsys
    does not replace, so the test reads the lines from the handler's stream instead."""
    written = io.StringIO()
    monkeypatch.setattr(logger.registered_handler, "stream", written)
    return lambda: [json.loads(line) for line in written.getvalue().splitlines()]


def test_an_unexpected_failure_is_a_bare_500_logged_with_the_correlation_id(caller, failing_frame_queries, log_lines):
    # Given a request with its own id, by an authenticated customer
    request_id = f"req-{secrets.token_hex(8)}"
    event = api_event(
        "viewer/list_frames.json",
        path=f"/v1/cameras/{caller.world.camera_id}/frames",
        headers={"Authorization": f"Bearer {caller.token}"},
        path_parameters={"camera_id": caller.world.camera_id},
    )
    event["requestContext"]["requestId"] = request_id

    # When reading the frames fails in a way nothing maps
    response = viewer.lambda_handler(event, LambdaContext())

    # Then the answer is internal_error with no detail of the failure
    assert response["statusCode"] == 500
    assert body_of(response) == {
        "error": {"code": "internal_error", "message": "the request failed unexpectedly", "details": {}}
    }
    assert "secret-detail-42" not in response["body"]
    # And the failure is logged once, with its traceback and the request's correlation id
    errors = [line for line in log_lines() if line["level"] == "ERROR"]
    assert len(errors) == 1, errors
    assert errors[0]["correlation_id"] == request_id
    assert errors[0]["exception_name"] == "RuntimeError"


def test_an_unknown_route_is_still_not_found(caller):
    response = caller.customer("GET", "/v1/no-such-route")
    assert_error(response, 404, "not_found")
