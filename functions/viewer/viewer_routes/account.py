"""Sign-in, sign-out and who the caller is (SPEC §2, §12)."""

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import APIGatewayRouter
from pydantic import BaseModel, Field

from doti import contracts
from doti.auth import customer
from doti.clock import format_rfc3339, utcnow
from doti.http import json_response
from viewer_routes.common import session

router = APIGatewayRouter()


class LoginRequest(BaseModel):
    login_id: str = Field(min_length=1, max_length=128)
    password: str = Field(min_length=1, max_length=1024)


@router.post("/v1/auth/login")
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


@router.post("/v1/auth/logout")
def logout() -> Response[str]:
    found, _ = session(router)
    customer.logout(found)
    return Response(status_code=204, body="", headers={"Cache-Control": "no-store"})


@router.get("/v1/me")
def me() -> Response[dict[str, Any]]:
    _, user = session(router)
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
