"""The timeline backfill (doti.jobs.timeline_backfill, `python -m infra.backfill_timeline`): slots for frames indexed
before ingest wrote slots, written only where none exists, from key-range pages of the index, within a time budget
and resumable; a re-run, or a run under any single AWS fault followed by the operator's re-run, leaves every slot as
ingest would have written it.

Frames are stored through the real ingest handler; "before the timeline existed" is then made by deleting the
camera's slots, after keeping them as the truth to compare with.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from doti.clock import utcnow
from doti.errors import NotFound, ValidationError
from doti.jobs import timeline_backfill
from doti.jobs.timeline_backfill import backfill_camera
from doti.store import timeline
from doti.store.models import TimelineSlotModel
from infra import backfill_timeline
from infra.provision import Provisioned
from tests.faults.inject import MODES, Plan
from tests.faults.points import sweep
from tests.support import World, frame_event
from tests.support.hooks import botocore_hook
from tests.support.ingest import jpeg, post

BUDGET = timedelta(minutes=5)


def slots_of(camera_id: str) -> dict[str, tuple[Any, ...]]:
    return {
        item.slot: (int(item.frames), item.first_frame_id, item.max_activity, item.expires_at)
        for item in TimelineSlotModel.query(camera_id, consistent_read=True)
    }


def forget_slots(camera_id: str, keep: tuple[str, ...] = ()) -> None:
    for item in TimelineSlotModel.query(camera_id, consistent_read=True):
        if item.slot not in keep:
            item.delete()


def store_frames(world: World, moments: list[datetime]) -> dict[str, tuple[Any, ...]]:
    """Frames at these capture times, through ingest; the slots ingest wrote for them (the truth)."""
    for i, moment in enumerate(moments):
        response = post(frame_event(world, jpeg(160, 90 + i % 5), captured_at=moment))
        assert response["statusCode"] == 201, response["body"]
    return slots_of(world.camera_id)


def spread(count: int, *, slots: int) -> list[datetime]:
    """`count` capture times over `slots` consecutive 5-minute slots an hour or more ago, in no particular order."""
    first = timeline.slot_start(utcnow() - timedelta(hours=2))
    times = [first + timedelta(minutes=5 * (i % slots), seconds=7 + 13 * i) for i in range(count)]
    return times[1::2] + times[::2]


def run(world: World, moments: list[datetime], **options: Any) -> timeline_backfill.BackfillRun:
    first_day, last_day = min(moments).date(), max(moments).date()
    return backfill_camera(world.camera_id, first_day, last_day, now=utcnow(), **{"budget": BUDGET, **options})


def test_the_backfill_writes_each_slot_as_ingest_would_have(world):
    # Given frames over four slots, stored before the timeline existed (no slots)
    moments = spread(11, slots=4)
    truth = store_frames(world, moments)
    forget_slots(world.camera_id)

    # When the operator runs the backfill over their days
    done = run(world, moments)

    # Then every slot is back as ingest wrote it: count, first frame, highest score, expiry
    assert slots_of(world.camera_id) == truth
    assert (done.frames_read, done.slots_written, done.slots_present, done.resume_from) == (11, 4, 0, None)


def test_a_rerun_changes_nothing(world):
    # Given a backfilled camera
    moments = spread(9, slots=3)
    truth = store_frames(world, moments)
    forget_slots(world.camera_id)
    run(world, moments)

    # When the backfill runs again
    again = run(world, moments)

    # Then no slot is written, and every one is as it was
    assert (again.slots_written, again.slots_present) == (0, 3)
    assert slots_of(world.camera_id) == truth


def test_a_slot_ingest_wrote_is_never_rewritten_nor_counted_twice(world):
    # Given frames over three slots, where ingest counted the middle slot (after the release) and not the others
    moments = spread(9, slots=3)
    truth = store_frames(world, moments)
    middle = sorted(truth)[1]
    forget_slots(world.camera_id, keep=(middle,))
    # ... and a slot whose count differs from the index (ingest's, partly counted at the release): it stands
    item = TimelineSlotModel.get(world.camera_id, middle)
    item.update(actions=[TimelineSlotModel.frames.set(1)])

    # When the backfill runs
    done = run(world, moments)

    # Then the two missing slots are written and the existing one is left exactly as it was
    assert (done.slots_written, done.slots_present) == (2, 1)
    after = slots_of(world.camera_id)
    assert {k: v for k, v in after.items() if k != middle} == {k: v for k, v in truth.items() if k != middle}
    assert after[middle][0] == 1


def test_expired_frames_make_no_slot(world):
    # Given frames of one slot, all past their expiry by now (the run's "now" is after them)
    moments = spread(3, slots=1)
    truth = store_frames(world, moments)
    forget_slots(world.camera_id)
    (_, _, _, expires_at) = next(iter(truth.values()))

    # When the backfill runs at a time after their expiry
    first, last = min(moments).date(), max(moments).date()
    done = backfill_camera(world.camera_id, first, last, now=expires_at + timedelta(days=1), budget=BUDGET)

    # Then nothing is written
    assert (done.frames_read, done.slots_written) == (3, 0)
    assert slots_of(world.camera_id) == {}


def test_a_run_stops_within_its_budget_and_resumes_where_it_stopped(world):
    # Given frames over five slots with none written, and a clock that moves a minute at each look
    moments = spread(10, slots=5)
    truth = store_frames(world, moments)
    forget_slots(world.camera_id)
    ticks = iter(range(0, 10_000, 60))

    def clock() -> float:
        return float(next(ticks))

    # When the operator runs it with a budget of two minutes, and again from where each run stopped
    runs = [run(world, moments, budget=timedelta(minutes=2), clock=clock)]
    while runs[-1].resume_from is not None:
        assert len(runs) < 10
        runs.append(run(world, moments, budget=timedelta(minutes=2), clock=clock, resume_from=runs[-1].resume_from))

    # Then each run wrote a part and stopped at a slot start, and together they wrote every slot once
    assert len(runs) > 1
    assert all(r.resume_from in truth for r in runs[:-1])
    assert sum(r.slots_written for r in runs) == 5
    assert sum(r.slots_present for r in runs) == 0
    assert slots_of(world.camera_id) == truth


def test_the_index_is_read_by_key_range_in_pages_never_scanned(world, aws: Provisioned):
    # Given frames over two slots with none written
    moments = spread(7, slots=2)
    truth = store_frames(world, moments)
    forget_slots(world.camera_id)
    frames_table = aws.refs["FramesTable"]
    calls: list[tuple[str, Any]] = []

    def count(model: Any, params: dict[str, Any], **_: Any) -> None:
        request = json.loads(params.get("body") or b"{}")
        if request.get("TableName") == frames_table:
            calls.append((model.name, request.get("Limit")))

    # When the backfill reads three index items a page
    with botocore_hook("before-call", count, "test-backfill-pages"):
        run(world, moments, page_size=3)

    # Then it made Queries only, one per page (7 items: 3 pages), and wrote every slot
    assert calls == [("Query", 3)] * 3
    assert slots_of(world.camera_id) == truth


@pytest.mark.parametrize(
    ("first", "last", "resume_from"),
    [
        (date(2026, 11, 2), date(2026, 11, 1), None),
        (date(2025, 1, 1), date(2026, 11, 1), None),
        (date(2026, 11, 1), date(2026, 11, 2), "yesterday"),
        (date(2026, 11, 1), date(2026, 11, 2), "2026-11-05T00:00:00Z"),
        (date(2026, 11, 1), date(2026, 11, 2), "2026-11-01T00:01:00Z"),
    ],
    ids=["reversed", "too-long", "not-a-key", "outside", "not-a-slot-start"],
)
def test_a_bad_range_or_resume_position_is_refused(world, first, last, resume_from):
    with pytest.raises(ValidationError):
        backfill_camera(world.camera_id, first, last, now=utcnow(), budget=BUDGET, resume_from=resume_from)


def test_an_unknown_camera_is_not_found(aws):
    with pytest.raises(NotFound):
        backfill_camera("cam_nope", date(2026, 11, 1), date(2026, 11, 1), now=utcnow(), budget=BUDGET)


def test_the_operators_command_prints_the_run_and_where_to_resume(world, capsys):
    # Given frames with no slots
    moments = spread(4, slots=2)
    truth = store_frames(world, moments)
    forget_slots(world.camera_id)
    first, last = min(moments).date().isoformat(), max(moments).date().isoformat()

    capsys.readouterr()  # what ingest logged

    # When the operator runs the command
    code = backfill_timeline.main(["--camera", world.camera_id, "--from", first, "--to", last])

    # Then it succeeds, prints one JSON line saying it is done, and the slots are written
    assert code == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == {
        "camera_id": world.camera_id,
        "frames_read": 4,
        "slots_written": 2,
        "slots_present": 0,
        "resume_from": None,
    }
    assert slots_of(world.camera_id) == truth

    # And a refused range is an error line and exit code 2, not a traceback
    assert backfill_timeline.main(["--camera", world.camera_id, "--from", last, "--to", "2020-01-01"]) == 2
    assert "error" in json.loads(capsys.readouterr().out)


# faults


@pytest.mark.parametrize("mode", MODES)
def test_under_any_single_fault_a_rerun_leaves_every_slot_as_ingest_would_have(world, mode):
    # Given, each time, fresh frames over two slots of their own with none written
    base = [timeline.slot_start(utcnow() - timedelta(hours=3))]

    def given() -> tuple[list[datetime], dict[str, tuple[Any, ...]]]:
        base[0] -= timedelta(minutes=10)  # each scenario its own two slots, clear of the others
        moments = [base[0] + timedelta(minutes=5 * (i % 2), seconds=11 * i + 3) for i in range(5)]
        truth = store_frames(world, moments)
        mine = {timeline.slot_key(base[0]), timeline.slot_key(base[0] + timeline.SLOT)}
        forget_slots(world.camera_id, keep=tuple(k for k in truth if k not in mine))  # earlier scenarios' stay
        return moments, {k: v for k, v in truth.items() if k in mine}

    def step(subject: tuple[list[datetime], dict[str, Any]]) -> timeline_backfill.BackfillRun:
        moments, _ = subject
        return backfill_camera(world.camera_id, min(moments).date(), max(moments).date(), now=utcnow(), budget=BUDGET)

    def check(subject: tuple[list[datetime], dict[str, Any]], plan: Plan, outcome: Any) -> None:
        _, truth = subject
        # When the operator runs it again after anything but a finished run
        if not (isinstance(outcome, timeline_backfill.BackfillRun) and outcome.resume_from is None):
            again = step(subject)
            assert again.resume_from is None, plan
        # Then the slots are those ingest wrote, and one more run writes nothing
        mine = {k: v for k, v in slots_of(world.camera_id).items() if k in truth}
        assert mine == truth, plan
        assert step(subject).slots_written == 0, plan

    assert sweep(mode, given, step, check) > 0


def test_slot_times_are_utc_slot_starts():
    # the resume positions the command prints are the slot keys of doti.store.timeline
    moment = datetime(2026, 11, 3, 10, 7, 31, tzinfo=UTC)
    assert timeline.slot_key(timeline.slot_start(moment)) == "2026-11-03T10:05:00Z"
