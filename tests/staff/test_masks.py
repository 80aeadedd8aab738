"""Privacy masks (SPEC §4, §7; Art. 2-4): staff set a camera's polygons, and every frame it sends afterwards is
blacked out in the original and the thumbnail before anything is stored. Without a mask the stored original is the
bytes received."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import cv2
import numpy as np
import pytest

from doti.errors import ValidationError
from doti.ingest import masks
from doti.oversight import audit
from doti.store.models import CameraModel, FrameModel
from functions.ingest import app as ingest
from infra.drawing import draw_frame, encode_jpeg, encode_png
from tests.support import LambdaContext, World, admin_call, assert_error, body_of, frame_event
from tests.support.masks import CENTRE, JPEG_BLOCK, decode, region, set_mask, stored_object
from tests.support.thumbnails import thumbnail_of

WIDTH, HEIGHT = 1280, 720


def image(label: str = "Entrance") -> np.ndarray:
    return draw_frame(WIDTH, HEIGHT, label, datetime(2025, 1, 2, tzinfo=UTC))


def post(world: World, body: bytes, content_type: str = "image/jpeg", frame_id: str | None = None) -> dict:
    captured_at = datetime.now(UTC) - timedelta(seconds=5)
    event = frame_event(world, body, content_type=content_type, captured_at=captured_at, frame_id=frame_id)
    return ingest.lambda_handler(event, LambdaContext())


# the polygons themselves (pure)


def test_valid_polygons_come_back_in_canonical_form_with_a_stable_version():
    # Given a triangle and a rectangle with more decimals than a pixel needs
    polygons = [[[0.1, 0.1], [0.2, 0.1], [0.15, 0.3]], [[0.5, 0.5], [1, 0.5], [1, 1.0], [0.5, 1]]]
    noisy = [[[x - 1e-9, y] for x, y in polygon] for polygon in polygons]

    # When they are validated
    clean = masks.validate_polygons(polygons)

    # Then they come back as floats rounded to 6 decimals, and equal masks have equal versions
    assert clean == [[[0.1, 0.1], [0.2, 0.1], [0.15, 0.3]], [[0.5, 0.5], [1.0, 0.5], [1.0, 1.0], [0.5, 1.0]]]
    assert masks.mask_version(clean) == masks.mask_version(masks.validate_polygons(noisy))
    assert masks.mask_version(clean) != masks.mask_version(clean[:1])
    assert masks.mask_version(masks.validate_polygons([])) is None


TRIANGLE = [[0.1, 0.1], [0.2, 0.1], [0.15, 0.3]]


@pytest.mark.parametrize(
    ("polygons", "field", "problem"),
    [
        pytest.param([TRIANGLE] * 17, "polygons", "at most 16", id="17-polygons"),
        pytest.param([[[0.1, 0.1], [0.2, 0.2]]], "polygons.0", "3 to 64 points", id="2-points"),
        pytest.param([[[i / 100, (i % 2) / 10] for i in range(65)]], "polygons.0", "3 to 64 points", id="65-points"),
        pytest.param([[[0.1, 0.1], [1.2, 0.1], [0.5, 0.5]]], "polygons.0.1", "between 0 and 1", id="x-above-1"),
        pytest.param([[[0.1, -0.01], [0.2, 0.1], [0.5, 0.5]]], "polygons.0.0", "between 0 and 1", id="y-below-0"),
        pytest.param([[[0.1], [0.2, 0.1], [0.5, 0.5]]], "polygons.0.0", "pair", id="not-a-pair"),
        pytest.param([[[0.1, True], [0.2, 0.1], [0.5, 0.5]]], "polygons.0.0", "numbers", id="boolean"),
        pytest.param([[[0.1, "a"], [0.2, 0.1], [0.5, 0.5]]], "polygons.0.0", "numbers", id="text"),
        pytest.param([[[0.1, float("nan")], [0.2, 0.1], [0.5, 0.5]]], "polygons.0.0", "numbers", id="nan"),
        pytest.param([[[0.1, 0.1], [0.2, 0.2], [0.3, 0.3]]], "polygons.0", "no area", id="collinear"),
        pytest.param([TRIANGLE, "x"], "polygons.1", "list of [x, y]", id="polygon-not-a-list"),
    ],
)
def test_invalid_polygons_are_refused_naming_the_polygon_or_point(polygons, field, problem):
    # When a malformed mask is validated
    with pytest.raises(ValidationError) as raised:
        masks.validate_polygons(polygons)

    # Then the 422 names where the problem is and what it is
    assert [(p["field"], problem in p["problem"]) for p in raised.value.details["problems"]] == [(field, True)]


def test_every_bad_point_of_a_mask_is_named_at_once():
    polygons = [[[0.1, 0.1], [2, 0.1], [0.5, 0.5]], [[0.1, 0.1], [0.2, 0.1], [0.5, -1]]]

    with pytest.raises(ValidationError) as raised:
        masks.validate_polygons(polygons)

    assert [p["field"] for p in raised.value.details["problems"]] == ["polygons.0.1", "polygons.1.2"]


# staff set and clear the mask


def test_staff_set_a_mask_which_is_stored_on_the_camera_and_audited(aws, world):
    # When staff set a mask over the middle of the view
    response = set_mask(world, CENTRE)

    # Then the camera shows it with its version, and the contract's audit log says who, what and why
    assert response["statusCode"] == 200, response["body"]
    camera = body_of(response)
    version = masks.mask_version(CENTRE)
    assert (camera["privacy_mask"], camera["mask_version"]) == (CENTRE, version)
    entries, _ = audit.entries(world.contract_id)
    entry = next(e for e in entries if e.action == "camera.privacy_mask_set")
    assert entry.actor.startswith("staff:")
    assert entry.subject == world.camera_id
    assert entry.details == {
        "polygons": CENTRE,
        "mask_version": version,
        "previous_version": None,
        "reason": "neighbour's window",
    }
    assert entry.customer_visible


def test_an_empty_list_clears_the_mask(aws, world):
    set_mask(world, CENTRE)

    response = set_mask(world, [], reason="window bricked up")

    assert response["statusCode"] == 200, response["body"]
    assert (body_of(response)["privacy_mask"], body_of(response)["mask_version"]) == ([], None)
    item = CameraModel.get(world.camera_id)
    assert (item.privacy_mask, item.mask_version) == (None, None)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param({"polygons": [[[0.1, 0.1], [0.2, 0.2]]], "reason": "x"}, "polygons.0", id="too-few-points"),
        pytest.param({"polygons": [[[0.1, 0.1], [1.5, 0.2], [0.3, 0.9]]], "reason": "x"}, "polygons.0.1", id="range"),
        pytest.param({"polygons": [TRIANGLE] * 17, "reason": "x"}, "polygons", id="too-many"),
        pytest.param({"polygons": [TRIANGLE]}, "reason", id="no-reason"),
        pytest.param({"polygons": [[["a", 0.1], [0.2, 0.1], [0.3, 0.3]]], "reason": "x"}, "polygons.0.0.0", id="text"),
    ],
)
def test_an_invalid_mask_is_a_422_and_changes_nothing(aws, world, body, field):
    response = admin_call("PUT", f"/v1/admin/cameras/{world.camera_id}/privacy-mask", world.staff_key, body)

    error = assert_error(response, 422, "validation_error")
    assert field in [p["field"] for p in error["details"]["problems"]]
    assert CameraModel.get(world.camera_id).privacy_mask is None


def test_a_mask_for_an_unknown_camera_is_not_found_and_needs_a_staff_key(aws, world):
    body = {"polygons": CENTRE, "reason": "x"}

    unknown = admin_call("PUT", "/v1/admin/cameras/cam_unknown/privacy-mask", world.staff_key, body)
    keyless = set_mask(world, CENTRE, key="not-a-key")

    assert_error(unknown, 404, "not_found")
    assert_error(keyless, 401, "unauthorized")
    assert CameraModel.get(world.camera_id).privacy_mask is None


# ingest under a mask


@pytest.mark.parametrize(
    ("content_type", "encode", "margin"),
    [("image/jpeg", encode_jpeg, JPEG_BLOCK), ("image/png", encode_png, 0)],
    ids=["jpeg", "png"],
)
def test_a_masked_frame_is_stored_blacked_out_and_so_is_its_rendered_thumbnail(
    aws, world, content_type, encode, margin
):
    # Given a mask over the middle of the view, and a frame with something in the middle
    set_mask(world, CENTRE)
    received = encode(image())

    # When the device posts the frame
    response = post(world, received, content_type)

    # Then what is stored is the re-encoded, masked original in its own format, digested as stored
    assert response["statusCode"] == 201, response["body"]
    frame = body_of(response)
    item = FrameModel.get(world.camera_id, frame["frame_id"])
    original, metadata = stored_object(aws, item.object_key)
    assert original != received
    assert original.startswith(received[:4])  # still a JPEG (or PNG)
    assert item.sha256 == frame["sha256"] == hashlib.sha256(original).hexdigest()
    assert item.size == len(original)
    assert (item.mask_version, metadata["mask-version"]) == (masks.mask_version(CENTRE), masks.mask_version(CENTRE))
    # And the masked pixels are black, the others are not
    stored = decode(original)
    assert stored.shape[:2] == (HEIGHT, WIDTH)
    assert region(stored, 0.25, 0.25, 0.75, 0.75, margin).max() == 0
    assert region(stored, 0, 0, 1, 0.2).mean() > 40
    assert region(stored, 0.8, 0.3, 1, 0.7).mean() > 40
    # And no thumbnail is stored; the one rendered when viewed comes from the masked original
    assert item.thumb_key is None
    thumb = decode(thumbnail_of(item))
    assert thumb.shape[:2] == (180, 320)
    assert region(thumb, 0.25, 0.25, 0.75, 0.75, 8).max() == 0
    assert region(thumb, 0, 0, 1, 0.2).mean() > 40


def test_the_hidden_content_does_not_reach_storage(aws, world):
    # Given a mask, and two frames that differ only under it
    set_mask(world, CENTRE)
    plain, secret = image(), image()
    cv2.rectangle(secret, (WIDTH // 3, HEIGHT // 3), (WIDTH * 2 // 3, HEIGHT * 2 // 3), (255, 255, 255), -1)

    # When both are posted
    stored = []
    for img in (plain, secret):
        response = post(world, encode_png(img), "image/png")
        assert response["statusCode"] == 201, response["body"]
        item = FrameModel.get(world.camera_id, body_of(response)["frame_id"])
        stored.append((stored_object(aws, item.object_key)[0], thumbnail_of(item), item))

    # Then the stored originals and their rendered thumbnails are identical, and the second scores no activity
    assert stored[0][0] == stored[1][0]
    assert stored[0][1] == stored[1][1]
    assert stored[1][2].activity_score == 0


def test_a_masked_frames_replay_matches_the_body_received(aws, world):
    # Given a masked frame stored from these bytes
    set_mask(world, CENTRE)
    received = encode_jpeg(image())
    first = post(world, received, frame_id="cam1-000042")
    assert first["statusCode"] == 201, first["body"]

    # When the device retries the same frame id with the same bytes
    replay = post(world, received, frame_id="cam1-000042")

    # Then it is a replay (200, the same frame), not a conflict: the claim holds the digest of what was received
    assert replay["statusCode"] == 200, replay["body"]
    assert body_of(replay) == body_of(first)


def test_without_a_mask_the_stored_original_is_the_bytes_received(aws, world):
    # Given a camera without a mask (as the demo camera of `make run` is)
    received = encode_jpeg(image())

    response = post(world, received)

    assert response["statusCode"] == 201, response["body"]
    item = FrameModel.get(world.camera_id, body_of(response)["frame_id"])
    original, metadata = stored_object(aws, item.object_key)
    assert original == received
    assert item.sha256 == hashlib.sha256(received).hexdigest()
    assert item.mask_version is None
    assert "mask-version" not in metadata


def test_after_the_mask_is_cleared_frames_are_stored_as_received(aws, world):
    set_mask(world, CENTRE)
    set_mask(world, [], reason="no longer needed")
    received = encode_png(image())

    response = post(world, received, "image/png")

    assert response["statusCode"] == 201, response["body"]
    item = FrameModel.get(world.camera_id, body_of(response)["frame_id"])
    assert stored_object(aws, item.object_key)[0] == received
