"""The purpose registry through the API (Art. 2-4, issue 15 point 1): owners register a camera's purposes in the
viewer, staff through the staff API; the camera views show them; the contract carries the operator and the inquiry
contact. API Gateway events into the handlers, moto in-process."""

from __future__ import annotations

from typing import Any

import pytest

from doti.oversight import audit
from tests.support import admin_call, assert_error, body_of
from tests.support.purposes import put_purposes, set_operator, staff_put
from tests.support.viewer import (
    add_site,
    add_user,
    get_camera,
    get_cameras,
    get_me,
    login,
    owner_token,
    set_contract_state,
)

BODY: dict[str, Any] = {
    "purposes": ["safety", "crime_prevention", "other"],
    "other_text": "checking deliveries",
    "coverage": "the back door and the loading bay",
    "people_filmed": True,
}
REGISTRY_KEYS = ("purposes", "other_text", "coverage", "people_filmed", "purposes_updated_at", "purposes_registered")


def purpose_entries(contract_id: str) -> list[audit.AuditEntry]:
    entries, _ = audit.entries(contract_id, customer_only=True)
    return [e for e in entries if e.action == "camera.purposes_set"]


# the owner


def test_a_camera_shows_no_registration_until_the_owner_registers_it(aws, world):
    token = owner_token(world)
    # Given a new camera: every view says it has no registered purposes (the viewer warns)
    (listed,) = body_of(get_cameras(token))["items"]
    assert {key: listed[key] for key in REGISTRY_KEYS} == {
        "purposes": [],
        "other_text": None,
        "coverage": None,
        "people_filmed": None,
        "purposes_updated_at": None,
        "purposes_registered": False,
    }

    # When the owner registers its purposes
    response = put_purposes(token, world.camera_id, BODY)

    # Then the answer is the camera view, with the purposes in display order, and every view shows the same
    assert response["statusCode"] == 200, response["body"]
    shown = body_of(response)
    assert shown["camera_id"] == world.camera_id
    assert shown["purposes"] == ["crime_prevention", "safety", "other"]
    assert (shown["other_text"], shown["coverage"], shown["people_filmed"]) == (
        "checking deliveries",
        "the back door and the loading bay",
        True,
    )
    assert shown["purposes_registered"] is True
    assert shown["purposes_updated_at"].endswith("Z")
    assert {k: body_of(get_camera(token, world.camera_id))[k] for k in REGISTRY_KEYS} == {
        k: shown[k] for k in REGISTRY_KEYS
    }
    assert {k: body_of(get_cameras(token))["items"][0][k] for k in REGISTRY_KEYS} == {
        k: shown[k] for k in REGISTRY_KEYS
    }


def test_the_registration_is_audited_customer_visible_in_the_same_transaction(aws, world, aws_calls):
    token = owner_token(world)
    aws_calls.clear()

    assert put_purposes(token, world.camera_id, BODY)["statusCode"] == 200

    # The entry names the owner and holds the registration; the customer sees it
    (entry,) = purpose_entries(world.contract_id)
    me = body_of(get_me(token))
    assert (entry.actor, entry.subject, entry.customer_visible) == (f"user:{me['user_id']}", world.camera_id, True)
    assert entry.details == {
        "purposes": ["crime_prevention", "safety", "other"],
        "other_text": "checking deliveries",
        "coverage": "the back door and the loading bay",
        "people_filmed": True,
    }
    # One write: the camera's update and the entry in one TransactWriteItems (no separate UpdateItem of the camera)
    writes = [(op, params) for op, params in aws_calls if op in {"TransactWriteItems", "UpdateItem", "PutItem"}]
    assert [op for op, _ in writes] == ["TransactWriteItems"]
    tables = [next(iter(item.values()))["TableName"] for item in writes[0][1]["TransactItems"]]
    assert sum("Camera" in table for table in tables) == 1
    assert sum("Audit" in table for table in tables) == 2  # the entry and its chain's head


