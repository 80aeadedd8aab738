"""The day timeline (SPEC §6, §12): GET /v1/cameras/{camera_id}/timeline?date=&tz= counts a local day's frames in
15-minute buckets, from the 5-minute slots ingest writes, with the day's device events and notes as markers.

No test depends on the calendar: days are chosen relative to now (a DST day is the latest one in the past year).
"""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from doti.clock import format_rfc3339, parse_rfc3339, utcnow
from doti.store.models import FrameModel, TimelineSlotModel
from functions.ingest import app as ingest
from functions.viewer import app as viewer
from tests.support import LambdaContext, World, assert_error, body_of, customer_event, frame_event
from tests.support.images import jpeg
from tests.support.notes import added, recorded
from tests.support.takedown import take_down
from tests.support.viewer import add_site, add_user, ingest_frame, login, owner_token

RESOURCE = "/v1/cameras/{camera_id}/timeline"
TOKYO = ZoneInfo("Asia/Tokyo")


def timeline_call(token: str, camera_id: str, **query: str) -> dict[str, Any]:
    event = customer_event(
        "viewer/list_frames.json",
        token,
        path=f"/v1/cameras/{camera_id}/timeline",
        resource=RESOURCE,
        path_parameters={"camera_id": camera_id},
        query=query,
    )
    return viewer.lambda_handler(event, LambdaContext())


def timeline(token: str, camera_id: str, **query: str) -> dict[str, Any]:
    response = timeline_call(token, camera_id, **query)
    assert response["statusCode"] == 200, response["body"]
    return body_of(response)


def frame_at(world: World, captured_at: datetime, label: str | None = None) -> dict[str, Any]:
    """A distinct frame captured at `captured_at` (a distinct image, so activity scores differ)."""
    label = label or secrets.token_hex(3)
    event = frame_event(world, jpeg(160, 90, label=label), captured_at=captured_at)
    response = ingest.lambda_handler(event, LambdaContext())
    assert response["statusCode"] == 201, response["body"]
    return body_of(response)


def local_bounds(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    return (
        datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC),
        datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC),
    )


