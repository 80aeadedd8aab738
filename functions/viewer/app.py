"""Viewer: the customer API (SPEC §6, §12). Bearer sessions; every image is a short-lived signed S3 URL."""

# No `from __future__ import annotations`: Powertools reads the route signatures for OpenAPI validation,
# and string annotations behind decorators (tracer) cannot be resolved.
from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, Field

from doti import access_log, contracts, deletions, frames, notices, registry, runtime
from doti.auth import customer
from doti.clock import format_rfc3339, parse_rfc3339, utcnow
from doti.entities import Session, User
from doti.http import json_response, lower_headers, make_resolver, openapi_response
from doti.observability import logger, metrics, tracer
from doti.settings import get_settings

# Routes a caller reaches without a session; every other route authenticates before anything else it does.
PUBLIC_RESOURCES = frozenset({"/v1/auth/login", "/v1/openapi.json"})


class LoginRequest(BaseModel):
    login_id: str = Field(min_length=1, max_length=128)
    password: str = Field(min_length=1, max_length=1024)


def _session() -> tuple[Session, User]:
    session, user = customer.authenticate_session(lower_headers(app).get("authorization"), utcnow())
    logger.append_keys(contract_id=user.contract_id, user_id=user.user_id)
    return session, user


def _authenticate_unless_public() -> None:
    if app.current_event.resource not in PUBLIC_RESOURCES:
        _session()


app = make_resolver(authenticate=_authenticate_unless_public, challenge='Bearer realm="doti"')


@app.post("/v1/auth/login")
def login(body: LoginRequest) -> Response[dict[str, Any]]:
    now = utcnow()
    signed_in = customer.sign_in(body.login_id, body.password, now)
    contracts.record_use(signed_in.session.contract_id, now)  # Art. 12-1-11 counts use; a login is, at most hourly
    return json_response(
        200,
        {
            "token": signed_in.token,
            "expires_at": format_rfc3339(signed_in.session.expires_at),
            # After a staff reset or a compromised report the password is temporary and must be changed.
            "must_change_password": signed_in.must_change_password,
        },
    )


@app.post("/v1/auth/logout")
def logout() -> Response[str]:
    session, _ = _session()
    customer.logout(session)
    return Response(status_code=204, body="", headers={"Cache-Control": "no-store"})


@app.get("/v1/me")
def me() -> Response[dict[str, Any]]:
    _, user = _session()
    contract = contracts.get_contract(user.contract_id)
    contracts.require_account_open(contract, utcnow())
    return json_response(
        200,
        {
            "user_id": user.user_id,
            "login_id": user.login_id,
            "name": user.name,
            "role": user.role,
            "site_ids": sorted(user.site_ids) if user.site_ids else None,
            "contract": {"contract_id": contract.contract_id, "name": contract.name, "state": contract.state},
        },
    )


@app.get("/v1/cameras")
def list_cameras() -> Response[dict[str, Any]]:
    _, user = _session()
    contracts.require_serving(contracts.get_contract(user.contract_id), utcnow())
    cameras = registry.visible_cameras(user.contract_id, user)
    items = [{"camera_id": c.camera_id, "site_id": c.site_id, "name": c.name} for c in cameras]
    return json_response(200, {"items": items})


@app.get("/v1/cameras/<camera_id>/frames")
def list_frames(
    camera_id: str,
    from_: Annotated[str | None, Query(alias="from", max_length=40)] = None,
    to: Annotated[str | None, Query(max_length=40)] = None,
    order: Annotated[Literal["newest", "oldest"], Query()] = "newest",
    limit: Annotated[int, Query(ge=1, le=frames.MAX_PAGE)] = 50,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> Response[dict[str, Any]]:
    _, user = _session()
    query = frames.FrameQuery(
        start=parse_rfc3339(from_, "from") if from_ else None,
        end=parse_rfc3339(to, "to") if to else None,
        newest_first=order == "newest",
        limit=limit,
        cursor=cursor,
    )
    page = frames.list_frames(user, camera_id, query, storage=runtime.storage(), now=utcnow())
    metrics.add_metric(name="SignedUrlsIssued", unit=MetricUnit.Count, value=2 * len(page.items))
    body: dict[str, Any] = {"items": [frames.frame_view(item) for item in page.items]}
    if page.cursor:
        body["cursor"] = page.cursor
    return json_response(200, body)


@app.get("/v1/cameras/<camera_id>/frames/<frame_id>")
def get_frame(camera_id: str, frame_id: str) -> Response[dict[str, Any]]:
    _, user = _session()
    signed = frames.get_frame(user, camera_id, frame_id, storage=runtime.storage(), now=utcnow())
    metrics.add_metric(name="SignedUrlsIssued", unit=MetricUnit.Count, value=2)
    return json_response(200, frames.frame_view(signed))


@app.get("/v1/notices")
def list_notices(limit: Annotated[int, Query(ge=1, le=100)] = 50) -> Response[dict[str, Any]]:
    _, user = _session()
    # Suspended customers still read notices: they are how the suspension is explained (SPEC §3).
    contracts.require_account_open(contracts.get_contract(user.contract_id), utcnow())
    items = [notices.notice_view(notice, read_at) for notice, read_at in notices.notices_for(user, limit=limit)]
    return json_response(200, {"items": items})


@app.post("/v1/notices/<notice_id>/read")
def mark_notice_read(notice_id: str) -> Response[str]:
    _, user = _session()
    contracts.require_account_open(contracts.get_contract(user.contract_id), utcnow())
    notices.mark_read(user, notice_id, utcnow())
    return Response(status_code=204, body="", headers={"Cache-Control": "no-store"})


@app.get("/v1/access-log")
def access_log_page(
    limit: Annotated[int, Query(ge=1, le=access_log.MAX_PAGE)] = 50,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> Response[dict[str, Any]]:
    _, user = _session()
    items, next_cursor = access_log.customer_page(user, limit=limit, cursor=cursor, now=utcnow())
    body: dict[str, Any] = {"items": items}
    if next_cursor:
        body["cursor"] = next_cursor
    return json_response(200, body)


@app.get("/v1/deletions")
def list_deletions(
    from_: Annotated[str | None, Query(alias="from", max_length=10, description="first day, YYYY-MM-DD")] = None,
    to: Annotated[str | None, Query(max_length=10, description="last day (included), YYYY-MM-DD")] = None,
    limit: Annotated[int, Query(ge=1, le=deletions.MAX_PAGE)] = 31,
) -> Response[dict[str, Any]]:
    _, user = _session()
    contracts.require_serving(contracts.get_contract(user.contract_id), utcnow())
    query = deletions.DeletionQuery(
        first_day=deletions.parse_day(from_, "from") if from_ else None,
        last_day=deletions.parse_day(to, "to") if to else None,
        limit=limit,
    )
    return json_response(200, {"items": deletions.receipts_of(user.contract_id, query)})


@app.get("/v1/openapi.json")
def openapi_document() -> Response[str]:
    return openapi_response(app, "doti customer API")


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    get_settings()
    return app.resolve(event, context)
