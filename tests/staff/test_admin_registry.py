"""Staff operations on a contract's registry (SPEC §7; Art. 2-1..3, 6-3): listings, cameras with their consents,
device rotation and revocation, user locks, resets and compromised reports. Effects are checked through the real
ingest and viewer handlers, and every change through the contract's audit log."""

from __future__ import annotations

import json
import logging
import secrets
from datetime import timedelta
from typing import Any

import pytest

from doti.auth import customer
from doti.auth.staff import authenticate_staff
from doti.clock import format_rfc3339, utcnow
from doti.entities import Session
from doti.observability import logger
from doti.oversight import audit
from doti.store import registry as registry_store
from doti.tokens import hash_token
from functions.ingest import app as ingest
from tests.support import (
    LambdaContext,
    World,
    admin_call,
    assert_error,
    body_of,
    frame_event,
    sample_image,
    scan_table,
)
from tests.support.viewer import get_me, login, login_response, set_contract_state

PARTIES = ("building_manager", "security_contract_holder", "camera_owner")
UNKNOWN_CONTRACT = "ctr_doesnotexist00000000"


def consent(**fields: Any) -> dict[str, Any]:
    given = {"consented_by": "Ichiro Sato (owner)", "consented_at": "2026-03-01T09:30:00+09:00"}
    return {**given, "evidence_ref": "DMS-2026-0042", **fields}


def consents(**overrides: Any) -> dict[str, Any]:
    """The three consents of Art. 2-1..3; an override of None leaves that party out."""
    given = {party: consent() for party in PARTIES} | overrides
    return {party: value for party, value in given.items() if value is not None}


def call(key: str, method: str, path: str, body: Any = None) -> dict[str, Any]:
    return admin_call(method, path, key=key, body=body)


def ok(response: dict[str, Any], status: int = 200) -> Any:
    assert response["statusCode"] == status, response["body"]
    return body_of(response)


def audit_log(contract_id: str) -> list[audit.AuditEntry]:
    entries, _ = audit.entries(contract_id, limit=1000)
    return entries


def actions(contract_id: str) -> list[str]:
    return [entry.action for entry in audit_log(contract_id)]


def last_entry(contract_id: str, action: str) -> audit.AuditEntry:
    return next(entry for entry in audit_log(contract_id) if entry.action == action)


def staff_id_of(key: str) -> str:
    return authenticate_staff(key).staff_id


def post_frame(world: World, secret: str | None = None) -> dict[str, Any]:
    return ingest.lambda_handler(frame_event(world, sample_image(), secret=secret), LambdaContext())


# every route needs a staff key


NEW_ROUTES = [
    ("GET", "/v1/admin/contracts/{contract}/sites"),
    ("GET", "/v1/admin/contracts/{contract}/cameras"),
    ("GET", "/v1/admin/contracts/{contract}/devices"),
    ("GET", "/v1/admin/contracts/{contract}/users"),
    ("POST", "/v1/admin/devices/{device}/rotate"),
    ("POST", "/v1/admin/devices/{device}/revoke"),
    ("POST", "/v1/admin/users/{login}/lock"),
    ("POST", "/v1/admin/users/{login}/unlock"),
    ("POST", "/v1/admin/users/{login}/reset"),
    ("POST", "/v1/admin/users/{login}/compromised"),
]


@pytest.mark.parametrize(("method", "path"), NEW_ROUTES)
@pytest.mark.parametrize("key", [None, "dsk_" + "A" * 43], ids=["absent", "unknown"])
def test_every_registry_route_needs_a_staff_key(world, method, path, key):
    # Given a tenant and a request without a valid key
    filled = path.format(contract=world.contract_id, device=world.device_id, login=world.login_id)

    # When the route is called
    response = admin_call(method, filled, key=key)

    # Then it is 401, the device still works, the user still logs in, and nothing was audited
    assert_error(response, 401, "unauthorized")
    assert post_frame(world)["statusCode"] == 201
    assert login_response(world.login_id, world.password)["statusCode"] == 200
    assert audit_log(world.contract_id) == []


