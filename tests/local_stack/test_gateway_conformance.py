"""The local gateway delivers requests as API Gateway (REST API, Lambda proxy integration) does: path, path parameters,
query, bodies, and which targets match no resource.

Two layers, both over real HTTP:
- the gateway alone, serving every route of template.yaml in front of a function that answers with the event it
  received, so a test reads exactly what a handler would be given;
- the whole local stack, for what the handlers make of it (a signed device body, an unknown path).

What API Gateway does, from live captures (aws/aws-sam-cli#3524 and #771, hotsock/voker's ingress probe) and the
API Gateway guide's content type conversions: REST APIs pass `path` and `pathParameters` still percent-encoded (HTTP
APIs decode them), query parameters decoded, bodies of a BinaryMediaTypes type (wildcards matched) base64-encoded
and other bodies as UTF-8 text, with what is not UTF-8 replaced; template.yaml declares */*. See infra/gateway.py.
"""

from __future__ import annotations

import base64
import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from doti.auth.device import signed_headers
from infra import gateway, template

pytestmark = pytest.mark.local_stack

MISSING_TOKEN = {"message": "Missing Authentication Token"}


def _echo(event: dict[str, Any], _context: Any) -> dict[str, Any]:
    """A function that answers with the proxy event it was invoked with."""
    return {"statusCode": 200, "multiValueHeaders": {"Content-Type": ["application/json"]}, "body": json.dumps(event)}


@contextmanager
def _echo_gateway(binary_types: list[str]) -> Iterator[str]:
    """The gateway serving every Api route of template.yaml, each to the echo function, on a free port."""
    spec = template.load_template()
    functions = {
        name: gateway.LocalFunction(
            template.FunctionSpec(name, Path("."), "app.handler", 29, 128, ()), _echo, threading.Lock()
        )
        for name in template.functions(spec)
    }
    app = gateway.TemplateApp(template.api_routes(spec), functions, binary_types)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server, _ = gateway.serve(app, "127.0.0.1", port)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.shutdown()


@pytest.fixture(scope="module")
def echo_url() -> Iterator[str]:
    """The gateway with the template's own BinaryMediaTypes."""
    with _echo_gateway(template.binary_media_types(template.load_template())) as url:
        yield url


@pytest.fixture(scope="module")
def images_only_url() -> Iterator[str]:
    """The gateway of an API that declares only the image types binary, to show what happens to other bodies."""
    with _echo_gateway(["image/jpeg", "image/png"]) as url:
        yield url


