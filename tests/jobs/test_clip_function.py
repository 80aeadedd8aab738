"""The clip function (functions/clip; doti.ingest.clips): a masked clip decoded from S3 with PyAV, blacked out under
the caller's bitmap, encoded as H.264 and staged for the caller. Invoked here with the event the callers send
(events/clip/masked_clip.json), against moto in-process.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from doti.errors import ValidationError
from doti.ingest import mask_bitmap
from doti.ingest.clips import ClipJob
from doti.store.keys import RETENTION_TAG, clip_staging_key
from functions.clip import app as clip_function
from infra.provision import Provisioned
from tests.support import LambdaContext
from tests.support.ingest import object_tags
from tests.support.processor import s3
from tests.support.video import clip, decode_all, with_zeroed_media_data

EVENT = Path(__file__).resolve().parents[2] / "events" / "clip" / "masked_clip.json"
OTHER_SIZE = {"width": 640, "height": 480, "hidden": mask_bitmap.pack(np.zeros((480, 640), dtype=bool))}


def job_event(aws: Provisioned, data: bytes, **changes: Any) -> dict[str, Any]:
    """The sample event (a 2 s clip of 320x240 at 10 fps, its left half masked), for `data` stored at a key of its
    own; the staging key new too."""
    event = json.loads(EVENT.read_text(encoding="utf-8"))
    source_key = f"frames/ctr_clip/cam_clip/{uuid.uuid4().hex}.mp4"
    s3().put_object(Bucket=aws.refs["FramesBucket"], Key=source_key, Body=data, ContentType="video/mp4")
    return {**event, "source_key": source_key, "staging_key": clip_staging_key(source_key), **changes}


def staged(aws: Provisioned) -> list[str]:
    listed = s3().list_objects_v2(Bucket=aws.refs["FramesBucket"], Prefix="staging/")
    return [entry["Key"] for entry in listed.get("Contents", [])]


def test_the_sample_event_is_a_clip_job():
    job = ClipJob.from_event(json.loads(EVENT.read_text(encoding="utf-8")))

    assert (job.width, job.height, job.fps, job.frame_count) == (320, 240, 10.0, 20)


def test_a_masked_clip_is_encoded_and_staged_for_its_caller(aws):
    # Given a clip stored in the bucket and the job to mask its left half
    event = job_event(aws, clip(2.0, 10, 320, 240))

    # When the clip function is invoked with it
    answer = clip_function.lambda_handler(event, LambdaContext())

    # Then it answers the staged clip: its key, size, digest, frame count, duration and preset
    body = s3().get_object(Bucket=aws.refs["FramesBucket"], Key=event["staging_key"])["Body"].read()
    assert answer == {
        "clip": {
            "key": event["staging_key"],
            "size": len(body),
            "sha256": hashlib.sha256(body).hexdigest(),
            "frame_count": 20,
            "duration_ms": 2000,
            "preset": "veryfast",
        }
    }
    # And the staged clip is tagged for the one-day lifecycle rule, should its caller never take it back
    assert object_tags(aws, event["staging_key"]) == {RETENTION_TAG: "d1"}
    # And every frame is black under the mask and the picture elsewhere
    frames = decode_all(body)
    assert len(frames) == 20
    for frame in frames:
        assert int(frame[:, :150].max()) <= 16
        assert int(frame[:, 170:].max()) > 100


@pytest.mark.parametrize(
    ("damage", "changes"),
    [
        (with_zeroed_media_data, {}),  # the stream does not decode
        (lambda data: data, {"frame_count": 25}),  # fewer frames than the caller decoded
        (lambda data: data, OTHER_SIZE),  # frames of another size
    ],
    ids=["undecodable", "fewer_frames", "other_size"],
)
def test_a_clip_that_does_not_decode_as_its_caller_found_is_answered_corrupt_and_nothing_is_staged(
    aws, damage, changes
):
    # Given a job whose clip does not decode to the frames the caller described
    event = job_event(aws, damage(clip(2.0, 10, 320, 240)), **changes)

    # When the clip function is invoked
    answer = clip_function.lambda_handler(event, LambdaContext())

    # Then it answers corrupt_image, which the caller refuses as it refuses a clip it cannot decode itself
    assert answer["error"]["code"] == "corrupt_image"
    assert event["staging_key"] not in staged(aws)


def test_a_malformed_job_fails_the_invocation(aws):
    # Given an event without a source key
    event = job_event(aws, clip())
    del event["source_key"]

    # When the clip function is invoked, then it raises: the caller's invoke fails, and its record is retried
    with pytest.raises(ValidationError):
        clip_function.lambda_handler(event, LambdaContext())
