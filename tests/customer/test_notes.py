"""Text data (SPEC §4, §12): device event text and customer notes on a camera and time, with the frames' retention,
takedown and purge.

Devices post signed events through the ingest handler; customers add and list notes through the viewer handler;
staff take notes down through the admin handler; the retention and termination jobs run with their own `now`.
"""

from __future__ import annotations

import copy
import hashlib
import json
from datetime import datetime, timedelta
from typing import Any

import pytest

from doti.clock import format_rfc3339, parse_rfc3339, utcnow
from doti.contracts import lifecycle, registry, terms
from doti.store.models import NoteModel
from functions.ingest import app as ingest
from functions.termination import app as termination
from functions.viewer import app as viewer
from tests.support import (
    LambdaContext,
    World,
    admin_call,
    assert_error,
    body_of,
    camera_consents,
    customer_event,
    ledger,
    sample_event,
)
from tests.support.notes import (
    NOTES_RESOURCE,
    added,
    audit_entries,
    event_request,
    notes_path,
    now,
    post_event,
    post_note,
    recorded,
    stored_notes,
)
from tests.support.retention import bytes_of, ingested
from tests.support.retention import run as run_retention
from tests.support.viewer import add_site, add_user, login, owner_token

NOTE_KEYS = {"note_id", "kind", "camera_id", "site_id", "at", "text", "author", "event_id", "created_at", "expires_at"}
STAFF_ACTOR = "staff:stf_test"


# device events


def an_event(world: World, text: str = "Alarm: zone 3 opened", **fields: Any) -> dict[str, Any]:
    """An event about the world's camera a minute ago, with `fields` added or replaced."""
    occurred_at = format_rfc3339(now() - timedelta(minutes=1))
    return {"camera_id": world.camera_id, "occurred_at": occurred_at, "text": text} | fields


# customer notes


def get_notes(token: str, camera_id: str, **query: str) -> dict[str, Any]:
    event = customer_event(
        "viewer/list_notes.json",
        token,
        path=notes_path(camera_id),
        resource=NOTES_RESOURCE,
        path_parameters={"camera_id": camera_id},
        query=query,
    )
    return viewer.lambda_handler(event, LambdaContext())


def listed(token: str, camera_id: str, **query: str) -> dict[str, Any]:
    response = get_notes(token, camera_id, **query)
    assert response["statusCode"] == 200, response["body"]
    return body_of(response)


def listed_ids(token: str, camera_id: str, **query: str) -> list[str]:
    return [item["note_id"] for item in listed(token, camera_id, **query)["items"]]


def all_pages(token: str, camera_id: str, **query: str) -> list[list[str]]:
    pages, cursor = [], None
    while True:
        body = listed(token, camera_id, **query, **({"cursor": cursor} if cursor else {}))
        pages.append([item["note_id"] for item in body["items"]])
        cursor = body.get("cursor")
        if not cursor:
            return pages


def retained(item: dict[str, Any]) -> timedelta:
    """How long an item is kept: from its time to its expiry, which TTL's whole seconds round up (< 1 s)."""
    kept = parse_rfc3339(item["expires_at"], "expires_at") - parse_rfc3339(item["at"], "at")
    whole_days = timedelta(days=kept.days)
    assert timedelta(0) <= kept - whole_days < timedelta(seconds=1)
    return whole_days


def suspend(world: World) -> None:
    lifecycle.transition(world.contract_id, "suspended", "art8-1-1", "equipment fault", None, STAFF_ACTOR, utcnow())


def second_camera(world: World) -> str:
    """Another camera at the world's own site."""
    at = utcnow()  # one reading: consents taken a moment after the creation time would be "in the future"
    camera = registry.create_camera(world.contract_id, world.site_id, "Back door", at, consents=camera_consents(at))
    return camera.camera_id


# device events: stored and listed


