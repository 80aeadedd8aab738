"""Share links (SPEC §6, §12): managers and owners create, list and revoke them; whoever holds a link opens its page,
a server-rendered HTML page (no session: the token in the path is the credential).

A one-time link's GET answers an interstitial and spends nothing, whoever asks (a chat app's preview bot included);
its button POSTs the page's form to the same address, which shows the frame and spends the link.
"""

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayRouter
from aws_lambda_powertools.metrics import MetricUnit
from pydantic import BaseModel, ConfigDict, Field

from doti import openapi, public_forms, runtime
from doti.api.customer import Share, ShareCreated, ShareList
from doti.clock import utcnow
from doti.contracts import purposes
from doti.errors import PayloadTooLarge, UnsupportedMediaType
from doti.http import json_response, lower_headers, raw_body
from doti.observability import metrics
from doti.public_urls import public_base_url, public_url
from doti.viewing import share_page, share_purposes, shares
from viewer_routes.common import public, session, window

router = APIGatewayRouter()
public("/s/{token}")

_MAX_FORM_BYTES = 1024  # the button's one field (open=1); more is not this page's form
_FORM_FIELDS = ("open",)


class ShareBody(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    camera_id: str = Field(min_length=1, max_length=64)
    frame_id: str | None = Field(default=None, max_length=64)
    from_: str | None = Field(
        default=None, alias="from", max_length=40, json_schema_extra=openapi.TIME, description="RFC 3339, inclusive"
    )
    to: str | None = Field(
        default=None, max_length=40, json_schema_extra=openapi.TIME, description="RFC 3339, exclusive"
    )
    # Not bounded below here: the domain's refusal of an empty purpose names the field and says what is allowed.
    purpose: str = Field(
        max_length=1000,
        description="why the footage is shared, as a code: `purpose:<code>`, one of the camera's registered purposes "
        f"({', '.join(purposes.PURPOSES)}), or `ground:<key>`, a statutory ground for giving personal data to a third "
        f"party without consent ({', '.join(share_purposes.GROUNDS)}). Anything else is a 422 naming `purpose` that "
        "lists what the camera allows. A link answering a request from a person filmed (`request:<request_id>`) is "
        "made by answering the request, not here. The share page and the access log show the purpose in words.",
        examples=["purpose:crime_prevention", "ground:art10-3-1"],
    )
    purpose_note: str | None = Field(
        default=None,
        max_length=1000,
        description=f"optional: one line of at most {share_purposes.MAX_NOTE_CHARS} characters that says more "
        '("insurance claim for the 1 Dec accident"), shown on the page',
    )
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
        purpose_note=body.purpose_note,
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


def _page(outcome: shares.SharedFootage | shares.ShareInterstitial | shares.ShareRefusal) -> Response[str]:
    if isinstance(outcome, shares.SharedFootage):
        metrics.add_metric(name="SignedUrlsIssued", unit=MetricUnit.Count, value=2 * len(outcome.frames))
        page = share_page.footage_page(outcome)
    elif isinstance(outcome, shares.ShareInterstitial):
        metrics.add_metric(name="ShareInterstitialsShown", unit=MetricUnit.Count, value=1)
        page = share_page.interstitial_page(outcome)
    else:
        metrics.add_metric(name=f"SharePageRefused_{outcome.reason}", unit=MetricUnit.Count, value=1)
        page = share_page.refusal_page(outcome)
    return Response(
        status_code=page.status, content_type="text/html; charset=utf-8", body=page.html, headers=page.headers()
    )


# The page says why a link does not open (400 a bad page, 403 a contract not serving, 404 a dead link). Opening is
# audited, so a busy audit log is a JSON 409. A one-time link answers its interstitial (200) and is not spent.
@router.get("/s/<token>", responses=openapi.combine(openapi.pages(200, 400, 403, 404), openapi.answers(409)))
def open_share(
    token: str, cursor: Annotated[str | None, Query(description="where the next page of a window starts")] = None
) -> Response[str]:
    return _page(shares.open_share(token, cursor, storage=runtime.storage(), events=runtime.events(), now=utcnow()))


def _from_another_site() -> bool:
    """Whether the POST names another origin than the links' own (doti.public_forms). The token is the credential, so
    a POST without Origin or Referer is a client's own."""
    return public_forms.from_another_site(lower_headers(router), public_base_url())


def _check_form() -> None:
    """The button's form, as a browser posts it: URL-encoded and small; anything else is refused in the SPEC §10
    format, since no browser sends it. Its one field says nothing the address does not, so it is not read."""
    if not public_forms.is_form(lower_headers(router).get("content-type", "")):
        raise UnsupportedMediaType(f"post the page's form as {public_forms.FORM}")
    if len(raw_body(router)) > _MAX_FORM_BYTES:
        raise PayloadTooLarge("the form is too large", limit=_MAX_FORM_BYTES)


# The button of a one-time link's interstitial: the frame's page (200), spending the link; a spent link is 404. Any
# other link shows its footage as a GET does. A form posted from another site's page is a 403 page, and spends nothing.
@router.post(
    "/s/<token>",
    responses=openapi.combine(openapi.pages(200, 400, 403, 404), openapi.answers(409, 413, 415)),
    openapi_extensions=openapi.form(_FORM_FIELDS, max_bytes=_MAX_FORM_BYTES),
)
def press_share_button(token: str) -> Response[str]:
    if _from_another_site():
        return _page(shares.ShareRefusal(shares.FOREIGN_FORM))
    _check_form()
    return _page(
        shares.open_share(token, None, storage=runtime.storage(), events=runtime.events(), now=utcnow(), posted=True)
    )
