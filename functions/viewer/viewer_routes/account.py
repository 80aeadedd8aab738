"""Sign-in, sign-out and who the caller is (SPEC §2, §12)."""

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import APIGatewayRouter
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from doti import openapi
from doti.api.customer import Me, SignedIn
from doti.auth import customer
from doti.clock import utcnow
from doti.http import json_response
from doti.viewing import account
from viewer_routes.common import session

router = APIGatewayRouter()


# Passwords are SecretStr: Powertools logs a route's parsed arguments at DEBUG, and a secret prints as asterisks.
class LoginRequest(BaseModel):
    model_config = ConfigDict(defer_build=True)  # built on first use (doti.api.fields.ResponseModel says why)

    login_id: str = Field(min_length=1, max_length=128)
    password: SecretStr = Field(min_length=1, max_length=1024)


class PasswordChangeRequest(BaseModel):
    model_config = ConfigDict(defer_build=True)

    current_password: SecretStr = Field(min_length=1, max_length=1024)
    new_password: SecretStr = Field(min_length=1, max_length=1024)


@router.post("/v1/auth/login", responses=openapi.answers(200, 401, 403, 423, 429))
def login(body: LoginRequest) -> Response[SignedIn]:
    signed_in = customer.sign_in(body.login_id, body.password.get_secret_value(), utcnow())
    return json_response(200, SignedIn.of(signed_in))


@router.post("/v1/auth/password", responses=openapi.answers(200, 409, 429))
def change_password(body: PasswordChangeRequest) -> Response[SignedIn]:
    """Every session of the user ends, this one too; the answer carries the new session's token."""
    _, user = session(router)
    current, new = body.current_password.get_secret_value(), body.new_password.get_secret_value()
    signed_in = customer.change_password(user, current, new, utcnow())
    return json_response(200, SignedIn.of(signed_in))


@router.post("/v1/auth/logout", responses=openapi.answers(204))
def logout() -> Response[str]:
    found, _ = session(router)
    customer.logout(found)
    return Response(status_code=204, body="", headers={"Cache-Control": "no-store"})


@router.get("/v1/me", responses=openapi.answers(200))
def me() -> Response[Me]:
    _, user = session(router)
    return json_response(200, Me.of(account.account_of(user, now=utcnow())))