def test_a_device_event_about_a_camera_is_stored_and_listed_with_that_camera(aws, world):
    # Given the site's device reports an alarm on the world's camera
    occurred_at = now() - timedelta(minutes=2)
    payload = {"camera_id": world.camera_id, "occurred_at": format_rfc3339(occurred_at), "text": "Alarm: zone 3"}

    # When it posts the event
    response = post_event(world, payload)

    # Then it is 201 with the event as stored, JSON only, expiring with the contract's retention (31 days)
    assert response["statusCode"] == 201, response["body"]
    assert response["multiValueHeaders"]["Content-Type"] == ["application/json"]
    event = body_of(response)
    assert set(event) == NOTE_KEYS
    assert (event["kind"], event["camera_id"], event["site_id"], event["text"]) == (
        "event",
        world.camera_id,
        world.site_id,
        "Alarm: zone 3",
    )
    assert event["author"] == {"type": "device", "id": world.device_id, "name": "Panel"}
    assert parse_rfc3339(event["at"], "at") == parse_rfc3339(format_rfc3339(occurred_at), "at")
    assert retained(event) == timedelta(days=31)
    # And the customer sees it with the camera's notes
    token = owner_token(world)
    assert listed(token, world.camera_id)["items"] == [event]


def test_an_event_without_a_camera_belongs_to_the_site_and_is_listed_with_each_of_its_cameras(aws, world):
    # Given a second camera at the world's site, and another site of the same contract with its own device
    back_door = second_camera(world)
    annex = add_site(world)

    # When the world's device posts an event that names no camera
    event = recorded(world, {"occurred_at": format_rfc3339(now()), "text": "System armed by user 2"})

    # Then it is stored once, for the site, and listed with both cameras of the site but not with the other site's
    assert (event["camera_id"], event["site_id"]) == (None, world.site_id)
    token = owner_token(world)
    assert listed_ids(token, world.camera_id) == [event["note_id"]]
    assert listed_ids(token, back_door) == [event["note_id"]]
    assert listed_ids(token, annex.camera_id) == []
    assert len(stored_notes(world.contract_id)) == 1


def test_a_retry_with_the_same_event_id_gets_the_first_event_and_another_text_is_a_conflict(aws, world):
    # Given an event the device identified with its own event id
    payload = an_event(world, "Door forced", event_id="panel-0001-evt-42")
    first = recorded(world, payload)

    # When the device retries the same event / Then it is 200 with the first event, nothing stored twice
    retry = post_event(world, payload)
    assert retry["statusCode"] == 200, retry["body"]
    assert body_of(retry) == first
    assert first["event_id"] == "panel-0001-evt-42"
    # And the same event id with another text is a 409 conflict, which stores nothing
    assert_error(post_event(world, payload | {"text": "Door closed"}), 409, "conflict")
    assert [item["text"]["S"] for item in stored_notes(world.contract_id)] == ["Door forced"]


def test_events_without_an_event_id_sent_at_different_times_are_each_stored(aws, world):
    # Given two identical events without event ids / When the device sends both, a second apart
    payload = an_event(world, "Motion in zone 1")
    first = recorded(world, payload, signed_at=now() - timedelta(seconds=1))
    second = recorded(world, payload, signed_at=now())

    # Then both are stored, as two events: the same text twice is two facts
    assert first["note_id"] != second["note_id"]
    assert len(stored_notes(world.contract_id)) == 2


def test_a_verbatim_replay_of_an_event_without_an_event_id_gets_the_first_event(aws, world):
    # Given an event without an event id, as the device signed and sent it
    request = event_request(world, an_event(world, "Motion in zone 1"))
    first = ingest.lambda_handler(copy.deepcopy(request), LambdaContext())
    assert first["statusCode"] == 201, first["body"]

    # When someone replays the captured request verbatim, twice, within the signature's 300 s
    replays = [ingest.lambda_handler(copy.deepcopy(request), LambdaContext()) for _ in range(2)]

    # Then each replay is 200 with the first event, and one note is stored
    assert [r["statusCode"] for r in replays] == [200, 200]
    assert [body_of(r) for r in replays] == [body_of(first)] * 2
    assert body_of(first)["event_id"] is None
    assert len(stored_notes(world.contract_id)) == 1


def test_a_retry_with_an_event_id_is_recognised_by_its_event_id_not_its_signature(aws, world):
    # Given an event with an event id, sent once
    payload = an_event(world, "Door forced", event_id="panel-0001-evt-43")
    first = recorded(world, payload, signed_at=now() - timedelta(seconds=2))

    # When the device retries it, signed anew a little later (another signature)
    retry = post_event(world, payload, signed_at=now())

    # Then the event id wins: 200 with the first event, one note
    assert retry["statusCode"] == 200, retry["body"]
    assert body_of(retry) == first
    assert len(stored_notes(world.contract_id)) == 1


# device events: refused


