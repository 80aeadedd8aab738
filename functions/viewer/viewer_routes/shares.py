"""Share links (SPEC §6, §12): managers and owners create, list and revoke them; whoever holds a link opens its page,
a server-rendered HTML page (no session: the token in the path is the credential)."""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayRouter
from aws_lambda_powertools.metrics import MetricUnit
from pydantic import BaseModel, ConfigDict, Field

from doti import runtime, share_page, shares
from doti.clock import format_rfc3339, utcnow
from doti.http import json_response, lower_headers
from doti.observability import metrics
from viewer_routes.common import public, session, window

router = APIGatewayRouter()
public("/s/{token}")


class ShareBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    camera_id: str = Field(min_length=1, max_length=64)
    frame_id: str | None = Field(default=None, max_length=64)
    from_: str | None = Field(default=None, alias="from", max_length=40, description="RFC 3339, inclusive")
    to: str | None = Field(default=None, max_length=40, description="RFC 3339, exclusive")
    purpose: str = Field(min_length=1, max_length=1000, description="why the footage is shared, shown on the page")
    expires_in: int = Field(description="seconds, at most 7 days")
    one_time: bool = False


def _share_url(token: str) -> str:
    """The link as the caller reaches this API: its host and any stage or base path, then /s/{token}."""
    event = router.current_event
    headers = lower_headers(router)
    host = headers.get("host") or event.request_context.domain_name
    # API Gateway always sets X-Forwarded-Proto; a request without it came straight to the local gateway.
    scheme = headers.get("x-forwarded-proto", "http")
    external_path = event.request_context.path or event.path
    base_path = external_path[: -len(event.path)] if external_path.endswith(event.path) else ""
    return f"{scheme}://{host}{base_path}/s/{token}"


@router.post("/v1/shares")
def create_share(body: ShareBody) -> Response[dict[str, Any]]:
    _, user = session(router)
    start, end = window(body.from_, body.to)
    request = shares.ShareRequest(
        camera_id=body.camera_id,
        purpose=body.purpose,
        expires_in=body.expires_in,
        frame_id=body.frame_id,
        start=start,
        end=end,
        one_time=body.one_time,
    )
    created = shares.create_share(user, request, now=utcnow())
    return json_response(
        201,
        {
            "share_id": created.share.share_id,
            "url": _share_url(created.token),
            "expires_at": format_rfc3339(created.share.expires_at),
        },
    )


@router.get("/v1/shares")
def list_shares() -> Response[dict[str, Any]]:
    _, user = session(router)
    now = utcnow()
    return json_response(200, {"items": [shares.share_view(s, now) for s in shares.list_shares(user, now=now)]})


@router.delete("/v1/shares/<share_id>")
def revoke_share(share_id: str) -> Response[str]:
    _, user = session(router)
    shares.revoke_share(user, share_id, now=utcnow())
    return Response(status_code=204, body="", headers={"Cache-Control": "no-store"})


@router.get("/s/<token>")
def open_share(
    token: str, cursor: Annotated[str | None, Query(description="where the next page of a window starts")] = None
) -> Response[str]:
    outcome = shares.open_share(token, cursor, storage=runtime.storage(), now=utcnow())
    if isinstance(outcome, shares.SharedFootage):
        metrics.add_metric(name="SignedUrlsIssued", unit=MetricUnit.Count, value=2 * len(outcome.frames))
        page = share_page.footage_page(outcome)
    else:
        metrics.add_metric(name=f"SharePageRefused_{outcome.reason}", unit=MetricUnit.Count, value=1)
        page = share_page.refusal_page(outcome)
    return Response(
        status_code=page.status, content_type="text/html; charset=utf-8", body=page.html, headers=page.headers()
    )
