"""The simulated camera's scene (infra.camera, infra.drawing): static, but for a person walking past now and then, so
the demo's activity filter (`GET /v1/cameras/{id}/frames?activity=true`, SPEC §4) finds those frames and only those.

The frames are the ones the camera posts, run through the pipeline's own steps: doti.ingest.imaging.process_image
derives each frame's signature, doti.ingest.activity scores it against the previous one, as ingest does.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from doti.ingest import activity, imaging
from infra.camera import WALK_PERIOD, camera_frame, walker_position
from infra.drawing import encode_jpeg

LIMITS = imaging.ImageLimits(max_bytes=20_000_000, max_pixels=40_000_000)
START = datetime(2025, 1, 2, 9, 0, tzinfo=UTC)
INTERVAL = timedelta(seconds=5)  # the camera's default, as `make run` starts it
PASSES = 2  # one walk left to right, one right to left


@pytest.fixture(scope="module")
def scores() -> list[float | None]:
    """The activity score of each of the camera's first PASSES * WALK_PERIOD frames, as ingest would store it."""
    previous: bytes | None = None
    found: list[float | None] = []
    for number in range(PASSES * WALK_PERIOD):
        data = encode_jpeg(camera_frame(number, START + number * INTERVAL))
        signature = imaging.process_image(data, "image/jpeg", LIMITS).signature
        found.append(activity.score(previous, signature))
        previous = signature
    return found


def test_one_frame_in_six_shows_a_person_walking_past_alternately_both_ways():
    # When the camera's schedule is read over a few minutes of frames
    positions = [walker_position(number) for number in range(10 * WALK_PERIOD)]

    # Then one frame in six has the person, two consecutive frames per pass, starting with the second frame
    assert sum(p is not None for p in positions) == len(positions) // 6
    assert [n for n, p in enumerate(positions[:WALK_PERIOD]) if p is not None] == [1, 2]
    # And the person walks right in the first pass, left in the next, ending each pass partly out of view
    first, second = positions[1:3], positions[WALK_PERIOD + 1 : WALK_PERIOD + 3]
    assert first[0] < first[1]
    assert second[0] > second[1]
    assert first[1] > 1
    assert second[1] < 0
    # And the schedule depends on the frame number only
    assert [walker_position(n) for n in range(10 * WALK_PERIOD)] == positions


def test_frames_with_the_person_score_above_the_default_threshold_and_the_static_scene_below(scores):
    # Given the camera's frames over two walks, scored as ingest scores them
    walker = {n for n in range(len(scores)) if walker_position(n) is not None}

    # Then the first frame has nothing to be compared with
    assert scores[0] is None
    # And every frame with the person reaches the default threshold, with room to spare
    assert [n for n in walker if scores[n] < activity.DEFAULT_THRESHOLD * 1.25] == []
    # And every other frame, the one right after the person stepped out included, stays under it
    static = [scores[n] for n in range(1, len(scores)) if n not in walker]
    assert static
    assert max(static) < activity.DEFAULT_THRESHOLD * 0.75
    # And the scene without anybody is still: only the timestamp overlay ticks
    after_walk = {n + 1 for n in walker}
    assert max(scores[n] for n in range(1, len(scores)) if n not in walker | after_walk) < 0.5