@pytest.mark.isolated  # reads the whole notes table
def test_a_bad_signature_is_unauthorized_and_stores_nothing(aws, world):
    # When the event is signed with a wrong secret
    response = post_event(world, an_event(world), secret="not-the-secret")

    # Then it is 401 and nothing is stored
    assert_error(response, 401, "unauthorized")
    assert stored_notes() == []


@pytest.mark.isolated  # reads the whole notes table
def test_a_query_changed_after_signing_is_unauthorized_and_stores_nothing(aws, world):
    # Given an event signed with a query string (the device routes read none, but the signature covers it)
    signed = event_request(world, an_event(world, "Alarm"), query={"source": "panel"})

    def with_query(query: dict[str, list[str]] | None) -> dict[str, Any]:
        event = copy.deepcopy(signed)
        event["multiValueQueryStringParameters"] = query
        event["queryStringParameters"] = {k: v[-1] for k, v in query.items()} if query else None
        return event

    # When it arrives with the query changed, extended or dropped on the way
    tampered = [
        with_query({"source": ["elsewhere"]}),
        with_query({"source": ["panel"], "camera_id": ["cam_other"]}),
        with_query({"source": ["panel", "panel"]}),
        with_query(None),
    ]

    # Then each is 401 and nothing is stored; the query as signed is accepted
    for event in tampered:
        assert_error(ingest.lambda_handler(event, LambdaContext()), 401, "unauthorized")
    assert stored_notes() == []
    assert ingest.lambda_handler(copy.deepcopy(signed), LambdaContext())["statusCode"] == 201


@pytest.mark.isolated  # reads the whole notes table
def test_a_body_changed_after_signing_is_unauthorized(aws, world):
    # Given a signed event whose body is changed on the way
    event = event_request(world, an_event(world, "Alarm"))
    event["body"] = event["body"].replace("Alarm", "Calm!")

    # When it arrives / Then it is 401 and nothing is stored
    assert_error(ingest.lambda_handler(event, LambdaContext()), 401, "unauthorized")
    assert stored_notes() == []


@pytest.mark.isolated  # reads the whole notes table
def test_a_camera_of_another_contract_or_another_site_is_not_found(aws, world_factory):
    # Given a contract with a second site, and another contract
    world, other = world_factory(), world_factory()
    annex = add_site(world)

    # When the world's device names the other contract's camera, or its own contract's camera at the other site
    for camera_id in (other.camera_id, annex.camera_id, "cam_doesnotexist00000000"):
        response = post_event(world, an_event(world) | {"camera_id": camera_id})

        # Then it is 404 not_found each time, and nothing is stored
        assert_error(response, 404, "not_found")
    assert stored_notes() == []


INVALID_EVENTS: dict[str, tuple[dict[str, Any], str]] = {
    "empty": ({"text": ""}, "text"),
    "blank": ({"text": " \n\t "}, "text"),
    "too-long": ({"text": "x" * 2001}, "text"),
    "nul": ({"text": "alarm\x00zone"}, "text"),
    "escape": ({"text": "\x1b[31mred"}, "text"),
    "carriage-return": ({"text": "line\rfeed"}, "text"),
    "del": ({"text": "del\x7f"}, "text"),
    "c1": ({"text": "c1\x85"}, "text"),
    "lone-surrogate": ({"text": "half \ud83d"}, "text"),
    "future": ({"occurred_at": "in-the-future-by-10-minutes"}, "occurred_at"),
    "too-old": ({"occurred_at": "older-than-the-retention"}, "occurred_at"),
    "not-rfc3339": ({"occurred_at": "2026-11-25 12:00"}, "occurred_at"),
    "no-time": ({"occurred_at": None}, "occurred_at"),
    "text-not-string": ({"text": 42}, "text"),
    "camera-not-string": ({"camera_id": 7}, "camera_id"),
    "camera-empty": ({"camera_id": ""}, "camera_id"),
    "bad-event-id": ({"event_id": "has spaces"}, "event_id"),
    "unknown-field": ({"colour": "red"}, "colour"),
}


