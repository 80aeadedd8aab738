"""Events: facts the customer's own systems may want to hear of (issue 16), told through webhooks and e-mail alerts.

An event is produced where its fact happens (ingest, the health job, the exporter, ...) and put on the events queue,
never sent inline: the webhooks function fans it out to the contract's endpoints and owners later. Producers give
an event an id derived from the fact (`event_id`), so a producer that publishes again after a failure, or botocore
resending a SendMessage whose answer was lost, yields the same `webhook-id` downstream and receivers drop the copy.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from doti.clock import format_rfc3339, parse_rfc3339

CAMERA_OFFLINE = "camera.offline"
CAMERA_ONLINE = "camera.online"
DEVICE_EVENT = "device.event"
FRAME_ACTIVITY = "frame.activity"
EXPORT_READY = "export.ready"
NOTICE_PUBLISHED = "notice.published"
SHARE_VIEWED = "share.viewed"
# What an endpoint may subscribe to, in the order the API and the viewer list them.
EVENT_TYPES: tuple[str, ...] = (
    CAMERA_OFFLINE,
    CAMERA_ONLINE,
    DEVICE_EVENT,
    FRAME_ACTIVITY,
    EXPORT_READY,
    NOTICE_PUBLISHED,
    SHARE_VIEWED,
)
# "Send test event" only: never produced by a fact, never subscribed to.
WEBHOOK_TEST = "webhook.test"
# What an owner may also receive by e-mail (SES, as notices are sent).
MAIL_EVENT_TYPES: tuple[str, ...] = (CAMERA_OFFLINE, DEVICE_EVENT)


@dataclass(frozen=True)
class Event:
    type: str
    event_id: str  # "evt_" + 32 hex: Standard Webhooks' webhook-id, the same for every copy of one fact
    time: datetime  # when the fact happened
    contract_id: str
    site_id: str | None = None
    camera_id: str | None = None
    data: Mapping[str, Any] = field(default_factory=dict)  # small, and never footage (issue 16 §3)
    frame_id: str | None = None  # the frame whose thumbnail an endpoint with image links is sent, if any

    def to_message(self) -> dict[str, Any]:
        """The queue's form (also what `from_message` reads back)."""
        message = self.payload()
        if self.frame_id:
            message["frame_id"] = self.frame_id
        return message

    def payload(self, extra_data: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """What a webhook receiver gets (the request body): type, id, time, the ids, and the data."""
        return {
            "type": self.type,
            "id": self.event_id,
            "time": format_rfc3339(self.time),
            "contract_id": self.contract_id,
            "site_id": self.site_id,
            "camera_id": self.camera_id,
            "data": {**self.data, **(extra_data or {})},
        }


def event_id(*fact: str) -> str:
    """The id of the event about `fact` (its type and whatever makes it that fact): the same fact, the same id."""
    return "evt_" + hashlib.sha256("\x1f".join(fact).encode()).hexdigest()[:32]


def new_event(
    type_: str,
    fact: str,
    *,
    time: datetime,
    contract_id: str,
    site_id: str | None = None,
    camera_id: str | None = None,
    data: Mapping[str, Any] | None = None,
    frame_id: str | None = None,
) -> Event:
    """An event whose id derives from its type, contract and `fact` (e.g. the frame or export it is about)."""
    return Event(
        type_,
        event_id(type_, contract_id, fact),
        time,
        contract_id,
        site_id,
        camera_id,
        dict(data or {}),
        frame_id,
    )


def from_message(message: Mapping[str, Any]) -> Event:
    """An event read back from the queue (`Event.to_message`)."""
    return Event(
        type=str(message["type"]),
        event_id=str(message["id"]),
        time=parse_rfc3339(str(message["time"]), "time"),
        contract_id=str(message["contract_id"]),
        site_id=message.get("site_id"),
        camera_id=message.get("camera_id"),
        data=dict(message.get("data") or {}),
        frame_id=message.get("frame_id"),
    )
