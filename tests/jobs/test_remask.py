"""Re-mask (Art. 2-4): staff black a camera's already-stored frames out under its privacy mask, in place.

Frames go in through the device route before the mask exists; staff set the mask and start the job through the admin
handler, which queues its first message; the remask handler runs each queued message as SQS delivers it, with a
Lambda context whose remaining time runs down, so a slice stops and queues the next one.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

import boto3
import cv2
import numpy as np
import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

from doti import runtime
from doti.ingest import imaging, masks
from doti.jobs.remask.slices import RESERVE_MS
from doti.oversight import audit
from doti.store.models import FrameModel
from functions.remask import app as remask_fn
from infra.drawing import draw_frame, encode_jpeg, encode_png
from infra.provision import Provisioned
from infra.template import functions, load_template
from tests.support import LambdaContext, World, admin_call, assert_error, body_of
from tests.support.masks import CENTRE, JPEG_BLOCK, decode, region, set_mask, stored_object
from tests.support.processor import receive, upload
from tests.support.processor import run as run_processor
from tests.support.remask import (
    SLICE_MS,
    START,
    RunningDownContext,
    index_item,
    job_status,
    post,
    queued,
    sqs_event,
    start,
)
from tests.support.thumbnails import give_stored_thumbnail, thumbnail_of
from tests.support.video import clip, decode_all
from tests.support.viewer import listed, owner_token

# Isolated (moto emptied before each test): the re-mask queue is drained whole.
pytestmark = pytest.mark.isolated


def stored_frames(world: World, count: int) -> list[dict[str, Any]]:
    """`count` frames stored before any mask, the third one a PNG, the second one with a stored thumbnail (as a frame
    stored before thumbnails were rendered when viewed)."""
    frames = [post(world, second, "image/png" if second == 2 else "image/jpeg") for second in range(count)]
    if count > 1:
        give_stored_thumbnail(world.camera_id, frames[1]["frame_id"])
    return frames


def deliver(body: str, context: LambdaContext | None = None) -> dict[str, Any]:
    return remask_fn.lambda_handler(sqs_event(body), context or RunningDownContext())


def drain(aws: Provisioned, limit: int = 20, start_ms: float = SLICE_MS, step_ms: float = 10_000) -> int:
    """Deliver queued messages until none is left; returns how many were delivered."""
    delivered = 0
    while bodies := queued(aws):
        for body in bodies:
            assert deliver(body, RunningDownContext(start_ms, step_ms)) == {"batchItemFailures": []}
            delivered += 1
        assert delivered <= limit, "the job does not end"
    return delivered


def remask_entries(world: World) -> list[audit.AuditEntry]:
    entries, _ = audit.entries(world.contract_id, limit=500)
    return [e for e in reversed(entries) if e.action == "frame.remasked"]


def snapshot(aws: Provisioned, world: World, frame_ids: list[str]) -> dict[str, Any]:
    """Index items and stored bytes of the frames, to compare before and after."""
    state = {}
    for frame_id in frame_ids:
        item = index_item(world, frame_id)
        state[frame_id] = (item.attribute_values, stored_object(aws, item.object_key)[0], thumbnail_of(item))
    return state


def tags(aws: Provisioned, key: str) -> dict[str, str]:
    s3 = boto3.client("s3", region_name="us-east-1")
    tag_set = s3.get_object_tagging(Bucket=aws.refs["FramesBucket"], Key=key)["TagSet"]
    return {tag["Key"]: tag["Value"] for tag in tag_set}


def assert_masked(aws: Provisioned, item: FrameModel) -> None:
    original, metadata = stored_object(aws, item.object_key)
    margin = JPEG_BLOCK if item.content_type == "image/jpeg" else 0
    assert region(decode(original), 0.25, 0.25, 0.75, 0.75, margin).max() == 0
    assert region(decode(original), 0, 0, 1, 0.2).mean() > 40
    # the stored thumbnail rewritten, or the one rendered from the masked original
    assert region(decode(thumbnail_of(item)), 0.25, 0.25, 0.75, 0.75, 8).max() == 0
    assert metadata["mask-version"] == item.mask_version


# the job, end to end


def test_a_remask_rewrites_every_stored_frame_in_place_in_slices_and_audits_each_digest(aws, world):
    # Given five frames stored before any mask, and staff then setting one
    frames = stored_frames(world, 5)
    ids = [f["frame_id"] for f in frames]
    before = {frame_id: index_item(world, frame_id) for frame_id in ids}
    set_mask(world, CENTRE)

    # When staff start a re-mask
    response = start(world)

    # Then it is accepted as a queued job, audited, with its first message on the queue
    assert response["statusCode"] == 202, response["body"]
    job = body_of(response)
    assert (job["status"], job["frames_done"], job["cursor"]) == ("queued", 0, None)
    assert job["mask_version"] == masks.mask_version(CENTRE)
    entries, _ = audit.entries(world.contract_id)
    assert "camera.remask_started" in [e.action for e in entries]
    (first,) = queued(aws)
    assert json.loads(first) == {"job_id": job["job_id"]}

    # When the first slice runs out of time part-way
    assert deliver(first) == {"batchItemFailures": []}

    # Then the job reports its progress and queued the next slice
    progress = job_status(world, job["job_id"])
    assert progress["status"] == "running"
    assert 0 < progress["frames_done"] < len(ids)
    assert progress["cursor"] == ids[progress["frames_done"] - 1]
    assert progress["frames_masked"] == progress["frames_done"]

    # When the following slices run
    assert drain(aws) >= 1

    # Then the job completed with every frame masked
    done = job_status(world, job["job_id"])
    assert (done["status"], done["frames_masked"], done["frames_failed"], done["cursor"]) == (
        "completed",
        5,
        0,
        ids[-1],
    )
    assert done["slices"] >= 2
    assert done["finished_at"]
    for frame_id in ids:
        old, item = before[frame_id], index_item(world, frame_id)
        # same frame, capture time, keys and retention tag; new digest of the stored bytes
        assert (item.frame_id, item.captured_at, item.object_key, item.thumb_key, item.content_type) == (
            old.frame_id,
            old.captured_at,
            old.object_key,
            old.thumb_key,
            old.content_type,
        )
        assert tags(aws, item.object_key) == {"doti-retention": "d31"}
        if item.thumb_key:  # the second frame's, stored before thumbnails were rendered when viewed
            assert tags(aws, item.thumb_key) == {"doti-retention": "d31"}
            assert item.thumb_size == len(stored_object(aws, item.thumb_key)[0])
        assert (item.thumb_key is not None) == (frame_id == ids[1])
        stored = stored_object(aws, item.object_key)[0]
        assert item.sha256 == hashlib.sha256(stored).hexdigest() != old.sha256
        assert item.size == len(stored)
        assert item.mask_version == masks.mask_version(CENTRE)
        assert_masked(aws, item)
    # And the audit log holds, for each frame once, the old and the new digest
    digests = [(e.subject, e.details["old_sha256"], e.details["new_sha256"]) for e in remask_entries(world)]
    assert digests == [(f, before[f].sha256, index_item(world, f).sha256) for f in ids]
    finished = next(e for e in audit.entries(world.contract_id)[0] if e.action == "camera.remask_finished")
    assert (finished.details["frames_masked"], finished.details["status"]) == (5, "completed")


def test_the_customer_sees_the_masked_frame_with_its_new_digest(aws, world):
    frames = stored_frames(world, 2)
    set_mask(world, CENTRE)
    start(world)
    drain(aws)

    items = listed(owner_token(world), world.camera_id, order="oldest")["items"]

    assert [i["frame_id"] for i in items] == [f["frame_id"] for f in frames]
    assert [i["sha256"] for i in items] == [index_item(world, f["frame_id"]).sha256 for f in frames]
    assert all(i["sha256"] != f["sha256"] for i, f in zip(items, frames, strict=True))


# clips (large uploads): masked through the processor's clip pipeline


def stored_clip(aws: Provisioned, world: World) -> str:
    """A 2 s clip (20 frames, 320x240) uploaded and processed before any mask; returns its frame id."""
    upload(aws, world, clip(2.0, 10, 320, 240), "video/mp4")
    assert run_processor(aws, receive(aws)) == {"batchItemFailures": []}
    (item,) = [i for i in FrameModel.query(world.camera_id) if i.content_type == "video/mp4"]
    return item.frame_id


def assert_blacked_out(image: np.ndarray) -> None:
    """Black under CENTRE, away from the edge a lossy codec blurs; the picture around it kept."""
    assert int(region(image, 0.25, 0.25, 0.75, 0.75, 8).max()) <= 16
    assert region(image, 0, 0, 1, 0.2).mean() > 40


def test_a_stored_clip_is_reencoded_masked_in_place_with_its_poster(aws, world):
    # Given a still and a clip stored before any mask, and staff then setting one
    still_id = post(world, 0)["frame_id"]
    clip_id = stored_clip(aws, world)
    old = index_item(world, clip_id)
    set_mask(world, CENTRE)

    # When a re-mask runs to the end, with time enough for the clip
    job_id = body_of(start(world))["job_id"]
    drain(aws, start_ms=600_000)

    # Then both frames were masked
    done = job_status(world, job_id)
    assert (done["status"], done["frames_masked"], done["frames_failed"]) == ("completed", 2, 0)
    # And every frame of the stored clip, and its poster thumbnail, is black under the mask
    item = index_item(world, clip_id)
    data, metadata = stored_object(aws, item.object_key)
    frames = decode_all(data)
    assert len(frames) == old.frame_count == item.frame_count == 20
    for frame in frames:
        assert frame.shape[:2] == (240, 320)
        assert_blacked_out(frame)
    thumb = stored_object(aws, item.thumb_key)[0]
    assert_blacked_out(decode(thumb))
    assert metadata["mask-version"] == masks.mask_version(CENTRE)
    # And the clip kept its keys, type, capture time, frame id and retention tag; the index has the new digest
    assert (item.frame_id, item.captured_at, item.object_key, item.thumb_key, item.content_type) == (
        old.frame_id,
        old.captured_at,
        old.object_key,
        old.thumb_key,
        "video/mp4",
    )
    assert tags(aws, item.object_key) == tags(aws, item.thumb_key) == {"doti-retention": "d31"}
    assert (item.sha256, item.size) == (hashlib.sha256(data).hexdigest(), len(data))
    assert item.sha256 != old.sha256
    assert (item.thumb_size, item.mask_version) == (len(thumb), masks.mask_version(CENTRE))
    # And the audit log holds the clip's old and new digest, after the still's
    digests = [(e.subject, e.details["old_sha256"], e.details["new_sha256"]) for e in remask_entries(world)]
    assert digests[0][0] == still_id
    assert digests[1:] == [(clip_id, old.sha256, item.sha256)]


def test_remasking_a_masked_clip_again_changes_nothing(aws, world):
    # Given a clip a completed re-mask blacked out
    clip_id = stored_clip(aws, world)
    set_mask(world, CENTRE)
    first_job = body_of(start(world))["job_id"]
    drain(aws, start_ms=600_000)
    state, entries = snapshot(aws, world, [clip_id]), remask_entries(world)

    # When its message is delivered again, and staff start a second re-mask under the same mask
    assert deliver(json.dumps({"job_id": first_job}), RunningDownContext(600_000)) == {"batchItemFailures": []}
    second_job = body_of(start(world))["job_id"]
    drain(aws, start_ms=600_000)

    # Then the second job skipped the clip, and no object, index item or per-frame audit entry changed
    done = job_status(world, second_job)
    assert (done["status"], done["frames_masked"], done["frames_skipped"]) == ("completed", 0, 1)
    assert snapshot(aws, world, [clip_id]) == state
    assert remask_entries(world) == entries


class ShortOfTimeContext(LambdaContext):
    """A slice that starts with plenty of time, then has only just over the reserve at every later look."""

    def __init__(self) -> None:
        super().__init__(600_000)

    def get_remaining_time_in_millis(self) -> float:
        remaining, self._remaining = self._remaining, RESERVE_MS + 1
        return remaining


def test_a_clip_the_time_left_does_not_cover_waits_for_the_next_slice(aws, world):
    # Given a still and, after it, a clip, both stored before the mask
    still_id = post(world, 0)["frame_id"]
    clip_id = stored_clip(aws, world)
    untouched = snapshot(aws, world, [clip_id])
    set_mask(world, CENTRE)
    job_id = body_of(start(world))["job_id"]
    (first,) = queued(aws)

    # When the first slice gets to the clip with little more than its reserve left
    assert deliver(first, ShortOfTimeContext()) == {"batchItemFailures": []}

    # Then it masked the still, left the clip as it was, and queued the next slice to start at the clip
    progress = job_status(world, job_id)
    assert (progress["status"], progress["frames_masked"], progress["frames_failed"]) == ("running", 1, 0)
    assert progress["cursor"] == still_id
    assert snapshot(aws, world, [clip_id]) == untouched
    (following,) = queued(aws)

    # When the next slice runs with its full time
    assert deliver(following, RunningDownContext(600_000)) == {"batchItemFailures": []}

    # Then it masked the clip and finished the job
    done = job_status(world, job_id)
    assert (done["status"], done["frames_masked"], done["frames_failed"]) == ("completed", 2, 0)
    assert index_item(world, clip_id).mask_version == masks.mask_version(CENTRE)
    assert [e.subject for e in remask_entries(world)] == [still_id, clip_id]


def test_a_clip_longer_than_a_whole_slice_can_mask_is_listed_as_failed_and_left_as_it_was(aws, world):
    # Given a clip stored before the mask, and a function whose slices have only just over their reserve
    clip_id = stored_clip(aws, world)
    untouched = snapshot(aws, world, [clip_id])
    set_mask(world, CENTRE)
    job_id = body_of(start(world))["job_id"]

    # When the job runs
    drain(aws, start_ms=RESERVE_MS + 1, step_ms=0)

    # Then the clip, first in its slice and still not covered, is listed for staff, and the job completed
    done = job_status(world, job_id)
    assert (done["status"], done["frames_failed"], done["failed_frame_ids"]) == ("completed", 1, [clip_id])
    assert snapshot(aws, world, [clip_id]) == untouched
    assert remask_entries(world) == []


def test_a_clip_of_the_longest_length_the_processor_accepts_is_masked_in_one_fresh_slice(aws, world):
    # Given a clip whose index item predates frame counts, so the job must assume the longest clip the processor
    # accepts (about 960 frames of 1080p), and a function whose slices start with its configured timeout
    clip_id = stored_clip(aws, world)
    item = index_item(world, clip_id)
    item.update(actions=[FrameModel.frame_count.remove()])
    timeout_ms = functions(load_template())["RemaskFunction"].timeout * 1000
    set_mask(world, CENTRE)
    job_id = body_of(start(world))["job_id"]

    # When the job runs
    drain(aws, start_ms=timeout_ms, step_ms=0)

    # Then the H.264 re-encode's estimate fits one slice: the clip is masked, not listed as failed
    done = job_status(world, job_id)
    assert (done["status"], done["frames_masked"], done["frames_failed"]) == ("completed", 1, 0)
    assert index_item(world, clip_id).mask_version == masks.mask_version(CENTRE)


# reruns never double-process


def test_rerunning_a_message_of_a_finished_job_changes_nothing(aws, world):
    # Given a completed re-mask
    ids = [f["frame_id"] for f in stored_frames(world, 3)]
    set_mask(world, CENTRE)
    job_id = body_of(start(world))["job_id"]
    (first,) = queued(aws)
    deliver(first)
    drain(aws)
    state, entries, job = snapshot(aws, world, ids), remask_entries(world), job_status(world, job_id)

    # When its first message is delivered again (SQS delivers at least once)
    assert deliver(first, RunningDownContext(600_000)) == {"batchItemFailures": []}

    # Then no object, index item, audit entry or job count changed, and nothing more was queued
    assert snapshot(aws, world, ids) == state
    assert remask_entries(world) == entries
    assert job_status(world, job_id) == job
    assert queued(aws) == []


def test_a_duplicate_message_mid_job_resumes_from_the_cursor_and_masks_each_frame_once(aws, world):
    # Given a job whose first slice stopped part-way
    ids = [f["frame_id"] for f in stored_frames(world, 6)]
    set_mask(world, CENTRE)
    start(world)
    (first,) = queued(aws)
    deliver(first)

    # When the first message is delivered a second time, besides the continuation, and everything drains
    deliver(first)
    drain(aws)

    # Then every frame was masked exactly once
    assert [e.subject for e in remask_entries(world)] == ids
    assert all(index_item(world, frame_id).mask_version == masks.mask_version(CENTRE) for frame_id in ids)


def test_frames_stored_under_the_mask_are_skipped(aws, world):
    # Given two frames before the mask and two after (masked at ingest)
    before = [f["frame_id"] for f in stored_frames(world, 2)]
    set_mask(world, CENTRE)
    after = [post(world, 10)["frame_id"], post(world, 11)["frame_id"]]
    untouched = snapshot(aws, world, after)

    # When a re-mask runs
    job_id = body_of(start(world))["job_id"]
    drain(aws)

    # Then only the earlier frames were rewritten
    done = job_status(world, job_id)
    assert (done["frames_masked"], done["frames_skipped"]) == (2, 2)
    assert [e.subject for e in remask_entries(world)] == before
    assert snapshot(aws, world, after) == untouched


def test_a_frame_whose_original_vanished_is_skipped_and_the_job_goes_on(aws, world):
    # Given three frames stored before the mask, the middle one's original since removed (S3 answers 404 NoSuchKey)
    ids = [f["frame_id"] for f in stored_frames(world, 3)]
    vanished = index_item(world, ids[1])
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.delete_object(Bucket=aws.refs["FramesBucket"], Key=vanished.object_key)
    set_mask(world, CENTRE)

    # When a re-mask runs to the end
    job_id = body_of(start(world))["job_id"]
    drain(aws)

    # Then the job completed: the vanished frame counted as skipped, the frames after it masked
    done = job_status(world, job_id)
    assert (done["status"], done["frames_masked"], done["frames_skipped"], done["frames_failed"]) == (
        "completed",
        2,
        1,
        0,
    )
    assert [e.subject for e in remask_entries(world)] == [ids[0], ids[2]]
    for frame_id in (ids[0], ids[2]):
        assert_masked(aws, index_item(world, frame_id))
    # And nothing was written for the vanished frame: no original reappeared, its index item is as it was
    assert index_item(world, ids[1]).attribute_values == vanished.attribute_values
    listing = s3.list_objects_v2(Bucket=aws.refs["FramesBucket"], Prefix=vanished.object_key)
    assert listing.get("KeyCount") == 0


def writes_table(table: str) -> Callable[[dict[str, Any]], bool]:
    """Whether an UpdateItem, or a TransactWriteItems with an update, writes `table`."""

    def matches(params: dict[str, Any]) -> bool:
        updates = [item["Update"] for item in params.get("TransactItems", []) if "Update" in item]
        return table in [params.get("TableName"), *(update["TableName"] for update in updates)]

    return matches


def test_a_slice_that_fails_on_storage_is_retried_and_the_frame_ends_consistent(aws, world, aws_faults):
    # Given a job, and the frames table failing the first index update (after the frame's objects were rewritten)
    ids = [f["frame_id"] for f in stored_frames(world, 2)]
    old = index_item(world, ids[0]).sha256
    set_mask(world, CENTRE)
    job_id = body_of(start(world))["job_id"]
    (first,) = queued(aws)
    frames_table = writes_table(aws.refs["FramesTable"])
    aws_faults.fail("dynamodb", "UpdateItem", frames_table)
    aws_faults.fail("dynamodb", "TransactWriteItems", frames_table)

    # When the message is delivered and fails (the invocation fails: SQS delivers the message again later)
    with pytest.raises(BatchProcessingError):
        deliver(first, RunningDownContext(600_000))
    retried = deliver(first, RunningDownContext(600_000))

    # Then the retry finished the job
    assert retried == {"batchItemFailures": []}
    assert job_status(world, job_id)["status"] == "completed"
    item = index_item(world, ids[0])
    assert item.sha256 == hashlib.sha256(stored_object(aws, item.object_key)[0]).hexdigest()
    assert_masked(aws, item)
    # And the frame's audit entry, written once, says where it came from and is now
    entries = [e for e in remask_entries(world) if e.subject == ids[0]]
    assert [(e.details["old_sha256"], e.details["new_sha256"]) for e in entries] == [(old, item.sha256)]


def test_a_job_whose_mask_changed_since_it_started_is_superseded_and_rewrites_nothing(aws, world):
    ids = [f["frame_id"] for f in stored_frames(world, 2)]
    untouched = snapshot(aws, world, ids)
    set_mask(world, CENTRE)
    job_id = body_of(start(world))["job_id"]
    set_mask(world, [[[0, 0], [0.5, 0], [0.5, 0.5]]], reason="drawn wrong")

    drain(aws)

    assert job_status(world, job_id)["status"] == "superseded"
    assert snapshot(aws, world, ids) == untouched
    assert remask_entries(world) == []


# refusals


def test_a_camera_without_a_mask_cannot_be_remasked(aws, world):
    stored_frames(world, 1)

    response = start(world)

    error = assert_error(response, 409, "conflict")
    assert error["details"] == {"camera_id": world.camera_id}
    assert queued(aws) == []


def test_remask_routes_need_a_staff_key_and_an_existing_camera_or_job(aws, world):
    set_mask(world, CENTRE)

    assert_error(start(world, camera_id="cam_unknown"), 404, "not_found")
    assert_error(start(world, key="not-a-key"), 401, "unauthorized")
    assert_error(admin_call("GET", "/v1/admin/remask-jobs/rmk_unknown", world.staff_key), 404, "not_found")
    assert_error(admin_call("GET", "/v1/admin/remask-jobs/rmk_unknown", "not-a-key"), 401, "unauthorized")
    no_reason = admin_call("POST", f"/v1/admin/cameras/{world.camera_id}/remask", world.staff_key, {})
    assert_error(no_reason, 422, "validation_error")
    assert queued(aws) == []


def test_a_malformed_message_fails_so_that_it_ends_in_the_dead_letter_queue(aws, world):
    with pytest.raises(BatchProcessingError, match="not a re-mask message"):
        deliver('{"job": "x"}')


@pytest.mark.parametrize("encode", [encode_jpeg, encode_png], ids=["jpeg", "png"])
def test_masking_twice_with_the_same_polygons_leaves_the_pixels_as_they_were(encode):
    # A re-mask draws over an already-masked image: the masked area stays black, the rest as it was (PNG exactly)
    limits = imaging.ImageLimits(10**8, 10**8)
    content_type = "image/png" if encode is encode_png else "image/jpeg"
    once = imaging.process_image(encode(draw_frame(640, 360, "x", START)), content_type, limits, CENTRE)
    twice = imaging.process_image(once.original, once.content_type, limits, CENTRE)

    difference = cv2.absdiff(decode(once.original), decode(twice.original))
    if encode is encode_png:
        assert difference.max() == 0
    else:
        assert difference.mean() < 1  # one more JPEG generation at quality 95
    assert np.array_equal(region(decode(twice.original), 0.25, 0.25, 0.75, 0.75, 16), np.zeros((148, 288, 3), np.uint8))


def test_a_clip_whose_encode_fails_is_retried_by_the_next_delivery_and_left_as_it_was_meanwhile(
    aws, world, aws_faults, monkeypatch
):
    # Given a clip stored before the mask, a job to mask it, and the deployed clip function's invoke failing
    clip_id = stored_clip(aws, world)
    untouched = snapshot(aws, world, [clip_id])
    set_mask(world, CENTRE)
    job_id = body_of(start(world))["job_id"]
    (message,) = queued(aws)
    monkeypatch.setenv("CLIP_FUNCTION_NAME", "doti-test-ClipFunction")  # as the template sets it: invoked, not run here
    runtime.reset()
    aws_faults.fail("lambda", "Invoke")

    # When the slice runs, then it fails: the message goes back to the queue (moto runs no Lambda function either)
    with pytest.raises(BatchProcessingError):
        deliver(message, RunningDownContext(600_000))

    # And the clip is as it was, not counted as failed, and the job still running for the retry
    assert snapshot(aws, world, [clip_id]) == untouched
    assert remask_entries(world) == []
    progress = job_status(world, job_id)
    assert (progress["status"], progress["frames_masked"], progress["frames_failed"]) == ("running", 0, 0)

    # When the retry finds the clip function working (here: in process)
    monkeypatch.delenv("CLIP_FUNCTION_NAME")
    runtime.reset()
    runtime.init()
    assert deliver(message, RunningDownContext(600_000)) == {"batchItemFailures": []}

    # Then the clip is masked and the job completed
    done = job_status(world, job_id)
    assert (done["status"], done["frames_masked"], done["frames_failed"]) == ("completed", 1, 0)
    assert index_item(world, clip_id).mask_version == masks.mask_version(CENTRE)
