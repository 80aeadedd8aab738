"""Camera health (issue 16 §1): a camera is `online` while its newest frame is younger than its expected interval,
`offline` once it is older, and `paused` while its contract does not serve (its frames are refused then).

Nothing scans cameras. An online camera has one live "camera_health" item in the schedule table, due when its newest
frame known at arming time turns one interval old (`Camera.health_due_at` names it; any other item of the camera is
stale and dropped). The health job (doti.jobs.health) reads only the items that are due: a camera that sent a frame
since is re-armed from that frame, one that did not is marked offline and told of (camera.offline). Ingest brings a
camera back at its next frame (doti.ingest.camera_events: camera.online) and arms its item again; on the common path,
a camera already online, ingest writes nothing more than the pointer it always moves.

Each change is told first and written second: a failure between the two leaves the camera in its old state, so the
next job run or frame tells it again, with the same event id (derived from the fact), which receivers drop.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from doti import ids
from doti.clock import format_optional, format_rfc3339
from doti.contracts import contract_states
from doti.contracts.contract_states import Capability
from doti.entities import Camera, Contract, ScheduledWork
from doti.jobs import schedule
from doti.store import camera_health as store
from doti.store.events import EventSink
from doti.webhooks import events as camera_events

ONLINE, OFFLINE, PAUSED = store.ONLINE, store.OFFLINE, store.PAUSED
DEFAULT_INTERVAL_SECONDS = 60  # a camera's expected interval until staff set one
# Re-armed no earlier than this after a run, so an item due exactly when its frame turns one interval old (not yet
# older: offline means older) is looked at again in a later run, never twice in one.
_MIN_REARM = timedelta(seconds=1)

# what the job did with a due item
DROPPED, REARMED, WENT_OFFLINE, PAUSED_ITEM, KEPT = "dropped", "rearmed", "offline", "paused", "kept"


def interval_seconds(camera: Camera) -> int:
    """How often the camera is expected to send a frame (staff set it; the default otherwise)."""
    return int(camera.expected_interval_seconds or DEFAULT_INTERVAL_SECONDS)


def _interval(camera: Camera) -> timedelta:
    return timedelta(seconds=interval_seconds(camera))


def due_after(camera: Camera, frame_id: str) -> datetime:
    """When the health job looks at the camera again: when the frame `frame_id` (by capture time) turns one
    interval old."""
    return ids.id_time(frame_id) + _interval(camera)


def is_fresh(camera: Camera, frame_id: str, now: datetime) -> bool:
    """The frame is younger than the camera's interval: a frame captured long ago does not make a camera online."""
    return now - ids.id_time(frame_id) < _interval(camera)


def is_silent(camera: Camera, now: datetime) -> bool:
    """The camera's newest frame is older than its interval (the job's test for offline: strictly older)."""
    return not camera.last_frame_id or now - ids.id_time(camera.last_frame_id) > _interval(camera)


def online_event(camera: Camera, frame_id: str) -> camera_events.Event:
    """camera.online after an offline spell; its id is the spell's (camera, offline_since), so two frames racing to
    end it, or a retry after a failure, tell of one fact."""
    offline_since = format_optional(camera.offline_since) or ""
    return camera_events.new_event(
        camera_events.CAMERA_ONLINE,
        f"{camera.camera_id}#{offline_since}",
        time=ids.id_time(frame_id),
        contract_id=camera.contract_id,
        site_id=camera.site_id,
        camera_id=camera.camera_id,
        data={
            "camera_name": camera.name,
            "offline_since": offline_since or None,
            "frame_id": frame_id,
            "captured_at": format_rfc3339(ids.id_time(frame_id)),
        },
        frame_id=frame_id,
    )


def offline_event(camera: Camera, now: datetime) -> camera_events.Event:
    """camera.offline; its id is (camera, newest frame): the same silence is one fact, however often it is told."""
    last_frame_at = ids.id_time(camera.last_frame_id) if camera.last_frame_id else None
    return camera_events.new_event(
        camera_events.CAMERA_OFFLINE,
        f"{camera.camera_id}#{camera.last_frame_id or ''}",
        time=now,
        contract_id=camera.contract_id,
        site_id=camera.site_id,
        camera_id=camera.camera_id,
        data={
            "camera_name": camera.name,
            "last_frame_at": format_optional(last_frame_at),
            "expected_interval_seconds": interval_seconds(camera),
        },
        frame_id=camera.last_frame_id,
    )


