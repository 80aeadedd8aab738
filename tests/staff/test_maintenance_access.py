"""Maintenance access to a customer's frames (Art. 10-1): staff name a ticket, get short-lived signed URLs for a
camera's window, and the access is in the customer-visible audit log."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

import pytest

from doti.auth.staff import authenticate_staff
from doti.clock import format_rfc3339, parse_rfc3339, utcnow
from doti.oversight import audit
from doti.store.models import ContractModel
from functions.ingest import app as ingest
from tests.support import LambdaContext, World, admin_call, assert_error, body_of, frame_event
from tests.support.images import jpeg
from tests.support.thumbnails import render


@pytest.fixture
def start() -> datetime:
    return utcnow().replace(microsecond=0) - timedelta(hours=4)


def ingested(world: World, captured_at: datetime) -> dict[str, Any]:
    label = format_rfc3339(captured_at)
    response = ingest.lambda_handler(
        frame_event(world, jpeg(320, 180, label=label), captured_at=captured_at, frame_id=label.replace(":", "-")),
        LambdaContext(),
    )
    assert response["statusCode"] == 201, response["body"]
    return body_of(response)


def access(key: str | None, contract_id: str, body: dict[str, Any]) -> dict[str, Any]:
    return admin_call("POST", f"/v1/admin/contracts/{contract_id}/maintenance-access", key=key, body=body)


def window(world: World, start: datetime, end: datetime, **overrides: Any) -> dict[str, Any]:
    return {
        "camera_id": world.camera_id,
        "from": format_rfc3339(start),
        "to": format_rfc3339(end),
        "ticket": "MNT-2041",
        "reason": "customer reports the camera image freezes",
    } | overrides


def maintenance_entries(contract_id: str) -> list[audit.AuditEntry]:
    entries, _ = audit.entries(contract_id, limit=1000)
    return [entry for entry in entries if entry.action == "maintenance.access"]


def url_query(url: str) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(urlparse(url).query).items()}


# the access


def test_staff_get_the_windows_frames_with_urls_that_expire_with_the_contracts_ttl(world_factory, operator_key, start):
    # Given a contract with 120-second URLs and frames at +0 h, +1 h, +2 h and +3 h
    world = world_factory(signed_url_ttl=120)
    frames = [ingested(world, start + timedelta(hours=hours)) for hours in range(4)]

    # When staff open the window [+1 h, +3 h) under a ticket
    response = access(
        operator_key, world.contract_id, window(world, start + timedelta(hours=1), start + timedelta(hours=3))
    )

    # Then they get the two frames in it, oldest first, each with signed image and thumbnail URLs
    assert response["statusCode"] == 200, response["body"]
    body = body_of(response)
    assert [item["frame_id"] for item in body["items"]] == [frames[1]["frame_id"], frames[2]["frame_id"]]
    assert body["truncated"] is False
    assert body["ticket"] == "MNT-2041"
    assert body["url_ttl_seconds"] == 120
    for item in body["items"]:
        query = url_query(item["image_url"])
        assert query["X-Amz-Algorithm"] == "AWS4-HMAC-SHA256"
        assert query["X-Amz-Expires"] == "120"
        assert f"/frames/{world.contract_id}/{world.camera_id}/" in urlparse(item["image_url"]).path
        # the thumbnail is the renderer's link to the same original, expiring with the image's URL
        link = url_query(item["thumbnail_url"])
        expires = parse_rfc3339(item["url_expires_at"], "url_expires_at")
        assert link["k"].startswith(f"frames/{world.contract_id}/{world.camera_id}/")
        assert unquote(urlparse(item["image_url"]).path).endswith("/" + link["k"])
        assert int(link["e"]) == int(expires.timestamp())
        assert render(item["thumbnail_url"]).status == 200
    assert response["multiValueHeaders"]["Cache-Control"] == ["no-store"]


def test_the_access_is_in_the_customer_visible_audit_log(world, operator_key, start):
    # Given two frames in a window
    frames = [ingested(world, start + timedelta(minutes=minutes)) for minutes in (5, 10)]
    begin, end = start, start + timedelta(hours=1)

    # When staff open the window
    response = access(operator_key, world.contract_id, window(world, begin, end))

    # Then one customer-visible entry names the staff member, the ticket, the camera, the window and the frames
    assert response["statusCode"] == 200, response["body"]
    [entry] = maintenance_entries(world.contract_id)
    assert entry.customer_visible
    assert entry.actor == f"staff:{authenticate_staff(operator_key).staff_id}"
    assert entry.subject == world.camera_id
    assert entry.details == {
        "ticket": "MNT-2041",
        "reason": "customer reports the camera image freezes",
        "camera_id": world.camera_id,
        "from": format_rfc3339(begin),
        "to": format_rfc3339(end),
        "frames": 2,
        "frame_ids": [frame["frame_id"] for frame in frames],
        "url_ttl_seconds": 300,
    }
    assert body_of(response)["audit_seq"] == entry.seq
    visible, _ = audit.entries(world.contract_id, customer_only=True)
    assert entry in visible
    assert audit.verify_chain(world.contract_id).intact


def test_an_empty_window_is_still_logged(world, operator_key, start):
    # Given a camera with no frames in the window
    # When staff open it
    response = access(operator_key, world.contract_id, window(world, start, start + timedelta(minutes=5)))

    # Then there is nothing to see, and the look is logged all the same
    assert body_of(response)["items"] == []
    assert [entry.details["frames"] for entry in maintenance_entries(world.contract_id)] == [0]


def test_a_window_with_more_frames_than_the_limit_is_truncated(world, operator_key, start):
    # Given three frames
    frames = [ingested(world, start + timedelta(minutes=minutes)) for minutes in (1, 2, 3)]

    # When staff open the window with a limit of 2
    response = access(operator_key, world.contract_id, window(world, start, start + timedelta(hours=1), limit=2))

    # Then they get the first two and are told there are more; the log counts what was handed out
    body = body_of(response)
    assert [item["frame_id"] for item in body["items"]] == [frames[0]["frame_id"], frames[1]["frame_id"]]
    assert body["truncated"] is True
    assert maintenance_entries(world.contract_id)[0].details["frames"] == 2


@pytest.mark.parametrize(
    "ticket", ["MNT-1", "INC0012345", "2026/11 panel #7", "abc"], ids=["jira", "servicenow", "free", "three"]
)
def test_a_ticket_is_a_reference_of_at_least_three_characters(world, operator_key, start, ticket):
    # Given a ticket reference in one of the usual shapes
    # When staff open a window with it
    response = access(operator_key, world.contract_id, window(world, start, start + timedelta(hours=1), ticket=ticket))

    # Then it is accepted and logged as given
    assert response["statusCode"] == 200, response["body"]
    assert maintenance_entries(world.contract_id)[0].details["ticket"] == ticket


# refused


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"ticket": None}, "ticket"),
        ({"ticket": ""}, "ticket"),
        ({"ticket": "ab"}, "ticket"),
        ({"ticket": "   "}, "ticket"),
        ({"ticket": "-- see mail"}, "ticket"),
        ({"ticket": "MNT-1\nforged line"}, "ticket"),
        ({"reason": ""}, "reason"),
        ({"reason": "  "}, "reason"),
        ({"from": "yesterday"}, "from"),
        ({"to": "2026-11-25T10:00:00"}, "to"),
        ({"limit": 0}, "limit"),
        ({"limit": 201}, "limit"),
        ({"cursor": "x"}, "cursor"),
    ],
    ids=[
        "no-ticket",
        "empty-ticket",
        "short-ticket",
        "blank-ticket",
        "ticket-not-a-reference",
        "ticket-with-newline",
        "empty-reason",
        "blank-reason",
        "from-not-a-time",
        "to-without-offset",
        "limit-zero",
        "limit-over-200",
        "unknown-field",
    ],
)
def test_an_access_without_a_valid_ticket_reason_or_window_is_refused_and_not_logged(
    world, operator_key, start, overrides, field
):
    # Given a frame in the window
    ingested(world, start + timedelta(minutes=1))
    body = {k: v for k, v in (window(world, start, start + timedelta(hours=1)) | overrides).items() if v is not None}

    # When staff ask with a missing or bad part
    response = access(operator_key, world.contract_id, body)

    # Then it is 422 naming the part, no URL is handed out, and nothing is logged
    error = assert_error(response, 422, "validation_error")
    named = [p["field"] for p in error["details"].get("problems", [])] + [error["details"].get("field", "")]
    assert any(field in name for name in named), error
    assert "X-Amz" not in response["body"]
    assert maintenance_entries(world.contract_id) == []


@pytest.mark.parametrize("gap", [timedelta(0), timedelta(hours=-1)], ids=["empty", "reversed"])
def test_a_window_that_does_not_go_forward_is_refused(world, operator_key, start, gap):
    # Given a window whose end is not after its start
    body = window(world, start, start + gap)

    # When staff ask for it
    response = access(operator_key, world.contract_id, body)

    # Then it is 422 about 'from', and nothing is logged
    assert assert_error(response, 422, "validation_error")["details"]["field"] == "from"
    assert maintenance_entries(world.contract_id) == []


def test_another_contracts_camera_is_not_found_and_nothing_is_logged(world_factory, operator_key, start):
    # Given two tenants, the other with a frame
    tenant, other = world_factory(), world_factory()
    ingested(other, start + timedelta(minutes=1))

    # When staff ask for the other tenant's camera under the first contract
    response = access(operator_key, tenant.contract_id, window(other, start, start + timedelta(hours=1)))

    # Then it is not_found, with no URL, and neither log records an access
    assert_error(response, 404, "not_found")
    assert "X-Amz" not in response["body"]
    assert maintenance_entries(tenant.contract_id) == []
    assert maintenance_entries(other.contract_id) == []


@pytest.mark.parametrize("target", ["contract", "camera"])
def test_an_unknown_contract_or_camera_is_not_found(world, operator_key, start, target):
    # Given a window on something that does not exist
    contract_id = "ctr_doesnotexist00000000" if target == "contract" else world.contract_id
    body = window(world, start, start + timedelta(hours=1))
    if target == "camera":
        body["camera_id"] = "cam_doesnotexist000000000"

    # When staff ask for it
    response = access(operator_key, contract_id, body)

    # Then it is not_found
    assert_error(response, 404, "not_found")


@pytest.mark.parametrize("key", [None, "dsk_" + "A" * 43], ids=["absent", "unknown"])
def test_maintenance_access_needs_a_staff_key(world, start, key):
    # Given a frame
    ingested(world, start + timedelta(minutes=1))

    # When someone without a valid key asks for the window
    response = access(key, world.contract_id, window(world, start, start + timedelta(hours=1)))

    # Then it is 401 with no URL, and nothing is logged
    assert_error(response, 401, "unauthorized")
    assert "X-Amz" not in response["body"]
    assert maintenance_entries(world.contract_id) == []


# contract states


@pytest.mark.parametrize("state", ["pending", "suspended", "cancelling", "terminated"])
def test_maintenance_access_works_in_every_state_that_keeps_data(world, operator_key, start, state):
    # Given a frame, and then the contract in a state where the customer may not view it
    frame = ingested(world, start + timedelta(minutes=1))
    ContractModel.get(world.contract_id).update(actions=[ContractModel.state.set(state)])

    # When staff open the window for maintenance
    response = access(operator_key, world.contract_id, window(world, start, start + timedelta(hours=1)))

    # Then they see the frame, and the access is logged
    assert response["statusCode"] == 200, response["body"]
    assert [item["frame_id"] for item in body_of(response)["items"]] == [frame["frame_id"]]
    assert len(maintenance_entries(world.contract_id)) == 1


def test_a_purged_contract_has_nothing_to_access(world, operator_key, start):
    # Given a purged contract
    ContractModel.get(world.contract_id).update(actions=[ContractModel.state.set("purged")])

    # When staff ask for a window
    response = access(operator_key, world.contract_id, window(world, start, start + timedelta(hours=1)))

    # Then it is 409 naming the state, and nothing is logged
    assert assert_error(response, 409, "conflict")["details"]["state"] == "purged"
    assert maintenance_entries(world.contract_id) == []
