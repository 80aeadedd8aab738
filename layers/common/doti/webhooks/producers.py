"""The events of facts told where they happen (issue 16 §2), and how a producer tells them.

Each builder below is the one definition of its event's data (the README lists them): small, never footage, never
personal data of the people filmed. Its id derives from the fact (doti.webhooks.events.new_event), so the same fact
told again (a retried request, a redelivered message) is the same event.

A producer tells an event only once its fact is durable, and telling never fails the operation: a fact that
happened stays true whether or not the queue took its event. A failed publish is logged and counted
(EventsUnpublished), and the event is lost; nothing is rolled back.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from aws_lambda_powertools.metrics import MetricUnit

from doti.clock import format_optional, format_rfc3339
from doti.entities import Export, Note, Notice, Share
from doti.errors import StorageError
from doti.observability import logger, metrics
from doti.store.events import EventSink
from doti.webhooks.events import DEVICE_EVENT, EXPORT_READY, NOTICE_PUBLISHED, SHARE_VIEWED, Event, new_event

# A device's text is at most 2000 characters (doti.ingest.notes.MAX_TEXT); an event carries the first 500, and says so.
DEVICE_TEXT_CAP = 500


def tell(sink: EventSink, events: Sequence[Event]) -> bool:
    """Put events on the events queue; False (logged, counted) when it did not take them. Never raises StorageError."""
    if not events:
        return True
    try:
        sink.publish(events)
    except StorageError as exc:
        logger.warning(
            "events not published; their facts stand",
            extra={"event_types": sorted({e.type for e in events}), "events": len(events), "code": exc.code},
        )
        metrics.add_metric(name="EventsUnpublished", unit=MetricUnit.Count, value=len(events))
        return False
    return True


def device_event(note: Note) -> Event:
    """A device's event text (doti.ingest.notes), about one camera or (camera_id None) its whole site."""
    text = note.text[:DEVICE_TEXT_CAP]
    return new_event(
        DEVICE_EVENT,
        note.note_id,
        time=note.at,
        contract_id=note.contract_id,
        site_id=note.site_id,
        camera_id=note.camera_id,
        data={
            "device_id": note.author_id,
            "note_id": note.note_id,
            "device_event_id": note.event_id,  # the device's own id for the event, when it sent one
            "text": text,
            "text_truncated": len(text) < len(note.text),
        },
    )


def export_ready(export: Export) -> Event:
    """A backup export whose ZIP is complete (doti.viewing.exports). No download link: the owner's API signs one."""
    return new_event(
        EXPORT_READY,
        export.export_id,
        time=export.updated_at,
        contract_id=export.contract_id,
        site_id=export.site_id,
        camera_id=export.camera_id,
        data={
            "export_id": export.export_id,
            "camera_id": export.camera_id,
            "from": format_rfc3339(export.window_start),
            "to": format_rfc3339(export.window_end),
            "frames": export.frames,
            "size": export.size,
        },
    )


def notice_published(notice: Notice, contract_id: str) -> Event:
    """A notice published to `contract_id` (its own, or one to every customer: one event per contract)."""
    return new_event(
        NOTICE_PUBLISHED,
        notice.notice_id,
        time=notice.published_at,
        contract_id=contract_id,
        data={
            "notice_id": notice.notice_id,
            "kind": notice.kind,
            "title": notice.title,
            "audience": "all" if notice.audience != contract_id else "contract",
            "effective_at": format_optional(notice.effective_at),
        },
    )


def share_viewed(share: Share, now: datetime) -> Event:
    """A share link opened: its footage shown to the link's holder (doti.viewing.shares). Nothing of the holder's."""
    return new_event(
        SHARE_VIEWED,
        f"{share.share_id}\x1f{now.isoformat()}",  # one view of the link: the link and when it was opened
        time=now,
        contract_id=share.contract_id,
        site_id=share.site_id,
        camera_id=share.camera_id,
        data={
            "share_id": share.share_id,
            "camera_id": share.camera_id,
            "frame_id": share.frame_id,
            "from": format_optional(share.window_start),
            "to": format_optional(share.window_end),
            "purpose": share.purpose,
            "one_time": share.one_time,
        },
        frame_id=share.frame_id,
    )
