"""The contract's users, managed by its owners (SPEC §2): list, invite, remove."""

from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.event_handler.router import APIGatewayRouter
from pydantic import BaseModel, Field

from doti import users
from doti.clock import utcnow
from doti.http import json_response
from viewer_routes.common import session

router = APIGatewayRouter()


class InviteRequest(BaseModel):
    login_id: str = Field(min_length=1, max_length=128)
    name: str = Field(min_length=1, max_length=200)
    role: Literal["owner", "manager", "viewer"]
    site_ids: list[str] | None = Field(default=None, max_length=100, description="absent: every site")


@router.get("/v1/users")
def list_users() -> Response[dict[str, Any]]:
    """The users the owner manages: all of the contract's, or for a site-scoped owner those within their sites."""
    _, owner = session(router)
    return json_response(200, {"items": [users.user_view(u) for u in users.list_users(owner, utcnow())]})


@router.post("/v1/users")
def invite_user(body: InviteRequest) -> Response[dict[str, Any]]:
    """201 with the user and a one-time temporary password (shown only here) that must be changed at first use."""
    _, owner = session(router)
    invitation = users.invite_user(
        owner, login_id=body.login_id, name=body.name, role=body.role, site_ids=body.site_ids, now=utcnow()
    )
    view = {**users.user_view(invitation.user), "temporary_password": invitation.temporary_password}
    return json_response(201, view)


@router.delete("/v1/users/<login_id>")
def remove_user(login_id: Annotated[str, Path(max_length=128)]) -> Response[str]:
    _, owner = session(router)
    users.remove_user(owner, login_id, utcnow())
    return Response(status_code=204, body="", headers={"Cache-Control": "no-store"})
