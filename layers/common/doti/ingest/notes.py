"""Text data (SPEC §4, §12): a device's event text (alarm or register events) and customers' notes on a camera.

- Keys: like frames, one key range per camera, sorted by the time the text is about (the note id is time-sorted).
  A device event that names no camera is about the device's whole site: it is stored once, under the site's own
  key range, and listed with every camera of that site. A camera's listing reads two key ranges (the camera's and
  its site's) and merges them; retention, takedown and purge reach both by key, never by a scan.
- Text: 1 to MAX_TEXT characters (code points), not blank, with no control character but newline and tab (and no
  lone surrogate, which no storage can encode); otherwise stored exactly as given. The API answers it only as a JSON
  string (`application/json`), so a client shows it as text, never as markup.
- Time: like a frame's capture time, not more than 5 minutes ahead and not older than the contract's retention;
  the note expires (DynamoDB TTL, hidden from listings, deleted by the retention job) when that retention has passed.
- Replays (issue 10). The note id is derived from (device, replay key, occurred_at), so a request that comes again
  lands on the same key and gets the first result back (200), never a second note. The replay key is the device's
  `event_id` when it sends one (its own id for the event; another text or camera under it is a 409 conflict).
  Without `event_id` it is the request's signature: a verbatim replay within the ±300 s the signature is valid has
  the same device, signature and body, while the same text sent again at another timestamp is another event (another
  fact). A device that wants its own retries (re-signed, so with a new signature) recognised sends `event_id`.
- Events (issue 16): a stored device event is told as `device.event` (doti.webhooks.producers), and told again by
  each replay: the same note, the same event id, so a replay makes up for an event the queue did not take.
- Customers: owners and managers write notes (a viewer gets 403); every role reads, within its site scope. Each
  note written is audited with its length, not its text: the audit log outlives the purge that removes the note.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from doti import cursors, ids
from doti.accounts import roles
from doti.clock import format_rfc3339, parse_rfc3339
from doti.contracts import registry, retention_policy, terms
from doti.entities import Camera, Contract, Device, Note, User
from doti.errors import Conflict, NotFound, UnsupportedMediaType, ValidationError
from doti.ingest.media import media_type
from doti.json_body import parse_json_body
from doti.oversight import audit
from doti.store import notes as store
from doti.store.events import EventSink
from doti.webhooks import producers

KIND_EVENT, KIND_NOTE = "event", "note"
MAX_TEXT = 2000
MAX_PAGE = 200
_ALLOWED_CONTROLS = frozenset("\n\t")
_EVENT_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
_EVENT_FIELDS = frozenset({"camera_id", "occurred_at", "text", "event_id"})


@dataclass(frozen=True)
class DeviceEvent:
    camera_id: str | None
    occurred_at: str
    text: str
    event_id: str | None


@dataclass(frozen=True)
class EventResult:
    note: Note
    created: bool  # False: a retry of an event already stored


@dataclass(frozen=True)
class NoteQuery:
    start: datetime | None
    end: datetime | None
    newest_first: bool
    limit: int
    cursor: str | None


@dataclass(frozen=True)
class NotePage:
    items: list[Note]
    cursor: str | None


# validation


def check_text(text: str) -> str:
    """The text as given, or a 422 saying what is wrong with it."""
    if not text or text.isspace():
        raise ValidationError("text must not be empty", field="text")
    if len(text) > MAX_TEXT:
        raise ValidationError(f"text must be at most {MAX_TEXT} characters", field="text", length=len(text))
    for position, char in enumerate(text):
        if char not in _ALLOWED_CONTROLS and unicodedata.category(char) in ("Cc", "Cs"):
            raise ValidationError(
                "text must not contain control characters other than newline and tab",
                field="text",
                position=position,
                code_point=f"U+{ord(char):04X}",
            )
    return text


def _check_time(at: datetime, contract: Contract, now: datetime, field: str) -> None:
    window = retention_policy.capture_window(contract, now)
    if window.in_future(at):
        raise ValidationError(f"{field} is in the future", field=field, value=format_rfc3339(at))
    if window.too_old(at):
        raise ValidationError(
            f"{field} is older than the retention period", field=field, retention_days=contract.retention_days
        )


def parse_device_event(body: bytes, content_type: str | None) -> DeviceEvent:
    """The event in a device's JSON body, or 415 (not JSON) or 422 (malformed), naming every problem found."""
    if media_type(content_type) != "application/json":
        raise UnsupportedMediaType("events must be application/json", content_type=content_type or None)
    data = parse_json_body(body)
    if not isinstance(data, dict):
        raise ValidationError("the body must be a JSON object")
    problems = [{"field": name, "problem": "unknown field"} for name in sorted(set(data) - _EVENT_FIELDS)]
    for name in ("occurred_at", "text"):
        if not isinstance(data.get(name), str):
            problems.append({"field": name, "problem": "required, a string"})
    for name in ("camera_id", "event_id"):
        if data.get(name) is not None and not (isinstance(data[name], str) and data[name]):
            problems.append({"field": name, "problem": "a non-empty string, or left out"})
    event_id = data.get("event_id")
    if isinstance(event_id, str) and not _EVENT_ID.match(event_id):
        problems.append({"field": "event_id", "problem": "1-128 characters of letters, digits and . _ : -"})
    if problems:
        raise ValidationError("the event is not valid", problems=problems)
    return DeviceEvent(data.get("camera_id"), data["occurred_at"], data["text"], event_id)


