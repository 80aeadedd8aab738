"""A camera's purpose registry and the contract's operator and inquiry contact (Art. 2-4, issue 15), set through the
routes that set them: the owner's `PUT /v1/cameras/{id}/purposes` in the viewer, staff's
`PUT /v1/admin/cameras/{id}/purposes` and `PATCH /v1/admin/contracts/{id}`.

Tests that need a registered camera or a named operator as a given use `register_purposes` and `set_operator`, so
what they start from passed the same checks and wrote the same audit entries as a real registration.
"""

from __future__ import annotations

import json
from typing import Any

from tests.support import World, admin_call, customer_event
from tests.support.viewer import viewer_call


def put_purposes(token: str, camera_id: str, body: Any) -> dict[str, Any]:
    """The owner's registration through the viewer handler, answered as it is."""
    event = customer_event(
        "viewer/list_cameras.json",
        token,
        path=f"/v1/cameras/{camera_id}/purposes",
        resource="/v1/cameras/{camera_id}/purposes",
        path_parameters={"camera_id": camera_id},
        method="PUT",
        body=json.dumps(body),
    )
    return viewer_call(event)


def staff_put(world: World, camera_id: str, body: Any) -> dict[str, Any]:
    """Staff's registration through the admin handler, answered as it is."""
    return admin_call("PUT", f"/v1/admin/cameras/{camera_id}/purposes", world.staff_key, body)


def register_purposes(
    world: World,
    camera_id: str,
    codes: set[str],
    *,
    coverage: str = "Entrance and till",
    people_filmed: bool = True,
    other: str | None = None,
) -> dict[str, Any]:
    """Given-step: staff register the camera's purposes (codes in any order; `other` is the text of the purpose
    other). Returns the staff view of the camera."""
    body: dict[str, Any] = {"purposes": sorted(codes), "coverage": coverage, "people_filmed": people_filmed}
    if other is not None:
        body["other_text"] = other
    response = staff_put(world, camera_id, body)
    assert response["statusCode"] == 200, response["body"]
    return json.loads(response["body"])


def set_operator(world: World, operator: str | None, contact: str | None) -> dict[str, Any]:
    """Given-step: staff record the contract's operator name and inquiry contact (None clears one). Returns the
    staff view of the contract."""
    changes = {"operator_name": operator, "inquiry_contact": contact}
    response = admin_call("PATCH", f"/v1/admin/contracts/{world.contract_id}", world.staff_key, changes)
    assert response["statusCode"] == 200, response["body"]
    return json.loads(response["body"])