def _event(response: requests.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    return response.json()


def _raw_get(url: str, target: str) -> requests.Response:
    """A GET of exactly `target`: requests would normalise some targets, so the URL is prepared by hand."""
    session = requests.Session()
    request = requests.Request("GET", url).prepare()
    request.url = url + target
    return session.send(request, timeout=30)


def test_an_encoded_slash_in_a_path_parameter_arrives_still_encoded(echo_url):
    # Given a login id holding a slash, percent-encoded by the client
    # When it is the path parameter of a customer route
    event = _event(requests.delete(echo_url + "/v1/users/a%2Fb", timeout=30))

    # Then the resource matches and the parameter and path arrive as sent, as API Gateway's REST API passes them:
    # decoding is the handler's job, and exactly once
    assert event["resource"] == "/v1/users/{login_id}"
    assert event["pathParameters"] == {"login_id": "a%2Fb"}
    assert event["path"] == "/v1/users/a%2Fb"


@pytest.mark.parametrize("value", ["a;b", "a;b=c", "%E4%B8%96;x"])
def test_a_semicolon_is_part_of_the_path_parameter(echo_url, value):
    # Given a path segment holding a semicolon (urlparse would split it off as "path parameters")
    # When it is sent as a contract id
    event = _event(_raw_get(echo_url, f"/v1/admin/contracts/{value}"))

    # Then the whole segment is the parameter, as API Gateway matches it
    assert event["resource"] == "/v1/admin/contracts/{contract_id}"
    assert event["pathParameters"] == {"contract_id": value}
    assert event["path"] == f"/v1/admin/contracts/{value}"


def test_query_parameters_arrive_decoded(echo_url):
    # Given a query with an escaped plus, a literal plus and an escaped slash
    # When it is sent
    event = _event(_raw_get(echo_url, "/v1/cameras?a=x%2By&b=x+y&c=p%2Fq&c=r"))

    # Then API Gateway's decoding applies to the query (not to the path): %2B is "+", "+" is a space
    assert event["multiValueQueryStringParameters"] == {"a": ["x+y"], "b": ["x y"], "c": ["p/q", "r"]}
    assert event["queryStringParameters"] == {"a": "x+y", "b": "x y", "c": "r"}


@pytest.mark.parametrize("target", ["//v1/cameras", "/v1//cameras", "///v1/cameras", "/v1/cameras//", "/v1/nope"])
def test_a_path_with_an_empty_segment_matches_no_resource(echo_url, target):
    # Given a target that differs from a resource only by a doubled slash (or names no resource at all)
    # When it is requested
    response = _raw_get(echo_url, target)

    # Then it is API Gateway's answer for a path that matches no resource, and no function runs
    assert response.status_code == 403
    assert response.json() == MISSING_TOKEN


def test_a_trailing_slash_still_matches_its_resource(echo_url):
    # Given a known resource with one trailing slash
    # When it is requested
    event = _event(_raw_get(echo_url, "/v1/cameras/"))

    # Then it matches the resource, as API Gateway matches it
    assert event["resource"] == "/v1/cameras"


@pytest.mark.parametrize(
    "content_type", ["image/jpeg", "application/json", "application/octet-stream", "text/plain; charset=latin-1", ""]
)
def test_every_body_arrives_base64_byte_for_byte_under_the_templates_types(echo_url, content_type):
    # Given bytes that are not UTF-8, sent with any media type (or none)
    body = bytes(range(256)) * 4

    # When they are posted
    event = _event(
        requests.post(echo_url + "/v1/device/frames", data=body, headers={"Content-Type": content_type}, timeout=30)
    )

    # Then the function gets them base64-encoded, unchanged: the template declares */* binary
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == body


@pytest.mark.parametrize(
    ("content_type", "patterns", "binary"),
    [
        ("image/jpeg", ["image/jpeg"], True),
        ("IMAGE/JPEG; q=1", ["image/jpeg"], True),
        ("image/png", ["image/*"], True),
        ("application/json", ["*/*"], True),
        ("", ["*/*"], True),
        ("application/json", ["image/*", "image/jpeg"], False),
        ("image/jpegx", ["image/jpeg"], False),
        ("", ["image/jpeg"], False),
    ],
)
def test_a_media_type_matches_binary_types_as_api_gateway_matches_them(content_type, patterns, binary):
    assert gateway.media_type_matches(content_type, patterns) is binary


def test_a_text_body_arrives_as_utf8_text_with_invalid_bytes_replaced(images_only_url):
    # Given a JSON body with valid non-ASCII text and one byte that is not UTF-8
    body = '{"text": "世界 é", "bad": "'.encode() + b"\xff" + b'"}'

    # When it is posted as application/json to an API where that is not a binary media type
    event = _event(
        requests.post(
            images_only_url + "/v1/device/events",
            data=body,
            headers={"Content-Type": "application/json"},
            timeout=30,
        )
    )

    # Then it arrives as text, as API Gateway converts it: the valid text intact, the invalid byte replaced (so the
    # bytes the client sent cannot be rebuilt from the event). This is why template.yaml declares */* binary.
    assert event["isBase64Encoded"] is False
    assert event["body"] == '{"text": "世界 é", "bad": "\ufffd"}'


# The whole local stack: what the handlers make of it.


def _signed_event(stack: dict[str, Any], body: bytes) -> requests.Response:
    path = "/v1/device/events"
    headers = {
        **signed_headers(stack["device_id"], stack["device_secret"], "POST", path, body, datetime.now(UTC)),
        "Content-Type": "application/json",
    }
    return requests.post(stack["api_url"] + path, data=body, headers=headers, timeout=30)


def test_a_signed_utf8_json_body_is_judged_on_its_content(local_stack):
    # Given a device event whose JSON text is not ASCII, signed over its exact bytes, lacking `occurred_at`
    body = json.dumps({"text": "侵入検知 — entrée"}, ensure_ascii=False).encode()

    # When the device posts it
    response = _signed_event(local_stack, body)

    # Then the signature holds (the handler rebuilt the signed bytes from the text event) and the content is judged
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "validation_error"


def test_a_signed_body_that_is_not_utf8_is_named_invalid_json(local_stack):
    # Given a device event signed over bytes that are not UTF-8, sent as application/json
    body = b'{"text": "\xff\xfe"}'

    # When the device posts it
    response = _signed_event(local_stack, body)

    # Then the bytes arrive as signed (every media type is binary), the signature holds, and the body is refused
    # for what it is
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "validation_error"


def test_a_doubled_slash_is_an_unknown_path_on_the_stack(local_stack):
    # Given the customer camera list, reached with a doubled leading slash
    # When it is requested, with and without the resource's own path
    doubled = _raw_get(local_stack["api_url"], "//v1/cameras")
    unknown = _raw_get(local_stack["api_url"], "/v1/no-such-resource")

    # Then it is refused exactly as a path that matches no resource
    assert (doubled.status_code, doubled.json()) == (403, MISSING_TOKEN)
    assert (unknown.status_code, unknown.json()) == (403, MISSING_TOKEN)
