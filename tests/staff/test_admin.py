"""Staff API (SPEC §2, §7, §10, §12): API keys, contracts and their registry, one login id per person."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from typing import Any

import pytest

from doti.clock import parse_rfc3339, utcnow
from functions.admin import app as admin
from functions.ingest import app as ingest
from functions.viewer import app as viewer
from tests.support import (
    LambdaContext,
    World,
    admin_call,
    api_event,
    assert_error,
    body_of,
    created,
    customer_event,
    frame_event,
    sample_image,
    scan_table,
)

STRONG_PASSWORD = "correct horse battery staple"
CONTRACT_BODY = {"name": "Sample Store K.K.", "contact_email": "it@sample-store.example"}
# Art. 2-1..3: a camera is registered with the three consents
_CONSENT = {"consented_by": "Ichiro Sato", "consented_at": "2025-01-05T09:00:00Z", "evidence_ref": "contract-file-7"}
CONSENTS = dict.fromkeys(("building_manager", "security_contract_holder", "camera_owner"), _CONSENT)


# helpers


def new_contract(key: str, **fields: Any) -> dict[str, Any]:
    return created(admin_call("POST", "/v1/admin/contracts", key=key, body={**CONTRACT_BODY, **fields}))


def new_site(key: str, contract_id: str) -> dict[str, Any]:
    return created(admin_call("POST", f"/v1/admin/contracts/{contract_id}/sites", key=key, body={"name": "Store"}))


def new_user(key: str, contract_id: str, **fields: Any) -> dict[str, Any]:
    body = {"login_id": f"u-{secrets.token_hex(4)}", "name": "Hanako", "role": "viewer"}
    return admin_call("POST", f"/v1/admin/contracts/{contract_id}/users", key=key, body={**body, **fields})


def stored_values(items: list[dict[str, Any]]) -> list[bytes]:
    """Every attribute value of every item, as bytes (binary attributes raw, everything else as JSON text)."""
    values: list[bytes] = []
    for item in items:
        for attribute in item.values():
            if "B" in attribute:
                values.append(attribute["B"])
            else:
                values.append(json.dumps(attribute).encode())
    return values


# staff keys


ADMIN_ROUTES = [
    ("POST", "/v1/admin/contracts", CONTRACT_BODY),
    ("GET", "/v1/admin/contracts/{contract}", None),
    ("POST", "/v1/admin/contracts/{contract}/sites", {"name": "Store"}),
    ("POST", "/v1/admin/contracts/{contract}/cameras", {"site_id": "{site}", "name": "Gate", "consents": CONSENTS}),
    ("POST", "/v1/admin/contracts/{contract}/devices", {"site_id": "{site}", "name": "Panel"}),
    (
        "POST",
        "/v1/admin/contracts/{contract}/users",
        {"login_id": "someone-new", "name": "N", "role": "viewer"},
    ),
    ("GET", "/v1/admin/openapi.json", None),
]


@pytest.mark.parametrize(
    "key",
    [None, "", "dsk_sample", "dsk_" + "A" * 43, "{real}x"],
    ids=["absent", "empty", "sample", "unknown", "altered"],
)
def test_every_admin_route_needs_a_valid_staff_key(aws, world, key):
    # Given a tenant and requests with a missing or unknown X-Api-Key (and otherwise valid bodies)
    presented = None if key is None else key.format(real=world.staff_key)
    before = {name: len(scan_table(aws.refs[name])) for name in ("ContractsTable", "SitesTable", "UsersTable")}

    for method, path, body in ADMIN_ROUTES:
        filled = json.loads(json.dumps(body).replace("{site}", world.site_id)) if body else None
        # When each admin route is called
        response = admin_call(method, path.format(contract=world.contract_id), key=presented, body=filled)

        # Then it is 401 unauthorized with the SPEC error shape
        assert_error(response, 401, "unauthorized")
    # and nothing was created
    assert before == {name: len(scan_table(aws.refs[name])) for name in before}


def test_a_request_without_a_key_is_unauthorized_even_with_an_invalid_body(aws):
    # Given no key and a body that is not a contract
    # When it is posted
    response = admin_call("POST", "/v1/admin/contracts", key=None, body={"retention_days": "forever"})

    # Then the caller is told only that they are not authenticated
    assert_error(response, 401, "unauthorized")


def test_an_operator_key_can_create_and_read_a_contract(operator_key):
    # Given an operator's key
    # When the operator creates a contract and reads it back
    contract = new_contract(operator_key)
    read = admin_call("GET", f"/v1/admin/contracts/{contract['contract_id']}", key=operator_key)

    # Then both succeed and agree
    assert read["statusCode"] == 200, read["body"]
    assert body_of(read) == contract


def test_staff_keys_are_stored_only_as_hashes(aws, operator_key):
    # Given an operator key in use
    new_contract(operator_key)

    # When the staff keys table is read
    items = scan_table(aws.refs["StaffKeysTable"])

    # Then no item holds the key, and the key's SHA-256 is what identifies it
    assert operator_key not in json.dumps(items)
    assert operator_key.removeprefix("dsk_") not in json.dumps(items)
    assert hashlib.sha256(operator_key.encode()).hexdigest() in {item["key_hash"]["S"] for item in items}


# contracts


def test_a_contract_is_created_active_with_the_default_plan(operator_key):
    # Given only a name and a contact address
    before = utcnow()

    # When the contract is created
    contract = new_contract(operator_key)

    # Then it is active with the default plan (31-day retention, 300 s URLs)
    assert contract["contract_id"].startswith("ctr_")
    assert contract["state"] == "active"
    assert contract["name"] == CONTRACT_BODY["name"]
    assert contract["contact_email"] == CONTRACT_BODY["contact_email"]
    assert contract["security_contract_id"] is None
    assert contract["retention_days"] == 31
    assert contract["signed_url_ttl"] == 300
    assert contract["max_object_bytes"] == 4 * 1024 * 1024
    assert contract["monthly_byte_quota"] >= contract["max_object_bytes"]
    assert contract["max_pixels"] == 3840 * 2160
    assert before <= parse_rfc3339(contract["created_at"], "created_at") <= utcnow()
    assert contract["created_at"].endswith("Z")


def test_a_contract_takes_the_plan_it_is_given(operator_key):
    # Given plan values at the edges of what is allowed
    plan = {"retention_days": 7, "signed_url_ttl": 3600, "security_contract_id": "SEC-0042"}

    # When the contract is created
    contract = new_contract(operator_key, **plan)

    # Then the values are kept
    assert {k: contract[k] for k in plan} == plan


@pytest.mark.parametrize(
    ("fields", "problem_field"),
    [
        ({"retention_days": 5}, None),
        ({"retention_days": 30}, None),
        ({"signed_url_ttl": 3601}, None),
        ({"signed_url_ttl": 29}, None),
        ({"contact_email": "not-an-address"}, "contact_email"),
        ({"contact_email": "owner@"}, "contact_email"),
        ({"name": ""}, "name"),
        ({"retention_days": "a month"}, "retention_days"),
        ({"retention_dayz": 7}, "retention_dayz"),  # a typo must not silently become the 31-day default
        ({"state": "terminated"}, "state"),  # nor may a caller pick the state
    ],
    ids=[
        "retention-not-a-class",
        "retention-30",
        "ttl-over-3600",
        "ttl-under-30",
        "bad-email",
        "email-without-domain",
        "empty-name",
        "retention-not-a-number",
        "unknown-field",
        "state-field",
    ],
)
def test_an_invalid_contract_is_refused_and_not_stored(aws, operator_key, fields, problem_field):
    # Given a contract body with one bad value
    before = len(scan_table(aws.refs["ContractsTable"]))

    # When it is posted
    response = admin_call("POST", "/v1/admin/contracts", key=operator_key, body={**CONTRACT_BODY, **fields})

    # Then it is 422 validation_error (naming the field when the request shape is wrong) and nothing is stored
    error = assert_error(response, 422, "validation_error")
    if problem_field:
        assert any(p["field"] == problem_field for p in error["details"]["problems"]), error
    assert len(scan_table(aws.refs["ContractsTable"])) == before


def test_a_body_that_is_not_json_is_a_validation_error(operator_key):
    # Given a body that is not JSON
    event = api_event(
        "admin/create_contract.json",
        headers={"X-Api-Key": operator_key, "Content-Type": "application/json"},
        body="{not json",
    )

    # When it is posted
    response = admin.lambda_handler(event, LambdaContext())

    # Then it is 422 validation_error
    assert_error(response, 422, "validation_error")


def test_an_unknown_contract_is_not_found(operator_key):
    # Given a contract id nobody created
    # When it is read, or a site is added to it
    read = admin_call("GET", "/v1/admin/contracts/ctr_doesnotexist00000000", key=operator_key)
    site = admin_call("POST", "/v1/admin/contracts/ctr_doesnotexist00000000/sites", key=operator_key, body={"a": 1})
    site_ok_body = admin_call(
        "POST", "/v1/admin/contracts/ctr_doesnotexist00000000/sites", key=operator_key, body={"name": "Store"}
    )

    # Then reading and adding are not_found (and a bad body is still a validation error first)
    assert_error(read, 404, "not_found")
    assert_error(site, 422, "validation_error")
    assert_error(site_ok_body, 404, "not_found")


# sites, cameras, devices


def test_sites_cameras_and_devices_are_created_under_a_contract(aws, operator_key):
    # Given a contract
    contract_id = new_contract(operator_key)["contract_id"]

    # When staff add a site, a camera and a device to it
    site = new_site(operator_key, contract_id)
    camera = created(
        admin_call(
            "POST",
            f"/v1/admin/contracts/{contract_id}/cameras",
            key=operator_key,
            body={"site_id": site["site_id"], "name": "Gate", "consents": CONSENTS},
        )
    )
    device = created(
        admin_call(
            "POST",
            f"/v1/admin/contracts/{contract_id}/devices",
            key=operator_key,
            body={"site_id": site["site_id"], "name": "Panel"},
        )
    )

    # Then each belongs to the contract and the site
    assert site["contract_id"] == contract_id
    assert site["name"] == "Store"
    assert camera["contract_id"] == contract_id
    assert camera["site_id"] == site["site_id"]
    assert device["contract_id"] == contract_id
    assert device["site_id"] == site["site_id"]
    assert device["status"] == "active"
    # and the device's one-time secret lets it send a frame to the camera
    registered = World(
        contract_id, site["site_id"], camera["camera_id"], device["device_id"], device["device_secret"], "", "", ""
    )
    response = ingest.lambda_handler(frame_event(registered, sample_image()), LambdaContext())
    assert response["statusCode"] == 201, response["body"]


def test_the_device_secret_is_shown_once_and_never_stored(aws, operator_key):
    # Given a site
    contract_id = new_contract(operator_key)["contract_id"]
    site = new_site(operator_key, contract_id)

    # When a device is registered
    response = admin_call(
        "POST",
        f"/v1/admin/contracts/{contract_id}/devices",
        key=operator_key,
        body={"site_id": site["site_id"], "name": "Panel"},
    )

    # Then the response carries the secret and may not be cached
    device = created(response)
    secret = device["device_secret"]
    assert len(secret) >= 32
    assert response["multiValueHeaders"]["Cache-Control"] == ["no-store"]
    # and no attribute of any device item holds it, in any encoding
    values = stored_values(scan_table(aws.refs["DevicesTable"]))
    forms = [secret.encode(), base64.b64encode(secret.encode()), base64.urlsafe_b64decode(secret + "==")]
    assert not any(form in value for form in forms for value in values)


@pytest.mark.parametrize("kind", ["cameras", "devices"])
def test_a_site_of_another_contract_is_not_found(aws, world_factory, operator_key, kind):
    # Given two tenants
    tenant_a, tenant_b = world_factory(), world_factory()
    table = {"cameras": "CamerasTable", "devices": "DevicesTable"}[kind]
    consents = {"consents": CONSENTS} if kind == "cameras" else {}
    before = len(scan_table(aws.refs[table]))

    # When staff add a camera or device to A naming B's site, or a site that does not exist
    foreign = admin_call(
        "POST",
        f"/v1/admin/contracts/{tenant_a.contract_id}/{kind}",
        key=operator_key,
        body={"site_id": tenant_b.site_id, "name": "Sneaky", **consents},
    )
    missing = admin_call(
        "POST",
        f"/v1/admin/contracts/{tenant_a.contract_id}/{kind}",
        key=operator_key,
        body={"site_id": "sit_doesnotexist000000000", "name": "Nowhere", **consents},
    )

    # Then both are the same not_found, and nothing is created
    assert assert_error(foreign, 404, "not_found") == assert_error(missing, 404, "not_found")
    assert len(scan_table(aws.refs[table])) == before


# users


def login_response(login_id: str, password: str) -> dict[str, Any]:
    event = api_event("viewer/login.json", body=json.dumps({"login_id": login_id, "password": password}))
    return viewer.lambda_handler(event, LambdaContext())


def customer_get(token: str, path: str) -> dict[str, Any]:
    event = customer_event("viewer/list_cameras.json", token, path=path, resource=path, query={})
    return viewer.lambda_handler(event, LambdaContext())


def change_password(token: str, current: str, new: str) -> dict[str, Any]:
    event = customer_event(
        "viewer/change_password.json",
        token,
        path="/v1/auth/password",
        resource="/v1/auth/password",
        method="POST",
        body=json.dumps({"current_password": current, "new_password": new}),
    )
    return viewer.lambda_handler(event, LambdaContext())


def test_a_user_created_by_staff_gets_a_temporary_password_shown_once(aws, operator_key):
    # Given a contract with a site
    contract_id = new_contract(operator_key)["contract_id"]
    site = new_site(operator_key, contract_id)

    # When staff create a site-scoped manager, choosing no password
    response = new_user(
        operator_key, contract_id, login_id="Hanako.Manager", role="manager", site_ids=[site["site_id"]]
    )

    # Then the login id is stored normalised, the scope kept, and the answer carries a temporary password the server
    # made, never cached, flagged as pending change
    user = created(response)
    assert response["multiValueHeaders"]["Cache-Control"] == ["no-store"]
    assert user["login_id"] == "hanako.manager"
    assert user["role"] == "manager"
    assert user["site_ids"] == [site["site_id"]]
    assert user["contract_id"] == contract_id
    assert user["reset_pending"] is True
    temporary = user["temporary_password"]
    assert len(temporary) >= 20
    assert "hanako" not in temporary.lower()
    assert "password_hash" not in user
    # and it is shown this once: the listing has no password, and the table holds only its hash
    listed = body_of(admin_call("GET", f"/v1/admin/contracts/{contract_id}/users", key=operator_key))["items"]
    assert [item["login_id"] for item in listed] == ["hanako.manager"]
    assert "temporary_password" not in listed[0]
    assert temporary not in json.dumps(listed)
    assert temporary.encode() not in b"".join(stored_values(scan_table(aws.refs["UsersTable"])))


def test_two_users_created_by_staff_get_different_temporary_passwords(operator_key):
    # Given a contract
    contract_id = new_contract(operator_key)["contract_id"]

    # When staff create two users
    first, second = (created(new_user(operator_key, contract_id)) for _ in range(2))

    # Then each has its own temporary password
    assert first["temporary_password"] != second["temporary_password"]


def test_a_staff_created_user_logs_in_with_the_temporary_password_and_must_change_it(operator_key):
    # Given a user staff created, and the temporary password in the answer
    contract_id = new_contract(operator_key)["contract_id"]
    temporary = created(new_user(operator_key, contract_id, login_id="jiro.viewer"))["temporary_password"]

    # When the person logs in with it
    signed_in = login_response("jiro.viewer", temporary)

    # Then they are in, told to change it, and nothing but their account is served until they do
    assert signed_in["statusCode"] == 200, signed_in["body"]
    assert body_of(signed_in)["must_change_password"] is True
    token = body_of(signed_in)["token"]
    assert body_of(customer_get(token, "/v1/me"))["must_change_password"] is True
    error = assert_error(customer_get(token, "/v1/cameras"), 403, "forbidden")
    assert error["details"] == {"must_change_password": True}

    # When they set their own password
    changed = change_password(token, temporary, STRONG_PASSWORD)

    # Then the service serves them, the temporary password is refused from now on, and their own one logs in
    assert changed["statusCode"] == 200, changed["body"]
    new_token = body_of(changed)["token"]
    assert customer_get(new_token, "/v1/cameras")["statusCode"] == 200
    assert body_of(customer_get(new_token, "/v1/me"))["must_change_password"] is False
    assert_error(login_response("jiro.viewer", temporary), 401, "unauthorized")
    again = login_response("jiro.viewer", STRONG_PASSWORD)
    assert again["statusCode"] == 200, again["body"]
    assert body_of(again)["must_change_password"] is False
    listed = body_of(admin_call("GET", f"/v1/admin/contracts/{contract_id}/users", key=operator_key))["items"]
    assert listed[0]["reset_pending"] is False


@pytest.mark.parametrize("spelling", ["same", "upper"])
def test_a_login_id_is_unique_across_contracts(aws, world_factory, operator_key, spelling):
    # Given a user in tenant A
    tenant_a, tenant_b = world_factory(), world_factory()
    login_id = tenant_a.login_id if spelling == "same" else tenant_a.login_id.upper()

    # When staff create a user with the same login id in tenant B
    response = new_user(operator_key, tenant_b.contract_id, login_id=login_id)

    # Then it is 409 conflict, and A's user still logs in with A's password
    assert_error(response, 409, "conflict")
    login = viewer.lambda_handler(
        api_event("viewer/login.json", body=json.dumps({"login_id": tenant_a.login_id, "password": tenant_a.password})),
        LambdaContext(),
    )
    assert login["statusCode"] == 200


@pytest.mark.parametrize(
    "password",
    ["correct horse battery staple", "short", "", None, 12345],
    ids=["strong", "weak", "empty", "null", "number"],
)
def test_a_password_staff_still_send_is_refused_by_name(aws, operator_key, password):
    # Given a contract
    contract_id = new_contract(operator_key)["contract_id"]
    before = len(scan_table(aws.refs["UsersTable"]))

    # When staff send a password with the user, as they once could
    response = new_user(operator_key, contract_id, password=password)

    # Then it is 422 naming the field and saying why, no user is stored, and the value is not echoed
    error = assert_error(response, 422, "validation_error")
    assert error["details"] == {"field": "password"}
    assert "temporary" in error["message"]
    assert len(scan_table(aws.refs["UsersTable"])) == before
    if isinstance(password, str) and password:
        assert password not in response["body"]


def test_the_staff_document_does_not_offer_a_password_field(operator_key):
    # Given the staff API document
    document = body_of(admin_call("GET", "/v1/admin/openapi.json", key=operator_key))

    # When the user creation's request body is read
    operation = document["paths"]["/v1/admin/contracts/{contract_id}/users"]["post"]
    reference = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    schema = document["components"]["schemas"][reference.rsplit("/", 1)[1]]

    # Then it has no password, and the answer documents the temporary one
    assert "password" not in schema["properties"]
    answer = operation["responses"]["201"]["content"]["application/json"]["schema"]["$ref"]
    assert "temporary_password" in document["components"]["schemas"][answer.rsplit("/", 1)[1]]["properties"]


@pytest.mark.parametrize(
    ("fields", "status"),
    [
        ({"role": "boss"}, 422),
        ({"login_id": "has space"}, 422),
        ({"login_id": "ab"}, 422),
        ({"site_ids": ["sit_doesnotexist000000000"]}, 404),
        ({"site_ids": []}, 422),  # an empty scope must not silently mean every site
    ],
    ids=["unknown-role", "login-id-with-space", "login-id-too-short", "unknown-site", "empty-site-scope"],
)
def test_an_invalid_user_is_refused(aws, operator_key, fields, status):
    # Given a contract
    contract_id = new_contract(operator_key)["contract_id"]
    before = len(scan_table(aws.refs["UsersTable"]))

    # When staff create a user with a bad role, login id or site
    response = new_user(operator_key, contract_id, **fields)

    # Then it is refused and no user is stored
    assert_error(response, status, "validation_error" if status == 422 else "not_found")
    assert len(scan_table(aws.refs["UsersTable"])) == before


def test_a_user_cannot_be_scoped_to_another_contracts_site(aws, world_factory, operator_key):
    # Given two tenants
    tenant_a, tenant_b = world_factory(), world_factory()

    # When staff create a user of A scoped to B's site
    response = new_user(operator_key, tenant_a.contract_id, site_ids=[tenant_b.site_id])

    # Then it is not_found
    assert_error(response, 404, "not_found")


# the API document


def test_the_staff_openapi_document_needs_a_key(operator_key):
    # Given no key, and then an operator key
    # When the staff API document is fetched
    anonymous = admin_call("GET", "/v1/admin/openapi.json", key=None)
    authorised = admin_call("GET", "/v1/admin/openapi.json", key=operator_key)

    # Then without a key it is 401, with one it lists the staff routes
    assert_error(anonymous, 401, "unauthorized")
    assert authorised["statusCode"] == 200, authorised["body"]
    document = json.loads(authorised["body"])
    assert document["openapi"].startswith("3.")
    for path in (
        "/v1/admin/contracts",
        "/v1/admin/contracts/{contract_id}",
        "/v1/admin/contracts/{contract_id}/sites",
        "/v1/admin/contracts/{contract_id}/cameras",
        "/v1/admin/contracts/{contract_id}/devices",
        "/v1/admin/contracts/{contract_id}/users",
    ):
        assert path in document["paths"], path
    assert not any(path.startswith("/v1/cameras") for path in document["paths"])


def test_an_unknown_admin_route_is_a_not_found_error(operator_key):
    # Given a staff key
    # When a path the staff API does not have is called
    response = admin_call("GET", "/v1/admin/nothing-here", key=operator_key)

    # Then it is a SPEC §10 not_found error
    assert_error(response, 404, "not_found")
