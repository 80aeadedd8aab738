"""The retention job, complete (SPEC §5): shortened retention, stale lifecycle tags, index items without objects,
objects without index items (reconciled by day prefix, with a grace for uploads in flight), a cost that follows
what expires, and receipts that count each frame and note once whatever fails on the way. Frames come in through
the ingest handler, notes through the viewer's and events through the ingest handler's routes; time moves on through
the job's injected `now`."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import boto3
import pytest
from botocore.client import BaseClient

from doti import contracts
from doti.clock import format_rfc3339
from doti.deletions import day_of
from doti.errors import StorageError
from doti.store.models import FrameModel
from functions.retention import app as retention
from infra.provision import Provisioned
from tests.support import LambdaContext, World
from tests.support.deletions import receipts
from tests.support.notes import added, recorded, stored_notes
from tests.support.retention import (
    PLENTY_MS,
    bytes_of,
    ids_of,
    indexed_frame_ids,
    ingested,
    now,
    object_sizes,
    run,
    scheduled_event,
    stored_frame_ids,
)
from tests.support.viewer import owner_token

# Isolated (moto emptied before each test): the retention job walks every contract.
pytestmark = pytest.mark.isolated


@pytest.fixture
def aws_calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, dict[str, Any]]]:
    """Every AWS call as (operation, parameters), recorded at botocore's client layer."""
    calls: list[tuple[str, dict[str, Any]]] = []
    original = BaseClient._make_api_call

    def make_api_call(client: BaseClient, operation: str, params: dict[str, Any]) -> Any:
        calls.append((operation, params))
        return original(client, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", make_api_call)
    return calls


def s3() -> Any:
    return boto3.client("s3", region_name="us-east-1")


def bucket(aws: Provisioned) -> str:
    return aws.refs["FramesBucket"]


def keys_of(aws: Provisioned, frame: dict[str, Any]) -> list[str]:
    return [key for key in object_sizes(aws) if key.rsplit("/", 1)[-1].startswith(frame["frame_id"])]


def staff_actor() -> str:
    return "staff:test"


# shortened retention and stale tags


def test_a_shortened_retention_applies_on_the_next_scheduled_run_and_stale_tags_are_reported(aws, world_factory):
    # Given a 31-day contract with frames 10 days and 2 days old (their objects tagged d31)
    shortened, other = world_factory(retention_days=31), world_factory(retention_days=31)
    old = ingested(shortened, now() - timedelta(days=10))
    recent = ingested(shortened, now() - timedelta(days=2))
    untouched = ingested(other, now() - timedelta(days=10))
    freed = bytes_of(aws, [old])

    # When staff shorten the plan to 7 days and the hourly schedule fires
    contracts.update_plan(shortened.contract_id, {"retention_days": 7}, actor=staff_actor(), now=now())
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
    contracts.update_plan(world.contract_id, {"retention_days": 7}, actor=staff_actor(), now=now())

    # When the job runs
    report = run(now())

    # Then both are deleted, and both are counted as tagged for a class the contract no longer has
    assert report.frames_deleted == 2
    assert report.reconciled.tag_mismatched == 2
    assert stored_frame_ids(aws) == set()
    assert not ids_of(*frames) & stored_frame_ids(aws)


# index items without objects


def test_an_index_item_whose_object_was_removed_out_of_band_is_deleted_with_what_remains(aws, world_factory):
    # Given an expiring frame whose original was removed out of band (its thumbnail is still there)
    world = world_factory(retention_days=7)
    frame = ingested(world, now() - timedelta(minutes=5))
    original = next(key for key in keys_of(aws, frame) if key.startswith("frames/"))
    thumb_bytes = object_sizes(aws)[original.replace("frames/", "thumbs/", 1).rsplit(".", 1)[0] + ".jpg"]
    s3().delete_object(Bucket=bucket(aws), Key=original)

    # When the job runs after the retention
    report = run(now() + timedelta(days=8))

    # Then the item and the thumbnail are gone, the missing original is counted and not counted as freed
    assert indexed_frame_ids(aws) == set()
    assert object_sizes(aws) == {}
    assert (report.frames_deleted, report.bytes_freed) == (1, thumb_bytes)
    assert report.reconciled.items_without_objects == 1


# objects without index items


def drop_index_item(world: World, frame: dict[str, Any]) -> None:
    """What a crash between the object writes and the index write leaves: objects that no item lists."""
    FrameModel(world.camera_id, frame["frame_id"]).delete()


def test_orphan_objects_of_an_expired_day_are_deleted_and_receipted(aws, world_factory):
    # Given an expiring frame indexed normally and one whose index item never got written
    world = world_factory(retention_days=7)
    kept_index = ingested(world, now() - timedelta(minutes=5))
    orphan = ingested(world, now() - timedelta(minutes=6))
    drop_index_item(world, orphan)
    freed = bytes_of(aws, [kept_index, orphan])

    # When the job runs after the retention
    report = run(now() + timedelta(days=8))

    # Then both frames' objects are gone, the orphan counted as such
    assert stored_frame_ids(aws) == set()
    assert (report.frames_deleted, report.bytes_freed) == (2, freed)
    assert report.reconciled.orphans_deleted == 1

    # When it runs again / Then nothing more is found or deleted
    again = run(now() + timedelta(days=8))
    assert (again.frames_deleted, again.bytes_freed, again.reconciled.keys_listed) == (0, 0, 0)


def test_an_orphan_younger_than_the_grace_is_kept_and_taken_by_a_later_run(aws, world_factory):
    # Given two expiring frames, the older one an orphan whose objects are "young" under a 9-day grace
    world = world_factory(retention_days=7)
    orphan = ingested(world, now() - timedelta(minutes=6))
    later = ingested(world, now() - timedelta(minutes=5))
    drop_index_item(world, orphan)
    at = now() + timedelta(days=8)

    # When the job runs with that grace
    held = run(at, grace=timedelta(days=9))

    # Then the orphan may be an upload in flight: nothing from it on is deleted, the position is held
    assert held.frames_deleted == 0
    assert held.reconciled.orphans_held == 1
    assert stored_frame_ids(aws) == ids_of(orphan, later)

    # When a later run finds it past the grace / Then both go
    done = run(at)
    assert done.frames_deleted == 2
    assert stored_frame_ids(aws) == set()


def test_objects_of_frames_whose_items_ttl_removed_are_deleted_when_their_day_expires(aws, world_factory):
    # Given a frame whose index item DynamoDB's TTL removed before the job came (its objects remain)
    world = world_factory(retention_days=7)
    frame = ingested(world, now() - timedelta(days=6, hours=23))
    drop_index_item(world, frame)
    freed = bytes_of(aws, [frame])

    # When the job runs a day later
    report = run(now() + timedelta(days=1))

    # Then the objects are deleted and receipted
    assert object_sizes(aws) == {}
    assert (report.frames_deleted, report.bytes_freed, report.reconciled.orphans_deleted) == (1, freed, 1)


# bounded, resumable, and a cost that follows what expires


def test_a_run_stops_when_its_listing_budget_is_spent_and_the_next_run_finishes(aws, world_factory):
    # Given five expiring frames, listed two at a time
    world = world_factory(retention_days=7)
    frames = [ingested(world, now() - timedelta(minutes=m)) for m in range(1, 6)]
    at = now() + timedelta(days=8)

    # When a run may list only 4 keys (one chunk of 2 frames: 2 originals and 2 thumbnails)
    first = run(at, batch=2, list_budget=4)

    # Then it stops early, having deleted that chunk completely
    assert first.stopped_early is True
    assert first.frames_deleted == 2
    assert len(stored_frame_ids(aws)) == 3

    # When the next run has budget / Then it finishes from where the first stopped
    second = run(at, batch=2)
    assert (second.stopped_early, second.frames_deleted) == (False, 3)
    assert stored_frame_ids(aws) == set()
    assert not ids_of(*frames) & stored_frame_ids(aws)


def calls_about(calls: list[tuple[str, dict[str, Any]]], world: World) -> Counter[str]:
    """The operations whose parameters name the world's contract, camera or site (its events' key range)."""
    names = (world.contract_id, world.camera_id, world.site_id)
    return Counter(op for op, params in calls if any(name in str(params) for name in names))


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
    assert report.reconciled.keys_listed == 2 * 2 * 3
    assert report.reconciled.items_examined == 2 * 3
    # And it never scanned the frames table
    assert not [op for op, params in job_calls if op == "Scan" and params.get("TableName") == aws.refs["FramesTable"]]


def test_a_run_with_no_time_left_keeps_every_cursor_and_object(aws, world_factory):
    # Given an expiring frame
    world = world_factory(retention_days=7)
    frame = ingested(world, now() - timedelta(minutes=1))

    # When the job has no time / Then nothing changes; with time, the frame goes
    assert run(now() + timedelta(days=8), lambda: 1_000.0).stopped_early is True
    assert stored_frame_ids(aws) == ids_of(frame)
    assert run(now() + timedelta(days=8), lambda: PLENTY_MS).frames_deleted == 1
    assert stored_frame_ids(aws) == set()


# failures: whatever fails, each frame is deleted in the end and counted once in the receipts


@pytest.fixture
def undeletable(monkeypatch: pytest.MonkeyPatch) -> set[str]:
    """Keys that S3's DeleteObjects reports as failed (an `Errors` entry, the object kept), as S3 does for a key it
    could not delete; the other keys of the request are deleted."""
    keys: set[str] = set()
    original = BaseClient._make_api_call

    def make_api_call(client: BaseClient, operation: str, params: dict[str, Any]) -> Any:
        if operation != "DeleteObjects":
            return original(client, operation, params)
        asked = params["Delete"]["Objects"]
        kept = [entry for entry in asked if entry["Key"] not in keys]
        response = original(client, operation, {**params, "Delete": {**params["Delete"], "Objects": kept}})
        errors = [
            {"Key": entry["Key"], "Code": "InternalError", "Message": "We encountered an internal error."}
            for entry in asked
            if entry["Key"] in keys
        ]
        return {**response, "Errors": [*response.get("Errors", []), *errors]}

    monkeypatch.setattr(BaseClient, "_make_api_call", make_api_call)
    return keys


def nth_call(n: int) -> Callable[[dict[str, Any]], bool]:
    """A fault matcher for the n-th call of an operation."""
    calls = 0

    def matches(_params: dict[str, Any]) -> bool:
        nonlocal calls
        calls += 1
        return calls == n

    return matches


def writes_receipt(aws: Provisioned) -> Callable[[dict[str, Any]], bool]:
    """A fault matcher for a write to the deletion receipts table, alone or in a transaction."""
    table = aws.refs["DeletionReceiptsTable"]

    def matches(params: dict[str, Any]) -> bool:
        writes = [params, *[next(iter(item.values())) for item in params.get("TransactItems", [])]]
        return any(write.get("TableName") == table for write in writes)

    return matches


def test_an_object_s3_fails_to_delete_is_deleted_by_the_next_run_and_its_frame_counted_once(
    aws, world_factory, undeletable
):
    # Given three expiring frames, and S3 reporting the middle frame's original as failed in DeleteObjects
    world = world_factory(retention_days=7)
    frames = [ingested(world, now() - timedelta(minutes=m)) for m in (1, 2, 3)]
    all_bytes = bytes_of(aws, frames)
    stuck = next(key for key in keys_of(aws, frames[1]) if key.startswith("frames/"))
    undeletable.add(stuck)
    at = now() + timedelta(days=8)

    # When the job runs
    first = run(at)

    # Then the failed object is left and reported, everything else is gone, and all three frames are counted
    assert list(object_sizes(aws)) == [stuck]
    assert indexed_frame_ids(aws) == set()
    assert (first.frames_deleted, first.bytes_freed, first.objects_failed) == (3, all_bytes, 1)

    # When S3 deletes again and the job runs again
    undeletable.clear()
    second = run(at + timedelta(hours=1))

    # Then the leftover object is deleted without counting its frame a second time
    assert stored_frame_ids(aws) == set()
    assert (second.frames_deleted, second.bytes_freed) == (0, 0)
    assert receipts(world) == [{"day": day_of(at), "frames": 3, "notes": 0, "bytes": all_bytes}]


def test_a_failed_index_batch_write_is_finished_by_the_next_run_and_counted_once(aws, world_factory, aws_faults):
    # Given 30 expiring frames (two index batch writes: 25, then 5), and DynamoDB failing the second
    world = world_factory(retention_days=7)
    frames = [ingested(world, now() - timedelta(seconds=s)) for s in range(30)]
    all_bytes = bytes_of(aws, frames)
    aws_faults.fail("dynamodb", "BatchWriteItem", nth_call(2))
    at = now() + timedelta(days=8)

    # When the job runs / Then it fails part-way: 25 index items deleted, no object yet
    with pytest.raises(StorageError):
        run(at)
    assert len(indexed_frame_ids(aws)) == 5
    assert len(object_sizes(aws)) == 60

    # When it runs again
    rerun = run(at)

    # Then everything is deleted (the 25 frames as objects without index items) and each frame counted once
    assert stored_frame_ids(aws) == set()
    assert rerun.reconciled.orphans_deleted == 25
    assert receipts(world) == [{"day": day_of(at), "frames": 30, "notes": 0, "bytes": all_bytes}]


def test_a_failed_receipt_write_loses_no_count(aws, world_factory, aws_faults):
    # Given two expiring frames, and DynamoDB failing the first write of a deletion receipt
    world = world_factory(retention_days=7)
    frames = [ingested(world, now() - timedelta(minutes=m)) for m in (1, 2)]
    all_bytes = bytes_of(aws, frames)
    for operation in ("UpdateItem", "TransactWriteItems"):
        aws_faults.fail("dynamodb", operation, writes_receipt(aws))
    at = now() + timedelta(days=8)

    # When the job runs / Then it fails, having deleted nothing it did not count
    with pytest.raises(StorageError):
        run(at)
    assert stored_frame_ids(aws) == ids_of(*frames)

    # When it runs again / Then the frames are deleted and counted, once
    assert run(at).frames_deleted == 2
    assert stored_frame_ids(aws) == set()
    assert receipts(world) == [{"day": day_of(at), "frames": 2, "notes": 0, "bytes": all_bytes}]


def test_overlapping_runs_count_each_frame_once(aws, world_factory, aws_faults):
    # Given two expiring frames, and a second run (EventBridge delivers a schedule at least once) that does the
    # whole work while the first is about to record its count
    world = world_factory(retention_days=7)
    frames = [ingested(world, now() - timedelta(minutes=m)) for m in (1, 2)]
    all_bytes = bytes_of(aws, frames)
    at = now() + timedelta(days=8)
    overlapping: list[int] = []
    aws_faults.before("dynamodb", "TransactWriteItems", lambda: overlapping.append(run(at).frames_deleted))

    # When the first run gets to its count
    first = run(at)

    # Then the second run counted and deleted both frames, and the first one stopped without counting them again
    assert overlapping == [2]
    assert (first.frames_deleted, first.stopped_early) == (0, True)
    assert stored_frame_ids(aws) == set()
    assert receipts(world) == [{"day": day_of(at), "frames": 2, "notes": 0, "bytes": all_bytes}]


# notes: counted before they are deleted, against their partition's own watermark, as frames are


def expiring_notes(world: World, count: int) -> tuple[list[str], str]:
    """`count` notes on the world's camera, oldest first, and an event of its site (naming no camera), all 6½ days
    old: the note ids, and the event's."""
    token, at = owner_token(world), now() - timedelta(days=6, hours=12)
    notes = [added(token, world.camera_id, f"note {n}", at - timedelta(seconds=n)) for n in reversed(range(count))]
    event = recorded(world, {"occurred_at": format_rfc3339(at), "text": "site event"})
    return [note["note_id"] for note in notes], event["note_id"]


def note_ids(world: World) -> set[str]:
    return {item["note_id"]["S"] for item in stored_notes(world.contract_id)}


def deletes_notes(aws: Provisioned) -> Callable[[dict[str, Any]], bool]:
    """A fault matcher for a batch delete in the notes table."""
    return lambda params: aws.refs["NotesTable"] in params.get("RequestItems", {})


def both(*matchers: Callable[[dict[str, Any]], bool]) -> Callable[[dict[str, Any]], bool]:
    """A matcher for calls all `matchers` match (later ones see only the calls earlier ones matched)."""
    return lambda params: all(matches(params) for matches in matchers)


@pytest.mark.parametrize("failing", [1, 2], ids=["camera-notes", "site-events"])
def test_a_failed_receipt_write_loses_no_note_count(aws, world_factory, aws_faults, failing):
    # Given two expiring notes on a camera and an expiring event of its site, a young note, and DynamoDB failing
    # the receipt write of the camera's notes (the first) or of the site's events (the second)
    world = world_factory(retention_days=7)
    notes, event = expiring_notes(world, 2)
    young = added(owner_token(world), world.camera_id, "young")["note_id"]
    aws_faults.fail("dynamodb", "TransactWriteItems", both(writes_receipt(aws), nth_call(failing)))
    at = now() + timedelta(days=1)

    # When the job runs / Then it fails, having deleted no note it did not count
    with pytest.raises(StorageError):
        run(at)
    counted_before = {1: [], 2: notes}[failing]
    assert note_ids(world) == {*notes, event, young} - set(counted_before)
    assert receipts(world) == ([{"day": day_of(at), "frames": 0, "notes": 2, "bytes": 0}] if counted_before else [])

    # When it runs again / Then the rest is deleted and counted, and each note is in the receipt once
    assert run(at).notes_deleted == 3 - len(counted_before)
    assert note_ids(world) == {young}
    assert receipts(world) == [{"day": day_of(at), "frames": 0, "notes": 3, "bytes": 0}]


def test_a_failed_note_delete_is_finished_by_the_next_run_and_each_note_counted_once(aws, world_factory, aws_faults):
    # Given five expiring notes on a camera and an expiring site event, taken three at a time, and DynamoDB failing
    # the second batch delete of notes
    world = world_factory(retention_days=7)
    notes, event = expiring_notes(world, 5)
    aws_faults.fail("dynamodb", "BatchWriteItem", both(deletes_notes(aws), nth_call(2)))
    at = now() + timedelta(days=1)

    # When the job runs / Then it fails part-way: the first three notes gone, the other two counted but stored
    with pytest.raises(StorageError):
        run(at, batch=3)
    assert note_ids(world) == {*notes[3:], event}
    assert receipts(world) == [{"day": day_of(at), "frames": 0, "notes": 5, "bytes": 0}]

    # When it runs again
    rerun = run(at, batch=3)

    # Then the two leftover notes are deleted uncounted, the site event counted, and each note is in the receipt once
    assert rerun.notes_deleted == 1
    assert note_ids(world) == set()
    assert receipts(world) == [{"day": day_of(at), "frames": 0, "notes": 6, "bytes": 0}]


@pytest.mark.parametrize(
    ("moment", "second_counts", "first_counts", "first_stops"),
    [("before-the-count", 3, 0, True), ("before-the-delete", 1, 2, False)],
)
def test_overlapping_runs_count_each_note_once(
    aws,
    world_factory,
    aws_faults,
    moment,
    second_counts,
    first_counts,
    first_stops,
):
    # Given two expiring notes on a camera and an expiring site event, and a second run (EventBridge delivers a
    # schedule at least once) that does its whole work while the first is about to count the camera's notes, or has
    # counted them and is about to delete them
    world = world_factory(retention_days=7)
    expiring_notes(world, 2)
    at = now() + timedelta(days=1)
    overlapping: list[int] = []

    def second_run() -> None:
        overlapping.append(run(at).notes_deleted)

    if moment == "before-the-count":
        aws_faults.before("dynamodb", "TransactWriteItems", second_run)
    else:
        aws_faults.before("dynamodb", "BatchWriteItem", second_run, deletes_notes(aws))

    # When the first run gets there
    first = run(at)

    # Then between them every note is deleted and counted once: the second run counts what the first had not
    # counted yet, and the first stops rather than count the camera's notes again, or deletes what it counted
    assert overlapping == [second_counts]
    assert (first.notes_deleted, first.stopped_early) == (first_counts, first_stops)
    assert note_ids(world) == set()
    assert receipts(world) == [{"day": day_of(at), "frames": 0, "notes": 3, "bytes": 0}]


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
