"""The customer's access log (issue 3 §4, SPEC §12 `GET /v1/access-log`): the entries about the contract's own data
that are customer-visible, newest first, with a cursor; staff shown as "staff" and jobs as "system", never by id;
withheld details left out; another tenant's entries never shown; open only while the contract serves.

Entries are written with doti.oversight.audit.record, the function staff actions and jobs write through (the maintenance
access entry has the shape doti.oversight.maintenance writes), or by staff routes.
"""

from __future__ import annotations

import base64
import json
import secrets
from datetime import timedelta
from typing import Any

import pytest

from doti.clock import parse_rfc3339, utcnow
from doti.contracts import registry
from doti.oversight import access_log as access_log_domain
from doti.oversight import audit
from functions.viewer import app as viewer
from tests.support import LambdaContext, World, admin_call, assert_error, body_of, customer_event
from tests.support.hooks import botocore_hook
from tests.support.viewer import add_site, login, owner_token, set_contract_state

CUSTOMER_ENTRY_KEYS = {"at", "actor", "actor_name", "action", "subject", "details"}


# helpers


def add_user(world: World, *, role: str, site_ids: list[str] | None = None) -> str:
    login_id = f"user-{secrets.token_hex(4)}"
    password = "pw-" + secrets.token_urlsafe(12)
    registry.create_user(
        world.contract_id, login_id=login_id, name="U", role=role, password=password, site_ids=site_ids, now=utcnow()
    )
    return login(login_id, password)


def access_log(token: str, **query: str) -> dict[str, Any]:
    event = customer_event(
        "viewer/list_cameras.json", token, path="/v1/access-log", resource="/v1/access-log", query=query
    )
    return viewer.lambda_handler(event, LambdaContext())


def entries(token: str, **query: str) -> list[dict[str, Any]]:
    response = access_log(token, **query)
    assert response["statusCode"] == 200, response["body"]
    return body_of(response)["items"]


def maintenance_access(contract_id: str, camera_id: str, staff_id: str = "stf_engineer7") -> None:
    """Given-step: a maintenance access as doti.oversight.maintenance records it (Art. 10-1)."""
    now = utcnow()
    audit.record(
        contract_id,
        actor=f"staff:{staff_id}",
        action="maintenance.access",
        subject=camera_id,
        details={
            "ticket": "MNT-1234",
            "reason": "Camera offline since Monday",
            "camera_id": camera_id,
            "from": "2026-11-01T00:00:00.000Z",
            "to": "2026-11-01T01:00:00.000Z",
            "frames": 3,
        },
        customer_visible=True,
        now=now,
    )


def write(contract_id: str, action: str, *, actor: str = "job:retention", visible: bool = True, **details: Any):
    return audit.record(
        contract_id, actor=actor, action=action, details=details, customer_visible=visible, now=utcnow()
    )


# what the customer sees


def test_the_customer_sees_their_contracts_visible_entries_newest_first(world):
    # Given visible and hidden entries on the contract's chain
    write(world.contract_id, "frames.expired", frames=12)
    write(world.contract_id, "staff.internal_note", actor="staff:stf_a", visible=False, note="internal")
    maintenance_access(world.contract_id, world.camera_id)

    # When the owner reads the access log
    items = entries(owner_token(world))

    # Then only the visible entries are there, newest first
    assert [e["action"] for e in items] == ["maintenance.access", "frames.expired"]
    assert set(items[0]) == CUSTOMER_ENTRY_KEYS | {"camera_name"}  # the maintenance access is about a camera
    assert set(items[1]) == CUSTOMER_ENTRY_KEYS
    assert parse_rfc3339(items[0]["at"], "at") >= parse_rfc3339(items[1]["at"], "at")
    assert "internal" not in json.dumps(items)


def test_staff_maintenance_access_is_shown_with_its_ticket_but_not_the_staff_id(world):
    # Given a maintenance access by a staff member
    maintenance_access(world.contract_id, world.camera_id, staff_id="stf_engineer7")

    # When the owner reads the access log
    (entry,) = entries(owner_token(world))

    # Then they see that staff looked, under which ticket, at which camera and window, but not who internally
    assert entry["actor"] == "staff"
    assert entry["action"] == "maintenance.access"
    assert entry["details"]["ticket"] == "MNT-1234"
    assert entry["details"]["camera_id"] == world.camera_id
    assert entry["details"]["frames"] == 3
    text = json.dumps(entry)
    assert "stf_engineer7" not in text
    assert "seq" not in entry
    assert "hash" not in text