# listings


def test_staff_list_a_contracts_sites_cameras_devices_and_users_without_secrets(aws, world_factory, operator_key):
    # Given two tenants, the first with a second site
    tenant, other = world_factory(), world_factory()
    annex = ok(call(operator_key, "POST", f"/v1/admin/contracts/{tenant.contract_id}/sites", {"name": "Annex"}), 201)

    # When staff list each part of the first tenant's registry
    lists = {
        kind: ok(call(operator_key, "GET", f"/v1/admin/contracts/{tenant.contract_id}/{kind}"))["items"]
        for kind in ("sites", "cameras", "devices", "users")
    }

    # Then each lists the tenant's own entities only, oldest first
    assert [s["site_id"] for s in lists["sites"]] == [tenant.site_id, annex["site_id"]]
    assert [c["camera_id"] for c in lists["cameras"]] == [tenant.camera_id]
    assert [d["device_id"] for d in lists["devices"]] == [tenant.device_id]
    assert [u["login_id"] for u in lists["users"]] == [tenant.login_id]
    assert lists["cameras"][0]["consents"]["camera_owner"]["article"] == "art2-3"
    assert lists["devices"][0]["status"] == "active"
    assert lists["users"][0] | {"created_at": None, "user_id": None} == {
        "user_id": None,
        "login_id": tenant.login_id,
        "contract_id": tenant.contract_id,
        "name": "Owner",
        "role": "owner",
        "site_ids": None,
        "locked_by_staff": False,
        "locked_until": None,
        "reset_pending": False,
        "created_at": None,
    }
    # and nothing of the other tenant, no secret, no ciphertext and no password hash is in any of them
    text = json.dumps(lists)
    assert other.contract_id not in text
    assert "secret" not in text
    assert "password_hash" not in text
    assert "scrypt$" not in text
    assert tenant.device_secret not in text
    stored_hash = next(i for i in scan_table(aws.refs["UsersTable"]) if i["login_id"]["S"] == tenant.login_id)
    assert stored_hash["password_hash"]["S"] not in text


@pytest.mark.parametrize("kind", ["sites", "cameras", "devices", "users"])
def test_listing_an_unknown_contract_is_not_found(operator_key, kind):
    # Given a contract id nobody created
    # When staff list its registry
    response = call(operator_key, "GET", f"/v1/admin/contracts/{UNKNOWN_CONTRACT}/{kind}")

    # Then it is not_found
    assert_error(response, 404, "not_found")


def test_registry_changes_are_audited_with_the_staff_id(world, operator_key):
    # Given an operator
    cid = world.contract_id
    staff_id = staff_id_of(operator_key)

    # When the operator adds a site, a camera, a device and a user
    site = ok(call(operator_key, "POST", f"/v1/admin/contracts/{cid}/sites", {"name": "Annex"}), 201)
    camera_body = {"site_id": site["site_id"], "name": "Dock", "consents": consents()}
    camera = ok(call(operator_key, "POST", f"/v1/admin/contracts/{cid}/cameras", camera_body), 201)
    device_body = {"site_id": site["site_id"], "name": "Panel 2"}
    device = ok(call(operator_key, "POST", f"/v1/admin/contracts/{cid}/devices", device_body), 201)
    user_body = {"login_id": f"u-{secrets.token_hex(4)}", "name": "Jiro", "role": "viewer"}
    user = ok(call(operator_key, "POST", f"/v1/admin/contracts/{cid}/users", user_body), 201)
    password = user["temporary_password"]

    # Then each is one audit entry by that staff member, about that entity, with no secret in it
    entries = {entry.action: entry for entry in audit_log(cid)}
    assert set(entries) == {"site.created", "camera.created", "device.registered", "user.created"}
    assert {entry.actor for entry in entries.values()} == {f"staff:{staff_id}"}
    assert entries["site.created"].subject == site["site_id"]
    assert entries["camera.created"].subject == camera["camera_id"]
    assert entries["device.registered"].subject == device["device_id"]
    assert entries["user.created"].subject == user["user_id"]
    assert entries["user.created"].details["login_id"] == user["login_id"]
    assert entries["user.created"].details["forced_change"] is True
    text = json.dumps([entry.details for entry in entries.values()])
    assert device["device_secret"] not in text
    assert password not in text
    assert audit.verify_chain(cid).intact


