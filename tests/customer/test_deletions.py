"""Deletion receipts (SPEC §5): what retention and takedowns deleted, per contract and UTC day, read by the customer
at GET /v1/deletions. Frames come in through the ingest handler, go through the retention job and the admin
takedown route, and the receipts are read through the viewer handler."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import boto3
import pytest

from doti.viewing.deletions import day_of
from functions.viewer import app as viewer
from tests.support import LambdaContext, admin_call, api_event, assert_error
from tests.support.contract_states import put_in_state
from tests.support.deletions import deletions, receipts
from tests.support.ledger import counts, receipt, retained, taken_down
from tests.support.retention import bytes_of, ingested, now, run, stored_frame_ids
from tests.support.takedown import take_down
from tests.support.viewer import owner_token

# Isolated (moto emptied before each test): the retention job walks every contract.
pytestmark = pytest.mark.isolated


def test_a_retention_run_and_a_takedown_are_receipted_per_day_newest_first(aws, world_factory):
    world = world_factory(retention_days=7)
    # Given three frames: two that expire, one that staff take down today
    expiring = [ingested(world, now() - timedelta(minutes=m)) for m in (2, 3)]
    taken = ingested(world, now() - timedelta(minutes=1))
    expired_bytes, taken_bytes = bytes_of(aws, expiring), bytes_of(aws, [taken])
    request = {"camera_id": world.camera_id, "frame_id": taken["frame_id"], "ground": "art7-1-3", "reason": "window"}
    assert take_down(world.staff_key, world.contract_id, **request)["statusCode"] == 200

    # When the retention job runs 8 days later
    later = now() + timedelta(days=8)
    report = run(later)
    assert report.frames_deleted == 2
    assert stored_frame_ids(aws) == set()

    # Then the customer reads one receipt per day, the job's day first, with frames, notes and bytes
    assert receipts(world) == [
        retained(day_of(later), frames=2, bytes_=expired_bytes),
        taken_down(day_of(now()), frames=1, bytes_=taken_bytes),
    ]


def test_runs_on_one_day_add_up_and_a_rerun_adds_nothing(aws, world_factory):
    world = world_factory(retention_days=7)
    # Given frames that expire in two batches of the same day
    first = [ingested(world, now() - timedelta(minutes=m)) for m in (3, 4)]
    at = now() + timedelta(days=8)
    all_bytes = bytes_of(aws, first)
    assert run(at, batch=1, list_budget=1).frames_deleted == 1  # stops after the first frame (its one object)

    # When later runs that day finish the work and rerun
    run(at + timedelta(minutes=1))
    run(at + timedelta(minutes=2))

    # Then the day's receipt counts each frame once
    assert receipts(world) == [retained(day_of(at), frames=2, bytes_=all_bytes)]


def test_another_contracts_receipts_are_never_visible(aws, world_factory):
    # Given two contracts whose frames both expired and were deleted
    mine, theirs = world_factory(retention_days=7), world_factory(retention_days=7)
    ingested(mine, now() - timedelta(minutes=1))
    for m in (1, 2, 3):
        ingested(theirs, now() - timedelta(minutes=m))
    at = now() + timedelta(days=8)
    run(at)

    # When each customer reads the receipts / Then each sees only their own contract's
    assert [(r["day"], r["frames"]) for r in receipts(mine)] == [(day_of(at), 1)]
    assert [(r["day"], r["frames"]) for r in receipts(theirs)] == [(day_of(at), 3)]


def test_from_to_and_limit_select_days(aws, world_factory):
    world = world_factory(retention_days=7)
    # Given receipts on three days (one expiring frame deleted per day)
    start = now()
    for age in (2, 1, 0):
        ingested(world, start - timedelta(days=age, minutes=5))
    days = [start + timedelta(days=7 - age, minutes=-4) for age in (2, 1, 0)]  # each just past one frame's retention
    for at in days:
        assert run(at).frames_deleted == 1
    labels = [day_of(at) for at in days]

    # When the customer asks for a range, or a limit / Then both ends are included, newest first
    assert [r["day"] for r in receipts(world)] == labels[::-1]
    assert [r["day"] for r in receipts(world, **{"from": labels[1]})] == [labels[2], labels[1]]
    assert [r["day"] for r in receipts(world, to=labels[1])] == [labels[1], labels[0]]
    assert [r["day"] for r in receipts(world, **{"from": labels[1], "to": labels[1]})] == [labels[1]]
    assert [r["day"] for r in receipts(world, limit="1")] == [labels[2]]


def test_a_contract_with_nothing_deleted_has_no_receipts(world):
    assert receipts(world) == []


@pytest.mark.parametrize(
    "query",
    [{"from": "2026-13-01"}, {"to": "yesterday"}, {"from": "2026-11-25T00:00:00Z"}, {"limit": "0"}, {"limit": "367"}],
)
def test_bad_days_and_limits_are_refused(world, query):
    assert_error(deletions(owner_token(world), **query), 422, "validation_error")


def test_from_after_to_is_refused(world):
    assert_error(deletions(owner_token(world), **{"from": "2026-11-02", "to": "2026-11-01"}), 422, "validation_error")


@pytest.mark.parametrize(
    ("state", "status", "code"), [("suspended", 403, "contract_suspended"), ("terminated", 403, "contract_terminated")]
)
def test_the_contracts_state_applies_as_on_other_customer_routes(world, state, status, code):
    # Given a signed-in customer whose contract is then suspended or terminated
    token = owner_token(world)
    put_in_state(world.contract_id, state)

    # When they read their receipts / Then the state's error answers
    assert_error(deletions(token), status, code)


def test_receipts_need_a_session(world):
    event = api_event("viewer/list_cameras.json", method="GET", path="/v1/deletions", resource="/v1/deletions")
    event["headers"] = {k: v for k, v in (event.get("headers") or {}).items() if k.lower() != "authorization"}
    event["multiValueHeaders"] = {k: [v] for k, v in event["headers"].items()}
    assert_error(viewer.lambda_handler(event, LambdaContext()), 401, "unauthorized")


def test_days_are_utc_days():
    assert day_of(datetime(2026, 11, 25, 23, 30, tzinfo=UTC)) == "2026-11-25"
    assert day_of(datetime(2026, 11, 26, 8, 30, tzinfo=UTC).astimezone(UTC) - timedelta(hours=9)) == "2026-11-25"


# per source (retention, takedown)


def test_a_retention_run_and_a_takedown_on_one_day_are_split_and_add_up(aws, world_factory):
    world = world_factory(retention_days=31)
    # Given two frames 10 days old and a fresh one, and staff then shorten the retention to 7 days
    expiring = [ingested(world, now() - timedelta(days=10, minutes=m)) for m in (0, 1)]
    taken = ingested(world, now() - timedelta(minutes=1))
    expired_bytes, taken_bytes = bytes_of(aws, expiring), bytes_of(aws, [taken])
    patched = admin_call(
        "PATCH", f"/v1/admin/contracts/{world.contract_id}", key=world.staff_key, body={"retention_days": 7}
    )
    assert patched["statusCode"] == 200, patched["body"]

    # When staff take the fresh frame down and the retention job runs right after (the same UTC day)
    request = {"camera_id": world.camera_id, "frame_id": taken["frame_id"], "ground": "art7-1-3", "reason": "window"}
    assert take_down(world.staff_key, world.contract_id, **request)["statusCode"] == 200
    at = now()
    assert run(at).frames_deleted == 2

    # Then the day's receipt splits the two sources, and its totals (what old clients read) are their sum
    [day] = receipts(world)
    assert day == receipt(
        day_of(at), retention=counts(frames=2, bytes_=expired_bytes), takedown=counts(frames=1, bytes_=taken_bytes)
    )
    assert (day["frames"], day["bytes"]) == (3, expired_bytes + taken_bytes)


def _put_receipt(aws, contract_id: str, day: str, **numbers: int) -> None:
    """A receipt item as stored (by an older version, for the first cases), written to the table directly."""
    item = {"contract_id": {"S": contract_id}, "day": {"S": day}}
    item |= {name: {"N": str(value)} for name, value in numbers.items()}
    boto3.client("dynamodb").put_item(TableName=aws.refs["DeletionReceiptsTable"], Item=item)


def test_a_day_stored_before_sources_were_counted_has_no_split(aws, world):
    # Given a receipt stored before this change: totals only
    _put_receipt(aws, world.contract_id, "2026-11-20", frames=4, notes=1, bytes=900)

    # When the customer reads it / Then the totals are there and the split is null (unknown), not a guess
    assert receipts(world) == [{"day": "2026-11-20", "frames": 4, "notes": 1, "bytes": 900, "by_source": None}]


def test_a_day_begun_before_sources_were_counted_has_no_split(aws, world):
    # Given a day counted in part before the change (4 frames) and in part after (a takedown of 1 frame)
    _put_receipt(aws, world.contract_id, "2026-11-21", frames=5, notes=0, bytes=1000, takedown_frames=1)
    _put_receipt(aws, world.contract_id, "2026-11-22", frames=1, notes=0, bytes=100, takedown_frames=1)
    # (the second day: its takedown bytes are missing, so its sources do not add up either)

    # When the customer reads them / Then neither day gives a split its totals do not bear out
    assert [r["by_source"] for r in receipts(world)] == [None, None]


def test_a_takedown_alone_leaves_the_retention_side_at_zero(aws, world):
    # Given a frame staff take down
    taken = ingested(world, now() - timedelta(minutes=1))
    taken_bytes = bytes_of(aws, [taken])
    request = {"camera_id": world.camera_id, "frame_id": taken["frame_id"], "ground": "art7-1-4", "reason": "x"}

    # When it is taken down
    assert take_down(world.staff_key, world.contract_id, **request)["statusCode"] == 200

    # Then the day's receipt is all takedown
    assert receipts(world) == [taken_down(day_of(now()), frames=1, bytes_=taken_bytes)]
