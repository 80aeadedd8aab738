"""HTTP edge shared by the API functions: the resolver, error mapping (SPEC §10) and request helpers.

Domain errors are mapped here and only here; handlers never build error responses themselves.
"""

from __future__ import annotations

import base64
import binascii
import math
from collections.abc import Callable, Collection
from datetime import datetime
from re import Match
from typing import Any
from urllib.parse import unquote

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.middlewares.openapi_validation import OpenAPIRequestValidationMiddleware
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from aws_lambda_powertools.event_handler.types import EventHandlerInstance
from aws_lambda_powertools.utilities.data_classes.common import BaseProxyEvent
from pydantic import BaseModel

from doti import openapi
from doti.clock import utcnow
from doti.errors import DotiError, Unauthorized, UnsupportedMediaType, ValidationError, error_body
from doti.ingest.media import media_type
from doti.json_body import parse_json_body
from doti.observability import logger, metrics

JSON_MEDIA_TYPES = frozenset({"", "application/json"})  # "": no Content-Type, read as JSON as Powertools does


def json_response(status: int, body: BaseModel | dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    """A JSON answer that no cache keeps. A route returns a response model (doti.api), which Powertools serialises
    as the route's return annotation documents it; an error body is the SPEC §10 dict."""
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=body,
        headers={"Cache-Control": "no-store", **(headers or {})},
    )


def retry_after_seconds(retry_at: datetime, now: datetime) -> int:
    """Whole seconds from `now` until `retry_at`, rounded up so a client that waits them is never early."""
    return max(0, math.ceil((retry_at - now).total_seconds()))


def _error_response(
    status: int,
    code: str,
    message: str,
    details: dict[str, Any] | None = None,
    challenge: str | None = None,
    retry_at: datetime | None = None,
) -> Response:
    metrics.add_metric(name=f"Rejected_{code}", unit="Count", value=1)
    headers: dict[str, str] = {}
    if status == 401 and challenge:
        headers["WWW-Authenticate"] = challenge
    if retry_at is not None:  # RFC 9110 §10.2.3: delay-seconds, computed when the response leaves
        headers["Retry-After"] = str(retry_after_seconds(retry_at, utcnow()))
    return json_response(status, error_body(code, message, details), headers)


def _validation_details(exc: RequestValidationError) -> dict[str, Any]:
    problems = [
        {"field": ".".join(str(p) for p in error.get("loc", ()) if p != "body"), "problem": error.get("msg", "")}
        for error in exc.errors()
    ]
    return {"problems": problems}


class RefusedBeforeRoute(Exception):
    """A request refused while it was read, before its route (and so the function's credential check) ran."""

    def __init__(self, error: DotiError) -> None:
        super().__init__(error.message)
        self.error = error


def read_json_body(event: BaseProxyEvent) -> Any:
    """The JSON body of a request to a route that takes one, or RefusedBeforeRoute: 415 for another media type
    (compared without case, parameters allowed), 413 past MAX_JSON_BODY_BYTES, 422 for bytes that are not base64,
    not UTF-8, or not JSON within CPython's limits (nesting, 4300-digit integers) and MAX_JSON_DEPTH."""
    declared = (event.headers or {}).get("content-type")
    if media_type(declared) not in JSON_MEDIA_TYPES:
        refusal = UnsupportedMediaType("the request body must be application/json", content_type=declared)
        raise RefusedBeforeRoute(refusal)
    body = event.body or ""
    try:
        # A text body with lone surrogates cannot be encoded: no client sent those as UTF-8.
        raw = base64.b64decode(body, validate=True) if event.is_base64_encoded else body.encode("utf-8")
    except (binascii.Error, UnicodeError) as exc:
        raise RefusedBeforeRoute(ValidationError("the request body cannot be read")) from exc
    try:
        return parse_json_body(raw)  # None for an empty body, as Powertools reads it: the model names what is missing
    except DotiError as refusal:
        raise RefusedBeforeRoute(refusal) from refusal


class _RequestValidation(OpenAPIRequestValidationMiddleware):
    """Powertools' request validation, with the body read by read_json_body.

    Powertools compares media types with case, answers a media type it does not parse with its own 415 body, reads
    form and multipart bodies our routes do not take (a multipart type without boundary raises ValueError), and lets
    RecursionError and int-digit ValueErrors out of json.loads. Every route body here is JSON.
    """

    def _get_body(self, app: EventHandlerInstance) -> Any:
        return read_json_body(app.current_event)