@pytest.mark.isolated  # reads the whole notes table
@pytest.mark.parametrize(("change", "field"), list(INVALID_EVENTS.values()), ids=list(INVALID_EVENTS))
def test_an_invalid_event_is_422_and_stores_nothing(aws, world, change, field):
    # Given an event with one thing wrong
    times = {
        "in-the-future-by-10-minutes": format_rfc3339(now() + timedelta(minutes=10)),
        "older-than-the-retention": format_rfc3339(now() - timedelta(days=31, minutes=1)),
    }
    payload = an_event(world) | {key: times.get(value, value) for key, value in change.items()}

    # When the device posts it
    error = assert_error(post_event(world, payload), 422, "validation_error")

    # Then the error names the field, and nothing is stored
    details = error["details"]
    assert field in [details.get("field"), *(p["field"] for p in details.get("problems", []))], error
    assert stored_notes() == []


def test_text_of_exactly_the_limit_with_newlines_tabs_and_any_script_is_stored_as_given(aws, world):
    # Given a text of 2000 characters with newlines, tabs, Japanese and an emoji
    head = "侵入警報\tゾーン3\n🚨 "
    text = head + "x" * (2000 - len(head))

    # When the device posts it as raw UTF-8 / Then it is stored and returned exactly as given
    event = recorded(world, json.dumps(an_event(world, text), ensure_ascii=False).encode())
    assert event["text"] == text
    assert listed(owner_token(world), world.camera_id)["items"][0]["text"] == text


@pytest.mark.isolated  # reads the whole notes table
@pytest.mark.parametrize(
    ("payload", "content_type", "status", "code"),
    [
        (b"not json at all", "application/json", 422, "validation_error"),
        (b'["a list"]', "application/json", 422, "validation_error"),
        (b"[" * 100_000, "application/json", 422, "validation_error"),
        (b'{"text": "x"}', "text/plain", 415, "unsupported_media_type"),
    ],
    ids=["not-json", "not-an-object", "deeply-nested", "not-json-type"],
)
def test_a_body_that_is_not_a_json_event_is_refused(aws, world, payload, content_type, status, code):
    # When a signed request carries something other than a JSON object / Then it is refused, nothing stored
    assert_error(post_event(world, payload, content_type=content_type), status, code)
    assert stored_notes() == []


@pytest.mark.isolated  # reads the whole notes table
def test_a_suspended_contract_gets_403_and_stores_nothing(aws, world):
    # Given the contract is suspended
    suspend(world)

    # When the device posts an event / Then it is 403 contract_suspended and nothing is stored
    assert_error(post_event(world, an_event(world)), 403, "contract_suspended")
    assert stored_notes() == []


# customer notes


def test_an_owner_adds_a_note_that_is_listed_audited_without_its_text_and_expires_with_the_retention(aws, world):
    # Given the owner is logged in
    token = owner_token(world)
    at = now() - timedelta(hours=3)

    # When they add a note about the camera three hours ago
    response = post_note(token, world.camera_id, {"text": "Delivery van at the gate", "at": format_rfc3339(at)})

    # Then it is 201 with the note, written by the owner
    assert response["statusCode"] == 201, response["body"]
    note = body_of(response)
    assert set(note) == NOTE_KEYS
    assert (note["kind"], note["camera_id"], note["text"], note["event_id"]) == (
        "note",
        world.camera_id,
        "Delivery van at the gate",
        None,
    )
    assert (note["author"]["type"], note["author"]["name"]) == ("user", "Owner")
    assert retained(note) == timedelta(days=31)
    # And it is listed with the camera
    assert listed(token, world.camera_id)["items"] == [note]
    # And the creation is audited, with its length, never its text
    (entry,) = audit_entries(world.contract_id, "note.created")
    assert entry.subject == note["note_id"]
    assert entry.actor == f"user:{note['author']['id']}"
    assert entry.details["text_length"] == len("Delivery van at the gate")
    assert "Delivery van" not in json.dumps(entry.details)


def test_a_note_without_a_time_is_about_now(aws, world):
    # When the owner adds a note without `at`
    before = utcnow()
    note = added(owner_token(world), world.camera_id, "Checked the camera angle")

    # Then it is about the moment it was written
    assert before <= parse_rfc3339(note["at"], "at") <= utcnow()
    assert note["at"] == note["created_at"]


def test_script_text_is_stored_and_returned_verbatim_as_a_json_string(aws, world):
    # Given a note whose text looks like HTML
    token = owner_token(world)
    text = '<script>alert("x")</script> & <img src=x onerror=alert(1)>'

    # When the owner adds it and lists the camera's notes
    note = added(token, world.camera_id, text)
    response = get_notes(token, world.camera_id)

    # Then it is stored exactly as given, and answered as a JSON string in an application/json response
    assert [item["text"]["S"] for item in stored_notes(world.contract_id)] == [text]
    assert note["text"] == text
    assert response["multiValueHeaders"]["Content-Type"] == ["application/json"]
    assert body_of(response)["items"][0]["text"] == text


