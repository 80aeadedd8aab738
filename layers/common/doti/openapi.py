"""The OpenAPI documents of the API functions (SPEC §10, §12; issue 10): what their routes share, in one place.

Powertools generates a function's document from its routes: paths, parameters, JSON bodies, and the statuses each
route declares with `responses=answers(...)` (its successes and the refusals of its own domain). `document` completes
it with what follows from how every route of the function is served rather than from one route:
- security: the function's credential on every route except the resources it serves without one;
- the refusals of that credential check (`Surface.refusals`), which runs before anything else a route does;
- what doti.http.make_resolver answers before a route runs: 413/415/422 for a JSON body, 422 for parameters;
- 500 `internal_error` and 503 `storage_unavailable`, which any route can answer;
- every error as the SPEC §10 `Error` schema, its `code` narrowed to the codes of the status (from doti.errors).
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.event_handler.api_gateway import Route

from doti import errors
from doti.ingest.media import media_type

JSON = "application/json"
HTML = "text/html"
FORM = "application/x-www-form-urlencoded"
ERROR_REF = "#/components/schemas/Error"
NO_BODY = frozenset({204, 304, 308})
# Any route can fail unexpectedly (500, make_resolver's catch-all) or lose AWS (503, doti.errors.StorageError).
SERVER_FAILURES = (500, 503)


@cache
def security_schemes() -> dict[str, Any]:
    """Every credential of the API, as OpenAPI security schemes. Powertools' OpenAPI models take about 50 ms to import
    (a seventh of a handler's cold start) and only the document needs them, so they load when it is first served."""
    from aws_lambda_powertools.event_handler.openapi.models import APIKey, APIKeyIn, HTTPBearer

    # Device requests are signed with three headers that all must be present: one requirement of three apiKey schemes.
    return {
        "deviceId": APIKey(name="X-Doti-Device", in_=APIKeyIn.header, description="the device id"),
        "deviceTimestamp": APIKey(
            name="X-Doti-Timestamp",
            in_=APIKeyIn.header,
            description="RFC 3339 UTC, within 300 s of the server's clock",
        ),
        "deviceSignature": APIKey(
            name="X-Doti-Signature",
            in_=APIKeyIn.header,
            description="hex HMAC-SHA256 under the device secret of METHOD, PATH, canonical query, timestamp and "
            "hex SHA-256 of the body, one per line (doti.auth.device)",
        ),
        "customerSession": HTTPBearer(description="a session token from POST /v1/auth/login"),
        "staffApiKey": APIKey(name="X-Api-Key", in_=APIKeyIn.header, description="a staff member's API key"),
    }


Requirement = dict[str, list[str]]


@dataclass(frozen=True)
class Surface:
    """One API function as its callers meet it: the credential its routes need, and how its check refuses."""

    security: tuple[Requirement, ...]
    refusals: frozenset[int]
    challenge: bool = False  # its 401s carry WWW-Authenticate


# Device: bad or stale signature 401; a contract that does not serve 403.
DEVICE = Surface(({"deviceId": [], "deviceTimestamp": [], "deviceSignature": []},), frozenset({401, 403}))
# Customer: no session 401; a temporary password or a role short of the route 403; a staff lock 423.
CUSTOMER = Surface(({"customerSession": []},), frozenset({401, 403, 423}), challenge=True)
# Staff: no key 401; a role short of the route 403.
STAFF = Surface(({"staffApiKey": []},), frozenset({401, 403}))


def _error_codes() -> dict[int, list[str]]:
    """The SPEC §10 codes each status carries, read from the domain's error classes."""
    codes: dict[int, set[str]] = {}
    for _, kind in inspect.getmembers(errors, inspect.isclass):
        if issubclass(kind, errors.DotiError):
            codes.setdefault(kind.status, set()).add(kind.code)
    return {status: sorted(found) for status, found in codes.items()}


ERROR_CODES = _error_codes()
ERROR_SCHEMA: dict[str, Any] = {
    "title": "Error",
    "description": "Every error (SPEC §10).",
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "details"],
            "properties": {
                "code": {"type": "string", "enum": sorted({c for found in ERROR_CODES.values() for c in found})},
                "message": {"type": "string"},
                "details": {"type": "object", "additionalProperties": True},
            },
        }
    },
}
_CHALLENGE = {"WWW-Authenticate": {"description": "the scheme to authenticate with", "schema": {"type": "string"}}}
_HEADERS = {
    423: {"Retry-After": {"description": "seconds until the lock ends", "schema": {"type": "integer"}}},
    429: {"Retry-After": {"description": "seconds until retrying can succeed", "schema": {"type": "integer"}}},
}


