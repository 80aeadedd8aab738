"""`Retry-After` on refusals that carry a time when retrying can succeed (SPEC §10; RFC 6585 §4, RFC 9110 §10.2.3):
a frame over the monthly quota is told, in whole seconds, how long until the quota resets. Through the ingest handler.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from doti.clock import parse_rfc3339
from doti.http import retry_after_seconds
from doti.ingest import usage
from tests.support import assert_error, frame_event
from tests.support.images import jpeg
from tests.support.ingest import post, stored


def header(response: dict, name: str) -> list[str] | None:
    return (response.get("multiValueHeaders") or {}).get(name)


@pytest.mark.isolated  # reads every stored frame object and index item
def test_frame_over_the_quota_gets_retry_after_in_seconds_until_the_reset(aws, small_world):
    # Given a contract whose first frame of the month used most of its quota
    assert post(frame_event(small_world, jpeg(320, 240)))["statusCode"] == 201

    # When another frame arrives
    before = datetime.now(UTC)
    response = post(frame_event(small_world, jpeg(300, 240), frame_id="panel-over"))
    after = datetime.now(UTC)

    # Then the 429 says in Retry-After how many whole seconds remain until the reset its details name
    error = assert_error(response, 429, "quota_exceeded")
    resets_at = parse_rfc3339(error["details"]["resets_at"], "resets_at")
    assert resets_at == usage.period_end(before) or resets_at == usage.period_end(after)  # a month may turn mid-call
    (value,) = header(response, "Retry-After")
    assert value.isdigit()
    assert (
        math.ceil((resets_at - after).total_seconds()) <= int(value) <= math.ceil((resets_at - before).total_seconds())
    )
    # and the refused frame is not stored
    assert len(stored(aws).items) == 1


def test_refusals_without_a_reset_time_carry_no_retry_after(aws, world_factory):
    # Given a plan of 20 000 bytes per frame
    world = world_factory(max_object_bytes=20_000)

    # When a frame is too large, or is sent with a wrong signature
    too_large = post(frame_event(world, jpeg(1280, 720)))
    forged = post(frame_event(world, jpeg(320, 240), secret="not-the-secret"))

    # Then neither says when to retry: waiting would not help
    assert_error(too_large, 413, "payload_too_large")
    assert_error(forged, 401, "unauthorized")
    assert header(too_large, "Retry-After") is None
    assert header(forged, "Retry-After") is None


@pytest.mark.parametrize(
    ("remaining", "seconds"),
    [
        (timedelta(days=3), 3 * 86_400),
        (timedelta(seconds=1, milliseconds=1), 2),  # rounded up: a client never retries early
        (timedelta(milliseconds=1), 1),
        (timedelta(0), 0),
        (timedelta(seconds=-5), 0),  # the reset has just passed: retry now
    ],
)
def test_retry_after_is_whole_seconds_rounded_up_and_never_negative(remaining, seconds):
    now = datetime(2026, 11, 30, 23, 59, 0, tzinfo=UTC)
    assert retry_after_seconds(now + remaining, now) == seconds
