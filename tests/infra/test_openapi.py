"""The three OpenAPI documents as the functions serve them (SPEC §10, §12; issue 10, defect 8).

Given the handlers in moto, these fetch each document through its own route and check it against template.yaml (every
route declared, nothing else), against the SPEC (security per route, the §10 error schema, HTML pages as HTML, the
device requests) and against the code (a route declared secured refuses an anonymous request; a query bound declared
is the bound enforced). tests/local_stack/test_fuzz.py then runs schemathesis on the same documents.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from types import ModuleType
from typing import Any

import pytest
from aws_lambda_powertools.utilities import parameters
from openapi_spec_validator import validate

from doti.auth.customer import login
from doti.auth.staff import create_staff_key
from doti.clock import utcnow
from doti.ingest import frames, notes
from doti.oversight import access_log
from doti.viewing import deletions, exports
from doti.viewing import frames as browsing
from functions.admin import app as admin
from functions.ingest import app as ingest
from functions.viewer import app as viewer
from infra.template import api_routes, load_template
from tests.support import LambdaContext, api_event, body_of, customer_event
from tests.support.moto import SHARED_MOTO

HANDLERS: dict[str, ModuleType] = {"IngestFunction": ingest, "ViewerFunction": viewer, "AdminFunction": admin}
DOCUMENT_PATHS = {
    "IngestFunction": "/v1/device/openapi.json",
    "ViewerFunction": "/v1/openapi.json",
    "AdminFunction": "/v1/admin/openapi.json",
}
# A sample event of each function, for its route, method and headers to be replaced.
SAMPLES = {
    "IngestFunction": "ingest/post_event.json",
    "ViewerFunction": "viewer/list_cameras.json",
    "AdminFunction": "admin/create_contract.json",
}
# SPEC §2, §12: the routes anyone may call; every other route needs its function's credential.
PUBLIC = {
    ("GET", "/v1/device/openapi.json"),
    ("POST", "/v1/auth/login"),
    ("GET", "/v1/openapi.json"),
    ("GET", "/s/{token}"),
    ("POST", "/s/{token}"),
    ("GET", "/i/{token}"),
    ("POST", "/i/{token}"),
    ("GET", "/p/{public_id}"),
    ("POST", "/p/{public_id}/requests"),
    ("GET", "/r/{token}"),
    ("GET", "/"),
    ("GET", "/assets/{name}"),
}
SCHEMES = {
    "IngestFunction": {
        "deviceId": {"type": "apiKey", "in": "header", "name": "X-Doti-Device"},
        "deviceTimestamp": {"type": "apiKey", "in": "header", "name": "X-Doti-Timestamp"},
        "deviceSignature": {"type": "apiKey", "in": "header", "name": "X-Doti-Signature"},
    },
    "ViewerFunction": {"customerSession": {"type": "http", "scheme": "bearer"}},
    "AdminFunction": {"staffApiKey": {"type": "apiKey", "in": "header", "name": "X-Api-Key"}},
}
# What each credential check answers on every secured route (doti.openapi.Surface.refusals).
AUTH_STATUSES = {
    "IngestFunction": {"401", "403"},
    "ViewerFunction": {"401", "403", "423"},
    "AdminFunction": {"401", "403"},
}
HTML_ROUTES = {
    ("GET", "/s/{token}"),
    ("POST", "/s/{token}"),
    ("GET", "/i/{token}"),
    ("POST", "/i/{token}"),
    ("GET", "/"),
}
TEMPLATE_ROUTES = api_routes(load_template())
ERROR_CODES = {
    "unauthorized",
    "signature_expired",
    "forbidden",
    "contract_not_started",
    "contract_suspended",
    "contract_terminated",
    "not_found",
    "conflict",
    "payload_too_large",
    "unsupported_media_type",
    "validation_error",
    "corrupt_image",
    "account_locked",
    "quota_exceeded",
    "rate_limited",
}


def _call(logical_id: str, method: str, path: str, resource: str, headers: dict[str, str]) -> dict[str, Any]:
    event = api_event(
        SAMPLES[logical_id],
        method=method,
        path=path,
        resource=resource,
        headers={"Host": "abc123.execute-api.ap-northeast-1.amazonaws.com", **headers},
        replace_headers=True,
        query={},
    )
    event["body"], event["isBase64Encoded"] = None, False
    return HANDLERS[logical_id].lambda_handler(event, LambdaContext())


@pytest.fixture(scope="module")
def documents(template: dict) -> dict[str, dict[str, Any]]:
    """Each function's document, fetched through its route (the staff one with an operator key).

    Fetched once for the module's read-only checks, from the process's shared moto (made again here if a test
    before this module stopped it for a moto of its own: the session's `shared_aws` would be stale then).
    """
    SHARED_MOTO.ensure(template)
    served = {}
    parameters.clear_caches()
    _, key = create_staff_key("Openapi Reader", "operator", utcnow())
    for logical_id, path in DOCUMENT_PATHS.items():
        headers = {"X-Api-Key": key} if logical_id == "AdminFunction" else {}
        response = _call(logical_id, "GET", path, path, headers)
        assert response["statusCode"] == 200, response["body"]
        served[logical_id] = body_of(response)
    return served


def _operations(document: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(m.upper(), p): op for p, item in document["paths"].items() for m, op in item.items()}


def _problems(check: Callable[[str, tuple[str, str], dict[str, Any]], list[str]], documents: dict) -> list[str]:
    return [
        problem
        for logical_id, document in documents.items()
        for route, operation in _operations(document).items()
        for problem in check(logical_id, route, operation)
    ]


# ---------------------------------------------------------------- the documents as a whole


def test_given_the_served_documents_then_each_is_valid_openapi_3_1(documents):
    for document in documents.values():
        assert document["openapi"].startswith("3.1")
        validate(document)  # raises on the first violation


def test_given_the_served_documents_then_they_declare_exactly_the_template_routes(documents):
    for logical_id, document in documents.items():
        in_template = {(r.method, r.path) for r in TEMPLATE_ROUTES if r.function == logical_id}

        declared = set(_operations(document))

        assert (in_template - declared, declared - in_template) == (set(), set()), logical_id


def test_given_the_served_documents_then_each_declares_its_own_security_schemes_only(documents):
    for logical_id, document in documents.items():
        schemes = document["components"]["securitySchemes"]

        assert {name: {k: s[k] for k in SCHEMES[logical_id][name]} for name, s in schemes.items()} == SCHEMES[
            logical_id
        ]


def test_given_the_error_schema_then_it_is_the_spec_shape_with_every_spec_code(documents):
    for document in documents.values():
        error = document["components"]["schemas"]["Error"]

        inner = error["properties"]["error"]
        assert error["required"] == ["error"]
        assert inner["required"] == ["code", "message", "details"]
        assert set(inner["properties"]["code"]["enum"]) >= ERROR_CODES
        assert "HTTPValidationError" not in json.dumps(document)  # Powertools' own 422 shape is never answered


# ---------------------------------------------------------------- each route


def _security_problems(logical_id: str, route: tuple[str, str], operation: dict[str, Any]) -> list[str]:
    expected = [] if route in PUBLIC else [{name: [] for name in SCHEMES[logical_id]}]
    return [] if operation.get("security") == expected else [f"{route}: security {operation.get('security')}"]


def test_given_each_route_then_it_needs_the_credential_the_spec_gives_it(documents):
    assert _problems(_security_problems, documents) == []


def _status_problems(logical_id: str, route: tuple[str, str], operation: dict[str, Any]) -> list[str]:
    responses = operation["responses"]
    problems = []
    if not any(status.startswith(("2", "3")) for status in responses):
        problems.append(f"{route}: no success")
    needed = {"500", "503"} | (set() if route in PUBLIC else AUTH_STATUSES[logical_id])
    problems += [f"{route}: {status} missing" for status in sorted(needed - set(responses))]
    if "requestBody" in operation and "application/json" in operation["requestBody"]["content"]:
        problems += [f"{route}: {s} missing for a JSON body" for s in ("415", "422") if s not in responses]
    for status, response in responses.items():
        media = response.get("content", {})
        if int(status) >= 400 and "application/json" in media:
            schema = media["application/json"]["schema"]
            if schema["allOf"][0] != {"$ref": "#/components/schemas/Error"}:
                problems.append(f"{route}: {status} is not the Error")
        elif int(status) >= 400 and "text/html" not in media:
            problems.append(f"{route}: {status} has no body")
        if int(status) in (204, 304) and media:
            problems.append(f"{route}: {status} has a body")
    return problems


def test_given_each_route_then_it_declares_its_statuses_and_errors_as_the_spec_error(documents):
    assert _problems(_status_problems, documents) == []


# The viewer's static files (app.js, i18n.json, ...) are files, not API bodies: their JSON one is a message table.
STATIC_FILES = {("GET", "/assets/{name}")}


def _resolved(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    return document["components"]["schemas"][ref.rsplit("/", 1)[1]] if ref else schema


def _success_schema_problems(document: dict[str, Any], route: tuple[str, str], operation: dict[str, Any]) -> list[str]:
    problems = []
    for status, response in operation["responses"].items():
        media = response.get("content", {})
        if not status.startswith("2") or "application/json" not in media or route in STATIC_FILES:
            continue
        schema = _resolved(document, media["application/json"]["schema"])
        if not schema.get("properties"):
            problems.append(f"{route}: {status} is an object without properties")
    return problems


def test_given_each_route_with_a_json_success_then_its_body_is_described_by_properties(documents):
    """Issue 12: a client can be generated from the documents, and schemathesis checks the bodies."""
    problems = [
        problem
        for document in documents.values()
        for route, operation in _operations(document).items()
        for problem in _success_schema_problems(document, route, operation)
    ]
    assert problems == []


def test_given_the_documents_then_no_error_is_powertools_own_validation_body(documents):
    """Every 422 (and every other error) is the SPEC §10 Error; Powertools' HTTPValidationError appears nowhere."""
    for document in documents.values():
        text = json.dumps(document)
        for name in ("HTTPValidationError", "ResponseValidationError", "ValidationError"):
            assert f"#/components/schemas/{name}" not in text
            assert name not in document["components"]["schemas"]
        for route, operation in _operations(document).items():
            if "422" in operation["responses"] and "application/json" in operation["responses"]["422"]["content"]:
                schema = operation["responses"]["422"]["content"]["application/json"]["schema"]
                assert schema["allOf"][0] == {"$ref": "#/components/schemas/Error"}, route


def _response_models(document: dict[str, Any]) -> set[str]:
    """The component schemas that success bodies use, directly or within another."""
    operations = [op for item in document["paths"].values() for op in item.values()]
    text = json.dumps([r for op in operations for status, r in op["responses"].items() if status.startswith("2")])
    found: set[str] = set()
    pending = set(re.findall(r'"#/components/schemas/([^"]+)"', text))
    while pending:
        name = pending.pop()
        found.add(name)
        inner = json.dumps(document["components"]["schemas"][name])
        pending |= set(re.findall(r'"#/components/schemas/([^"]+)"', inner)) - found
    return found


def test_given_the_response_models_then_times_are_date_times_and_absent_keys_are_never_null(documents):
    """A `date-time` is what clients parse; a key that is left out when it does not apply is not also nullable."""
    for document in documents.values():
        for name in _response_models(document):
            schema = document["components"]["schemas"][name]
            assert schema["additionalProperties"] is False, name
            for key, prop in schema["properties"].items():
                if key.endswith("_at") and key != "email_sent_at":  # the mailer's receipt, as it wrote it
                    branches = prop.get("anyOf", [prop])
                    assert {"type": "string", "format": "date-time"}.items() <= branches[0].items(), (name, key)
                if key not in schema.get("required", []):
                    assert {"type": "null"} not in prop.get("anyOf", []), (name, key)


def test_given_the_html_routes_then_their_pages_are_declared_as_html(documents):
    operations = _operations(documents["ViewerFunction"])

    for route in HTML_ROUTES:
        successes = [r for s, r in operations[route]["responses"].items() if s.startswith("2")]
        assert [set(r["content"]) for r in successes] == [{"text/html"}], route
    not_found = operations[("GET", "/s/{token}")]["responses"]["404"]["content"]
    assert set(not_found) == {"text/html"}  # the refusal is a page for the phone, not JSON


def test_given_the_device_document_then_frames_declare_image_bodies_and_the_frame_headers(documents):
    operations = _operations(documents["IngestFunction"])
    post_frame = operations[("POST", "/v1/device/frames")]

    body = post_frame["requestBody"]
    headers = {p["name"]: p for p in post_frame["parameters"] if p["in"] == "header"}
    assert body["required"] is True
    assert body["content"] == {
        kind: {"schema": {"type": "string", "format": "binary"}} for kind in frames.ACCEPTED_TYPES
    }
    assert set(headers) == {"X-Doti-Camera", "X-Doti-Captured-At", "X-Doti-Frame-Id"}
    assert all(h["required"] for h in headers.values())
    assert {"200", "201", "409", "413", "415", "422", "429"} <= set(post_frame["responses"])


def test_given_the_device_document_then_uploads_and_events_declare_their_json_bodies(documents):
    operations = _operations(documents["IngestFunction"])

    upload = operations[("POST", "/v1/device/uploads")]["requestBody"]["content"]["application/json"]["schema"]
    event = operations[("POST", "/v1/device/events")]["requestBody"]["content"]["application/json"]["schema"]

    assert set(upload["required"]) == {"camera_id", "content_type", "size", "captured_at", "frame_id"}
    assert set(event["required"]) == {"occurred_at", "text"}
    assert set(event["properties"]) == {"camera_id", "occurred_at", "text", "event_id"}
    assert event["properties"]["text"]["maxLength"] == notes.MAX_TEXT
    assert upload["additionalProperties"] is False
    assert event["additionalProperties"] is False


# ---------------------------------------------------------------- the documents against the code


def _concrete(path: str) -> str:
    return re.sub(r"\{(\w+)\}", r"x-\1", path)


@pytest.mark.parametrize("logical_id", DOCUMENT_PATHS)
def test_given_a_route_declared_secured_when_called_anonymously_then_it_is_401_and_public_ones_are_not(aws, logical_id):
    # Given every route of the function, with no credential at all
    routes = sorted((r.method, r.path) for r in TEMPLATE_ROUTES if r.function == logical_id)

    # When each is called
    statuses = {route: _call(logical_id, route[0], _concrete(route[1]), route[1], {})["statusCode"] for route in routes}

    # Then the document's security is the code's: a secured route refuses (401), a public one answers otherwise
    wrong = {route: status for route, status in statuses.items() if (status == 401) == (route in PUBLIC)}
    assert wrong == {}


def _query_parameter(documents: dict, path: str, name: str) -> dict[str, Any]:
    parameters = _operations(documents["ViewerFunction"])[("GET", path)]["parameters"]
    schema = next(p["schema"] for p in parameters if p["name"] == name)
    return schema["anyOf"][0] if "anyOf" in schema else schema


def test_given_the_listing_bounds_then_the_document_declares_those_the_domain_enforces(documents):
    assert _query_parameter(documents, "/v1/cameras/{camera_id}/frames", "limit")["maximum"] == browsing.MAX_PAGE
    assert _query_parameter(documents, "/v1/cameras/{camera_id}/notes", "limit")["maximum"] == notes.MAX_PAGE
    assert _query_parameter(documents, "/v1/access-log", "limit")["maximum"] == access_log.MAX_PAGE
    assert _query_parameter(documents, "/v1/deletions", "limit")["maximum"] == deletions.MAX_PAGE
    assert _query_parameter(documents, "/v1/exports", "limit")["maximum"] == exports.MAX_LIST
    for name in ("from", "to"):
        assert _query_parameter(documents, "/v1/deletions", name)["pattern"] == r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"


@pytest.mark.parametrize(
    ("day", "status"), [("2026-12-01", 200), ("2026-W49-2", 422), ("20261201", 422), ("2026-12-1", 422)]
)
def test_given_a_deletions_day_when_listed_then_only_the_documented_form_is_read(world, day, status):
    # Given the owner's session
    token = login(world.login_id, world.password, datetime.now(UTC))[0]

    # When receipts are asked for from a day written in some form
    event = customer_event("viewer/list_cameras.json", token, path="/v1/deletions", resource="/v1/deletions")
    event["queryStringParameters"] = {"from": day}
    event["multiValueQueryStringParameters"] = {"from": [day]}
    response = viewer.lambda_handler(event, LambdaContext())

    # Then only YYYY-MM-DD is read; the ISO week date fromisoformat would also take is refused as documented
    assert response["statusCode"] == status, response["body"]
