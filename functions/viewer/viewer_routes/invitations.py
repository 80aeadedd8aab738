"""Invitations by link (doti.accounts.invitations): owners revoke pending ones; the invitee opens the link's page and
posts its form, a server-rendered HTML page with no session (the token in the path is the credential). Owners create
them with POST /v1/users and see them in GET /v1/users (viewer_routes.users)."""

from urllib.parse import parse_qs

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import APIGatewayRouter
from aws_lambda_powertools.metrics import MetricUnit

from doti import openapi
from doti.accounts import invitations, invite_page
from doti.clock import utcnow
from doti.errors import PayloadTooLarge, UnsupportedMediaType, ValidationError
from doti.http import lower_headers, raw_body
from doti.observability import metrics
from doti.public_urls import public_url
from doti.viewing.share_page import Page
from viewer_routes.common import public, session

router = APIGatewayRouter()
public("/i/{token}")

_FORM = "application/x-www-form-urlencoded"
_MAX_FORM_BYTES = 8 * 1024  # three short fields; more is not this page's form
_FIELDS = ("login_id", "password", "password_again")


def invitation_url(token: str) -> str:
    """The link of an invitation, on the configured public base URL as share links are (doti.public_urls): never on
    the request's Host or scheme."""
    return public_url(f"/i/{token}")


def _html(page: Page) -> Response[str]:
    return Response(
        status_code=page.status, content_type="text/html; charset=utf-8", body=page.html, headers=page.headers()
    )


def _form() -> dict[str, str]:
    """The posted form's fields (an absent one is empty). A browser posts it URL-encoded and small; anything else is
    refused in the SPEC §10 format, since no browser sends it."""
    content_type = lower_headers(router).get("content-type", "")
    if content_type.split(";", 1)[0].strip().lower() != _FORM:
        raise UnsupportedMediaType(f"post the invitation form as {_FORM}")
    body = raw_body(router)
    if len(body) > _MAX_FORM_BYTES:
        raise PayloadTooLarge("the form is too large", limit=_MAX_FORM_BYTES)
    try:
        fields = parse_qs(body.decode("utf-8"), keep_blank_values=True, max_num_fields=2 * len(_FIELDS))
    except ValueError as exc:  # not UTF-8 (UnicodeDecodeError), or too many fields
        raise ValidationError("the form is not valid", field="body") from exc
    return {name: (fields.get(name) or [""])[0] for name in _FIELDS}


@router.delete("/v1/invitations/<invitation_id>", responses=openapi.answers(204, 404, 409))
def revoke_invitation(invitation_id: str) -> Response[str]:
    _, owner = session(router)
    invitations.revoke(owner, invitation_id, utcnow())
    return Response(status_code=204, body="", headers={"Cache-Control": "no-store"})


@router.get("/i/<token>", responses=openapi.pages(200, 403, 404))
def invitation_page(token: str) -> Response[str]:
    opened = invitations.open_invitation(token, utcnow())
    if isinstance(opened, invitations.InvitationRefusal):
        metrics.add_metric(name=f"InvitationRefused_{opened.reason}", unit=MetricUnit.Count, value=1)
        return _html(invite_page.refusal_page(opened))
    return _html(invite_page.form_page(opened))


# The form again when a field is refused (409 a taken id, 422 otherwise); a body no browser sends gets a JSON error.
@router.post(
    "/i/<token>",
    responses=openapi.combine(openapi.pages(201, 403, 404, 409, 422), openapi.answers(409, 413, 415, 422)),
    openapi_extensions=openapi.form(_FIELDS, max_bytes=_MAX_FORM_BYTES),
)
def accept_invitation(token: str) -> Response[str]:
    form = _form()
    outcome = invitations.accept(
        token,
        login_id=form["login_id"],
        password=form["password"],
        password_again=form["password_again"],
        now=utcnow(),
    )
    if isinstance(outcome, invitations.InvitationRefusal):
        metrics.add_metric(name=f"InvitationRefused_{outcome.reason}", unit=MetricUnit.Count, value=1)
        return _html(invite_page.refusal_page(outcome))
    if isinstance(outcome, invitations.FormRejected):
        page = invite_page.form_page(
            outcome.opened, status=outcome.status, problems=outcome.problems, login_id=outcome.login_id
        )
        return _html(page)
    metrics.add_metric(name="InvitationsAccepted", unit=MetricUnit.Count, value=1)
    return _html(invite_page.accepted_page(outcome))
