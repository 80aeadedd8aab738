"""Data access for a camera's purpose registry (doti.contracts.purposes): one update of the camera item, added to the
transaction of its audit entry."""

from __future__ import annotations

from datetime import datetime

from doti.contracts.purposes import Registration
from doti.store.models import CameraModel
from doti.store.transactions import Transaction


def add_registration(transaction: Transaction, camera_id: str, registration: Registration, now: datetime) -> None:
    """Replace the camera's registration, in the transaction of its "camera.purposes_set" entry; cancelled if the
    camera item is gone (an update would otherwise create a bare item)."""
    text = CameraModel.purpose_other_text
    transaction.update(
        CameraModel(camera_id),
        actions=[
            CameraModel.purposes.set(set(registration.purposes)),
            text.set(registration.other_text) if registration.other_text is not None else text.remove(),
            CameraModel.coverage.set(registration.coverage),
            CameraModel.people_filmed.set(registration.people_filmed),
            CameraModel.purposes_updated_at.set(now),
        ],
        condition=CameraModel.camera_id.exists(),
    )