def test_a_new_registration_replaces_the_old_one_and_drops_the_other_text(aws, world):
    token = owner_token(world)
    put_purposes(token, world.camera_id, BODY)

    response = put_purposes(
        token, world.camera_id, {"purposes": ["staffing"], "coverage": "the till", "people_filmed": False}
    )

    assert response["statusCode"] == 200, response["body"]
    shown = body_of(response)
    assert (shown["purposes"], shown["other_text"], shown["people_filmed"]) == (["staffing"], None, False)
    assert len(purpose_entries(world.contract_id)) == 2


@pytest.mark.parametrize("role", ["manager", "viewer"])
def test_managers_and_viewers_may_not_register(aws, world, role):
    token = login(*add_user(world, role=role))

    error = assert_error(put_purposes(token, world.camera_id, BODY), 403, "forbidden")

    assert error["details"]["required_permission"] == "register_purposes"
    assert purpose_entries(world.contract_id) == []
    assert body_of(get_camera(token, world.camera_id))["purposes_registered"] is False


def test_another_contracts_camera_is_not_found(aws, world, world_factory):
    other = world_factory()

    assert_error(put_purposes(owner_token(world), other.camera_id, BODY), 404, "not_found")
    assert_error(put_purposes(owner_token(world), "cam_nosuchcamera", BODY), 404, "not_found")
    assert purpose_entries(other.contract_id) == []


def test_an_owner_scoped_to_one_site_cannot_register_a_camera_of_another(aws, world):
    annex = add_site(world)
    token = login(*add_user(world, role="owner", site_ids=[world.site_id]))

    assert_error(put_purposes(token, annex.camera_id, BODY), 404, "not_found")
    assert put_purposes(token, world.camera_id, BODY)["statusCode"] == 200


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"purposes": []}, "purposes"),
        ({"purposes": ["safety", "safety"]}, "purposes"),
        ({"purposes": ["safety", "marketing"]}, "purposes"),
        ({"purposes": ["safety"]}, "other_text"),  # other_text without other
        ({"other_text": None}, "other_text"),  # other without its text
        ({"other_text": "x" * 201}, "other_text"),
        ({"coverage": "two\nlines"}, "coverage"),
        ({"coverage": "x" * 301}, "coverage"),
        ({"coverage": ""}, "coverage"),
    ],
)
def test_a_bad_registration_is_422_naming_its_field(aws, world, change, field):
    error = assert_error(put_purposes(owner_token(world), world.camera_id, BODY | change), 422, "validation_error")

    assert error["details"]["field"] == field
    assert purpose_entries(world.contract_id) == []


@pytest.mark.parametrize("people_filmed", [None, "yes", 1])
def test_people_filmed_must_be_a_boolean_and_is_required(aws, world, people_filmed):
    token = owner_token(world)
    missing = {k: v for k, v in BODY.items() if k != "people_filmed"}

    for body in (missing, BODY | {"people_filmed": people_filmed}):
        error = assert_error(put_purposes(token, world.camera_id, body), 422, "validation_error")
        assert [p["field"] for p in error["details"]["problems"]] == ["people_filmed"]


# staff


def test_staff_register_purposes_and_see_them_in_the_cameras_listing(aws, world):
    response = staff_put(world, world.camera_id, BODY | {"purposes": ["customer_flow"], "other_text": None})

    assert response["statusCode"] == 200, response["body"]
    assert body_of(response)["purposes"] == ["customer_flow"]
    (listed,) = body_of(admin_call("GET", f"/v1/admin/contracts/{world.contract_id}/cameras", world.staff_key))["items"]
    assert (listed["purposes"], listed["purposes_registered"]) == (["customer_flow"], True)
    (entry,) = purpose_entries(world.contract_id)
    assert entry.actor.startswith("staff:")
    assert entry.details["purposes"] == ["customer_flow"]
    # the owner sees what staff registered
    assert body_of(get_camera(owner_token(world), world.camera_id))["purposes"] == ["customer_flow"]