@pytest.mark.parametrize("state", ["terminated", "purged"])
def test_an_ended_contract_takes_no_new_registry_entities(aws, world, operator_key, state):
    # Given a contract that has ended
    set_contract_state(world.contract_id, state)
    before = len(scan_table(aws.refs["SitesTable"]))

    # When staff add a site to it
    response = call(operator_key, "POST", f"/v1/admin/contracts/{world.contract_id}/sites", {"name": "Late"})

    # Then it is 409 naming the state, and nothing is stored
    assert assert_error(response, 409, "conflict")["details"]["state"] == state
    assert len(scan_table(aws.refs["SitesTable"])) == before


# cameras and the consents of Art. 2-1..3


def test_a_camera_is_registered_with_its_three_consents(aws, world, operator_key):
    # Given the three consents, one given in JST
    body = {"site_id": world.site_id, "name": "Back door", "consents": consents()}

    # When staff register the camera
    camera = ok(call(operator_key, "POST", f"/v1/admin/contracts/{world.contract_id}/cameras", body), 201)

    # Then the consents are kept per party with their article, the time in UTC
    expected = {
        party: {
            "article": article,
            "consented_by": "Ichiro Sato (owner)",
            "consented_at": "2026-03-01T00:30:00.000Z",
            "evidence_ref": "DMS-2026-0042",
        }
        for party, article in zip(PARTIES, ("art2-1", "art2-2", "art2-3"), strict=True)
    }
    assert camera["consents"] == expected
    stored = next(i for i in scan_table(aws.refs["CamerasTable"]) if i["camera_id"]["S"] == camera["camera_id"])
    assert json.loads(stored["consents"]["S"]) == expected
    # and the audit entry records them
    entry = last_entry(world.contract_id, "camera.created")
    assert entry.subject == camera["camera_id"]
    assert entry.details["consents"] == expected
    assert entry.details["site_id"] == world.site_id


@pytest.mark.parametrize(
    ("given", "named"),
    [
        (None, "consents"),
        (consents(camera_owner=None), "consents.camera_owner"),
        (consents(building_manager=None, security_contract_holder=None), "consents.building_manager"),
        (consents(building_manager={"consented_by": "A", "consented_at": "2026-01-01T00:00:00Z"}), "evidence_ref"),
        (consents(camera_owner=consent(consented_by="   ")), "consents.camera_owner.consented_by"),
        (consents(camera_owner=consent(consented_at="yesterday")), "consents.camera_owner.consented_at"),
        (consents(camera_owner=consent(consented_at="2026-01-01T09:00:00")), "consents.camera_owner.consented_at"),
        (consents(camera_owner=consent(consented_at="2099-01-01T00:00:00Z")), "consents.camera_owner.consented_at"),
        (consents(landlord=consent()), "landlord"),
        (consents(camera_owner="yes"), "camera_owner"),
    ],
    ids=[
        "no-consents",
        "no-camera-owner",
        "two-missing",
        "no-evidence",
        "blank-consented-by",
        "time-not-rfc3339",
        "time-without-offset",
        "time-in-future",
        "unknown-party",
        "not-an-object",
    ],
)
def test_a_camera_without_valid_consents_is_refused_naming_what_is_missing(aws, world, operator_key, given, named):
    # Given a camera body whose consents are missing or malformed
    body = {"site_id": world.site_id, "name": "Gate"} | ({"consents": given} if given is not None else {})
    before = len(scan_table(aws.refs["CamerasTable"]))

    # When staff register it
    response = call(operator_key, "POST", f"/v1/admin/contracts/{world.contract_id}/cameras", body)

    # Then it is 422 naming the missing or bad part, and no camera or audit entry is written
    error = assert_error(response, 422, "validation_error")
    assert any(named in problem["field"] for problem in error["details"]["problems"]), error
    assert len(scan_table(aws.refs["CamerasTable"])) == before
    assert "camera.created" not in actions(world.contract_id)


