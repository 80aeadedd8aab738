"""Every route family obeys the contract's state (SPEC §3), on the very next request after the state changes.

Families: the device's frame upload, the customer's own account (/v1/me, notices) and the customer's data (cameras,
frame listing, one frame). Share pages do not exist yet.
"""

from __future__ import annotations

from typing import Any

import pytest

from doti.clock import utcnow
from doti.contracts import lifecycle
from functions.ingest import app as ingest
from functions.viewer import app as viewer
from tests.support import (
    LambdaContext,
    World,
    assert_error,
    body_of,
    customer_event,
    frame_event,
    sample_image,
)
from tests.support.contract_states import JOB, put_in_state
from tests.support.viewer import owner_token

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
    token = owner_token(world)
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
    token = owner_token(world)
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