def test_a_manager_may_add_notes_and_a_viewer_may_only_read_them(aws, world):
    # Given a manager and a viewer of the contract, and a note
    manager, viewer_user = add_user(world, role="manager"), add_user(world, role="viewer")
    manager_token, viewer_token = login(*manager), login(*viewer_user)
    note = added(manager_token, world.camera_id, "Manager's note")

    # When the viewer tries to add one / Then it is 403 forbidden, nothing stored, nothing audited
    assert_error(post_note(viewer_token, world.camera_id, {"text": "Viewer's note"}), 403, "forbidden")
    assert [item["note_id"]["S"] for item in stored_notes(world.contract_id)] == [note["note_id"]]
    assert len(audit_entries(world.contract_id, "note.created")) == 1
    # And the viewer reads the manager's note
    assert listed_ids(viewer_token, world.camera_id) == [note["note_id"]]


@pytest.mark.isolated  # reads the whole notes table
def test_another_contracts_camera_is_not_found_on_both_routes(aws, world_factory):
    # Given two tenants, the other with a note on its camera
    tenant, other = world_factory(), world_factory()
    theirs = added(owner_token(other), other.camera_id, "Private")
    token = owner_token(tenant)

    # When the first tenant's owner lists or adds notes on the other's camera
    listing = get_notes(token, other.camera_id)
    adding = post_note(token, other.camera_id, {"text": "Intrusion"})

    # Then both are 404 not_found, revealing nothing, and nothing is stored
    for response in (listing, adding):
        error = assert_error(response, 404, "not_found")
        assert other.camera_id not in json.dumps(error) or error["details"] == {}
    assert [item["note_id"]["S"] for item in stored_notes()] == [theirs["note_id"]]


@pytest.mark.isolated  # reads the whole notes table
def test_a_camera_outside_the_users_sites_is_not_found(aws, world):
    # Given a second site and a manager scoped to the first site only
    annex = add_site(world)
    token = login(*add_user(world, role="manager", site_ids=[world.site_id]))

    # When they read or write notes of the annex camera / Then both are 404 and nothing is stored
    assert_error(get_notes(token, annex.camera_id), 404, "not_found")
    assert_error(post_note(token, annex.camera_id, {"text": "x"}), 404, "not_found")
    assert stored_notes() == []


@pytest.mark.isolated  # reads the whole notes table
@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"text": ""}, "text"),
        ({"text": "   "}, "text"),
        ({"text": "y" * 2001}, "text"),
        ({"text": "bell\x07"}, "text"),
        ({"text": "ok", "at": "future"}, "at"),
        ({"text": "ok", "at": "too-old"}, "at"),
        ({"text": "ok", "at": "yesterday"}, "at"),
        ({"text": "ok", "html": True}, "html"),
        ({}, "text"),
    ],
    ids=["empty", "blank", "too-long", "control", "future", "too-old", "not-rfc3339", "unknown-field", "no-text"],
)
def test_an_invalid_note_is_422_and_stores_nothing(aws, world, payload, field):
    # Given a note with one thing wrong
    times = {
        "future": format_rfc3339(now() + timedelta(minutes=6)),
        "too-old": format_rfc3339(now() - timedelta(days=32)),
    }
    body = {key: times.get(value, value) if key == "at" else value for key, value in payload.items()}

    # When the owner adds it
    error = assert_error(post_note(owner_token(world), world.camera_id, body), 422, "validation_error")

    # Then the error names the field, and nothing is stored or audited
    details = error["details"]
    assert any(field in f for f in [details.get("field") or "", *(p["field"] for p in details.get("problems", []))])
    assert stored_notes() == []
    assert audit_entries(world.contract_id, "note.created") == []


def test_a_suspended_contract_can_neither_read_nor_write_notes(aws, world):
    # Given a note, then a suspension
    token = owner_token(world)
    added(token, world.camera_id, "Before the suspension")
    suspend(world)

    # When the owner reads or writes notes / Then both are 403 contract_suspended, and nothing new is stored
    assert_error(get_notes(token, world.camera_id), 403, "contract_suspended")
    assert_error(post_note(token, world.camera_id, {"text": "During"}), 403, "contract_suspended")
    assert len(stored_notes(world.contract_id)) == 1