@pytest.mark.parametrize(
    ("actor", "shown"),
    [
        ("job:retention", {"actor": "system", "actor_name": access_log_domain.SYSTEM_NAME}),
        ("job:termination", {"actor": "system", "actor_name": access_log_domain.SYSTEM_NAME}),
        ("staff:stf_abc", {"actor": "staff", "actor_name": access_log_domain.STAFF_NAME}),
        ("user:usr_123", {"actor": "user", "actor_id": "usr_123", "actor_name": access_log_domain.FORMER_USER_NAME}),
        ("device:dev_9", {"actor": "device", "actor_id": "dev_9", "actor_name": access_log_domain.FORMER_DEVICE_NAME}),
        ("share:shr_7", {"actor": "share", "actor_id": "shr_7", "actor_name": access_log_domain.SHARE_NAME}),
        ("something-new", {"actor": "system", "actor_name": access_log_domain.SYSTEM_NAME}),
    ],
)
def test_actors_are_shown_by_kind_and_only_the_customers_own_by_id(world, actor, shown):
    # Given an entry by the actor
    write(world.contract_id, "thing.happened", actor=actor)

    # When the owner reads the access log
    (entry,) = entries(owner_token(world))

    # Then the actor is its kind, with an id only for the customer's own users, devices and shares
    assert {k: v for k, v in entry.items() if k.startswith("actor")} == shown


def test_withheld_details_and_staff_ids_are_left_out(world):
    # Given an entry that withholds some details from the customer and carries a staff id
    write(
        world.contract_id,
        "thing.done",
        actor="staff:stf_x",
        basis="art10-3-1",
        recipient="Police",
        reason="Case 5",
        staff_id="stf_x",
        withheld_from_customer=["recipient", "reason"],
    )

    # When the owner reads the access log
    (entry,) = entries(owner_token(world))

    # Then the withheld keys and the staff id are gone, and the customer is told what was withheld
    assert entry["details"] == {"basis": "art10-3-1"}
    assert entry["withheld"] == ["recipient", "reason"]


def test_another_tenants_entries_are_never_shown(world_factory):
    # Given entries on two tenants' chains and on the system chain
    world, other = world_factory(), world_factory()
    write(world.contract_id, "mine.one")
    maintenance_access(other.contract_id, other.camera_id)
    write(other.contract_id, "theirs.two")
    write(None, "system.wide")

    # When each owner reads their access log
    mine, theirs = entries(owner_token(world)), entries(owner_token(other))

    # Then each sees only their own
    assert [e["action"] for e in mine] == ["mine.one"]
    assert [e["action"] for e in theirs] == ["theirs.two", "maintenance.access"]
    assert other.camera_id not in json.dumps(mine)


def test_staff_notices_are_in_the_log(world):
    # Given a notice published by staff to the contract
    notice_body = {"audience": world.contract_id, "kind": "maintenance", "title": "Work", "body": "B"}
    response = admin_call("POST", "/v1/admin/notices", key=world.staff_key, body=notice_body)
    notice = body_of(response)

    # When the owner reads the access log
    (entry,) = entries(owner_token(world))

    # Then the delivery is there, by staff
    assert entry == {
        "at": entry["at"],
        "actor": "staff",
        "actor_name": access_log_domain.STAFF_NAME,
        "action": "notice.delivered",
        "subject": notice["notice_id"],
        "details": {
            "kind": "maintenance",
            "title": "Work",
            "email_sent_at": notice["email_delivered"][world.contract_id],
        },
    }


# names instead of ids (issue 13)


def user_id_of(world: World, login_id: str) -> str:
    (user,) = [u for u in registry.users_of(world.contract_id) if u.login_id == login_id]
    return user.user_id


def named_user(world: World, *, name: str, role: str = "manager") -> tuple[str, str]:
    """A user with this name: their session token and user id."""
    login_id = f"user-{secrets.token_hex(4)}"
    password = "pw-" + secrets.token_urlsafe(12)
    user = registry.create_user(
        world.contract_id, login_id=login_id, name=name, role=role, password=password, site_ids=None, now=utcnow()
    )
    return login(login_id, password), user.user_id


@pytest.mark.parametrize("reader", ["owner", "manager"])
def test_every_role_that_reads_the_log_sees_the_contracts_users_by_name(world, reader):
    # Given entries by the owner and by a named manager
    manager_token, manager_id = named_user(world, name="Hanako Sato")
    owner_id = user_id_of(world, world.login_id)
    (owner,) = [u for u in registry.users_of(world.contract_id) if u.user_id == owner_id]
    write(world.contract_id, "share.created", actor=f"user:{owner_id}")
    write(world.contract_id, "export.requested", actor=f"user:{manager_id}")

    # When the owner or the manager (who may not list the users) reads the log
    items = entries(owner_token(world) if reader == "owner" else manager_token)

    # Then each user is named by the server
    assert [(e["actor_id"], e["actor_name"]) for e in items] == [(manager_id, "Hanako Sato"), (owner_id, owner.name)]


