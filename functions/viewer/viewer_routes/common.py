"""What every customer router shares: the session behind the request."""

from datetime import datetime
from typing import Any

from doti.auth import customer
from doti.clock import parse_rfc3339, utcnow
from doti.entities import Session, User
from doti.http import lower_headers
from doti.observability import logger

# Routes a caller reaches without a session (resources as API Gateway names them); every other route
# authenticates before anything else it does. Routers add theirs with `public(...)`.
PUBLIC_RESOURCES: set[str] = {"/v1/auth/login", "/v1/openapi.json"}


# What a user whose password is temporary (staff reset, compromised report, invitation) may reach: their account,
# to see the flag and set a new password, and logout. Every other route answers 403 until the password is changed.
TEMPORARY_PASSWORD_RESOURCES = frozenset({"/v1/me", "/v1/auth/password", "/v1/auth/logout"})


def public(*resources: str) -> None:
    PUBLIC_RESOURCES.update(resources)


def session(router: Any) -> tuple[Session, User]:
    """The session and user behind the request's bearer token (401 otherwise; 403 on a temporary password)."""
    found, user = customer.authenticate_session(lower_headers(router).get("authorization"), utcnow())
    logger.append_keys(contract_id=user.contract_id, user_id=user.user_id)
    if router.current_event.resource not in TEMPORARY_PASSWORD_RESOURCES:
        customer.require_password_changed(user)
    return found, user


def window(from_: str | None, to: str | None) -> tuple[datetime | None, datetime | None]:
    """The optional `from` and `to` bounds of a request (RFC 3339), parsed."""
    return (parse_rfc3339(from_, "from") if from_ else None, parse_rfc3339(to, "to") if to else None)