# device events


def replay_key(event: DeviceEvent, signature: str) -> str:
    """What makes two requests one event: the device's event id, else the request's (verified) signature.

    "/" cannot occur in an event id, so a derived key never collides with one the device chose.
    """
    return event.event_id or f"sig/{signature}"


def record_event(
    event: DeviceEvent, device: Device, *, signature: str, events: EventSink, now: datetime
) -> EventResult:
    """Store a device's event text, about one of its site's cameras or (no camera named) the whole site, then tell
    it to `events` (never failing the request: the text is stored).

    `signature` is the request's verified X-Doti-Signature: without an event id, a replay is recognised by it.
    """
    camera_id: str | None = None
    if event.camera_id is not None:
        camera = registry.camera_of_contract(device.contract_id, event.camera_id)
        if camera.site_id != device.site_id:
            raise NotFound("camera not found")  # a device relays only its own site's cameras
        camera_id = camera.camera_id
    contract = terms.get_contract(device.contract_id)
    terms.require_serving(contract, now)
    at = parse_rfc3339(event.occurred_at, "occurred_at")
    _check_time(at, contract, now, "occurred_at")
    text = check_text(event.text)
    note = Note(
        note_id=ids.frame_id(at, device.device_id, replay_key(event, signature)),
        kind=KIND_EVENT,
        contract_id=contract.contract_id,
        site_id=device.site_id,
        camera_id=camera_id,
        at=at,
        text=text,
        author_type="device",
        author_id=device.device_id,
        author_name=device.name,
        created_at=now,
        expires_at=retention_policy.expires_at(at, contract),
        event_id=event.event_id,
    )
    first = store.put_new_note(note)
    if first is None:
        producers.tell(events, [producers.device_event(note)])
        return EventResult(note, created=True)
    same = (first.author_id, first.event_id, first.camera_id, first.text) == (
        device.device_id,
        event.event_id,
        camera_id,
        text,
    )
    if not same:  # without an event id the key is the signature over this very body: the same event, always
        raise Conflict("this event id was already used for a different event", event_id=event.event_id)
    producers.tell(events, [producers.device_event(first)])
    return EventResult(first, created=False)


# customer notes


def add_note(user: User, camera_id: str, text: str, at: str | None, *, now: datetime) -> Note:
    """A customer's note on a camera at a time (default now); owners and managers only. Audited."""
    contract = terms.get_contract(user.contract_id)
    terms.require_serving(contract, now)
    camera = registry.camera_for_user(user, camera_id)
    roles.require(user, roles.Permission.WRITE_NOTES)
    moment = parse_rfc3339(at, "at") if at is not None else now
    _check_time(moment, contract, now, "at")
    note = Note(
        note_id=ids.time_sorted_id(moment),
        kind=KIND_NOTE,
        contract_id=contract.contract_id,
        site_id=camera.site_id,
        camera_id=camera.camera_id,
        at=moment,
        text=check_text(text),
        author_type="user",
        author_id=user.user_id,
        author_name=user.name,
        created_at=now,
        expires_at=retention_policy.expires_at(moment, contract),
    )
    details = {"camera_id": camera.camera_id, "note_id": note.note_id, "at": format_rfc3339(moment)}
    # No note without its audit entry, nor an entry without its note: they commit together. (An id already taken,
    # 80 random bits, practically never happens: the transaction is refused until the attempts run out.)
    audit.record_with(
        contract.contract_id,
        actor=f"user:{user.user_id}",
        action="note.created",
        subject=note.note_id,
        now=now,
        prepare=lambda: audit.StateWrite(
            partial(store.add_new_note, note=note), {**details, "text_length": len(note.text)}
        ),
    )
    return note


def list_notes(user: User, camera_id: str, query: NoteQuery, *, now: datetime) -> NotePage:
    """A page of a camera's notes and its site's events in [start, end), newest or oldest first."""
    contract = terms.get_contract(user.contract_id)
    terms.require_serving(contract, now)
    camera = registry.camera_for_user(user, camera_id)
    lower, upper = cursors.key_range(query.start, query.end, query.limit, MAX_PAGE)
    if query.cursor:
        after = cursors.decode(query.cursor, camera.camera_id, query.newest_first)
        if query.newest_first:
            upper = min(upper, after)
        else:
            lower = max(lower, after + "0")  # the smallest id above `after` (ids are fixed-width)
    found: list[Note] = []
    more = False
    for partition in (camera.camera_id, camera.site_id):
        notes, partition_more = store.query_notes(
            partition, lower, upper, newest_first=query.newest_first, limit=query.limit, now=now
        )
        found.extend(notes)
        more = more or partition_more
    found.sort(key=lambda note: note.note_id, reverse=query.newest_first)
    items = found[: query.limit]
    more = more or len(found) > query.limit
    return NotePage(items, cursors.encode(camera.camera_id, query.newest_first, items[-1].note_id) if more else None)


def note_of_camera(camera: Camera, note_id: str) -> Note:
    """A note listed with the camera: its own, or an event of its site; NotFound otherwise."""
    if not ids.is_frame_id(note_id):
        raise NotFound("note not found")
    try:
        return store.get_note(camera.camera_id, note_id)
    except NotFound:
        return store.get_note(camera.site_id, note_id)
