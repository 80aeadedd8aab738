"""What every staff router shares: the staff credential check and the strict request base model."""

from typing import Any

from pydantic import BaseModel, ConfigDict

from doti.auth.staff import authenticate_staff
from doti.entities import StaffMember
from doti.http import lower_headers
from doti.observability import logger


class StaffRequest(BaseModel):
    # A misspelt field must not silently fall back to a default (e.g. a 31-day retention instead of the one meant).
    # Validators are built on first use, not at import (doti.api.fields.ResponseModel says why).
    model_config = ConfigDict(extra="forbid", defer_build=True)


def staff(router: Any, role: str = "operator") -> StaffMember:
    """The staff member behind the request's X-Api-Key, with at least `role`."""
    member = authenticate_staff(lower_headers(router).get("x-api-key"), required_role=role)
    logger.append_keys(staff_id=member.staff_id)
    return member