@pytest.mark.parametrize("ahead", [timedelta(seconds=-1), timedelta(minutes=4)], ids=["second-ago", "4-min-ahead"])
def test_a_consent_given_just_now_is_accepted_even_from_a_clock_a_little_ahead(world, operator_key, ahead):
    # Given consents stamped "now" by a staff member's clock, which may run a few minutes ahead of ours
    just_now = format_rfc3339(utcnow() + ahead)
    body = {"site_id": world.site_id, "name": "Gate", "consents": consents(camera_owner=consent(consented_at=just_now))}

    # When staff register the camera
    response = call(operator_key, "POST", f"/v1/admin/contracts/{world.contract_id}/cameras", body)

    # Then it is created with the time as given
    assert ok(response, 201)["consents"]["camera_owner"]["consented_at"] == just_now


def test_a_consent_more_than_five_minutes_ahead_is_in_the_future(world, operator_key):
    # Given a consent stamped six minutes ahead of our clock
    ahead = format_rfc3339(utcnow() + timedelta(minutes=6))
    body = {"site_id": world.site_id, "name": "Gate", "consents": consents(camera_owner=consent(consented_at=ahead))}

    # When staff register the camera
    response = call(operator_key, "POST", f"/v1/admin/contracts/{world.contract_id}/cameras", body)

    # Then it is refused, naming the time
    error = assert_error(response, 422, "validation_error")
    assert {"field": "consents.camera_owner.consented_at", "problem": "in the future"} in error["details"]["problems"]


def test_a_camera_at_another_contracts_site_is_not_found_even_with_consents(aws, world_factory, operator_key):
    # Given two tenants
    tenant, other = world_factory(), world_factory()
    before = len(scan_table(aws.refs["CamerasTable"]))

    # When staff add a camera to the first naming the other's site
    body = {"site_id": other.site_id, "name": "Sneaky", "consents": consents()}
    response = call(operator_key, "POST", f"/v1/admin/contracts/{tenant.contract_id}/cameras", body)

    # Then it is not_found and nothing is stored
    assert_error(response, 404, "not_found")
    assert len(scan_table(aws.refs["CamerasTable"])) == before


# devices: rotation and revocation


def test_a_rotated_secret_is_shown_once_and_the_old_one_stops_working_at_once(aws, world, operator_key):
    # Given a device whose secret has just verified a frame (so the secret cache holds it)
    assert post_frame(world)["statusCode"] == 201

    # When staff rotate its secret
    response = call(operator_key, "POST", f"/v1/admin/devices/{world.device_id}/rotate", {"reason": "panel swap"})

    # Then the response shows a new secret once, and may not be cached
    rotated = ok(response)
    new_secret = rotated["device_secret"]
    assert new_secret != world.device_secret
    assert len(new_secret) >= 32
    assert response["multiValueHeaders"]["Cache-Control"] == ["no-store"]
    assert rotated["status"] == "active"
    assert rotated["rotated_at"] is not None
    # and the old secret is refused on the very next request, while the new one works
    assert_error(post_frame(world), 401, "unauthorized")
    assert post_frame(world, secret=new_secret)["statusCode"] == 201
    # and the device table holds no form of the new secret
    assert new_secret not in json.dumps(scan_table(aws.refs["DevicesTable"]), default=str)
    # and the rotation is audited without the secret
    entry = last_entry(world.contract_id, "device.rotated")
    assert entry.subject == world.device_id
    assert entry.actor == f"staff:{staff_id_of(operator_key)}"
    assert entry.details["reason"] == "panel swap"
    assert new_secret not in json.dumps(entry.details)