def expected_counts(times: list[datetime], day: date, zone: ZoneInfo) -> dict[int, int]:
    """Frames per bucket index of the local day, computed independently of the service."""
    start, end = local_bounds(day, zone)
    counts: dict[int, int] = {}
    for moment in times:
        if start <= moment < end:
            index = int((moment - start).total_seconds() // 900)
            counts[index] = counts.get(index, 0) + 1
    return counts


def latest_day_of_length(zone: ZoneInfo, hours: int, today: date) -> date:
    """The latest local day before today that lasts `hours` hours (a DST change), within the past year."""
    for back in range(1, 366):
        day = today - timedelta(days=back)
        start, end = local_bounds(day, zone)
        if end - start == timedelta(hours=hours):
            return day
    raise AssertionError(f"no {hours}-hour day in {zone.key} in the past year")


# counts


def test_the_buckets_cover_the_local_day_and_count_its_frames(world):
    # Given frames over the last hours, two of them in one 5-minute slot, one a few seconds from the next bucket
    now = utcnow()
    times = [now - timedelta(minutes=m) for m in (5, 6, 7, 29, 61, 121, 180)] + [now - timedelta(seconds=10)]
    for moment in times:
        frame_at(world, moment)
    token = owner_token(world)

    # When the owner asks for each local (Tokyo) day those frames fall on
    days = sorted({moment.astimezone(TOKYO).date() for moment in times})
    for day in days:
        body = timeline(token, world.camera_id, date=day.isoformat())

        # Then there are 96 buckets from local midnight, 15 minutes apart, whose counts are that day's frames
        start, _ = local_bounds(day, TOKYO)
        buckets = body["buckets"]
        assert len(buckets) == 96
        assert [parse_rfc3339(b["start"], "start") for b in buckets] == [
            start + timedelta(minutes=15 * i) for i in range(96)
        ]
        expected = expected_counts(times, day, TOKYO)
        assert {i: b["count"] for i, b in enumerate(buckets) if b["count"]} == expected
        assert sum(b["count"] for b in buckets) == sum(expected.values())
        assert all(b["first_frame_id"] is None and b["max_activity"] is None for b in buckets if not b["count"])
        assert body["date"] == day.isoformat()
        assert body["tz"] == "Asia/Tokyo"
    totals = [sum(b["count"] for b in timeline(token, world.camera_id, date=d.isoformat())["buckets"]) for d in days]
    assert sum(totals) == len(times)


def test_the_default_zone_is_tokyo_and_the_default_day_today(world):
    before = utcnow()
    body = timeline(owner_token(world), world.camera_id)
    after = utcnow()
    assert body["tz"] == "Asia/Tokyo"
    assert body["date"] in {before.astimezone(TOKYO).date().isoformat(), after.astimezone(TOKYO).date().isoformat()}


def test_each_bucket_names_its_earliest_frame_and_highest_activity(world):
    # Given frames of one bucket sent out of order: the later capture first, the earliest last
    now = utcnow()
    base = now - timedelta(hours=1)
    base = base - timedelta(minutes=base.minute % 15, seconds=base.second, microseconds=base.microsecond)
    sent = [base + timedelta(minutes=m) for m in (7, 1, 12, 3)] + [base]  # two slots of one bucket
    frames = [frame_at(world, moment) for moment in sent]
    earliest = min(frames, key=lambda f: f["frame_id"])
    assert earliest["frame_id"] == frames[-1]["frame_id"]  # ids sort by capture time

    # When the owner reads that day
    day = base.astimezone(TOKYO).date()
    body = timeline(owner_token(world), world.camera_id, date=day.isoformat())

    # Then the bucket counts all five, names the smallest (earliest) frame id and the highest activity score
    start, _ = local_bounds(day, TOKYO)
    bucket = body["buckets"][int((base - start).total_seconds() // 900)]
    assert bucket["start"] == format_rfc3339(base)
    assert bucket["count"] == 5
    assert bucket["first_frame_id"] == earliest["frame_id"]
    stored = [FrameModel.get(world.camera_id, f["frame_id"]).activity_score for f in frames]
    scores = [score for score in stored if score is not None]
    assert bucket["max_activity"] == (max(scores) if scores else None)


def test_a_day_in_a_zone_with_a_half_hour_offset_starts_at_its_local_midnight(world):
    # Given a frame half an hour ago
    now = utcnow()
    captured = now - timedelta(minutes=30)
    frame_at(world, captured)
    kolkata = ZoneInfo("Asia/Kolkata")
    day = captured.astimezone(kolkata).date()

    # When the owner asks for that day in Asia/Kolkata (UTC+05:30)
    body = timeline(owner_token(world), world.camera_id, date=day.isoformat(), tz="Asia/Kolkata")

    # Then the buckets start at local midnight (18:30 UTC) and the frame is counted in its local quarter hour
    start, _ = local_bounds(day, kolkata)
    assert body["buckets"][0]["start"] == format_rfc3339(start)
    assert body["buckets"][0]["start"].endswith("T18:30:00.000Z")
    assert len(body["buckets"]) == 96
    assert {i: b["count"] for i, b in enumerate(body["buckets"]) if b["count"]} == expected_counts(
        [captured], day, kolkata
    )


@pytest.mark.parametrize(("hours", "buckets"), [(23, 92), (25, 100)])
def test_a_dst_day_has_as_many_buckets_as_it_has_quarter_hours(world_factory, hours, buckets):
    # Given a contract keeping a year, and a frame on the latest New York day of that length (a DST change)
    world = world_factory(retention_days=366)
    new_york = ZoneInfo("America/New_York")
    day = latest_day_of_length(new_york, hours, utcnow().astimezone(new_york).date())
    start, end = local_bounds(day, new_york)
    captured = datetime.combine(day, time(12, 20), tzinfo=new_york).astimezone(UTC)  # after the change
    frame_at(world, captured)

    # When the owner asks for that day in America/New_York
    body = timeline(owner_token(world), world.camera_id, date=day.isoformat(), tz="America/New_York")

    # Then the buckets tile the 23- or 25-hour day, and the frame is in the bucket of its real elapsed time
    assert len(body["buckets"]) == buckets
    assert body["buckets"][0]["start"] == format_rfc3339(start)
    assert parse_rfc3339(body["buckets"][-1]["start"], "start") + timedelta(minutes=15) == end
    counted = {i: b["count"] for i, b in enumerate(body["buckets"]) if b["count"]}
    assert counted == {int((captured - start).total_seconds() // 900): 1}


# markers


def test_markers_are_the_days_device_events_and_notes_oldest_first(world):
    # Given a device event about the whole site, a customer's note, both in the last hour, and a frame
    now = utcnow()
    token = owner_token(world)
    event_at, note_at = now - timedelta(minutes=40), now - timedelta(minutes=20)
    recorded(world, {"occurred_at": format_rfc3339(event_at), "text": "Alarm set"})
    added(token, world.camera_id, "配達 arrived", at=note_at)
    frame_at(world, now - timedelta(minutes=1))

    # When the owner reads the timelines of the days involved
    days = sorted({m.astimezone(TOKYO).date() for m in (event_at, note_at)})
    markers = [m for d in days for m in timeline(token, world.camera_id, date=d.isoformat())["markers"]]

    # Then both are markers, with their kind, time and text
    assert markers == [
        {"at": format_rfc3339(event_at), "kind": "event", "text": "Alarm set"},
        {"at": format_rfc3339(note_at), "kind": "note", "text": "配達 arrived"},
    ]


def test_another_days_markers_and_frames_are_left_out(world):
    now = utcnow()
    yesterday = (now.astimezone(TOKYO) - timedelta(days=1)).date()
    start, _end = local_bounds(yesterday, TOKYO)
    added(owner_token(world), world.camera_id, "yesterday's note", at=start + timedelta(hours=3))
    frame_at(world, start + timedelta(hours=3))
    today = timeline(owner_token(world), world.camera_id, date=(yesterday + timedelta(days=1)).isoformat())
    assert today["markers"] == []
    assert sum(b["count"] for b in today["buckets"]) == 0
    before = timeline(owner_token(world), world.camera_id, date=yesterday.isoformat())
    assert [m["text"] for m in before["markers"]] == ["yesterday's note"]
    assert sum(b["count"] for b in before["buckets"]) == 1
    assert before["markers_truncated"] is False


# takedown


def test_a_takedown_lowers_its_buckets_count_and_moves_its_first_frame_on(world, operator_key):
    # Given three frames of one 5-minute slot
    now = utcnow()
    base = now - timedelta(hours=2)
    base = base - timedelta(minutes=base.minute % 5, seconds=base.second, microseconds=base.microsecond)
    frames = [frame_at(world, base + timedelta(seconds=s)) for s in (10, 20, 30)]
    day = base.astimezone(TOKYO).date()
    start, _ = local_bounds(day, TOKYO)
    index = int((base - start).total_seconds() // 900)
    token = owner_token(world)
    assert timeline(token, world.camera_id, date=day.isoformat())["buckets"][index]["count"] == 3

    # When staff take the earliest one down
    body = {"camera_id": world.camera_id, "frame_id": frames[0]["frame_id"], "ground": "art7-1-3", "reason": "r"}
    response = take_down(operator_key, world.contract_id, **body)
    assert response["statusCode"] == 200, response["body"]

    # Then its bucket counts two, and its first frame is the next one
    bucket = timeline(token, world.camera_id, date=day.isoformat())["buckets"][index]
    assert bucket["count"] == 2
    assert bucket["first_frame_id"] == frames[1]["frame_id"]

    # and taking the same frame down again changes nothing (404, the count stays)
    assert take_down(operator_key, world.contract_id, **body)["statusCode"] == 404
    assert timeline(token, world.camera_id, date=day.isoformat())["buckets"][index]["count"] == 2


# retention, input, access


def test_slots_expire_with_their_frames(world):
    captured = utcnow() - timedelta(minutes=3)
    frame_at(world, captured)
    slots = list(TimelineSlotModel.query(world.camera_id, consistent_read=True))
    assert len(slots) == 1
    # the slot goes no earlier than its frame (the default plan keeps 31 days), and at most one slot later
    frame_expiry = captured + timedelta(days=31)
    assert frame_expiry <= slots[0].expires_at <= frame_expiry + timedelta(minutes=5, seconds=1)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"date": "2026-13-01"}, "date"),
        ({"date": "20261201"}, "date"),
        ({"date": "yesterday"}, "date"),
        ({"tz": "Mars/Olympus_Mons"}, "tz"),
        ({"tz": "../../etc/passwd"}, "tz"),
        ({"tz": ""}, "tz"),
    ],
)
def test_a_malformed_date_or_unknown_zone_is_422_naming_the_field(world, query, field):
    error = assert_error(timeline_call(owner_token(world), world.camera_id, **query), 422, "validation_error")
    assert error["details"]["field"] == field


def test_a_day_outside_the_retention_or_in_the_future_is_422_naming_the_date(world):
    today = utcnow().astimezone(TOKYO).date()
    token = owner_token(world)  # the default plan keeps 31 days
    for day in (today - timedelta(days=40), today + timedelta(days=2)):
        error = assert_error(timeline_call(token, world.camera_id, date=day.isoformat()), 422, "validation_error")
        assert error["details"]["field"] == "date"
    assert timeline_call(token, world.camera_id, date=(today - timedelta(days=30)).isoformat())["statusCode"] == 200


def test_another_contracts_camera_is_not_found(world_factory):
    mine, theirs = world_factory(), world_factory()
    ingest_frame(theirs)
    assert_error(timeline_call(owner_token(mine), theirs.camera_id), 404, "not_found")


def test_a_site_scoped_user_sees_only_their_sites_timelines(world):
    annex = add_site(world)
    token = login(*add_user(world, site_ids=[annex.site_id]))
    assert_error(timeline_call(token, world.camera_id), 404, "not_found")
    assert timeline_call(token, annex.camera_id)["statusCode"] == 200