_REDIRECTS = {308: {"Location": {"description": "where the resource is", "schema": {"type": "string"}}}}


def _description(status: int) -> str:
    phrase = HTTPStatus(status).phrase
    codes = ERROR_CODES.get(status)
    return f"{phrase}: {', '.join(codes)}" if codes else phrase


def error_response(status: int, *, challenge: bool = False) -> dict[str, Any]:
    """An error status as every route declares it: the Error schema, its code one of the status's codes."""
    narrowed = {
        "properties": {"error": {"properties": {"code": {"enum": ERROR_CODES.get(status, ["internal_error"])}}}}
    }
    response: dict[str, Any] = {
        "description": _description(status),
        "content": {JSON: {"schema": {"allOf": [{"$ref": ERROR_REF}, narrowed]}}},
    }
    if status in _HEADERS:
        response["headers"] = _HEADERS[status]
    if status == 401 and challenge:
        response["headers"] = _CHALLENGE
    return response


def answers(*statuses: int) -> dict[int, dict[str, Any]]:
    """A route's own statuses, for `responses=`: a success carries the route's JSON return schema (Powertools fills
    it in), 204/304/308 no body, an error the Error schema."""
    declared: dict[int, dict[str, Any]] = {}
    for status in statuses:
        if status >= 400:
            declared[status] = error_response(status)
        elif status in NO_BODY:
            declared[status] = {"description": HTTPStatus(status).phrase, "content": {}}
            if status in _REDIRECTS:
                declared[status]["headers"] = _REDIRECTS[status]
        else:
            declared[status] = {"description": HTTPStatus(status).phrase}
    return declared


def pages(*statuses: int) -> dict[int, dict[str, Any]]:
    """Statuses a route answers with a server-rendered HTML page."""
    return {status: content(status, {HTML: {"type": "string"}}) for status in statuses}