# listing: pages, order, time range, expiry


def test_pages_merge_camera_notes_and_site_events_in_time_order_without_gaps_or_repeats(aws, world):
    # Given four customer notes and three site events, at distinct minutes over the last hour
    token = owner_token(world)
    start = now() - timedelta(hours=1)
    made: dict[str, datetime] = {}
    for minute in (5, 10, 20, 40):
        made[added(token, world.camera_id, f"note {minute}", start + timedelta(minutes=minute))["note_id"]] = minute
    for minute in (1, 15, 50):
        occurred = format_rfc3339(start + timedelta(minutes=minute))
        made[recorded(world, {"occurred_at": occurred, "text": f"event {minute}"})["note_id"]] = minute
    newest_first = sorted(made, key=made.__getitem__, reverse=True)

    # When the owner pages through them three at a time, newest first, then oldest first
    newest_pages = all_pages(token, world.camera_id, limit="3")
    oldest_pages = all_pages(token, world.camera_id, limit="3", order="oldest")

    # Then every note comes exactly once, in time order, three per page, the last page without a cursor
    assert newest_pages == [newest_first[0:3], newest_first[3:6], newest_first[6:]]
    assert [i for page in oldest_pages for i in page] == newest_first[::-1]
    assert [len(page) for page in oldest_pages] == [3, 3, 1]


def test_a_time_range_includes_from_and_excludes_to(aws, world):
    # Given notes at three known times
    token = owner_token(world)
    base = (now() - timedelta(hours=2)).replace(second=0, microsecond=0)
    notes = [added(token, world.camera_id, f"n{m}", base + timedelta(minutes=m)) for m in (0, 10, 20)]

    # When the owner asks for [base, base + 20 min)
    query = {"from": format_rfc3339(base), "to": format_rfc3339(base + timedelta(minutes=20))}
    ids = listed_ids(token, world.camera_id, **query, order="oldest")

    # Then the first two are in it and the one at `to` is not
    assert ids == [notes[0]["note_id"], notes[1]["note_id"]]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"from": "2026-11-25T12:00:00Z", "to": "2026-11-25T11:00:00Z"}, "from"),
        ({"from": "noon"}, "from"),
        ({"limit": "201"}, "limit"),
    ],
    ids=["bad-cursor", "from-after-to", "bad-from", "limit-over-200"],
)
def test_an_invalid_listing_query_is_422(aws, world, query, field):
    error = assert_error(get_notes(owner_token(world), world.camera_id, **query), 422, "validation_error")
    details = error["details"]
    assert any(field in f for f in [details.get("field") or "", *(p["field"] for p in details.get("problems", []))])


def test_a_cursor_of_another_cameras_listing_is_refused(aws, world):
    # Given a cursor from the listing of one camera
    token = owner_token(world)
    for minute in (1, 2):
        added(token, world.camera_id, f"n{minute}", now() - timedelta(minutes=minute))
    cursor = listed(token, world.camera_id, limit="1")["cursor"]
    other_camera = second_camera(world)

    # When it is used on another camera's listing / Then it is 422 naming the cursor
    error = assert_error(get_notes(token, other_camera, cursor=cursor), 422, "validation_error")
    assert error["details"]["field"] == "cursor"


def test_notes_past_their_expiry_are_hidden_before_they_are_deleted(aws, world):
    # Given two notes, one of which expired (its TTL has not removed it yet)
    token = owner_token(world)
    kept = added(token, world.camera_id, "kept")
    expired = added(token, world.camera_id, "expired", now() - timedelta(minutes=5))
    item = NoteModel.get(world.camera_id, expired["note_id"])
    item.update(actions=[NoteModel.expires_at.set(now() - timedelta(seconds=1))])

    # When the owner lists the camera's notes / Then only the live one is there
    assert listed_ids(token, world.camera_id) == [kept["note_id"]]


# retention, takedown, purge


def receipts(token: str) -> list[dict[str, Any]]:
    event = customer_event("viewer/list_cameras.json", token, path="/v1/deletions", resource="/v1/deletions", query={})
    response = viewer.lambda_handler(event, LambdaContext())
    assert response["statusCode"] == 200, response["body"]
    return body_of(response)["items"]


