"""The customer API around the data (SPEC §3, §10, §12): who the user is, tenant isolation, contract state, the
API document and unknown routes.

Frames are created through the real ingest handler; customers are driven through the viewer handler.
"""

from __future__ import annotations

import json

import pytest

from doti.auth import customer
from doti.clock import utcnow
from doti.contracts import notices
from doti.errors import ContractNotStarted, ContractSuspended, ContractTerminated, NotFound
from doti.viewing import account, deletions
from functions.viewer import app as viewer
from tests.support import (
    LambdaContext,
    api_event,
    assert_error,
    body_of,
    customer_event,
)
from tests.support.viewer import (
    add_site,
    add_user,
    get_cameras,
    get_frame,
    get_me,
    ingest_frame,
    list_frames,
    listed_ids,
    login,
    owner_token,
    set_contract_state,
)

# me


def test_me_describes_the_user_and_the_contract_state(world):
    # Given the contract's owner
    token = owner_token(world)

    # When they ask who they are
    response = get_me(token)

    # Then they get their user, role and contract (active) and no site scope
    assert response["statusCode"] == 200, response["body"]
    body = body_of(response)
    assert body["login_id"] == world.login_id
    assert body["role"] == "owner"
    assert body["site_ids"] is None
    assert body["contract"]["contract_id"] == world.contract_id
    assert body["contract"]["state"] == "active"
    assert "password_hash" not in json.dumps(body)


def test_me_shows_a_site_scoped_users_sites(world):
    # Given a viewer limited to a second site
    annex = add_site(world)
    login_id, password = add_user(world, role="viewer", site_ids=[annex.site_id])

    # When they ask who they are
    body = body_of(get_me(login(login_id, password)))

    # Then they see their role and scope
    assert body["role"] == "viewer"
    assert body["site_ids"] == [annex.site_id]


# tenant isolation


def test_another_tenants_camera_is_not_found(world_factory):
    # Given two tenants, and a frame of tenant B
    tenant_a, tenant_b = world_factory(), world_factory()
    b_frame = ingest_frame(tenant_b)
    a_token = owner_token(tenant_a)

    # When tenant A asks for B's camera's frames and B's frame, with B's real ids
    listing = list_frames(a_token, tenant_b.camera_id)
    one = get_frame(a_token, tenant_b.camera_id, b_frame["frame_id"])
    through_own_camera = get_frame(a_token, tenant_a.camera_id, b_frame["frame_id"])

    # Then every answer is 404 not_found, the same as for a camera id that does not exist at all
    nowhere = assert_error(list_frames(a_token, "cam_doesnotexist0000000"), 404, "not_found")
    assert assert_error(listing, 404, "not_found") == nowhere
    assert assert_error(one, 404, "not_found") == nowhere
    assert_error(through_own_camera, 404, "not_found")
    assert tenant_b.camera_id not in listing["body"]
    # and B still sees its frame
    assert listed_ids(owner_token(tenant_b), tenant_b.camera_id) == [b_frame["frame_id"]]


def test_a_site_scoped_user_cannot_reach_cameras_outside_the_scope(world):
    # Given a frame on the first site's camera and a viewer limited to the second site
    frame = ingest_frame(world)
    annex = add_site(world)
    annex_frame = ingest_frame(world, site=annex)
    token = login(*add_user(world, site_ids=[annex.site_id]))

    # When the viewer asks for the first site's camera and frame
    listing = list_frames(token, world.camera_id)
    one = get_frame(token, world.camera_id, frame["frame_id"])

    # Then both are not_found, while the second site's frames are visible
    assert_error(listing, 404, "not_found")
    assert_error(one, 404, "not_found")
    assert listed_ids(token, annex.camera_id) == [annex_frame["frame_id"]]
    assert get_frame(token, annex.camera_id, annex_frame["frame_id"])["statusCode"] == 200


def test_a_frame_of_another_camera_of_the_same_contract_is_not_found_under_this_camera(world):
    # Given frames on two cameras of one contract
    annex = add_site(world)
    annex_frame = ingest_frame(world, site=annex)
    token = owner_token(world)

    # When the annex frame is asked for under the first camera, or with an id that is not a frame id
    wrong_camera = get_frame(token, world.camera_id, annex_frame["frame_id"])
    not_an_id = get_frame(token, world.camera_id, "not-a-frame-id")

    # Then both are not_found
    assert_error(wrong_camera, 404, "not_found")
    assert_error(not_an_id, 404, "not_found")


# contract state


@pytest.mark.parametrize(
    ("state", "code"),
    [
        ("pending", "contract_not_started"),
        ("suspended", "contract_suspended"),
        ("terminated", "contract_terminated"),
        ("purged", "contract_terminated"),
    ],
)
def test_a_contract_that_is_not_serving_stops_viewing(world, state, code):
    # Given a frame and a session, and then the contract leaves the serving states
    frame = ingest_frame(world)
    token = owner_token(world)
    set_contract_state(world.contract_id, state)

    # When the customer uses the viewing routes
    responses = [
        get_cameras(token),
        list_frames(token, world.camera_id),
        get_frame(token, world.camera_id, frame["frame_id"]),
    ]

    # Then each is 403 with the SPEC §3 code for that state
    for response in responses:
        assert_error(response, 403, code)


