"""Every route family obeys the contract's state (SPEC §3), on the very next request after the state changes.

Families: the device's frame upload, the customer's own account (/v1/me, notices) and the customer's data (cameras,
frame listing, one frame). Share pages do not exist yet.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from doti import audit, lifecycle
from doti.clock import utcnow
from doti.contracts import add_months
from doti.store.models import ContractModel
from functions.ingest import app as ingest
from functions.viewer import app as viewer
from tests.support import (
    LambdaContext,
    World,
    api_event,
    assert_error,
    body_of,
    customer_event,
    frame_event,
    sample_image,
)

JOB = audit.job_actor("test-job")
NOT_STARTED, SUSPENDED, TERMINATED = "contract_not_started", "contract_suspended", "contract_terminated"
OK = None

# state -> route family -> None (served) or the 403 code of SPEC §3
EXPECTED: dict[str, dict[str, str | None]] = {
    "pending": dict.fromkeys(("device", "me", "notices", "cameras", "frames", "frame"), NOT_STARTED),
    "active": dict.fromkeys(("device", "me", "notices", "cameras", "frames", "frame"), OK),
    "suspended": {
        "device": SUSPENDED,
        "me": OK,
        "notices": OK,
        "cameras": SUSPENDED,
        "frames": SUSPENDED,
        "frame": SUSPENDED,
    },
    "cancelling": dict.fromkeys(("device", "me", "notices", "cameras", "frames", "frame"), OK),
    "terminated": dict.fromkeys(("device", "me", "notices", "cameras", "frames", "frame"), TERMINATED),
    "purged": dict.fromkeys(("device", "me", "notices", "cameras", "frames", "frame"), TERMINATED),
}


def put_in_state(contract_id: str, state: str) -> None:
    """Given: the contract in `state`, reached by the lifecycle's own transitions where one leads there."""
    now = utcnow()
    if state == "pending":
        # No transition leads back to pending; a contract created with a future start is in it (test_lifecycle).
        ContractModel.get(contract_id).update(actions=[ContractModel.state.set("pending")])
    elif state == "suspended":
        lifecycle.transition(contract_id, "suspended", "art8-1-1", "given", None, JOB, now)
    elif state == "cancelling":
        lifecycle.transition(contract_id, "cancelling", "art13-1", "given", add_months(now, 3), JOB, now)
    elif state in {"terminated", "purged"}:
        lifecycle.transition(contract_id, "terminated", "art12-1-2", "given", None, JOB, now)
        if state == "purged":
            lifecycle.transition(contract_id, "purged", None, "given", None, JOB, now + timedelta(days=31))


def login(world: World) -> str:
    body = f'{{"login_id": "{world.login_id}", "password": "{world.password}"}}'
    response = viewer.lambda_handler(api_event("viewer/login.json", body=body), LambdaContext())
    assert response["statusCode"] == 200, response["body"]
    return body_of(response)["token"]


def customer_get(token: str, path: str, resource: str, params: dict[str, str] | None = None) -> dict[str, Any]:
    event = customer_event(
        "viewer/list_frames.json", token, path=path, resource=resource, path_parameters=params, query={}
    )
    return viewer.lambda_handler(event, LambdaContext())


def request(family: str, world: World, token: str, frame_id: str) -> dict[str, Any]:
    camera = {"camera_id": world.camera_id}
    if family == "device":
        return ingest.lambda_handler(frame_event(world, sample_image()), LambdaContext())
    if family == "me":
        return customer_get(token, "/v1/me", "/v1/me")
    if family == "notices":
        return customer_get(token, "/v1/notices", "/v1/notices")
    if family == "cameras":
        return customer_get(token, "/v1/cameras", "/v1/cameras")
    if family == "frames":
        return customer_get(token, f"/v1/cameras/{world.camera_id}/frames", "/v1/cameras/{camera_id}/frames", camera)
    return customer_get(
        token,
        f"/v1/cameras/{world.camera_id}/frames/{frame_id}",
        "/v1/cameras/{camera_id}/frames/{frame_id}",
        {**camera, "frame_id": frame_id},
    )


def outcome(response: dict[str, Any]) -> str | None:
    """None when served, else the error code (checked to be a well-formed 403)."""
    if response["statusCode"] in {200, 201}:
        return OK
    return assert_error(response, 403, body_of(response)["error"]["code"])["code"]


@pytest.mark.parametrize("state", list(EXPECTED))
def test_each_route_family_answers_as_the_contract_state_says(world, state):
    # Given a customer signed in and a frame stored while the contract was active
    token = login(world)
    stored = ingest.lambda_handler(frame_event(world, sample_image()), LambdaContext())
    assert stored["statusCode"] == 201, stored["body"]
    frame_id = body_of(stored)["frame_id"]

    # When the contract's state changes and the next request of each route family arrives
    put_in_state(world.contract_id, state)
    outcomes = {family: outcome(request(family, world, token, frame_id)) for family in EXPECTED[state]}

    # Then each is served, or refused with the 403 code SPEC §3 gives that state
    assert outcomes == EXPECTED[state]


def test_me_tells_a_suspended_customer_the_state(world):
    # Given a signed-in customer whose contract is then suspended
    token = login(world)
    put_in_state(world.contract_id, "suspended")

    # When they open their account
    response = customer_get(token, "/v1/me", "/v1/me")

    # Then they see why nothing else works
    assert body_of(response)["contract"]["state"] == "suspended"


def test_lifting_a_suspension_serves_again_on_the_next_request(world):
    # Given a suspended contract whose device was refused
    put_in_state(world.contract_id, "suspended")
    refused = ingest.lambda_handler(frame_event(world, sample_image()), LambdaContext())
    assert_error(refused, 403, SUSPENDED)

    # When the suspension is lifted
    lifecycle.transition(world.contract_id, "active", None, "fixed", None, JOB, utcnow())

    # Then the next upload is stored
    accepted = ingest.lambda_handler(frame_event(world, sample_image()), LambdaContext())
    assert accepted["statusCode"] == 201, accepted["body"]
