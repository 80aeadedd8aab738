"""Owners manage their contract's users (SPEC §2, Art. 7-11): invite with a temporary password, list, remove.

Roles, other tenants and contract states on these routes are in test_roles_matrix.py; this file holds what the
routes do.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

import pytest

from doti import audit, registry, users
from doti.clock import utcnow
from doti.errors import Conflict, NotFound
from doti.store import accounts
from doti.store import registry as registry_store
from functions.viewer import app as viewer
from tests.support import LambdaContext, World, api_event, assert_error, body_of, customer_event, scan_table


def login_response(login_id: str, password: str) -> dict[str, Any]:
    body = json.dumps({"login_id": login_id, "password": password})
    return viewer.lambda_handler(api_event("viewer/login.json", body=body), LambdaContext())


def token_of(login_id: str, password: str) -> str:
    response = login_response(login_id, password)
    assert response["statusCode"] == 200, response["body"]
    return body_of(response)["token"]


def invite(token: str, **fields: Any) -> dict[str, Any]:
    body = {"login_id": f"new-{secrets.token_hex(4)}", "name": "Hanako Sato", "role": "viewer", **fields}
    event = customer_event(
        "viewer/invite_user.json", token, path="/v1/users", resource="/v1/users", method="POST", body=json.dumps(body)
    )
    return viewer.lambda_handler(event, LambdaContext())


def list_users(token: str) -> dict[str, Any]:
    event = customer_event("viewer/list_cameras.json", token, path="/v1/users", resource="/v1/users", query={})
    return viewer.lambda_handler(event, LambdaContext())


def remove(token: str, login_id: str) -> dict[str, Any]:
    event = customer_event(
        "viewer/remove_user.json",
        token,
        path=f"/v1/users/{login_id}",
        resource="/v1/users/{login_id}",
        method="DELETE",
        path_parameters={"login_id": login_id},
    )
    return viewer.lambda_handler(event, LambdaContext())


def get(token: str, path: str) -> dict[str, Any]:
    event = customer_event("viewer/list_cameras.json", token, path=path, resource=path, query={})
    return viewer.lambda_handler(event, LambdaContext())


def add_user(
    world: World, role: str, site_ids: list[str] | None = None, login_id: str | None = None
) -> tuple[str, str]:
    login_id, password = login_id or f"{role}-{secrets.token_hex(4)}", "pw-" + secrets.token_urlsafe(12)
    registry.create_user(
        world.contract_id,
        login_id=login_id,
        name=role.title(),
        role=role,
        password=password,
        site_ids=site_ids,
        now=utcnow(),
    )
    return login_id, password


def logins_of(world: World) -> set[str]:
    return {u.login_id for u in registry.users_of(world.contract_id)}


def entries(world: World, action: str) -> list[audit.AuditEntry]:
    found, _ = audit.entries(world.contract_id, limit=100)
    return [e for e in found if e.action == action]


@pytest.fixture
def owner(world: World) -> str:
    return token_of(world.login_id, world.password)


def test_an_owner_invites_a_user_who_must_change_the_temporary_password(aws, world, owner):
    # Given the contract's owner
    # When they invite a manager scoped to the contract's site
    response = invite(owner, login_id="Hanako.Sato", role="manager", site_ids=[world.site_id])

    # Then the user exists with that role and scope, and the temporary password is shown once, here
    assert response["statusCode"] == 201, response["body"]
    assert response["multiValueHeaders"]["Cache-Control"] == ["no-store"]
    created = body_of(response)
    temporary = created.pop("temporary_password")
    assert created["login_id"] == "hanako.sato"
    assert (created["role"], created["site_ids"], created["must_change_password"]) == ("manager", [world.site_id], True)
    # and it opens only the account until the invitee sets their own password
    token = token_of("hanako.sato", temporary)
    assert_error(get(token, "/v1/cameras"), 403, "forbidden")
    assert body_of(get(token, "/v1/me"))["must_change_password"] is True
    # and the invitation is audited as the owner's act, without the password
    (entry,) = entries(world, "user.created")[-1:]
    owner_user = registry_store.get_user(world.login_id)
    assert entry.actor == f"user:{owner_user.user_id}"
    assert entry.details == {"login_id": "hanako.sato", "role": "manager", "site_ids": [world.site_id]}
    assert temporary not in json.dumps([e.details for e in entries(world, "user.created")])
    assert temporary not in json.dumps(scan_table(aws.refs["UsersTable"]))


def test_the_user_list_shows_the_contracts_users_without_secrets(world_factory):
    # Given two tenants, the first with a viewer besides its owner
    tenant, other = world_factory(), world_factory()
    viewer_id, _ = add_user(tenant, "viewer")

    # When the first tenant's owner lists the users
    response = list_users(token_of(tenant.login_id, tenant.password))

    # Then exactly that contract's users are listed, with no hash or lockout internals
    assert response["statusCode"] == 200, response["body"]
    items = body_of(response)["items"]
    assert {u["login_id"]: u["role"] for u in items} == {tenant.login_id: "owner", viewer_id: "viewer"}
    assert other.login_id not in response["body"]
    assert all(
        set(u) == {"login_id", "user_id", "name", "role", "site_ids", "must_change_password", "created_at"}
        for u in items
    )


@pytest.mark.parametrize("spelling", [str, str.upper], ids=["same", "upper-case"])
def test_a_login_id_taken_in_any_contract_is_a_conflict(world_factory, spelling):
    # Given a login id used in another contract (one id per person, Art. 7-11)
    tenant, other = world_factory(), world_factory()
    before = logins_of(tenant)

    # When the first contract's owner invites that id
    response = invite(token_of(tenant.login_id, tenant.password), login_id=spelling(other.login_id))

    # Then it is 409 and nothing was stored
    assert_error(response, 409, "conflict")
    assert logins_of(tenant) == before
    assert registry_store.get_user(other.login_id).contract_id == other.contract_id


@pytest.mark.parametrize(
    ("fields", "status", "code"),
    [
        pytest.param({"role": "admin"}, 422, "validation_error", id="unknown-role"),
        pytest.param({"site_ids": []}, 422, "validation_error", id="empty-scope"),
        pytest.param({"site_ids": ["sit_unknown"]}, 404, "not_found", id="unknown-site"),
        pytest.param({"login_id": ""}, 422, "validation_error", id="empty-login-id"),
        pytest.param({"name": ""}, 422, "validation_error", id="empty-name"),
    ],
)
def test_an_invalid_invitation_is_refused_and_stores_nothing(world, owner, fields, status, code):
    # Given the owner and the users as they are
    before = logins_of(world)

    # When an invitation breaks a rule
    response = invite(owner, **fields)

    # Then it is refused with the right code, and no user was created
    assert_error(response, status, code)
    assert logins_of(world) == before


def test_a_site_of_another_contract_is_not_found(world_factory):
    # Given two tenants
    tenant, other = world_factory(), world_factory()
    before = logins_of(tenant)

    # When the first owner invites a user scoped to the other contract's site
    response = invite(token_of(tenant.login_id, tenant.password), site_ids=[other.site_id])

    # Then it is 404, as if the site did not exist, and nothing was stored
    assert_error(response, 404, "not_found")
    assert logins_of(tenant) == before


def test_a_site_scoped_owner_invites_only_within_their_sites(world):
    # Given an owner scoped to the contract's first site, and a second site
    annex = registry.create_site(world.contract_id, "Annex", None, utcnow())
    scoped_id, password = add_user(world, "owner", site_ids=[world.site_id])
    token = token_of(scoped_id, password)
    before = logins_of(world)

    # When they invite without a scope, with the other site, and with their own site
    unscoped = invite(token)
    elsewhere = invite(token, site_ids=[annex.site_id])
    own = invite(token, site_ids=[world.site_id])

    # Then only the invitation within their sites is made
    assert_error(unscoped, 403, "forbidden")
    assert_error(elsewhere, 404, "not_found")
    assert own["statusCode"] == 201, own["body"]
    assert logins_of(world) == before | {body_of(own)["login_id"]}


def listed(token: str) -> set[str]:
    response = list_users(token)
    assert response["statusCode"] == 200, response["body"]
    return {u["login_id"] for u in body_of(response)["items"]}


def test_a_site_scoped_owner_sees_and_removes_only_users_within_their_sites(world, owner):
    # Given an owner scoped to the first site, and users scoped to it, to a second site and to both, besides the
    # contract-wide owner
    annex = registry.create_site(world.contract_id, "Annex", None, utcnow())
    scoped_id, password = add_user(world, "owner", site_ids=[world.site_id])
    inside, _ = add_user(world, "viewer", site_ids=[world.site_id])
    elsewhere, _ = add_user(world, "viewer", site_ids=[annex.site_id])
    wider, _ = add_user(world, "manager", site_ids=[world.site_id, annex.site_id])
    token = token_of(scoped_id, password)

    # When the scoped owner lists the users
    # Then only those within their sites are listed, themselves included; the contract-wide owner still sees everyone
    assert listed(token) == {scoped_id, inside}
    assert listed(owner) == {world.login_id, scoped_id, inside, elsewhere, wider}

    # When the scoped owner removes each user beyond their sites, the contract-wide owner among them
    refused = [remove(token, login_id) for login_id in (elsewhere, wider, world.login_id)]

    # Then each is 404 as if it did not exist, and nobody was removed or lost a session
    for response in refused:
        assert_error(response, 404, "not_found")
    assert logins_of(world) == {world.login_id, scoped_id, inside, elsewhere, wider}
    assert entries(world, "user.removed") == []
    assert get(owner, "/v1/me")["statusCode"] == 200

    # When they remove the user within their sites
    # Then that works
    assert remove(token, inside)["statusCode"] == 204
    assert inside not in logins_of(world)


def test_a_login_id_given_to_someone_new_meanwhile_is_not_removed(world):
    # Given a viewer as an owner's request read them, whose login id was then removed and given to someone new
    viewer_id, _ = add_user(world, "viewer")
    seen = registry_store.get_user(viewer_id)
    owner_user = registry_store.get_user(world.login_id)
    users.remove_user(owner_user, viewer_id, utcnow())
    add_user(world, "viewer", login_id=viewer_id)

    # When the removal the owner asked for, about the user they were shown, reaches the store
    with pytest.raises(NotFound):
        accounts.delete_user_by_owner(viewer_id, seen.user_id, world.contract_id, world.login_id)

    # Then the new holder of the login id remains
    assert registry_store.get_user(viewer_id).user_id != seen.user_id


def test_removing_a_user_ends_their_sessions_and_frees_the_login_id(world, owner):
    # Given a viewer logged in twice
    viewer_id, password = add_user(world, "viewer")
    tokens = [token_of(viewer_id, password) for _ in range(2)]

    # When the owner removes them
    response = remove(owner, viewer_id.upper())

    # Then they are gone: no session works, no login, not listed; the removal is audited
    assert response["statusCode"] == 204, response["body"]
    for token in tokens:
        assert_error(get(token, "/v1/me"), 401, "unauthorized")
    assert_error(login_response(viewer_id, password), 401, "unauthorized")
    assert viewer_id not in logins_of(world)
    (entry,) = entries(world, "user.removed")
    assert entry.details == {"login_id": viewer_id, "role": "viewer", "sessions_revoked": 2}
    # and the login id can be given to the same person again, whose old sessions stay dead
    assert invite(owner, login_id=viewer_id)["statusCode"] == 201
    assert_error(get(tokens[0], "/v1/me"), 401, "unauthorized")


def test_an_owner_cannot_remove_themselves(world, owner):
    # Given the contract's only owner
    # When they try to remove their own login id
    response = remove(owner, world.login_id)

    # Then it is 409 and they remain
    assert_error(response, 409, "conflict")
    assert world.login_id in logins_of(world)
    assert get(owner, "/v1/me")["statusCode"] == 200


@pytest.mark.parametrize("target", ["other-tenant", "nobody"])
def test_a_user_of_another_contract_or_none_is_not_found(world_factory, target):
    # Given two tenants
    tenant, other = world_factory(), world_factory()
    login_id = other.login_id if target == "other-tenant" else f"nobody-{secrets.token_hex(4)}"

    # When the first owner removes the other contract's owner, or an id nobody has
    response = remove(token_of(tenant.login_id, tenant.password), login_id)

    # Then both are 404 alike, and the other contract's owner is untouched
    assert_error(response, 404, "not_found")
    assert login_response(other.login_id, other.password)["statusCode"] == 200


def test_two_owners_removing_each_other_leave_one_owner(world):
    # Given two owners, each holding their user record as read when their request began
    second_id, _ = add_user(world, "owner")
    first = registry_store.get_user(world.login_id)
    second = registry_store.get_user(second_id)

    # When the first removes the second, and the second's request (already past its checks) removes the first
    users.remove_user(first, second_id, utcnow())
    with pytest.raises(Conflict):
        users.remove_user(second, world.login_id, utcnow())

    # Then the first owner remains: a contract never loses its last owner
    assert {u.login_id: u.role for u in registry.users_of(world.contract_id)} == {world.login_id: "owner"}