class _Resolver(APIGatewayRestResolver):
    """Powertools' REST resolver, with each path parameter percent-decoded exactly once.

    A REST API hands the Lambda the path as the client sent it, still percent-encoded (`/v1/users/a%2Fb`; its
    pathParameters too), and Powertools matches routes on that path. A client may encode any character of an id
    (an e-mail login id's `@` and `+`), so the route gets the decoded value, decoded here once and nowhere else: an
    escape the client encoded twice (`%2540`) arrives as the text `%40`, never as `@`. Escapes that are not UTF-8
    (`%FF`) become U+FFFD, which no id holds: the route answers not found or 422 as for any other unknown id.
    """

    def _convert_matches_into_route_keys(self, match: Match) -> dict[str, str]:
        return {name: unquote(value, errors="replace") for name, value in match.groupdict().items()}


def make_resolver(
    *, authenticate: Callable[[], object] | None = None, challenge: str | None = None
) -> APIGatewayRestResolver:
    """A REST resolver with OpenAPI request validation and SPEC §10 errors for every failure.

    Powertools reads and validates a request before the route runs, so `authenticate` (the function's own credential
    check, a no-op on its public routes) runs first whenever the request is refused then: a caller without
    credentials gets 401, never a 415, 413 or 422 that describes the request. `challenge` is the WWW-Authenticate
    value of this function's 401s. Anything no handler expects is logged and answered 500 `internal_error`.
    """
    app = _Resolver(enable_validation=True)
    # Powertools 3.37 builds each route's middleware stack from this attribute on first call; set before any call.
    app._request_validation_middleware = _RequestValidation()

    @app.exception_handler(DotiError)
    def _domain_error(exc: DotiError) -> Response:
        if exc.status >= 500:
            logger.exception("request failed", extra={"code": exc.code})
        else:
            logger.info("request refused", extra={"code": exc.code, "error": exc.message})
        return _error_response(exc.status, exc.code, exc.message, exc.details, challenge, exc.retry_at)

    @app.exception_handler(Exception)
    def _unexpected(exc: Exception) -> Response:
        # The correlation id is on every line of the logger (inject_lambda_context); the client learns nothing.
        logger.exception("request failed unexpectedly", extra={"error_type": type(exc).__name__})
        return _error_response(500, "internal_error", "the request failed unexpectedly")

    def _refused_before_route(error: DotiError) -> Response:
        try:
            if authenticate is not None:
                authenticate()
        except DotiError as auth_error:
            return _domain_error(auth_error)
        except Exception as exc:  # the credential check itself failed: the catch-all's answer
            return _unexpected(exc)
        return _domain_error(error)

    @app.exception_handler(RefusedBeforeRoute)
    def _refused_body(exc: RefusedBeforeRoute) -> Response:
        return _refused_before_route(exc.error)

    @app.exception_handler(RequestUnsupportedContentType)
    def _unsupported_body(_: RequestUnsupportedContentType) -> Response:
        return _refused_before_route(UnsupportedMediaType("the request body must be application/json"))

    @app.exception_handler(RequestValidationError)
    def _invalid_request(exc: RequestValidationError) -> Response:
        return _refused_before_route(ValidationError("the request is not valid", **_validation_details(exc)))

    @app.not_found
    def _no_route(_: NotFoundError) -> Response:
        return _error_response(404, "not_found", "no such route")

    return app


def openapi_response(
    app: APIGatewayRestResolver, title: str, surface: openapi.Surface, public: Collection[str] = ()
) -> Response:
    """The function's OpenAPI document, generated from its routes and completed by doti.openapi (SPEC §12).

    `surface` is the function's credential; `public` the resources it serves without one.
    """
    return json_response(200, openapi.document(app, title=title, surface=surface, public=public))


def lower_headers(app: APIGatewayRestResolver) -> dict[str, str]:
    return {key.lower(): value for key, value in (app.current_event.headers or {}).items()}


def raw_body(app: APIGatewayRestResolver) -> bytes:
    """The request body as bytes. Powertools' decoded_body assumes UTF-8 text, which image bytes are not."""
    event = app.current_event
    body = event.body or ""
    if event.is_base64_encoded:
        try:
            return base64.b64decode(body, validate=True)
        except binascii.Error as exc:
            raise Unauthorized("request body is not valid base64") from exc
    return body.encode("utf-8", "surrogateescape") if isinstance(body, str) else body


def client_path(app: APIGatewayRestResolver) -> str:
    """The path as the client sent it below the API's base URL (no stage): what devices sign."""
    return app.current_event.path