@pytest.mark.isolated  # the retention job walks every contract
def test_the_retention_job_deletes_expired_notes_and_site_events_and_receipts_them(aws, world_factory):
    # Given a 7-day contract with a note and a site event 6½ days old and a young note, and another 7-day contract
    world, other = world_factory(retention_days=7), world_factory(retention_days=7)
    token = owner_token(world)
    old_note = added(token, world.camera_id, "old", now() - timedelta(days=6, hours=12))
    old_event = recorded(world, {"occurred_at": format_rfc3339(now() - timedelta(days=6, hours=13)), "text": "old"})
    young = added(token, world.camera_id, "young", now() - timedelta(hours=1))
    theirs = added(owner_token(other), other.camera_id, "theirs", now() - timedelta(hours=1))

    # When the job runs a day later
    later = now() + timedelta(days=1)
    report = run_retention(later)

    # Then the two expired ones are gone, the young notes of both contracts stay, and a rerun deletes nothing
    assert report.notes_deleted == 2
    remaining = {item["note_id"]["S"] for item in stored_notes()}
    assert remaining == {young["note_id"], theirs["note_id"]}
    assert not {old_note["note_id"], old_event["note_id"]} & remaining
    assert run_retention(later).notes_deleted == 0
    # And the customer's receipt of that day counts the two notes
    assert receipts(token) == [ledger.retained(later.strftime("%Y-%m-%d"), notes=2)]


@pytest.mark.isolated  # the retention job walks every contract
def test_a_shortened_retention_deletes_notes_past_the_new_period_on_the_next_run(aws, world):
    # Given a 31-day contract with a note 10 days old and one 2 days old
    token = owner_token(world)
    old = added(token, world.camera_id, "ten days ago", now() - timedelta(days=10))
    recent = added(token, world.camera_id, "two days ago", now() - timedelta(days=2))

    # When staff shorten the retention to 7 days and the job runs
    terms.update_plan(world.contract_id, {"retention_days": 7}, actor=STAFF_ACTOR, now=utcnow())
    report = run_retention(now())

    # Then only the note past the new retention is gone
    assert report.notes_deleted == 1
    assert {item["note_id"]["S"] for item in stored_notes()} == {recent["note_id"]}
    assert old["note_id"] not in listed_ids(token, world.camera_id)


@pytest.mark.isolated  # the retention job walks every contract
def test_deletions_list_each_expired_note_once_with_the_frames_of_the_day_it_went(aws, world_factory):
    # Given a 7-day contract with, 6½ days old, a frame, five notes and a site event, and two notes 5½ days old
    world = world_factory(retention_days=7)
    token = owner_token(world)
    freed = bytes_of(aws, [ingested(world, now() - timedelta(days=6, hours=12))])
    for n in range(5):
        added(token, world.camera_id, f"old {n}", now() - timedelta(days=6, hours=12, minutes=n))
    recorded(world, {"occurred_at": format_rfc3339(now() - timedelta(days=6, hours=12)), "text": "site event"})
    for n in range(2):
        added(token, world.camera_id, f"later {n}", now() - timedelta(days=5, hours=12, minutes=n))
    first_day, second_day = now() + timedelta(days=1), now() + timedelta(days=2)

    # When the job runs a day later, two at a time, and again that day, then a day after
    reports = [run_retention(first_day, batch=2), run_retention(first_day, batch=2), run_retention(second_day)]

    # Then each note was counted by the run that deleted it, once
    assert [report.notes_deleted for report in reports] == [6, 0, 2]
    assert stored_notes(world.contract_id) == []
    # And the owner's deletion receipts list them per day, newest first, with the frame and its bytes
    assert receipts(token) == [
        ledger.retained(second_day.strftime("%Y-%m-%d"), notes=2),
        ledger.retained(first_day.strftime("%Y-%m-%d"), frames=1, notes=6, bytes_=freed),
    ]


def take_down(key: str, contract_id: str, **body: Any) -> dict[str, Any]:
    return admin_call("POST", f"/v1/admin/contracts/{contract_id}/takedowns", key=key, body=body)


