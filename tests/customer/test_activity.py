"""Activity scores (SPEC §4, §12): each frame is scored against the camera's previous one, and
`GET /v1/cameras/{id}/frames?activity=true` lists only the frames at or above the camera's threshold.

The frames are drawn: a static scene (its timestamp overlay ticking), then a dark box entering and moving, then
standing still. They go in through the device route and are read back through the customer route.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import cv2
import pytest

from doti.ingest import activity
from doti.oversight import audit
from doti.store import frames as frame_store
from doti.store.models import CameraModel, FrameModel
from functions.ingest import app as ingest
from infra.drawing import draw_frame, encode_jpeg
from tests.support import LambdaContext, World, admin_call, assert_error, body_of, frame_event
from tests.support.viewer import list_frames, listed, owner_token

WIDTH, HEIGHT = 640, 360
START = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)


def scene(second: int, box_x: int | None = None) -> bytes:
    """The entrance at START + second, with a dark box (a person, say) whose left edge is at box_x."""
    img = draw_frame(WIDTH, HEIGHT, "Entrance", START + timedelta(seconds=second))
    if box_x is not None:
        cv2.rectangle(img, (box_x, HEIGHT // 3), (box_x + WIDTH // 8, HEIGHT - 10), (20, 20, 20), -1)
    return encode_jpeg(img)


# (second, box position): four static frames, the box enters, moves, then stands still twice
SEQUENCE: list[tuple[int, int | None]] = [
    (0, None),
    (1, None),
    (2, None),
    (3, None),
    (4, 60),
    (5, 200),
    (6, 200),
    (7, 200),
]
ENTERS, MOVES = 4, 5  # the indexes of the frames with activity


def post(world: World, second: int, body: bytes) -> dict[str, Any]:
    event = frame_event(world, body, captured_at=START + timedelta(seconds=second))
    response = ingest.lambda_handler(event, LambdaContext())
    assert response["statusCode"] == 201, response["body"]
    return body_of(response)


def post_sequence(world: World, offset: int = 0) -> list[str]:
    return [post(world, offset + second, scene(offset + second, box))["frame_id"] for second, box in SEQUENCE]


def set_threshold(world: World, threshold: Any, key: str | None = None) -> dict[str, Any]:
    return admin_call(
        "PUT",
        f"/v1/admin/cameras/{world.camera_id}/activity-threshold",
        key or world.staff_key,
        {"threshold": threshold, "reason": "too many alerts from the trees"},
    )


def all_pages(token: str, camera_id: str, **query: str) -> tuple[list[str], int]:
    """Every frame id of a listing, following cursors; and how many requests it took."""
    ids: list[str] = []
    requests = 0
    cursor: str | None = None
    while True:
        page = listed(token, camera_id, **query, **({"cursor": cursor} if cursor else {}))
        requests += 1
        ids += [item["frame_id"] for item in page["items"]]
        cursor = page.get("cursor")
        if not cursor:
            return ids, requests


# scores


def test_scores_compare_signatures_on_a_0_to_100_scale():
    black, white, grey = bytes(192), bytes([255]) * 192, bytes([51]) * 192

    assert activity.score(black, black) == 0
    assert activity.score(black, white) == 100
    assert activity.score(black, grey) == 20
    assert activity.score(None, grey) is None  # a camera's first frame: nothing to compare with
    assert activity.score(bytes(48), grey) is None  # a signature of another size is not compared


def test_each_frame_is_scored_against_the_previous_and_only_movement_scores_high(aws, world):
    # When the drawn sequence is posted through the device route
    frame_ids = post_sequence(world)

    # Then the first frame has no score, the static ones (timestamp ticking) score under 1, and the box scores
    scores = [FrameModel.get(world.camera_id, frame_id).activity_score for frame_id in frame_ids]
    assert scores[0] is None
    assert all(score < 1 for i, score in enumerate(scores[1:], start=1) if i not in (ENTERS, MOVES))
    assert min(scores[ENTERS], scores[MOVES]) >= activity.DEFAULT_THRESHOLD
    # And the camera keeps the newest frame's signature with its pointer
    camera = CameraModel.get(world.camera_id)
    assert camera.last_frame_id == frame_ids[-1]
    assert len(camera.last_signature) == 16 * 12


def test_the_customer_listing_with_activity_true_shows_only_the_frames_with_activity(aws, world):
    # Given the drawn sequence
    frame_ids = post_sequence(world)
    token = owner_token(world)

    # When the owner lists the camera's frames, with and without the filter
    everything = listed(token, world.camera_id, order="oldest")
    active = listed(token, world.camera_id, order="oldest", activity="true")

    # Then the filter keeps the box entering and moving, each with its score
    assert [item["frame_id"] for item in everything["items"]] == frame_ids
    assert [item["frame_id"] for item in active["items"]] == [frame_ids[ENTERS], frame_ids[MOVES]]
    assert all(item["activity_score"] >= activity.DEFAULT_THRESHOLD for item in active["items"])
    assert everything["items"][0]["activity_score"] is None
    assert "cursor" not in active
    # And newest first and a time window apply to the filtered listing too
    newest = listed(token, world.camera_id, activity="true")
    assert [item["frame_id"] for item in newest["items"]] == [frame_ids[MOVES], frame_ids[ENTERS]]
    window = {"from": (START + timedelta(seconds=5)).isoformat(), "to": (START + timedelta(seconds=9)).isoformat()}
    assert [i["frame_id"] for i in listed(token, world.camera_id, activity="true", **window)["items"]] == [
        frame_ids[MOVES]
    ]


def test_filtered_pages_fill_across_dynamodb_pages_and_cursors_reach_every_active_frame(aws, world):
    # Given the sequence twice over: five frames with activity among sixteen (the box leaves between the two)
    first = post_sequence(world)
    second = post_sequence(world, offset=30)
    token = owner_token(world)
    expected = [first[ENTERS], first[MOVES], second[0], second[ENTERS], second[MOVES]]

    # When the owner pages through the filtered listing two at a time
    page = listed(token, world.camera_id, order="oldest", activity="true", limit="2")
    ids, _ = all_pages(token, world.camera_id, order="oldest", activity="true", limit="2")

    # Then the first page is full although the frames before it scored nothing, and the pages together are all five
    assert [item["frame_id"] for item in page["items"]] == expected[:2]
    assert page["cursor"]
    assert ids == expected


def test_a_long_quiet_stretch_answers_a_short_page_with_a_cursor(aws, world, monkeypatch):
    # Given a read budget of 3 items per request (2000 in production) and the drawn sequence
    monkeypatch.setattr(frame_store, "MAX_EXAMINED", 3)
    monkeypatch.setattr(frame_store, "FILTERED_PAGE_SIZE", 1)
    frame_ids = post_sequence(world)
    token = owner_token(world)

    # When the owner asks for active frames
    first = listed(token, world.camera_id, order="oldest", activity="true", limit="1")
    ids, requests = all_pages(token, world.camera_id, order="oldest", activity="true", limit="1")

    # Then the first answer is empty but has a cursor, and following it finds exactly the active frames
    assert first["items"] == []
    assert first["cursor"]
    assert ids == [frame_ids[ENTERS], frame_ids[MOVES]]
    assert requests > 1


def test_a_late_frame_is_scored_but_never_moves_the_cameras_signature_back(aws, world):
    # Given the box standing at 200 in the newest frame
    post(world, 10, scene(10, 200))
    newest = post(world, 11, scene(11, 200))["frame_id"]

    # When a frame captured earlier, without the box, arrives late, and then a new frame with the box
    late = post(world, 5, scene(5))["frame_id"]
    after = post(world, 12, scene(12, 200))["frame_id"]

    # Then the late frame is scored against the newest (the box is gone in it), and the next frame against the newest
    # again, not against the late one
    assert FrameModel.get(world.camera_id, late).activity_score >= activity.DEFAULT_THRESHOLD
    assert FrameModel.get(world.camera_id, after).activity_score < 1
    assert CameraModel.get(world.camera_id).last_frame_id == after > newest


# the threshold


def test_staff_raise_the_threshold_and_the_listing_follows(aws, world):
    # Given the sequence, where entering scores less than moving
    frame_ids = post_sequence(world)
    scores = {i: FrameModel.get(world.camera_id, frame_ids[i]).activity_score for i in (ENTERS, MOVES)}
    assert scores[ENTERS] < scores[MOVES]
    between = round((scores[ENTERS] + scores[MOVES]) / 2, 2)

    # When staff set the camera's threshold between the two
    response = set_threshold(world, between)

    # Then the camera shows it, it is audited, and only the bigger movement is listed as activity
    assert response["statusCode"] == 200, response["body"]
    assert body_of(response)["activity_threshold"] == between
    token = owner_token(world)
    assert [i["frame_id"] for i in listed(token, world.camera_id, activity="true")["items"]] == [frame_ids[MOVES]]
    entries, _ = audit.entries(world.contract_id)
    entry = next(e for e in entries if e.action == "camera.activity_threshold_set")
    assert entry.details == {"threshold": between, "previous": None, "reason": "too many alerts from the trees"}
    # And a threshold of 0 lists every frame that has a score
    set_threshold(world, 0)
    assert len(listed(token, world.camera_id, activity="true")["items"]) == len(frame_ids) - 1


@pytest.mark.parametrize("threshold", [-1, 100.5, "high"])
def test_a_threshold_outside_0_to_100_is_a_422_and_changes_nothing(aws, world, threshold):
    response = set_threshold(world, threshold)

    assert_error(response, 422, "validation_error")
    assert CameraModel.get(world.camera_id).activity_threshold is None


def test_a_threshold_for_an_unknown_camera_is_not_found_and_needs_a_staff_key(aws, world):
    body = {"threshold": 5}

    unknown = admin_call("PUT", "/v1/admin/cameras/cam_unknown/activity-threshold", world.staff_key, body)
    keyless = set_threshold(world, 5, key="not-a-key")

    assert_error(unknown, 404, "not_found")
    assert_error(keyless, 401, "unauthorized")


# tenant isolation


def test_another_contracts_camera_is_not_found_with_the_activity_filter(aws, world_factory):
    # Given two tenants, the first with frames
    mine, theirs = world_factory(), world_factory()
    post_sequence(mine)

    # When the second tenant's owner asks for the first tenant's active frames
    response = list_frames(owner_token(theirs), mine.camera_id, activity="true")

    # Then it is not found, exactly as an unknown camera
    assert_error(response, 404, "not_found")
