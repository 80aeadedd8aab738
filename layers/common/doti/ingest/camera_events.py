"""The events a stored frame tells of (issue 16 §2): camera.online, when it ends an offline spell, and frame.activity,
at or above the camera's activity threshold, at most one per the camera's debounce window.

Both are decided from the camera as the pointer move returned it (doti.store.registry.set_camera_last_frame answers
with the stored item), so a frame of an online camera without activity costs no request beyond that move. Each event
is published first and its state written second (health, or the time of the last activity event): a failure between
them leaves the old state, and the next frame tells the same fact again. Nothing here fails a stored frame: a failure
is logged and counted (CameraEventsFailed) and the frame's answer stands.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from doti.clock import format_rfc3339
from doti.contracts import camera_health
from doti.entities import Camera, Frame
from doti.errors import StorageError
from doti.ingest import activity
from doti.observability import logger, metrics
from doti.store import camera_health as health_store
from doti.store.events import EventSink
from doti.webhooks import events as camera_events


def _window(camera: Camera) -> timedelta:
    """At most one frame.activity per this window for the camera (staff set it; the default otherwise)."""
    return timedelta(minutes=activity.effective_event_minutes(camera.activity_event_minutes))


def activity_event(camera: Camera, frame: Frame) -> camera_events.Event | None:
    """frame.activity for the frame, unless its score is under the camera's threshold or an event about a frame
    captured within the window before it was told already."""
    threshold = activity.effective_threshold(camera.activity_threshold)
    if frame.activity_score is None or frame.activity_score < threshold:
        return None
    window = _window(camera)
    if camera.activity_event_at is not None and camera.activity_event_at >= frame.captured_at - window:
        return None
    return camera_events.new_event(
        camera_events.FRAME_ACTIVITY,
        f"{frame.camera_id}#{frame.frame_id}",
        time=frame.captured_at,
        contract_id=frame.contract_id,
        site_id=frame.site_id,
        camera_id=frame.camera_id,
        data={
            "frame_id": frame.frame_id,
            "captured_at": format_rfc3339(frame.captured_at),
            "activity_score": frame.activity_score,
            "threshold": threshold,
        },
        frame_id=frame.frame_id,
    )


def after_frames(camera: Camera, frames: list[Frame], events: EventSink, now: datetime) -> None:
    """Tell and record what the frames of one request (oldest first) changed about their camera (`camera`: as stored
    after the pointer moved to the newest). The newest brings it online; the first that crosses the activity
    threshold is the one frame.activity tells, as it would have been had the frames come one by one."""
    frame = frames[-1]
    comes_online = camera.health != camera_health.ONLINE and camera_health.is_fresh(camera, frame.frame_id, now)
    active = next((found for found in frames if activity_event(camera, found) is not None), frame)
    told = []
    if comes_online and camera.health == camera_health.OFFLINE:
        told.append(camera_health.online_event(camera, frame.frame_id))
    activity_told = activity_event(camera, active)
    if activity_told is not None:
        told.append(activity_told)
    if not told and not comes_online:
        return  # the common path: nothing to tell, nothing to write
    try:
        if told:
            events.publish(told)
        if comes_online:
            camera_health.mark_online(camera, frame.frame_id)
        if activity_told is not None:
            window = _window(camera)
            health_store.mark_activity_event(
                camera.camera_id, at=active.captured_at, previous_before=active.captured_at - window
            )
    except StorageError as exc:
        metrics.add_metric(name="CameraEventsFailed", unit="Count", value=1)
        logger.warning(
            "could not tell or record the camera's events", extra={"camera_id": camera.camera_id, "code": exc.code}
        )