def back_event(camera: Camera, told_offline: camera_events.Event) -> camera_events.Event:
    """camera.online for a camera.offline told while a frame was arriving: the pair's second half (its id is that
    offline event's, so a retry tells it once)."""
    return camera_events.new_event(
        camera_events.CAMERA_ONLINE,
        f"back#{told_offline.event_id}",
        time=told_offline.time,
        contract_id=camera.contract_id,
        site_id=camera.site_id,
        camera_id=camera.camera_id,
        data={"camera_name": camera.name, "offline_since": None, "offline_event_id": told_offline.event_id},
    )


def mark_online(camera: Camera, frame_id: str) -> bool:
    """The camera, last seen in `camera.health`, is online from `frame_id` on: its item armed for that frame. False
    when another writer changed its health first (that one armed it)."""
    return store.mark_online(
        schedule.CAMERA_HEALTH,
        camera.camera_id,
        camera.contract_id,
        seen_health=camera.health,
        due_at=due_after(camera, frame_id),
    )


def rearm(camera: Camera, due_at: datetime, not_before: datetime | None = None) -> bool:
    """Move an online camera's live item (due `due_at`) to when its newest frame turns one interval old (and not
    before `not_before`)."""
    if not camera.last_frame_id:
        return False
    new_due_at = due_after(camera, camera.last_frame_id)
    if not_before is not None:
        new_due_at = max(new_due_at, not_before)
    if new_due_at == due_at:
        return True
    return store.rearm(
        schedule.CAMERA_HEALTH, camera.camera_id, camera.contract_id, due_at=due_at, new_due_at=new_due_at
    )


def rearm_for_new_interval(camera: Camera) -> None:
    """Staff changed the camera's interval: an online camera's item moves to match it, into the past if its frame is
    older than the new interval already (the next run marks it offline). Offline and paused cameras have no item;
    their next frame arms one with the interval set then."""
    if camera.health == ONLINE and camera.health_due_at is not None:
        rearm(camera, camera.health_due_at)


@dataclass(frozen=True)
class Check:
    """What one due item came to: its outcome and the event to tell first, if any."""

    outcome: str
    event: camera_events.Event | None = None


def check(work: ScheduledWork, camera: Camera | None, contract: Contract | None, now: datetime) -> Check:
    """What the health job does with a due item, decided from the camera and contract as read."""
    if camera is None or contract is None or camera.health != ONLINE or camera.health_due_at != work.due_at:
        return Check(DROPPED)  # stale: the camera has another live item, or none (it is offline, paused or gone)
    if contract_states.refusal(contract, Capability.SERVING, now) is not None:
        return Check(PAUSED_ITEM)
    if not is_silent(camera, now):
        return Check(REARMED)
    return Check(WENT_OFFLINE, offline_event(camera, now))


def apply(work: ScheduledWork, camera: Camera | None, decided: Check, events: EventSink, now: datetime) -> str:
    """Carry a decision out, telling first. Returns the outcome, or KEPT when the item must stay for the next run
    (a frame came between the read and the write: that run re-arms from it). Raises StorageError (the item stays)."""
    if camera is None or decided.outcome == DROPPED:
        pass
    elif decided.outcome == PAUSED_ITEM:
        store.mark_paused(camera.camera_id, due_at=work.due_at)
    elif decided.outcome == REARMED:
        if rearm(camera, work.due_at, not_before=now + _MIN_REARM):
            return REARMED  # the transaction removed the old item with the new one
        # else the camera moved on between the read and the write: the item is stale
    elif decided.outcome == WENT_OFFLINE and decided.event is not None:
        events.publish([decided.event])
        if not store.mark_offline(camera.camera_id, last_frame_id=camera.last_frame_id, due_at=work.due_at, now=now):
            # A frame came between the read and the write: the camera never went offline here, but camera.offline
            # has gone out. Receivers are told it is back (ingest saw it online, so it told nothing).
            events.publish([back_event(camera, decided.event)])
            return KEPT
    schedule.done_work(work)
    return decided.outcome