def test_a_revoked_device_is_refused_from_its_next_request(world, operator_key):
    # Given a working device
    assert post_frame(world)["statusCode"] == 201

    # When staff revoke it
    revoked = ok(call(operator_key, "POST", f"/v1/admin/devices/{world.device_id}/revoke"))

    # Then it is revoked, its signed requests get 401, and the revocation is audited
    assert revoked["status"] == "revoked"
    assert revoked["revoked_at"] is not None
    assert "device_secret" not in revoked
    assert_error(post_frame(world), 401, "unauthorized")
    assert last_entry(world.contract_id, "device.revoked").subject == world.device_id
    devices = ok(call(operator_key, "GET", f"/v1/admin/contracts/{world.contract_id}/devices"))["items"]
    assert [d["status"] for d in devices] == ["revoked"]


def test_a_revoked_device_cannot_be_rotated_or_revoked_again(world, operator_key):
    # Given a revoked device
    ok(call(operator_key, "POST", f"/v1/admin/devices/{world.device_id}/revoke"))

    # When staff try to rotate it, or revoke it again
    rotate = call(operator_key, "POST", f"/v1/admin/devices/{world.device_id}/rotate")
    again = call(operator_key, "POST", f"/v1/admin/devices/{world.device_id}/revoke")

    # Then both are 409 naming the status, no secret is issued, and it stays refused
    assert assert_error(rotate, 409, "conflict")["details"]["status"] == "revoked"
    assert assert_error(again, 409, "conflict")["details"]["status"] == "revoked"
    assert "device_secret" not in rotate["body"]
    assert_error(post_frame(world), 401, "unauthorized")
    assert actions(world.contract_id).count("device.revoked") == 1
    assert "device.rotated" not in actions(world.contract_id)


@pytest.mark.parametrize("operation", ["rotate", "revoke"])
def test_an_unknown_device_is_not_found(operator_key, operation):
    # Given a device id nobody registered
    # When staff rotate or revoke it
    response = call(operator_key, "POST", f"/v1/admin/devices/dev_doesnotexist000000000/{operation}")

    # Then it is not_found
    assert_error(response, 404, "not_found")


def test_a_device_operation_with_an_unknown_field_is_refused(world, operator_key):
    # Given a body with a misspelt field
    # When staff revoke with it
    response = call(operator_key, "POST", f"/v1/admin/devices/{world.device_id}/revoke", {"reasn": "lost"})

    # Then it is 422 and the device still works
    assert_error(response, 422, "validation_error")
    assert post_frame(world)["statusCode"] == 201


# users: lock and unlock


def test_a_staff_lock_refuses_login_and_ends_sessions_until_unlocked(world, operator_key):
    # Given a user with a session
    token = login(world.login_id, world.password)

    # When staff lock the account
    locked = ok(call(operator_key, "POST", f"/v1/admin/users/{world.login_id}/lock", {"reason": "owner asked"}))

    # Then the account shows the lock, the session is gone, and login is 423 (a wrong password stays 401)
    assert locked["locked_by_staff"] is True
    assert locked["sessions_revoked"] == 1
    assert_error(get_me(token), 401, "unauthorized")
    assert assert_error(login_response(world.login_id, world.password), 423, "account_locked")["details"][
        "locked_by_staff"
    ]
    assert_error(login_response(world.login_id, "not-the-password"), 401, "unauthorized")

    # When staff unlock it
    unlocked = ok(call(operator_key, "POST", f"/v1/admin/users/{world.login_id}/unlock"))

    # Then the person logs in again
    assert unlocked["locked_by_staff"] is False
    assert unlocked["locked_until"] is None
    assert get_me(login(world.login_id, world.password))["statusCode"] == 200
    # and both are audited with the staff id
    staff = f"staff:{staff_id_of(operator_key)}"
    lock_entry, unlock_entry = (
        last_entry(world.contract_id, "user.locked"),
        last_entry(world.contract_id, "user.unlocked"),
    )
    assert (lock_entry.actor, unlock_entry.actor) == (staff, staff)
    assert lock_entry.details == {"login_id": world.login_id, "sessions_revoked": 1, "reason": "owner asked"}