@pytest.mark.isolated  # reads the whole notes table
def test_staff_take_down_a_note_and_a_site_event_on_an_art_7_1_ground(aws, world, operator_key):
    # Given a customer note and a site event, both listed with the world's camera, and a note that stays
    token = owner_token(world)
    note = added(token, world.camera_id, "offensive words", now() - timedelta(minutes=3))
    event = recorded(world, {"occurred_at": format_rfc3339(now() - timedelta(minutes=2)), "text": "spam"})
    stays = added(token, world.camera_id, "fine")
    ground = {"ground": "art7-1-4", "reason": "reported by the building manager"}

    # When staff take both down, naming the camera they are listed with
    responses = [
        take_down(operator_key, world.contract_id, camera_id=world.camera_id, note_id=item["note_id"], **ground)
        for item in (note, event)
    ]

    # Then each is 200 naming the note, and both are gone from the listing and the table
    for response, item in zip(responses, (note, event), strict=True):
        assert response["statusCode"] == 200, response["body"]
        body = body_of(response)
        assert (body["note_id"], body["ground"], body["bytes_deleted"]) == (item["note_id"], "art7-1-4", 0)
        assert "frame_id" not in body
    assert listed_ids(token, world.camera_id) == [stays["note_id"]]
    assert [item["note_id"]["S"] for item in stored_notes()] == [stays["note_id"]]
    # And each is audited with its ground and the text's digest, never its text
    entries = audit_entries(world.contract_id, "note.taken_down")
    assert {e.subject for e in entries} == {note["note_id"], event["note_id"]}
    by_id = {e.subject: e for e in entries}
    assert by_id[note["note_id"]].details["text_sha256"] == hashlib.sha256(b"offensive words").hexdigest()
    assert all(e.details["ground"] == "art7-1-4" for e in entries)
    assert "offensive" not in json.dumps([e.details for e in entries])
    # And the receipt counts two notes
    assert receipts(token) == [ledger.taken_down(utcnow().strftime("%Y-%m-%d"), notes=2)]
    # And a second takedown of the same note is not_found
    again = take_down(operator_key, world.contract_id, camera_id=world.camera_id, note_id=note["note_id"], **ground)
    assert_error(again, 404, "not_found")


@pytest.mark.isolated  # reads the whole notes table
def test_a_takedown_of_another_contracts_note_or_of_two_items_is_refused(aws, world_factory, operator_key):
    # Given two tenants, the other with a note
    tenant, other = world_factory(), world_factory()
    theirs = added(owner_token(other), other.camera_id, "theirs")
    ground = {"ground": "art7-1-4", "reason": "report"}

    # When staff name it under the first contract, or under its own contract with its camera and a frame id too
    wrong_contract = take_down(
        operator_key, tenant.contract_id, camera_id=other.camera_id, note_id=theirs["note_id"], **ground
    )
    wrong_camera = take_down(
        operator_key, tenant.contract_id, camera_id=tenant.camera_id, note_id=theirs["note_id"], **ground
    )
    both = take_down(
        operator_key, other.contract_id, camera_id=other.camera_id, note_id=theirs["note_id"],
        frame_id="0" * 26, **ground,
    )  # fmt: skip

    # Then the first two are not_found, the last a 422 naming both fields, and the note stays
    assert_error(wrong_contract, 404, "not_found")
    assert_error(wrong_camera, 404, "not_found")
    fields = {p["field"] for p in assert_error(both, 422, "validation_error")["details"]["problems"]}
    assert fields == {"frame_id", "note_id"}
    assert [item["note_id"]["S"] for item in stored_notes()] == [theirs["note_id"]]


@pytest.mark.isolated  # reads the whole notes table
def test_the_termination_job_purges_a_contracts_notes_and_site_events_and_certifies_them(aws, world_factory):
    # Given a contract with a customer note and a site event, terminated with no grace period, and another contract
    ended, active = world_factory(), world_factory()
    added(owner_token(ended), ended.camera_id, "note")
    recorded(ended, {"occurred_at": format_rfc3339(now()), "text": "site event"})
    kept = added(owner_token(active), active.camera_id, "kept")
    lifecycle.transition(
        ended.contract_id, "terminated", "art12-1-1", "fees unpaid", None, STAFF_ACTOR, utcnow(), purge_grace_days=0
    )
    scheduled = sample_event("termination/scheduled.json")

    # When the hourly termination run fires
    report = termination.lambda_handler(scheduled, LambdaContext())

    # Then the contract is purged, none of its notes remain, the other contract's note stays
    assert report["purged"] == 1
    assert stored_notes(ended.contract_id) == []
    assert [item["note_id"]["S"] for item in stored_notes()] == [kept["note_id"]]
    # And the deletion certificate counts both notes
    (certificate,) = audit_entries(ended.contract_id, "contract.purged")
    assert certificate.details["counts"]["notes"] == 2
