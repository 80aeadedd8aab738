"""The retention job's reconciliation (SPEC §5): index items whose objects are gone, and objects no index item lists
(reconciled by day prefix, with a grace for uploads in flight). Frames come in through the ingest handler; time moves
on through the job's injected `now`."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import boto3
import pytest

from doti.store.models import FrameModel
from tests.support import World
from tests.support.retention import (
    bytes_of,
    ids_of,
    indexed_frame_ids,
    ingested,
    keys_of,
    now,
    object_sizes,
    run,
    stored_frame_ids,
)
from tests.support.thumbnails import give_stored_thumbnail

# Isolated (moto emptied before each test): the retention job walks every contract.
pytestmark = pytest.mark.isolated


def drop_index_item(world: World, frame: dict[str, Any]) -> None:
    """What a crash between the object writes and the index write leaves: objects that no item lists."""
    FrameModel(world.camera_id, frame["frame_id"]).delete()


# index items without objects


def test_an_index_item_whose_object_was_removed_out_of_band_is_deleted_with_what_remains(aws, world_factory):
    # Given an expiring frame with a stored thumbnail (stored before thumbnails were rendered when viewed) whose
    # original was removed out of band (its thumbnail is still there)
    world = world_factory(retention_days=7)
    frame = ingested(world, now() - timedelta(minutes=5))
    _, thumbnail = give_stored_thumbnail(world.camera_id, frame["frame_id"])
    original = next(key for key in keys_of(aws, frame) if key.startswith("frames/"))
    thumb_bytes = len(thumbnail)
    boto3.client("s3", region_name="us-east-1").delete_object(Bucket=aws.refs["FramesBucket"], Key=original)

    # When the job runs after the retention
    report = run(now() + timedelta(days=8))

    # Then the item and the thumbnail are gone, the missing original is counted and not counted as freed
    assert indexed_frame_ids(aws) == set()
    assert object_sizes(aws) == {}
    assert (report.frames_deleted, report.bytes_freed) == (1, thumb_bytes)
    assert report.reconciled.items_without_objects == 1


# objects without index items


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