def test_a_session_a_lock_did_not_revoke_is_still_refused(world, operator_key):
    # Given a locked user and a session that the sessions index missed (created straight in the store after the lock)
    ok(call(operator_key, "POST", f"/v1/admin/users/{world.login_id}/lock"))
    user = registry_store.get_user(world.login_id)
    token = "dst_" + secrets.token_urlsafe(32)
    session = Session(
        token_hash=hash_token(token),
        login_id=user.login_id,
        user_id=user.user_id,
        contract_id=user.contract_id,
        expires_at=utcnow() + timedelta(hours=1),
    )
    registry_store.put_session(session, utcnow())

    # When it is used
    response = get_me(token)

    # Then the lock refuses it
    assert_error(response, 423, "account_locked")


def test_unlock_also_clears_a_failed_login_lockout(world, operator_key):
    # Given a user locked out by five wrong passwords
    for _ in range(customer.LOCK_AFTER_FAILURES):
        assert_error(login_response(world.login_id, "wrong-password"), 401, "unauthorized")
    assert_error(login_response(world.login_id, world.password), 423, "account_locked")

    # When staff unlock the account
    ok(call(operator_key, "POST", f"/v1/admin/users/{world.login_id}/unlock"))

    # Then the right password works at once
    assert login_response(world.login_id, world.password)["statusCode"] == 200


# users: reset and compromised report (Art. 6-3)


@pytest.mark.parametrize(("operation", "action"), [("reset", "user.reset"), ("compromised", "user.compromised")])
def test_a_reset_or_compromised_report_ends_every_session_and_forces_a_new_password(
    aws, world, operator_key, caplog, operation, action
):
    # Given a user logged in on two devices, and the functions' log records kept (at the deployed INFO level)
    caplog.set_level(logging.INFO, logger=logger.name)
    tokens = [login(world.login_id, world.password) for _ in range(2)]

    # When staff reset the password, or record that the credentials are compromised
    response = call(operator_key, "POST", f"/v1/admin/users/{world.login_id.upper()}/{operation}")

    # Then a temporary password is shown once, with the forced change and the revoked sessions
    reset = ok(response)
    temporary = reset["temporary_password"]
    assert len(temporary) >= customer.MIN_PASSWORD_LENGTH
    assert reset["reset_pending"] is True
    assert reset["sessions_revoked"] == 2
    assert response["multiValueHeaders"]["Cache-Control"] == ["no-store"]
    # and both sessions are gone, the old password no longer works, the temporary one does and must be changed
    for token in tokens:
        assert_error(get_me(token), 401, "unauthorized")
    assert_error(login_response(world.login_id, world.password), 401, "unauthorized")
    assert get_me(login(world.login_id, temporary))["statusCode"] == 200
    assert customer.sign_in(world.login_id, temporary, utcnow()).must_change_password is True
    # and the audit entry names the staff member and the sessions, but holds no password or hash
    entry = last_entry(world.contract_id, action)
    assert entry.actor == f"staff:{staff_id_of(operator_key)}"
    assert entry.details == {"login_id": world.login_id, "forced_change": True, "sessions_revoked": 2, "reason": None}
    stored_hash = next(i for i in scan_table(aws.refs["UsersTable"]) if i["login_id"]["S"] == world.login_id)
    everything_audited = json.dumps([e.details for e in audit_log(world.contract_id)])
    for secret in (temporary, world.password, stored_hash["password_hash"]["S"]):
        assert secret not in everything_audited
    # and the temporary password is stored only as a hash and never logged
    assert temporary not in json.dumps(scan_table(aws.refs["UsersTable"]))
    logged = json.dumps([r.__dict__ for r in caplog.records if r.name == logger.name], default=str)
    assert "request refused" in logged  # the log was captured (the refused logins above)
    assert temporary not in logged
    assert world.password not in logged


