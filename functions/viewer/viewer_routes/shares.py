"""Share links (SPEC §6, §12): managers and owners create, list and revoke them; whoever holds a link opens its page,
a server-rendered HTML page (no session: the token in the path is the credential)."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayRouter
from aws_lambda_powertools.metrics import MetricUnit
from pydantic import BaseModel, ConfigDict, Field

from doti import openapi, runtime
from doti.api.customer import Share, ShareCreated, ShareList
from doti.clock import utcnow
from doti.http import json_response
from doti.observability import metrics
from doti.public_urls import public_base_url, public_url
from doti.viewing import share_page, shares
from viewer_routes.common import public, session, window

router = APIGatewayRouter()
public("/s/{token}")


class ShareBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    camera_id: str = Field(min_length=1, max_length=64)
    frame_id: str | None = Field(default=None, max_length=64)
    from_: str | None = Field(
        default=None, alias="from", max_length=40, json_schema_extra=openapi.TIME, description="RFC 3339, inclusive"
    )
    to: str | None = Field(
        default=None, max_length=40, json_schema_extra=openapi.TIME, description="RFC 3339, exclusive"
    )
    purpose: str = Field(min_length=1, max_length=1000, description="why the footage is shared, shown on the page")
    expires_in: int = Field(
        ge=int(shares.MIN_LIFETIME.total_seconds()),
        le=int(shares.MAX_LIFETIME.total_seconds()),
        description="seconds, at least a minute and at most 7 days",
    )
    one_time: bool = False


def _share_url(token: str) -> str:
    """The link to a share's page, on the configured public base URL: never on the request's Host or scheme."""
    return public_url(f"/s/{token}")


@router.post("/v1/shares", responses=openapi.answers(201, 404, 409))
def create_share(body: ShareBody) -> Response[ShareCreated]:
    _, user = session(router)
    start, end = window(body.from_, body.to)
    public_base_url()  # checked before the link is stored: a misconfigured deployment stores no link nobody got
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
    share = ShareCreated(
        share_id=created.share.share_id, url=_share_url(created.token), expires_at=created.share.expires_at
    )
    return json_response(201, share)


@router.get("/v1/shares", responses=openapi.answers(200))
def list_shares() -> Response[ShareList]:
    _, user = session(router)
    now = utcnow()
    return json_response(200, ShareList(items=[Share.of(s, now) for s in shares.list_shares(user, now=now)]))


@router.delete("/v1/shares/<share_id>", responses=openapi.answers(204, 404, 409))
def revoke_share(share_id: str) -> Response[str]:
    _, user = session(router)
    shares.revoke_share(user, share_id, now=utcnow())
    return Response(status_code=204, body="", headers={"Cache-Control": "no-store"})


# The page says why a link does not open (400 a bad page, 403 a contract not serving, 404 a dead link). Opening is
# audited, so a busy audit log is a JSON 409.
@router.get("/s/<token>", responses=openapi.combine(openapi.pages(200, 400, 403, 404), openapi.answers(409)))
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
