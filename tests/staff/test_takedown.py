"""Takedown of a frame on an Art. 7-1 ground (Art. 7-2): frames come in through the ingest handler, staff take one
down through the admin handler, and the customer sees it gone through the viewer and in the audit log."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from doti.auth.staff import authenticate_staff
from doti.oversight import audit
from doti.store.models import ContractModel
from functions.ingest import app as ingest
from functions.viewer import app as viewer
from infra.provision import Provisioned
from tests.support import (
    LambdaContext,
    World,
    admin_call,
    api_event,
    assert_error,
    body_of,
    customer_event,
    frame_event,
)
from tests.support.images import jpeg
from tests.support.ingest import age_claim
from tests.support.takedown import take_down
from tests.support.thumbnails import give_stored_thumbnail

# Art. 7-1 has nineteen items, ① to ⑲
GROUNDS = [f"art7-1-{item}" for item in range(1, 20)]


def ingested(world: World, label: str, minutes_ago: int = 10) -> dict[str, Any]:
    captured_at = datetime.now(UTC) - timedelta(minutes=minutes_ago)
    response = ingest.lambda_handler(
        frame_event(world, jpeg(320, 180, label=label), captured_at=captured_at, frame_id=label), LambdaContext()
    )
    assert response["statusCode"] == 201, response["body"]
    return body_of(response)


def request(world: World, frame: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    return {
        "camera_id": world.camera_id,
        "frame_id": frame["frame_id"],
        "ground": "art7-1-3",
        "reason": "the frame shows a neighbour's window",
    } | overrides


def stored_keys(aws: Provisioned, contract_id: str) -> set[str]:
    s3 = boto3.client("s3", region_name="us-east-1")
    keys: set[str] = set()
    for prefix in (f"frames/{contract_id}/", f"thumbs/{contract_id}/"):
        listed = s3.list_objects_v2(Bucket=aws.refs["FramesBucket"], Prefix=prefix)
        keys.update(entry["Key"] for entry in listed.get("Contents", []))
    return keys


def frame_ids_of_keys(keys: set[str]) -> set[str]:
    return {key.rsplit("/", 1)[-1].split(".")[0] for key in keys}


def customer_token(world: World) -> str:
    login = viewer.lambda_handler(
        api_event("viewer/login.json", body=json.dumps({"login_id": world.login_id, "password": world.password})),
        LambdaContext(),
    )
    return body_of(login)["token"]


def customer_frame(world: World, frame_id: str) -> dict[str, Any]:
    """One frame as the customer asks for it, through the viewer."""
    event = customer_event(
        "viewer/list_frames.json",
        customer_token(world),
        path=f"/v1/cameras/{world.camera_id}/frames/{frame_id}",
        resource="/v1/cameras/{camera_id}/frames/{frame_id}",
        path_parameters={"camera_id": world.camera_id, "frame_id": frame_id},
        query={},
    )
    return viewer.lambda_handler(event, LambdaContext())


def customer_frames(world: World) -> list[str]:
    """The frame ids the customer sees on the camera, through the viewer."""
    token = customer_token(world)
    path = f"/v1/cameras/{world.camera_id}/frames"
    response = viewer.lambda_handler(
        customer_event(
            "viewer/list_frames.json",
            token,
            path=path,
            resource="/v1/cameras/{camera_id}/frames",
            path_parameters={"camera_id": world.camera_id},
            query={},
        ),
        LambdaContext(),
    )
    assert response["statusCode"] == 200, response["body"]
    return [item["frame_id"] for item in body_of(response)["items"]]


def audit_actions(contract_id: str) -> list[str]:
    entries, _ = audit.entries(contract_id, limit=1000)
    return [entry.action for entry in entries]


# taking a frame down


def test_a_frame_taken_down_is_gone_from_storage_the_index_and_the_viewer(aws, world, operator_key):
    # Given two frames of the customer's camera, the offending one with a stored thumbnail (as frames stored before
    # thumbnails were rendered when viewed are)
    kept, offending = ingested(world, "kept", 20), ingested(world, "offending", 10)
    _, thumbnail = give_stored_thumbnail(world.camera_id, offending["frame_id"])
    assert frame_ids_of_keys(stored_keys(aws, world.contract_id)) == {kept["frame_id"], offending["frame_id"]}

    # When staff take one down on the ground of Art. 7-1-3
    response = take_down(operator_key, world.contract_id, **request(world, offending))

    # Then the record says what went, on which ground, why, by whom
    assert response["statusCode"] == 200, response["body"]
    record = body_of(response)
    staff_id = authenticate_staff(operator_key).staff_id
    assert record["contract_id"] == world.contract_id
    assert record["camera_id"] == world.camera_id
    assert record["frame_id"] == offending["frame_id"]
    assert record["captured_at"] == offending["captured_at"]
    assert record["ground"] == "art7-1-3"
    assert record["reason"] == "the frame shows a neighbour's window"
    assert record["taken_down_by"] == f"staff:{staff_id}"
    assert record["bytes_deleted"] == offending["size"] + len(thumbnail)  # the original and its stored thumbnail
    # and its original and thumbnail are deleted, the other frame untouched
    assert frame_ids_of_keys(stored_keys(aws, world.contract_id)) == {kept["frame_id"]}
    # and the customer no longer sees it, listed or by id
    assert customer_frames(world) == [kept["frame_id"]]
    assert_error(customer_frame(world, offending["frame_id"]), 404, "not_found")
    assert customer_frame(world, kept["frame_id"])["statusCode"] == 200


def test_a_taken_down_frame_is_not_stored_again_by_the_devices_replay(aws, world, operator_key):
    # Given a frame taken down (its claim stays in progress while stored: the takedown marks it, doti.store.claims)
    offending = ingested(world, "replayed", 10)
    assert take_down(operator_key, world.contract_id, **request(world, offending))["statusCode"] == 200

    # When the device replays it, long after (its claim would otherwise read as a request that stopped)
    age_claim(aws, world, "replayed", by=timedelta(minutes=10))
    captured_at = datetime.now(UTC) - timedelta(minutes=10)
    replay = ingest.lambda_handler(
        frame_event(world, jpeg(320, 180, label="replayed"), captured_at=captured_at, frame_id="replayed"),
        LambdaContext(),
    )

    # Then it is refused as a frame id already used, and nothing is stored again
    assert_error(replay, 409, "conflict")
    assert frame_ids_of_keys(stored_keys(aws, world.contract_id)) == set()
    assert customer_frames(world) == []


def test_the_takedown_is_in_the_customers_audit_log_with_its_ground(world, operator_key):
    # Given a frame
    frame = ingested(world, "offending")

    # When staff take it down on the ground of Art. 7-1-5
    take_down(operator_key, world.contract_id, **request(world, frame, ground="art7-1-5", reason="obscene"))

    # Then one customer-visible entry records the frame, the ground and the reason, and the chain holds
    entries, _ = audit.entries(world.contract_id, customer_only=True)
    taken = [entry for entry in entries if entry.action == "frame.taken_down"]
    assert len(taken) == 1
    entry = taken[0]
    assert entry.customer_visible
    assert entry.subject == frame["frame_id"]
    assert entry.actor == f"staff:{authenticate_staff(operator_key).staff_id}"
    assert entry.details["ground"] == "art7-1-5"
    assert entry.details["reason"] == "obscene"
    assert entry.details["camera_id"] == world.camera_id
    assert entry.details["captured_at"] == frame["captured_at"]
    assert audit.verify_chain(world.contract_id).intact


@pytest.mark.parametrize("ground", [GROUNDS[0], GROUNDS[10], GROUNDS[-1]])
def test_every_item_of_article_7_1_is_a_ground(world, operator_key, ground):
    # Given a frame
    frame = ingested(world, f"frame-{ground}")

    # When staff take it down on the first, the eleventh or the last item of Art. 7-1
    response = take_down(operator_key, world.contract_id, **request(world, frame, ground=ground))

    # Then it is accepted
    assert response["statusCode"] == 200, response["body"]
    assert body_of(response)["ground"] == ground


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"ground": "art7-1-20"}, "ground"),
        ({"ground": "art7-1-0"}, "ground"),
        ({"ground": "art7-2"}, "ground"),
        ({"ground": "ART7-1-1"}, "ground"),
        ({"ground": "art12-1-2"}, "ground"),
        ({"reason": ""}, "reason"),
        ({"reason": "   "}, "reason"),
        ({"note_id": "note-1"}, "note_id"),  # a note id besides the frame id: a takedown names one item
    ],
    ids=["item-20", "item-0", "article-7-2", "upper-case", "article-12", "empty-reason", "blank-reason", "note"],
)
def test_a_takedown_without_a_valid_ground_or_reason_is_refused(aws, world, operator_key, overrides, field):
    # Given a frame
    frame = ingested(world, "frame")

    # When staff ask for its takedown with a ground outside Art. 7-1, no reason, or a note id besides the frame id
    response = take_down(operator_key, world.contract_id, **request(world, frame, **overrides))

    # Then it is 422 naming the field (and the allowed grounds), and the frame stays
    error = assert_error(response, 422, "validation_error")
    problems = error["details"].get("problems", [error["details"]])
    assert any(field in problem.get("field", "") for problem in problems), error
    if field == "ground":
        assert error["details"]["allowed"] == GROUNDS
    assert frame_ids_of_keys(stored_keys(aws, world.contract_id)) == {frame["frame_id"]}
    assert "frame.taken_down" not in audit_actions(world.contract_id)


# what staff may not reach


def test_another_contracts_frame_is_not_found_and_untouched(aws, world_factory, operator_key):
    # Given two tenants with a frame each
    tenant, other = world_factory(), world_factory()
    theirs = ingested(other, "theirs")

    # When staff name the other tenant's camera and frame under the first contract
    response = take_down(operator_key, tenant.contract_id, **request(other, theirs))

    # Then it is not_found, naming nothing of the other tenant, and both logs are silent
    assert_error(response, 404, "not_found")
    assert other.camera_id not in response["body"]
    assert frame_ids_of_keys(stored_keys(aws, other.contract_id)) == {theirs["frame_id"]}
    assert audit_actions(tenant.contract_id) == []
    assert audit_actions(other.contract_id) == []


def test_a_frame_named_under_another_camera_of_the_contract_is_not_found(aws, world, operator_key):
    # Given a frame on the world's camera, and a second camera at the same site
    frame = ingested(world, "frame")
    consent = {"consented_by": "A", "consented_at": "2025-01-01T00:00:00Z", "evidence_ref": "E-1"}
    second = admin_call(
        "POST",
        f"/v1/admin/contracts/{world.contract_id}/cameras",
        key=operator_key,
        body={
            "site_id": world.site_id,
            "name": "Yard",
            "consents": dict.fromkeys(("building_manager", "security_contract_holder", "camera_owner"), consent),
        },
    )
    second_camera = body_of(second)["camera_id"]

    # When staff name the frame under the second camera
    response = take_down(operator_key, world.contract_id, **request(world, frame, camera_id=second_camera))

    # Then it is not_found and the frame stays
    assert_error(response, 404, "not_found")
    assert frame_ids_of_keys(stored_keys(aws, world.contract_id)) == {frame["frame_id"]}


@pytest.mark.parametrize(
    "target",
    ["unknown-contract", "unknown-camera", "unknown-frame", "malformed-frame-id"],
)
def test_unknown_contracts_cameras_and_frames_are_not_found(aws, world, operator_key, target):
    # Given a frame
    frame = ingested(world, "frame")
    contract_id = "ctr_doesnotexist00000000" if target == "unknown-contract" else world.contract_id
    overrides = {
        "unknown-camera": {"camera_id": "cam_doesnotexist000000000"},
        "unknown-frame": {"frame_id": "0" * 26},
        "malformed-frame-id": {"frame_id": "../../etc"},
    }.get(target, {})

    # When staff take down something that does not exist
    response = take_down(operator_key, contract_id, **request(world, frame, **overrides))

    # Then it is not_found and the frame stays
    assert_error(response, 404, "not_found")
    assert frame_ids_of_keys(stored_keys(aws, world.contract_id)) == {frame["frame_id"]}


def test_taking_down_the_same_frame_twice_finds_nothing_the_second_time(world, operator_key):
    # Given a frame already taken down
    frame = ingested(world, "frame")
    assert take_down(operator_key, world.contract_id, **request(world, frame))["statusCode"] == 200

    # When staff repeat the takedown
    again = take_down(operator_key, world.contract_id, **request(world, frame))

    # Then it is not_found, and the log holds one takedown
    assert_error(again, 404, "not_found")
    assert audit_actions(world.contract_id).count("frame.taken_down") == 1


@pytest.mark.parametrize("key", [None, "dsk_" + "A" * 43], ids=["absent", "unknown"])
def test_a_takedown_needs_a_staff_key(aws, world, key):
    # Given a frame
    frame = ingested(world, "frame")

    # When someone without a valid key asks for its takedown
    response = take_down(key, world.contract_id, **request(world, frame))

    # Then it is 401 and the frame stays
    assert_error(response, 401, "unauthorized")
    assert frame_ids_of_keys(stored_keys(aws, world.contract_id)) == {frame["frame_id"]}


@pytest.mark.parametrize("state", ["suspended", "terminated"])
def test_a_frame_of_a_suspended_or_terminated_contract_can_be_taken_down(aws, world, operator_key, state):
    # Given a frame, and the contract then suspended or terminated (its data kept)
    frame = ingested(world, "frame")
    ContractModel.get(world.contract_id).update(actions=[ContractModel.state.set(state)])

    # When staff take the frame down
    response = take_down(operator_key, world.contract_id, **request(world, frame))

    # Then it goes
    assert response["statusCode"] == 200, response["body"]
    assert stored_keys(aws, world.contract_id) == set()


def test_a_takedown_stopped_after_the_objects_went_is_finished_by_repeating_it(aws, world, operator_key):
    # Given a frame whose objects are gone but whose index item remains (a takedown stopped half-way)
    frame = ingested(world, "frame")
    s3 = boto3.client("s3", region_name="us-east-1")
    for key in stored_keys(aws, world.contract_id):
        s3.delete_object(Bucket=aws.refs["FramesBucket"], Key=key)
    assert customer_frames(world) == [frame["frame_id"]]

    # When staff repeat the takedown
    response = take_down(operator_key, world.contract_id, **request(world, frame))

    # Then it completes: the index item goes too, and it is audited once
    assert response["statusCode"] == 200, response["body"]
    assert customer_frames(world) == []
    assert audit_actions(world.contract_id).count("frame.taken_down") == 1
