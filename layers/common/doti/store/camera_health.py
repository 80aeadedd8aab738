"""Data access for camera health (doti.contracts.camera_health): the camera's health fields and its one live
"camera_health" schedule item, written together where both change, each write conditional on what the caller saw.

Every function answers whether its condition held: False means another writer (a newer frame, another run) changed
the camera first, and the caller leaves the camera to it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from pynamodb.exceptions import UpdateError
from pynamodb.expressions.condition import Condition

from doti.errors import StorageError
from doti.store import transactions
from doti.store.conditions import is_condition_failure
from doti.store.models import CameraModel, ScheduledWorkModel
from doti.store.schedule import add_work, due_key

ONLINE, OFFLINE, PAUSED = "online", "offline", "paused"


def _health_is(health: str | None) -> Condition:
    return CameraModel.health.does_not_exist() if health is None else CameraModel.health == health


def _commit(add: Callable[[transactions.Transaction], None], what: str) -> bool:
    try:
        transactions.commit(add)
    except transactions.NotCommitted as exc:
        if exc.cancelled:
            return False
        raise StorageError(f"could not {what}") from exc
    return True


def mark_online(kind: str, camera_id: str, contract_id: str, *, seen_health: str | None, due_at: datetime) -> bool:
    """health=online and the camera's due item at `due_at`, in one transaction, if its health is still
    `seen_health` (two frames racing to bring it back: the first one does)."""

    def add(transaction: transactions.Transaction) -> None:
        add_work(transaction, kind, due_at, contract_id, camera_id)
        transaction.update(
            CameraModel(camera_id=camera_id),
            actions=[
                CameraModel.health.set(ONLINE),
                CameraModel.health_due_at.set(due_at),
                CameraModel.offline_since.remove(),
            ],
            condition=CameraModel.camera_id.exists() & _health_is(seen_health),
        )

    return _commit(add, "mark the camera online")


def rearm(kind: str, camera_id: str, contract_id: str, *, due_at: datetime, new_due_at: datetime) -> bool:
    """Move an online camera's due item from `due_at` to `new_due_at` (a new item, the camera's pointer to it, the
    old item gone: all or nothing), if the camera is online with that item still its live one."""

    def add(transaction: transactions.Transaction) -> None:
        add_work(transaction, kind, new_due_at, contract_id, camera_id)
        transaction.update(
            CameraModel(camera_id=camera_id),
            actions=[CameraModel.health_due_at.set(new_due_at)],
            condition=(CameraModel.health == ONLINE) & (CameraModel.health_due_at == due_at),
        )
        transaction.delete(ScheduledWorkModel(kind, due_key(due_at, contract_id, camera_id)))

    return _commit(add, "re-arm the camera's health check")


def _update(camera_id: str, actions: list[Any], condition: Condition, what: str) -> bool:
    try:
        CameraModel(camera_id=camera_id).update(actions=actions, condition=condition)
    except UpdateError as exc:
        if is_condition_failure(exc):
            return False
        raise StorageError(f"could not {what}") from exc
    return True


def mark_offline(camera_id: str, *, last_frame_id: str | None, due_at: datetime, now: datetime) -> bool:
    """health=offline since `now`, if the camera is online, its due item is `due_at` and it has sent nothing since
    `last_frame_id` (a frame arriving meanwhile keeps it online)."""
    last = CameraModel.last_frame_id == last_frame_id if last_frame_id else CameraModel.last_frame_id.does_not_exist()
    due = (CameraModel.health == ONLINE) & (CameraModel.health_due_at == due_at)
    # or this very write applied already (botocore resending it after a lost answer): the same values again
    written = (CameraModel.health == OFFLINE) & (CameraModel.offline_since == now)
    condition = (due | written) & last
    actions = [CameraModel.health.set(OFFLINE), CameraModel.offline_since.set(now), CameraModel.health_due_at.remove()]
    return _update(camera_id, actions, condition, "mark the camera offline")


def mark_paused(camera_id: str, *, due_at: datetime) -> bool:
    """health=paused (its contract stopped serving), if the camera is online with `due_at` its live item."""
    condition = (CameraModel.health == ONLINE) & (CameraModel.health_due_at == due_at)
    actions = [CameraModel.health.set(PAUSED), CameraModel.health_due_at.remove()]
    return _update(camera_id, actions, condition, "pause the camera's health checks")


def mark_activity_event(camera_id: str, *, at: datetime, previous_before: datetime) -> bool:
    """Record that the camera's last frame.activity event is about a frame captured at `at`, if the one recorded
    before is older than `previous_before` (the debounce: else another frame told of activity within the window)."""
    condition = CameraModel.activity_event_at.does_not_exist() | (CameraModel.activity_event_at < previous_before)
    return _update(camera_id, [CameraModel.activity_event_at.set(at)], condition, "record the activity event")
