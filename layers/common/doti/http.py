"""HTTP edge shared by the API functions: the resolver, error mapping (SPEC §10) and request helpers.

Domain errors are mapped here and only here; handlers never build error responses themselves.
"""

from __future__ import annotations

import base64
import binascii
import math
from collections.abc import Callable
from datetime import datetime
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError

from doti.clock import utcnow
from doti.errors import DotiError, Unauthorized, error_body
from doti.observability import logger, metrics


def json_response(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
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


def make_resolver(
    *, authenticate: Callable[[], object] | None = None, challenge: str | None = None
) -> APIGatewayRestResolver:
    """A REST resolver with OpenAPI request validation and SPEC §10 errors for every failure.

    Powertools validates a request before the route runs, so `authenticate` (the function's own credential check,
    a no-op on its public routes) runs first when validation fails: a caller without credentials gets 401, never
    a 422 that describes the schema. `challenge` is the WWW-Authenticate value of this function's 401s.
    """
    app = APIGatewayRestResolver(enable_validation=True)

    @app.exception_handler(DotiError)
    def _domain_error(exc: DotiError) -> Response:
        if exc.status >= 500:
            logger.exception("request failed", extra={"code": exc.code})
        else:
            logger.info("request refused", extra={"code": exc.code, "error": exc.message})
        return _error_response(exc.status, exc.code, exc.message, exc.details, challenge, exc.retry_at)

    @app.exception_handler(RequestValidationError)
    def _invalid_request(exc: RequestValidationError) -> Response:
        if authenticate is not None:
            try:
                authenticate()
            except DotiError as auth_error:
                return _domain_error(auth_error)
        return _error_response(422, "validation_error", "the request is not valid", _validation_details(exc))

    @app.not_found
    def _no_route(_: NotFoundError) -> Response:
        return _error_response(404, "not_found", "no such route")

    return app


def openapi_response(app: APIGatewayRestResolver, title: str) -> Response:
    """The function's OpenAPI document, generated from its routes (SPEC §12)."""
    return Response(
        status_code=200,
        content_type=content_types.APPLICATION_JSON,
        body=app.get_openapi_json_schema(title=title, version="1"),
    )


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