def test_a_suspended_customer_still_sees_who_they_are(world):
    # Given a suspended contract (Art. 8, 12: only /me and notices stay open)
    token = owner_token(world)
    set_contract_state(world.contract_id, "suspended")

    # When the customer asks who they are
    response = get_me(token)

    # Then they get their user and the contract's state
    assert response["statusCode"] == 200, response["body"]
    assert body_of(response)["contract"]["state"] == "suspended"


@pytest.mark.parametrize(
    ("state", "code"),
    [("pending", "contract_not_started"), ("terminated", "contract_terminated"), ("purged", "contract_terminated")],
)
def test_me_is_closed_before_the_service_starts_and_after_it_ends(world, state, code):
    # Given a contract that has not started or has ended
    token = owner_token(world)
    set_contract_state(world.contract_id, state)

    # When the customer asks who they are
    response = get_me(token)

    # Then the answer is the state's 403
    assert_error(response, 403, code)


@pytest.mark.parametrize(
    ("state", "account_error", "receipts_error"),
    [
        ("pending", ContractNotStarted, ContractNotStarted),
        ("suspended", None, ContractSuspended),
        ("terminated", ContractTerminated, ContractTerminated),
    ],
)
def test_the_account_notices_and_receipts_check_the_contract_state_themselves(
    world, state, account_error, receipts_error
):
    # Given a signed-in user whose contract then changes state
    user = customer.authenticate_session(f"Bearer {owner_token(world)}", utcnow())[1]
    set_contract_state(world.contract_id, state)
    now = utcnow()
    unknown_notice = "01ARZ3NDEKTSV4RRFFQ69G5FAV"

    # When the domain functions behind the routes are called directly, with no handler checking first
    # Then the account and notices stay open only while suspended, and deletion receipts only while serving
    if account_error is None:
        assert account.account_of(user, now=now).contract.state == state
        assert notices.notices_for(user, now=now) == []
        with pytest.raises(NotFound):  # past the state check: only the notice is unknown
            notices.mark_read(user, unknown_notice, now)
    else:
        for call in (
            lambda: account.account_of(user, now=now),
            lambda: notices.notices_for(user, now=now),
            lambda: notices.mark_read(user, unknown_notice, now),
        ):
            with pytest.raises(account_error):
                call()
    with pytest.raises(receipts_error):
        deletions.receipts_of(user, deletions.DeletionQuery(), now=now)


def test_a_cancelling_contract_keeps_viewing_open(world):
    # Given a contract under cancellation notice (viewing continues until the effective date)
    frame = ingest_frame(world)
    token = owner_token(world)
    set_contract_state(world.contract_id, "cancelling")

    # When the customer uses the viewing routes
    # Then they work
    assert body_of(get_me(token))["contract"]["state"] == "cancelling"
    assert [c["camera_id"] for c in body_of(get_cameras(token))["items"]] == [world.camera_id]
    assert listed_ids(token, world.camera_id) == [frame["frame_id"]]
    assert get_frame(token, world.camera_id, frame["frame_id"])["statusCode"] == 200


# the API document and unknown routes


def test_the_customer_openapi_document_is_public(aws):
    # Given no credentials at all
    event = api_event(
        "viewer/list_cameras.json",
        path="/v1/openapi.json",
        resource="/v1/openapi.json",
        headers={"Host": "abc123.execute-api.ap-northeast-1.amazonaws.com"},
        replace_headers=True,
    )

    # When the customer API document is fetched
    response = viewer.lambda_handler(event, LambdaContext())

    # Then it is an OpenAPI document of the customer routes
    assert response["statusCode"] == 200, response["body"]
    document = json.loads(response["body"])
    assert document["openapi"].startswith("3.")
    for path in ("/v1/auth/login", "/v1/me", "/v1/cameras", "/v1/cameras/{camera_id}/frames"):
        assert path in document["paths"]
    assert "/v1/cameras/{camera_id}/frames/{frame_id}" in document["paths"]
    assert not any(path.startswith("/v1/admin") for path in document["paths"])


def test_an_unknown_route_is_a_not_found_error(world):
    # Given a customer
    token = owner_token(world)

    # When they call a path the API does not have
    event = customer_event("viewer/list_cameras.json", token, path="/v1/nothing-here", resource="/{proxy+}", query={})
    response = viewer.lambda_handler(event, LambdaContext())

    # Then it is a SPEC §10 not_found error
    assert_error(response, 404, "not_found")


def test_an_invalid_query_without_a_session_is_unauthorized_not_described(world):
    # Given no valid session, and a query that would fail validation (limit 0)
    # When the frames route is called
    response = list_frames("not-a-token", world.camera_id, limit="0")

    # Then authentication answers first: 401 with the Bearer challenge, not a 422 describing the parameters
    assert_error(response, 401, "unauthorized")
    assert response["multiValueHeaders"]["WWW-Authenticate"] == ['Bearer realm="doti"']