def content(status: int, schemas: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """One status with a body of each media type given, e.g. a static file's."""
    return {"description": HTTPStatus(status).phrase, "content": {m: {"schema": dict(s)} for m, s in schemas.items()}}


def files(content_types: Iterable[str]) -> dict[int, dict[str, Any]]:
    """A static file's 200, one of the media types given (Content-Type values; their parameters are left out)."""
    kinds = {media_type(c) for c in content_types}
    return {200: content(200, {kind: _STATIC_JSON if kind == JSON else {"type": "string"} for kind in sorted(kinds)})}


# The one JSON file the viewer serves, its messages: language, then message key, then text.
_MESSAGES = {"type": "object", "additionalProperties": {"type": "string"}}
_STATIC_JSON = {"type": "object", "additionalProperties": _MESSAGES}


def combine(*declarations: Mapping[int, Mapping[str, Any]]) -> dict[int, dict[str, Any]]:
    """Declarations of one route merged: a status answered with more than one media type lists them all."""
    merged: dict[int, dict[str, Any]] = {}
    for declaration in declarations:
        for status, response in declaration.items():
            into = merged.setdefault(status, {"description": response["description"]})
            if "content" in response:
                into.setdefault("content", {}).update(response["content"])
            if "headers" in response:
                into.setdefault("headers", {}).update(response["headers"])
    return merged


# The device routes read their bodies and headers themselves (the signature covers the raw bytes, and authentication
# comes before anything is parsed), so Powertools cannot see them: these describe them, from the constants the parsers
# use (private ones included, so that the document cannot drift from the check).


def form(fields: Iterable[str], *, max_bytes: int) -> dict[str, Any]:
    """The request body of a page's form (for `openapi_extensions`): a route that reads it itself, as a browser posts
    it, with the fields named (the route reads an absent one as empty)."""
    schema = {"type": "object", "properties": {name: {"type": "string"} for name in fields}}
    body = {"description": f"at most {max_bytes} bytes", "content": {FORM: {"schema": schema}}}
    return {"requestBody": body}


# A time parameter, as doti.clock.parse_rfc3339 reads it (RFC 3339 with an offset is JSON Schema's date-time): for
# `json_schema_extra`, so that generated requests and clients use the form that is read.
TIME = {"format": "date-time"}
# The document of a function's routes (OpenAPI 3.1): its parts are OpenAPI's own schema, not restated here.
DOCUMENT = {
    200: content(
        200,
        {
            JSON: {
                "type": "object",
                "required": ["openapi", "info", "paths"],
                "properties": {
                    "openapi": {"type": "string", "description": "3.1.x"},
                    "info": {"type": "object"},
                    "paths": {"type": "object"},
                    "components": {"type": "object"},
                },
            }
        },
    )
}


def document(
    app: APIGatewayRestResolver, *, title: str, surface: Surface, public: Collection[str] = ()
) -> dict[str, Any]:
    """The function's OpenAPI document: Powertools' generation from its routes, completed (module docstring).

    `public` names the resources (API Gateway's form, `/s/{token}`) served without the function's credential.
    """
    generated = json.loads(
        app.get_openapi_json_schema(title=title, version="1", security_schemes=dict(security_schemes()))
    )
    # The two lists Powertools itself walks to build the document, for what each route's validation reads.
    routes = {(r.method.lower(), r.openapi_path): r for r in [*app._static_routes, *app._dynamic_routes]}
    for path, item in generated["paths"].items():
        for method, operation in item.items():
            refusals = _refused_before_route(routes[(method, path)], operation.get("parameters", []))
            _complete(operation, refusals, surface=None if path in public else surface)
    components = generated.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    schemas["Error"] = ERROR_SCHEMA
    if '"#/components/schemas/HTTPValidationError"' not in json.dumps(generated["paths"]):
        # Powertools' own 422 bodies (request and response validation), replaced by the Error everywhere.
        for name in ("HTTPValidationError", "ResponseValidationError", "ValidationError"):
            schemas.pop(name, None)
    used = {name for item in generated["paths"].values() for op in item.values() for r in op["security"] for name in r}
    schemes = {k: v for k, v in components.pop("securitySchemes", {}).items() if k in used}
    if schemes:
        components["securitySchemes"] = schemes
    return generated


def _refused_before_route(route: Route, parameters: Iterable[Mapping[str, Any]]) -> set[int]:
    """What doti.http.make_resolver answers for this route before it runs: 422 when Powertools' validation of its
    parameters can fail, and 413, 415 or 422 when it reads a JSON body (doti.http.read_json_body)."""
    refusals: set[int] = set()
    if any(_can_fail(parameter) for parameter in parameters):
        refusals.add(422)
    if route.dependant.body_params:
        refusals |= {413, 415, 422}
    return refusals


_ANNOTATIONS = frozenset({"type", "title", "description", "default", "examples"})


def _can_fail(parameter: Mapping[str, Any]) -> bool:
    """Whether Powertools' validation can refuse the parameter: a query or header value always can (it may be missing,
    or repeated where one value is read); a path segment is always one value, refused only outside its schema (a
    bound, a pattern, a type other than text)."""
    if parameter["in"] != "path":
        return True
    schema = parameter.get("schema", {})
    return any(set(b) - _ANNOTATIONS or b.get("type", "string") != "string" for b in schema.get("anyOf", [schema]))


def _complete(operation: dict[str, Any], refusals: set[int], *, surface: Surface | None) -> None:
    responses: dict[str, Any] = operation["responses"]
    # Powertools declares its own 422 body on every route; ours is the Error, and only where a 422 can happen.
    if "HTTPValidationError" in json.dumps(responses.get("422", {})):
        del responses["422"]
    refusals = refusals | set(SERVER_FAILURES) | (surface.refusals if surface else set())
    for status in sorted(refusals):
        responses.setdefault(str(status), error_response(status, challenge=surface is not None and surface.challenge))
    for response in responses.values():
        if not response.get("content", True):  # answers() marks a status without a body with an empty content
            del response["content"]
    operation["security"] = [dict(r) for r in surface.security] if surface is not None else []
    operation["responses"] = dict(sorted(responses.items()))