def test_a_user_with_a_blank_name_is_shown_by_login_id(world):
    # Given a user whose name is blank
    login_id = f"user-{secrets.token_hex(4)}"
    user = registry.create_user(
        world.contract_id,
        login_id=login_id,
        name=" ",
        role="viewer",
        password="pw-" + "x" * 16,
        site_ids=None,
        now=utcnow(),
    )
    write(world.contract_id, "thing.done", actor=f"user:{user.user_id}")

    # Then the log names them by their login id
    (entry,) = entries(owner_token(world))
    assert entry["actor_name"] == login_id


def test_devices_and_cameras_are_named_and_camera_scoped_entries_carry_the_camera(world):
    # Given a second site with a named camera and device, and entries about the camera by subject and by detail
    site = add_site(world, name="Lobby")
    write(world.contract_id, "event.received", actor=f"device:{site.device_id}", camera_id=site.camera_id)
    audit.record(
        world.contract_id, actor="job:retention", action="frames.expired", subject=site.camera_id, now=utcnow()
    )
    write(world.contract_id, "notice.read")

    # When the owner reads the log
    items = entries(owner_token(world))

    # Then the device and the camera are named, and an entry about no camera has no camera name
    assert [(e["actor_name"], e.get("camera_name")) for e in items] == [
        (access_log_domain.SYSTEM_NAME, None),
        (access_log_domain.SYSTEM_NAME, "Lobby door"),
        ("Lobby panel", "Lobby door"),
    ]


def test_staff_are_always_the_company_disclosures_included(world):
    # Given a maintenance access and a disclosure by staff members whose names and ids the entries carry
    maintenance_access(world.contract_id, world.camera_id, staff_id="stf_engineer7")
    write(
        world.contract_id,
        "disclosure.created",
        actor="staff:stf_officer2",
        basis="art10-3-1",
        camera_id=world.camera_id,
        recipient="Prefectural Police",
        staff_id="stf_officer2",
        staff_name="Jiro Suzuki",
        withheld_from_customer=["recipient"],
    )

    # When the owner reads the log
    items = entries(owner_token(world))

    # Then both are by the security company, never by a person; the disclosure's recipient stays withheld
    assert [e["actor_name"] for e in items] == [access_log_domain.STAFF_NAME] * 2
    text = json.dumps(items)
    for secret in ("stf_engineer7", "stf_officer2", "Jiro Suzuki", "Prefectural Police"):
        assert secret not in text
    assert items[0]["withheld"] == ["recipient"]


def test_another_contracts_users_devices_and_cameras_are_never_named(world_factory):
    # Given entries on one contract's chain that name the other contract's user, device and camera
    world, other = world_factory(), world_factory()
    other_owner = user_id_of(other, other.login_id)
    other_site = add_site(other, name="Secret wing")
    write(world.contract_id, "a.thing", actor=f"user:{other_owner}", camera_id=other_site.camera_id)
    write(world.contract_id, "b.thing", actor=f"device:{other_site.device_id}")
    audit.record(world.contract_id, actor="job:x", action="c.thing", subject=other.camera_id, now=utcnow())

    # When the first owner reads their log
    items = entries(owner_token(world))

    # Then the ids get the generic words and the other contract's names appear nowhere
    assert [(e["actor_name"], e.get("camera_name")) for e in items] == [
        (access_log_domain.SYSTEM_NAME, None),
        (access_log_domain.FORMER_DEVICE_NAME, None),
        (access_log_domain.FORMER_USER_NAME, None),
    ]
    text = json.dumps(items)
    assert "Secret wing" not in text


