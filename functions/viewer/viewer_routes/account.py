"""Sign-in, sign-out and who the caller is (SPEC §2, §12)."""

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import APIGatewayRouter
from pydantic import BaseModel, Field, SecretStr

from doti import account, openapi
from doti.auth import customer
from doti.clock import format_rfc3339, utcnow
from doti.http import json_response
from viewer_routes.common import session

router = APIGatewayRouter()


# Passwords are SecretStr: Powertools logs a route's parsed arguments at DEBUG, and a secret prints as asterisks.
class LoginRequest(BaseModel):
    login_id: str = Field(min_length=1, max_length=128)
    password: SecretStr = Field(min_length=1, max_length=1024)


class PasswordChangeRequest(BaseModel):
    current_password: SecretStr = Field(min_length=1, max_length=1024)
    new_password: SecretStr = Field(min_length=1, max_length=1024)


def _signed_in_view(signed_in: customer.SignIn) -> dict[str, Any]:
    return {
        "token": signed_in.token,
        "expires_at": format_rfc3339(signed_in.session.expires_at),
        # After a staff reset, a compromised report or an invitation the password is temporary and must be changed.
        "must_change_password": signed_in.must_change_password,
    }


@router.post("/v1/auth/login", responses=openapi.answers(200, 401, 403, 423, 429))
def login(body: LoginRequest) -> Response[dict[str, Any]]:
    return json_response(
        200, _signed_in_view(customer.sign_in(body.login_id, body.password.get_secret_value(), utcnow()))
    )


@router.post("/v1/auth/password", responses=openapi.answers(200, 409, 429))
def change_password(body: PasswordChangeRequest) -> Response[dict[str, Any]]:
    """Every session of the user ends, this one too; the answer carries the new session's token."""
    _, user = session(router)
    current, new = body.current_password.get_secret_value(), body.new_password.get_secret_value()
    signed_in = customer.change_password(user, current, new, utcnow())
    return json_response(200, _signed_in_view(signed_in))


@router.post("/v1/auth/logout", responses=openapi.answers(204))
def logout() -> Response[str]:
    found, _ = session(router)
    customer.logout(found)
    return Response(status_code=204, body="", headers={"Cache-Control": "no-store"})


@router.get("/v1/me", responses=openapi.answers(200))
def me() -> Response[dict[str, Any]]:
    _, user = session(router)
    return json_response(200, account.account_view(account.account_of(user, now=utcnow())))
