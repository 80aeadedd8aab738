"""Taking a frame down through the staff API."""

from __future__ import annotations

from typing import Any

from tests.support import (
    admin_call,
)


def take_down(key: str | None, contract_id: str, **body: Any) -> dict[str, Any]:
    return admin_call("POST", f"/v1/admin/contracts/{contract_id}/takedowns", key=key, body=body)
