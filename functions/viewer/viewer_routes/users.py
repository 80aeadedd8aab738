"""The contract's users, managed by its owners (SPEC §2): list them and the pending invitations, invite by link,
remove. The invitee chooses their own login id on the link's page (viewer_routes.invitations), so no owner learns
which ids other contracts hold."""

from typing import Annotated, Literal

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.event_handler.router import APIGatewayRouter
from pydantic import BaseModel, ConfigDict, Field

from doti import openapi
from doti.accounts import invitations, users
from doti.api.customer import Invitation, InvitationCreated, User, UserList
from doti.clock import utcnow
from doti.http import json_response
from doti.public_urls import public_base_url
from viewer_routes.common import session
from viewer_routes.invitations import invitation_url

router = APIGatewayRouter()


class InviteRequest(BaseModel):
    # No login id and no password: the invitee chooses both on the link's page.
    model_config = ConfigDict(extra="forbid", defer_build=True)

    name: str = Field(min_length=1, max_length=200, description="the person invited, as the page greets them")
    role: Literal["owner", "manager", "viewer"]
    site_ids: list[str] | None = Field(default=None, max_length=100, description="absent: every site")


@router.get("/v1/users", responses=openapi.answers(200))
def list_users() -> Response[UserList]:
    """The users the owner manages (all of the contract's, or for a site-scoped owner those within their sites), and
    the invitations still pending within the same reach."""
    _, owner = session(router)
    now = utcnow()
    body = UserList(
        items=[User.of(u) for u in users.list_users(owner, now)],
        invitations=[Invitation.of(i) for i in invitations.pending(owner, now)],
    )
    return json_response(200, body)


@router.post("/v1/users", responses=openapi.answers(201, 404, 409))
def invite_user(body: InviteRequest) -> Response[InvitationCreated]:
    """201 with the invitation and its one-time link (shown only here), valid for 7 days: whoever opens it chooses a
    login id and a password and becomes the user."""
    _, owner = session(router)
    public_base_url()  # checked before the invitation is stored: a misconfigured deployment stores none nobody got
    created = invitations.invite(owner, name=body.name, role=body.role, site_ids=body.site_ids, now=utcnow())
    return json_response(201, InvitationCreated.of(created, invitation_url(created.token)))


@router.delete("/v1/users/<login_id>", responses=openapi.answers(204, 404, 409))
def remove_user(login_id: Annotated[str, Path(max_length=512)]) -> Response[str]:
    """The login id as doti.accounts.login_ids reads it (422 when it is none), from the path as API Gateway decoded
    it."""
    _, owner = session(router)
    users.remove_user(owner, login_id, utcnow())
    return Response(status_code=204, body="", headers={"Cache-Control": "no-store"})
