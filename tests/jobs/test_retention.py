"""The retention job (SPEC §5, §9): which frames it deletes and when, a shortened retention, runs that stop in time
and resume, and AWS calls that follow what expires, not what is stored. Frames come in through the ingest handler,
notes through the viewer's and events through the ingest handler's routes; time moves on through the job's injected
`now`."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import asdict
from datetime import timedelta

import boto3
import pytest

from doti.clock import format_rfc3339
from doti.contracts import terms
from doti.jobs.retention import RetentionReport
from doti.store.models import FrameModel
from doti.subjects.deletion import DeletionReport
from functions.retention import app as retention
from infra.provision import Provisioned
from tests.support import LambdaContext
from tests.support.notes import added, recorded
from tests.support.retention import (
    PLENTY_MS,
    bytes_of,
    calls_about,
    expiring_notes,
    ids_of,
    indexed_frame_ids,
    ingested,
    note_ids,
    now,
    object_sizes,
    run,
    scheduled_event,
    stored_frame_ids,
)
from tests.support.thumbnails import give_stored_thumbnail
from tests.support.viewer import owner_token

# Isolated (moto emptied before each test): the retention job walks every contract.
pytestmark = pytest.mark.isolated


def countdown(*values: float) -> Callable[[], float]:
    """A remaining-time clock that returns `values` in turn, then the last one forever."""
    readings: Iterator[float] = iter(values)
    last = [values[-1]]

    def remaining() -> float:
        last[0] = next(readings, last[0])
        return last[0]

    return remaining


def shorten_retention(aws: Provisioned, contract_id: str, days: int) -> None:
    """What a staff plan change will do; the admin route for it does not exist yet."""
    boto3.client("dynamodb", region_name="us-east-1").update_item(
        TableName=aws.refs["ContractsTable"],
        Key={"contract_id": {"S": contract_id}},
        UpdateExpression="SET retention_days = :days",
        ExpressionAttributeValues={":days": {"N": str(days)}},
    )


def staff_actor() -> str:
    return "staff:test"


# which frames go


def test_frames_past_their_contracts_retention_are_deleted_and_the_rest_kept(aws, world_factory):
    # Given a 7-day contract with frames 6 days, 1 day and 1 hour old, and a 31-day contract with a 6-day-old frame
    week, month = world_factory(retention_days=7), world_factory(retention_days=31)
    start = now()
    oldest = ingested(week, start - timedelta(days=6))
    younger = [ingested(week, start - timedelta(days=1)), ingested(week, start - timedelta(hours=1))]
    other_tenant = ingested(month, start - timedelta(days=6))
    freed = bytes_of(aws, [oldest])

    # When the job runs two days later
    report = run(start + timedelta(days=2))

    # Then only the frame past 7 days is gone, objects and index item alike, and the report says what it freed
    assert stored_frame_ids(aws) == ids_of(*younger, other_tenant)
    assert indexed_frame_ids(aws) == ids_of(*younger, other_tenant)
    assert report == RetentionReport(contracts=2, cameras=2, frames_deleted=1, bytes_freed=freed)


def test_a_7_day_contract_is_empty_8_days_later_and_a_rerun_changes_nothing(aws, world_factory):
    # Given recent frames of a 7-day contract and of a 31-day contract
    week, month = world_factory(retention_days=7), world_factory(retention_days=31)
    start = now()
    expiring = [ingested(week, start - timedelta(minutes=m)) for m in (1, 30, 90)]
    kept = [ingested(month, start - timedelta(minutes=m)) for m in (1, 30)]
    # one of each stored before thumbnails were rendered when viewed: its thumbnail object goes (or stays) with it
    give_stored_thumbnail(week.camera_id, expiring[1]["frame_id"])
    give_stored_thumbnail(month.camera_id, kept[0]["frame_id"])
    freed = bytes_of(aws, expiring)
    objects_before = object_sizes(aws)

    # When the job runs 8 days later
    first = run(start + timedelta(days=8))

    # Then the 7-day contract's frames are gone and the other contract's objects are untouched
    assert first.frames_deleted == 3
    assert first.bytes_freed == freed
    assert stored_frame_ids(aws) == ids_of(*kept)
    remaining = object_sizes(aws)
    assert remaining == {key: size for key, size in objects_before.items() if key in remaining}
    assert len(remaining) == len(kept) + 1  # their originals, and the one stored thumbnail

    # When it runs again / Then nothing more happens
    second = run(start + timedelta(days=8))
    assert (second.frames_deleted, second.bytes_freed, second.stopped_early) == (0, 0, False)
    assert object_sizes(aws) == remaining
    assert stored_frame_ids(aws) == ids_of(*kept)


# a shortened retention, applied by the scheduled handler's next run


def test_scheduled_run_applies_a_shortened_retention(aws, world_factory):
    # Given a 7-day contract with frames 3 days and 1 hour old, shortened to 1 day, and another 7-day contract
    shortened, untouched = world_factory(retention_days=7), world_factory(retention_days=7)
    old = ingested(shortened, now() - timedelta(days=3))
    recent = ingested(shortened, now() - timedelta(hours=1))
    other = ingested(untouched, now() - timedelta(days=3))
    freed = bytes_of(aws, [old])
    shorten_retention(aws, shortened.contract_id, 1)

    # When the hourly schedule fires
    result = retention.lambda_handler(scheduled_event(), LambdaContext())

    # Then the frame past the new retention is gone and the report is returned
    assert result == {
        **asdict(RetentionReport(contracts=2, cameras=2, frames_deleted=1, bytes_freed=freed)),
        "request_deletions": asdict(DeletionReport()),  # no request from a person filmed asked for one
    }
    assert stored_frame_ids(aws) == ids_of(recent, other)


def test_a_shortened_retention_applies_on_the_next_scheduled_run_and_stale_tags_are_reported(aws, world_factory):
    # Given a 31-day contract with frames 10 days and 2 days old (their objects tagged d31)
    shortened, other = world_factory(retention_days=31), world_factory(retention_days=31)
    old = ingested(shortened, now() - timedelta(days=10))
    recent = ingested(shortened, now() - timedelta(days=2))
    untouched = ingested(other, now() - timedelta(days=10))
    freed = bytes_of(aws, [old])

    # When staff shorten the plan to 7 days and the hourly schedule fires
    terms.update_plan(shortened.contract_id, {"retention_days": 7}, actor=staff_actor(), now=now())
    result = retention.lambda_handler(scheduled_event(), LambdaContext())

    # Then only the frame past the new retention is gone, the other contract's 10-day-old frame stays
    assert (result["frames_deleted"], result["bytes_freed"], result["stopped_early"]) == (1, freed, False)
    assert stored_frame_ids(aws) == ids_of(recent, untouched)
    # And the deleted frame's d31 tag no longer matched the contract's class: the job reports it (no re-tagging)
    report = run(now())
    assert report.frames_deleted == 0
    assert FrameModel.get(shortened.camera_id, recent["frame_id"]).retention_class == "d31"


def test_the_report_counts_items_whose_tag_no_longer_matches_the_contracts_class(aws, world_factory):
    # Given a 31-day contract with two frames 10 days old, shortened to 7 days
    world = world_factory(retention_days=31)
    frames = [ingested(world, now() - timedelta(days=10, minutes=m)) for m in (1, 2)]
    terms.update_plan(world.contract_id, {"retention_days": 7}, actor=staff_actor(), now=now())

    # When the job runs
    report = run(now())

    # Then both are deleted, and both are counted as tagged for a class the contract no longer has
    assert report.frames_deleted == 2
    assert report.reconciled.tag_mismatched == 2
    assert stored_frame_ids(aws) == set()
    assert not ids_of(*frames) & stored_frame_ids(aws)


# bounded and resumable: a run stops before its time or listing budget is spent, the next one finishes


def test_job_stops_before_the_timeout_and_the_next_run_finishes(aws, world_factory):
    # Given three expired frames, deleted one per batch
    week = world_factory(retention_days=7)
    start = now()
    frames = [ingested(week, start - timedelta(minutes=m)) for m in (1, 2, 3)]
    later = start + timedelta(days=8)

    # When the first run has time for one batch only
    first = run(later, countdown(PLENTY_MS, 1_000.0), batch=1)

    # Then it stops early, having deleted one frame completely
    assert first.stopped_early is True
    assert first.frames_deleted == 1
    assert len(stored_frame_ids(aws)) == 2
    assert stored_frame_ids(aws) < ids_of(*frames)

    # When the next run has time / Then it finishes the work
    second = run(later, batch=1)
    assert second.stopped_early is False
    assert second.frames_deleted == 2
    assert stored_frame_ids(aws) == set()


def test_job_with_no_time_left_does_nothing_and_says_so(aws, world_factory):
    week = world_factory(retention_days=7)
    frame = ingested(week, now() - timedelta(minutes=1))

    report = run(now() + timedelta(days=8), lambda: 1_000.0)

    assert report.stopped_early is True
    assert report.frames_deleted == 0
    assert stored_frame_ids(aws) == ids_of(frame)


def test_a_run_with_no_time_left_keeps_every_cursor_and_object(aws, world_factory):
    # Given an expiring frame
    world = world_factory(retention_days=7)
    frame = ingested(world, now() - timedelta(minutes=1))

    # When the job has no time / Then nothing changes; with time, the frame goes
    assert run(now() + timedelta(days=8), lambda: 1_000.0).stopped_early is True
    assert stored_frame_ids(aws) == ids_of(frame)
    assert run(now() + timedelta(days=8), lambda: PLENTY_MS).frames_deleted == 1
    assert stored_frame_ids(aws) == set()


def test_a_run_stops_when_its_listing_budget_is_spent_and_the_next_run_finishes(aws, world_factory):
    # Given five expiring frames, listed two at a time
    world = world_factory(retention_days=7)
    frames = [ingested(world, now() - timedelta(minutes=m)) for m in range(1, 6)]
    at = now() + timedelta(days=8)

    # When a run may list only 2 keys (one chunk of 2 frames: their 2 originals; a still stores no thumbnail)
    first = run(at, batch=2, list_budget=2)

    # Then it stops early, having deleted that chunk completely
    assert first.stopped_early is True
    assert first.frames_deleted == 2
    assert len(stored_frame_ids(aws)) == 3

    # When the next run has budget / Then it finishes from where the first stopped
    second = run(at, batch=2)
    assert (second.stopped_early, second.frames_deleted) == (False, 3)
    assert stored_frame_ids(aws) == set()
    assert not ids_of(*frames) & stored_frame_ids(aws)


def test_scheduled_run_near_its_timeout_leaves_the_work_to_the_next_run(aws, world_factory):
    # Given an expired frame (retention shortened to 1 day)
    world = world_factory(retention_days=7)
    old = ingested(world, now() - timedelta(days=3))
    shorten_retention(aws, world.contract_id, 1)

    # When the schedule fires with 5 seconds left before the Lambda timeout
    hurried = retention.lambda_handler(scheduled_event(), LambdaContext(remaining_ms=5_000))

    # Then it stops without deleting anything
    assert hurried["stopped_early"] is True
    assert hurried["frames_deleted"] == 0
    assert stored_frame_ids(aws) == ids_of(old)

    # When the next run has its full time / Then the frame is deleted
    finished = retention.lambda_handler(scheduled_event(), LambdaContext())
    assert (finished["stopped_early"], finished["frames_deleted"]) == (False, 1)
    assert stored_frame_ids(aws) == set()


# how it talks to AWS: key-range queries and batches, a cost that follows what expires


def test_deletes_in_batches_with_key_range_queries_and_never_scans_frames(aws, world_factory, aws_calls):
    # Given 30 expired frames on one camera
    week = world_factory(retention_days=7)
    start = now()
    for second in range(30):
        ingested(week, start - timedelta(seconds=second))
    aws_calls.clear()

    # When the job runs
    report = run(start + timedelta(days=8))

    # Then it queried the camera's key range, deleted items 25 at most per batch and objects 1000 at most per call
    assert report.frames_deleted == 30
    frames_table = aws.refs["FramesTable"]
    on_frames = [(op, params) for op, params in aws_calls if params.get("TableName") == frames_table]
    assert [op for op, _ in on_frames if op == "Scan"] == []
    queries = [params for op, params in on_frames if op == "Query"]
    assert queries
    assert all("KeyConditionExpression" in params for params in queries)
    item_batches = [len(params["RequestItems"][frames_table]) for op, params in aws_calls if op == "BatchWriteItem"]
    assert sum(item_batches) == 30
    assert max(item_batches) <= 25
    object_batches = [len(params["Delete"]["Objects"]) for op, params in aws_calls if op == "DeleteObjects"]
    assert sum(object_batches) == 30  # one object per frame: a still stores no thumbnail
    assert max(object_batches) <= 1000
    assert object_sizes(aws) == {}


def test_work_and_aws_calls_follow_what_expires_not_what_is_stored(aws, world_factory, aws_calls):
    # Given two 7-day contracts with the same three expiring frames; the second also stores 12 young frames,
    # some on the same day as the cutoff
    lean, stocked = world_factory(retention_days=7), world_factory(retention_days=7)
    start = now()
    expiring_offsets = [timedelta(days=6, hours=12, minutes=m) for m in (1, 2, 3)]
    for world in (lean, stocked):
        for offset in expiring_offsets:
            ingested(world, start - offset)
    young = [ingested(stocked, start - timedelta(days=5, hours=23, minutes=m)) for m in range(6)]
    young += [ingested(stocked, start - timedelta(minutes=m)) for m in range(6)]
    aws_calls.clear()

    # When the job runs a day later (cutoff: 6 days before the start)
    report = run(start + timedelta(days=1))
    job_calls = list(aws_calls)

    # Then both contracts lost their three expiring frames and the young frames stay
    assert report.frames_deleted == 6
    assert stored_frame_ids(aws) == ids_of(*young)
    # And the job made the same AWS calls for both: the young frames cost nothing
    assert calls_about(job_calls, stocked) == calls_about(job_calls, lean)
    assert report.reconciled.keys_listed == 2 * 3  # one object per frame: a still stores no thumbnail
    assert report.reconciled.items_examined == 2 * 3
    # And it never scanned the frames table
    assert not [op for op, params in job_calls if op == "Scan" and params.get("TableName") == aws.refs["FramesTable"]]


def test_notes_cost_calls_only_when_they_expire(aws, world_factory, aws_calls):
    # Given two 7-day contracts with the same expiring notes and site event; the second also stores young notes and
    # site events
    lean, stocked = world_factory(retention_days=7), world_factory(retention_days=7)
    for world in (lean, stocked):
        expiring_notes(world, 2)
    token = owner_token(stocked)
    young = [added(token, stocked.camera_id, f"young {n}", now() - timedelta(days=5, hours=n)) for n in range(3)]
    for hours in (1, 2):
        young.append(recorded(stocked, {"occurred_at": format_rfc3339(now() - timedelta(hours=hours)), "text": "y"}))
    aws_calls.clear()

    # When the job runs a day later
    report = run(now() + timedelta(days=1))
    job_calls = list(aws_calls)

    # Then both lost their expiring notes, the young ones stay, and the job made the same calls for both
    assert report.notes_deleted == 2 * 3
    assert note_ids(lean) == set()
    assert note_ids(stocked) == {note["note_id"] for note in young}
    assert calls_about(job_calls, stocked) == calls_about(job_calls, lean)

    # When it runs again / Then each notes partition costs one query, and no cursor read or write
    aws_calls.clear()
    assert run(now() + timedelta(days=1)).notes_deleted == 0
    notes_calls = [op for op, params in aws_calls if params.get("TableName") == aws.refs["NotesTable"]]
    assert notes_calls == ["Query"] * 4
    assert not [op for op, params in aws_calls if op == "TransactWriteItems"]
