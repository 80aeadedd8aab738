"""The retention job's deletion receipts (SPEC §5): whatever fails on the way, or runs twice at once, each frame and
note is deleted in the end and counted once. Frames come in through the ingest handler, notes through the viewer's and
events through the ingest handler's routes; time moves on through the job's injected `now`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from botocore.client import BaseClient

from doti.errors import StorageError
from doti.viewing.deletions import day_of
from infra.provision import Provisioned
from tests.support.deletions import receipts
from tests.support.ledger import retained
from tests.support.notes import added
from tests.support.retention import (
    bytes_of,
    expiring_notes,
    ids_of,
    indexed_frame_ids,
    ingested,
    keys_of,
    note_ids,
    now,
    object_sizes,
    run,
    stored_frame_ids,
)
from tests.support.viewer import owner_token

# Isolated (moto emptied before each test): the retention job walks every contract.
pytestmark = pytest.mark.isolated


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


def deletes_notes(aws: Provisioned) -> Callable[[dict[str, Any]], bool]:
    """A fault matcher for a batch delete in the notes table."""
    return lambda params: aws.refs["NotesTable"] in params.get("RequestItems", {})


def both(*matchers: Callable[[dict[str, Any]], bool]) -> Callable[[dict[str, Any]], bool]:
    """A matcher for calls all `matchers` match (later ones see only the calls earlier ones matched)."""
    return lambda params: all(matches(params) for matches in matchers)


# frames


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
    assert receipts(world) == [retained(day_of(at), frames=3, bytes_=all_bytes)]


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
    assert len(object_sizes(aws)) == 30  # one object per frame: a still stores no thumbnail

    # When it runs again
    rerun = run(at)

    # Then everything is deleted (the 25 frames as objects without index items) and each frame counted once
    assert stored_frame_ids(aws) == set()
    assert rerun.reconciled.orphans_deleted == 25
    assert receipts(world) == [retained(day_of(at), frames=30, bytes_=all_bytes)]


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
    assert receipts(world) == [retained(day_of(at), frames=2, bytes_=all_bytes)]


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
    assert receipts(world) == [retained(day_of(at), frames=2, bytes_=all_bytes)]


# notes: counted before they are deleted, against their partition's own watermark, as frames are


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
    assert receipts(world) == ([retained(day_of(at), notes=2)] if counted_before else [])

    # When it runs again / Then the rest is deleted and counted, and each note is in the receipt once
    assert run(at).notes_deleted == 3 - len(counted_before)
    assert note_ids(world) == {young}
    assert receipts(world) == [retained(day_of(at), notes=3)]


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
    assert receipts(world) == [retained(day_of(at), notes=5)]

    # When it runs again
    rerun = run(at, batch=3)

    # Then the two leftover notes are deleted uncounted, the site event counted, and each note is in the receipt once
    assert rerun.notes_deleted == 1
    assert note_ids(world) == set()
    assert receipts(world) == [retained(day_of(at), notes=6)]


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
    assert receipts(world) == [retained(day_of(at), notes=3)]