def test_the_names_of_a_page_are_read_in_batches_not_one_call_per_entry(world, aws):
    # Given a full page of entries by many users and devices about many cameras
    sites = [add_site(world, name=f"Site {i}") for i in range(4)]
    users = [named_user(world, name=f"Person {i}")[1] for i in range(4)]
    for i in range(40):
        actor = f"user:{users[i // 2 % 4]}" if i % 2 else f"device:{sites[i // 2 % 4].device_id}"
        write(world.contract_id, f"thing.{i}", actor=actor, camera_id=sites[i % 4].camera_id)
    token = owner_token(world)
    tables = {aws.refs[name]: name for name in ("UsersTable", "CamerasTable", "DevicesTable")}
    calls: list[tuple[str, str]] = []

    def count(model: Any, params: dict[str, Any], **_: Any) -> None:
        body = params.get("body") or b"{}"
        request = json.loads(body) if body else {}
        named = [tables[t] for t in [request.get("TableName"), *request.get("RequestItems", {})] if t in tables]
        calls.extend((model.name, table) for table in named)

    # When the owner reads the page
    with botocore_hook("before-call", count, "test-access-log-names"):
        items = entries(token, limit="40")

    # Then every entry is named, with one batch per table (and one query of the contract's users)
    assert {e["actor_name"] for e in items} == {f"Person {i}" for i in range(4)} | {f"Site {i} panel" for i in range(4)}
    assert {e["camera_name"] for e in items} == {f"Site {i} door" for i in range(4)}
    named_calls = [c for c in calls if c[0] in ("BatchGetItem", "GetItem", "Query") and c[1] != "UsersTable"]
    assert sorted(named_calls) == [("BatchGetItem", "CamerasTable"), ("BatchGetItem", "DevicesTable")]
    assert [c for c in calls if c[1] == "UsersTable" and c[0] != "GetItem"] == [("Query", "UsersTable")]


# paging


def test_the_cursor_pages_through_every_visible_entry_exactly_once(world):
    # Given 7 visible entries interleaved with hidden ones
    for i in range(7):
        write(world.contract_id, f"visible.{i}")
        write(world.contract_id, f"hidden.{i}", visible=False)
    token = owner_token(world)

    # When the owner pages through the log 3 at a time
    seen, query = [], {"limit": "3"}
    while True:
        body = body_of(access_log(token, **query))
        seen.extend(e["action"] for e in body["items"])
        assert len(body["items"]) <= 3
        if "cursor" not in body:
            break
        query = {"limit": "3", "cursor": body["cursor"]}

    # Then every visible entry came once, newest first, and no hidden one
    assert seen == [f"visible.{i}" for i in range(6, -1, -1)]


@pytest.mark.parametrize(
    "query",
    [
        {"limit": "0"},
        {"limit": "201"},
        {"cursor": "not base64 json!"},
        {"cursor": base64.urlsafe_b64encode(b'{"s": -1}').decode()},
        {"cursor": base64.urlsafe_b64encode(b'{"s": "5"}').decode()},
        {"cursor": base64.urlsafe_b64encode(b'{"x": 5}').decode()},
    ],
    ids=["limit-0", "limit-201", "garbage", "negative", "string", "wrong-key"],
)
def test_bad_paging_values_are_validation_errors(world, query):
    assert_error(access_log(owner_token(world), **query), 422, "validation_error")


# who may read it, and when


def test_a_manager_may_read_it_but_a_viewer_or_a_site_scoped_user_may_not(world):
    # Given an entry, a manager, a viewer and a manager scoped to one site
    write(world.contract_id, "thing.happened")
    manager = add_user(world, role="manager")
    viewer_user = add_user(world, role="viewer")
    scoped = add_user(world, role="manager", site_ids=[world.site_id])

    # Then the manager reads it, the others are forbidden
    assert [e["action"] for e in entries(manager)] == ["thing.happened"]
    assert_error(access_log(viewer_user), 403, "forbidden")
    assert_error(access_log(scoped), 403, "forbidden")


@pytest.mark.parametrize(
    ("state", "code"),
    [
        ("pending", "contract_not_started"),
        ("suspended", "contract_suspended"),
        ("terminated", "contract_terminated"),
        ("purged", "contract_terminated"),
    ],
)
def test_the_log_follows_the_serving_rule(world, state, code):
    # Given a session, and then the contract leaves the serving states
    token = owner_token(world)
    set_contract_state(world.contract_id, state)

    # When the owner reads the access log
    # Then it is the state's 403
    assert_error(access_log(token), 403, code)


def test_a_cancelling_contract_keeps_the_log_open(world):
    # Given a contract under cancellation notice
    write(world.contract_id, "thing.happened")
    token = owner_token(world)
    set_contract_state(world.contract_id, "cancelling")

    # Then the log is still readable
    assert [e["action"] for e in entries(token)] == ["thing.happened"]


def test_the_log_needs_a_session(world):
    assert_error(access_log("dst_not-a-session"), 401, "unauthorized")


def test_entries_hold_the_time_they_were_written(world):
    # Given an entry written at a known time
    at = utcnow() - timedelta(minutes=3)
    audit.record(world.contract_id, actor="job:retention", action="frames.expired", now=at)

    # When the owner reads the log
    (entry,) = entries(owner_token(world))

    # Then the time is that time, in RFC 3339 UTC
    assert parse_rfc3339(entry["at"], "at") == at
    assert entry["at"].endswith("Z")