def test_a_reset_does_not_lift_a_staff_lock(world, operator_key):
    # Given a staff-locked user
    ok(call(operator_key, "POST", f"/v1/admin/users/{world.login_id}/lock"))

    # When staff reset the password
    temporary = ok(call(operator_key, "POST", f"/v1/admin/users/{world.login_id}/reset"))["temporary_password"]

    # Then the temporary password is still refused until the lock is lifted
    assert_error(login_response(world.login_id, temporary), 423, "account_locked")
    ok(call(operator_key, "POST", f"/v1/admin/users/{world.login_id}/unlock"))
    assert login_response(world.login_id, temporary)["statusCode"] == 200


def test_a_compromised_report_leaves_other_users_sessions_alone(world_factory, operator_key):
    # Given two tenants' users, both logged in
    tenant, other = world_factory(), world_factory()
    tenant_token, other_token = login(tenant.login_id, tenant.password), login(other.login_id, other.password)

    # When the first user's credentials are reported compromised
    ok(call(operator_key, "POST", f"/v1/admin/users/{tenant.login_id}/compromised"))

    # Then only that user's session ends, and only that contract's log records it
    assert_error(get_me(tenant_token), 401, "unauthorized")
    assert get_me(other_token)["statusCode"] == 200
    assert "user.compromised" in actions(tenant.contract_id)
    assert actions(other.contract_id) == []


@pytest.mark.parametrize("operation", ["lock", "unlock", "reset", "compromised"])
def test_an_unknown_login_id_is_not_found(operator_key, operation):
    # Given a login id nobody has
    # When staff operate on it
    response = call(operator_key, "POST", f"/v1/admin/users/nobody-{secrets.token_hex(4)}/{operation}")

    # Then it is not_found
    assert_error(response, 404, "not_found")


def test_a_login_id_with_at_and_plus_is_found_as_the_path_names_it(world, operator_key):
    # Given a user whose login id is an e-mail address with a + tag
    login_id = f"hanako+{secrets.token_hex(3)}@shop.example"
    body = {"login_id": login_id, "name": "Hanako", "role": "viewer"}
    created = ok(call(operator_key, "POST", f"/v1/admin/contracts/{world.contract_id}/users", body), 201)
    password = created["temporary_password"]  # the server's: staff choose none

    # When staff lock it, naming it in the path with its @ and + percent-encoded, as a REST API hands the path over
    escaped = login_id.replace("+", "%2B").replace("@", "%40")
    response = call(operator_key, "POST", f"/v1/admin/users/{escaped}/lock")

    # Then it is that user who is locked
    assert ok(response)["login_id"] == login_id
    assert_error(login_response(login_id, password), 423, "account_locked")


def test_a_path_is_decoded_once_and_not_twice(world, operator_key):
    # Given a user whose login id is an e-mail address with a + tag
    login_id = f"hanako+{secrets.token_hex(3)}@shop.example"
    body = {"login_id": login_id, "name": "Hanako", "role": "viewer"}
    created = ok(call(operator_key, "POST", f"/v1/admin/contracts/{world.contract_id}/users", body), 201)
    password = created["temporary_password"]  # the server's: staff choose none

    # When the client encoded the path's escapes twice (%2540 for %40)
    escaped = login_id.replace("+", "%252B").replace("@", "%2540")
    response = call(operator_key, "POST", f"/v1/admin/users/{escaped}/lock")

    # Then it is decoded once, to a text with % that no login id holds: 422, and nobody was locked
    assert assert_error(response, 422, "validation_error")["details"] == {"field": "login_id"}
    assert login_response(login_id, password)["statusCode"] == 200