def test_staff_registrations_follow_the_same_rules(aws, world):
    error = assert_error(staff_put(world, world.camera_id, BODY | {"purposes": ["other"], "other_text": None}), 422,
                         "validation_error")  # fmt: skip
    assert error["details"]["field"] == "other_text"
    assert_error(staff_put(world, "cam_nosuchcamera", BODY), 404, "not_found")
    assert_error(admin_call("PUT", f"/v1/admin/cameras/{world.camera_id}/purposes", None, BODY), 401, "unauthorized")


def test_staff_cannot_register_a_camera_of_an_ended_contract(aws, world):
    set_contract_state(world.contract_id, "terminated")

    error = assert_error(staff_put(world, world.camera_id, BODY), 409, "conflict")

    assert error["details"]["state"] == "terminated"
    assert purpose_entries(world.contract_id) == []


# the contract's operator and inquiry contact


def test_staff_set_the_operator_and_inquiry_contact_which_the_customer_sees(aws, world):
    path = f"/v1/admin/contracts/{world.contract_id}"
    changes = {"operator_name": "Kissa Hoshi LLC", "inquiry_contact": "03-1234-5678 / privacy@hoshi.example"}

    response = admin_call("PATCH", path, world.staff_key, changes)

    assert response["statusCode"] == 200, response["body"]
    assert {k: body_of(response)[k] for k in changes} == changes
    contract = body_of(get_me(owner_token(world)))["contract"]
    assert {k: contract[k] for k in changes} == changes
    entries, _ = audit.entries(world.contract_id, customer_only=True)
    updated = next(e for e in entries if e.action == "contract.updated")
    assert updated.details == {k: {"from": None, "to": v} for k, v in changes.items()}

    # null clears a field; a second line or an over-long text is refused, naming the field
    cleared = admin_call("PATCH", path, world.staff_key, {"inquiry_contact": None})
    assert body_of(cleared)["inquiry_contact"] is None
    for field, bad in (("operator_name", "Kissa\nHoshi"), ("inquiry_contact", "x" * 201), ("operator_name", "x" * 101)):
        refused = admin_call("PATCH", path, world.staff_key, {field: bad})
        assert refused["statusCode"] == 422, refused["body"]
        assert field in refused["body"]


def test_every_role_reads_the_operator_and_inquiry_contact_in_me_null_until_staff_record_them(aws, world):
    # Given a manager, a viewer and a viewer scoped to a second site, besides the owner
    annex = add_site(world)
    tokens = {
        "owner": owner_token(world),
        "manager": login(*add_user(world, role="manager")),
        "viewer": login(*add_user(world, role="viewer")),
        "scoped viewer": login(*add_user(world, role="viewer", site_ids=[annex.site_id])),
    }

    def contracts_seen() -> dict[str, tuple[str | None, str | None]]:
        """Each user's (operator_name, inquiry_contact) as GET /v1/me gives them."""
        seen = {}
        for who, token in tokens.items():
            response = get_me(token)
            assert response["statusCode"] == 200, (who, response["body"])
            contract = body_of(response)["contract"]
            seen[who] = (contract["operator_name"], contract["inquiry_contact"])
        return seen

    # Then, before staff record anything, each reads both as null (the console says they are not recorded yet)
    assert contracts_seen() == dict.fromkeys(tokens, (None, None))

    # When staff record them
    set_operator(world, "Kissa Hoshi LLC", "privacy@hoshi.example")

    # Then every role reads them, the scoped viewer too (they are the contract's, not a site's)
    recorded = ("Kissa Hoshi LLC", "privacy@hoshi.example")
    assert contracts_seen() == dict.fromkeys(tokens, recorded)

    # And while the contract is suspended (GET /v1/me stays open then) they are still read
    set_contract_state(world.contract_id, "suspended")
    assert contracts_seen() == dict.fromkeys(tokens, recorded)
