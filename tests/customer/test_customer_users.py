"""Owners manage their contract's users (SPEC §2, Art. 7-11): invite by link, list, revoke, remove; the invitee
opens the link's page and chooses their own login id and password (doti.accounts.invitations, issue 10).

Roles, other tenants and contract states on these routes are in test_roles_matrix.py; login ids at every entrance in
test_login_ids.py; this file holds what the routes and the page do.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
import secrets
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest

from doti.accounts import invitations, users
from doti.clock import parse_rfc3339, utcnow
from doti.contracts import registry, terms
from doti.errors import Conflict, NotFound
from doti.oversight import audit
from doti.store import accounts
from doti.store import registry as registry_store
from doti.tokens import hash_token
from tests.support import World, api_event, assert_error, body_of, customer_event, scan_table
from tests.support.viewer import login, login_response, logins_of, owner_token, set_contract_state, viewer_call

PASSWORD = "lighthouse-staple-9"
FORM = "application/x-www-form-urlencoded"


def invite(token: str, **fields: Any) -> dict[str, Any]:
    body = {"name": "Hanako Sato", "role": "viewer", **fields}
    event = customer_event(
        "viewer/invite_user.json", token, path="/v1/users", resource="/v1/users", method="POST", body=json.dumps(body)
    )
    return viewer_call(event)


def invited(token: str, **fields: Any) -> dict[str, Any]:
    response = invite(token, **fields)
    assert response["statusCode"] == 201, response["body"]
    return body_of(response)


def link_token(invitation: dict[str, Any]) -> str:
    return invitation["url"].rsplit("/i/", 1)[1]


def page(link: str) -> dict[str, Any]:
    event = api_event(
        "viewer/share_page.json", path=f"/i/{link}", resource="/i/{token}", path_parameters={"token": link}
    )
    return viewer_call(event)


def post_form(link: str, body: str | bytes, content_type: str = FORM) -> dict[str, Any]:
    event = api_event(
        "viewer/share_page.json",
        method="POST",
        path=f"/i/{link}",
        resource="/i/{token}",
        headers={"Content-Type": content_type},
        body=body,
        path_parameters={"token": link},
    )
    return viewer_call(event)


def claim(link: str, login_id: str, password: str = PASSWORD, again: str | None = None) -> dict[str, Any]:
    form = {"login_id": login_id, "password": password, "password_again": password if again is None else again}
    return post_form(link, urlencode(form))


def list_users(token: str) -> dict[str, Any]:
    event = customer_event("viewer/list_cameras.json", token, path="/v1/users", resource="/v1/users", query={})
    return viewer_call(event)


def listing(token: str) -> dict[str, Any]:
    response = list_users(token)
    assert response["statusCode"] == 200, response["body"]
    return body_of(response)


def pending_ids(token: str) -> set[str]:
    return {i["invitation_id"] for i in listing(token)["invitations"]}


def revoke(token: str, invitation_id: str) -> dict[str, Any]:
    event = customer_event(
        "viewer/remove_user.json",
        token,
        path=f"/v1/invitations/{invitation_id}",
        resource="/v1/invitations/{invitation_id}",
        method="DELETE",
        path_parameters={"invitation_id": invitation_id},
    )
    return viewer_call(event)


def remove(token: str, login_id: str) -> dict[str, Any]:
    event = customer_event(
        "viewer/remove_user.json",
        token,
        path=f"/v1/users/{login_id}",
        resource="/v1/users/{login_id}",
        method="DELETE",
        path_parameters={"login_id": login_id},
    )
    return viewer_call(event)


def get(token: str, path: str) -> dict[str, Any]:
    event = customer_event("viewer/list_cameras.json", token, path=path, resource=path, query={})
    return viewer_call(event)


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


def entries(world: World, action: str) -> list[audit.AuditEntry]:
    found, _ = audit.entries(world.contract_id, limit=100)
    return [e for e in found if e.action == action]


@pytest.fixture
def owner(world: World) -> str:
    """The contract owner's session token."""
    return owner_token(world)


def test_an_owner_invites_by_link_and_the_invitee_chooses_their_login_id_and_password(aws, world, owner):
    # Given the contract's owner
    before = utcnow()

    # When they invite a manager scoped to the contract's site
    response = invite(owner, name="Hanako Sato", role="manager", site_ids=[world.site_id])

    # Then the answer is the invitation and its one-time link, valid for seven days, and no user exists yet
    assert response["statusCode"] == 201, response["body"]
    assert response["multiValueHeaders"]["Cache-Control"] == ["no-store"]
    created = body_of(response)
    assert set(created) == {"invitation_id", "url", "expires_at", "role", "name", "site_ids"}
    assert (created["role"], created["name"], created["site_ids"]) == ("manager", "Hanako Sato", [world.site_id])
    expires_at = parse_rfc3339(created["expires_at"], "expires_at")
    assert before + invitations.LIFETIME - timedelta(seconds=1) <= expires_at <= utcnow() + invitations.LIFETIME
    link = link_token(created)
    assert urlsplit(created["url"]).path.endswith(f"/i/{link}")
    assert len(link) >= 43  # 256 random bits
    assert logins_of(world) == {world.login_id}
    # and the token is stored only as its hash
    stored = json.dumps(scan_table(aws.refs["SessionsTable"]))
    assert link not in stored
    assert hash_token(link) in stored

    # When the invitee opens the link
    opened = page(link)

    # Then they see who invited them to what, and the form
    assert opened["statusCode"] == 200, opened["body"]
    assert opened["multiValueHeaders"]["Content-Type"] == ["text/html; charset=utf-8"]
    assert "Hanako Sato" in opened["body"]
    assert "Test Shop" in opened["body"]
    assert '<form method="post">' in opened["body"]

    # When they choose a login id and a password
    accepted = claim(link, "Hanako.Sato")

    # Then they are a manager of the contract's site, under the id as doti.accounts.login_ids spells it, told on the
    # page
    assert accepted["statusCode"] == 201, accepted["body"]
    assert "hanako.sato" in accepted["body"]
    user = registry_store.get_user("hanako.sato")
    assert (user.contract_id, user.role, user.site_ids, user.name) == (
        world.contract_id,
        "manager",
        frozenset({world.site_id}),
        "Hanako Sato",
    )
    # and the password is their own: it opens everything at once, with no forced change
    assert user.must_change_password is False
    token = login("hanako.sato", PASSWORD)
    assert get(token, "/v1/cameras")["statusCode"] == 200
    # and the link is used up, and no longer pending
    assert page(link)["statusCode"] == 404
    assert claim(link, "someone-else")["statusCode"] == 404
    assert listing(owner)["invitations"] == []
    # and both acts are audited, each by its actor, with no password or token
    owner_user = registry_store.get_user(world.login_id)
    (invited_entry,) = entries(world, "user.invited")
    assert invited_entry.actor == f"user:{owner_user.user_id}"
    assert invited_entry.subject == created["invitation_id"]
    assert invited_entry.details["role"] == "manager"
    (accepted_entry,) = entries(world, "invitation.accepted")
    assert accepted_entry.actor == f"user:{user.user_id}"
    assert accepted_entry.subject == created["invitation_id"]
    assert accepted_entry.details["user_id"] == user.user_id
    assert accepted_entry.details["login_id"] == "hanako.sato"
    logged = json.dumps([e.details for e in entries(world, "user.invited") + entries(world, "invitation.accepted")])
    assert PASSWORD not in logged
    assert link not in logged


def test_the_user_list_shows_users_and_pending_invitations_without_secrets(world_factory):
    # Given two tenants, the first with a viewer besides its owner and an invitation pending, the second with one too
    tenant, other = world_factory(), world_factory()
    viewer_id, _ = add_user(tenant, "viewer")
    mine = invited(login(tenant.login_id, tenant.password), name="Jiro")
    theirs = invited(login(other.login_id, other.password), name="Saburo")

    # When the first tenant's owner lists the users
    body = listing(login(tenant.login_id, tenant.password))

    # Then exactly that contract's users and invitations are listed, with no hash, lockout internals or token
    assert {u["login_id"]: u["role"] for u in body["items"]} == {tenant.login_id: "owner", viewer_id: "viewer"}
    assert other.login_id not in json.dumps(body)
    assert all(
        set(u) == {"login_id", "user_id", "name", "role", "site_ids", "must_change_password", "created_at"}
        for u in body["items"]
    )
    (pending,) = body["invitations"]
    assert pending["invitation_id"] == mine["invitation_id"] != theirs["invitation_id"]
    assert set(pending) == {"invitation_id", "name", "role", "site_ids", "created_by", "created_at", "expires_at"}
    assert link_token(mine) not in json.dumps(body)


@pytest.mark.parametrize(
    "field",
    [
        pytest.param({"login_id": "hanako@example.com"}, id="login-id"),
        pytest.param({"login_id": "   "}, id="blank-login-id"),
        pytest.param({"password": "a-strong-password-42"}, id="password"),
    ],
)
def test_an_owner_names_no_login_id_nor_password(world, owner, field):
    # Given the owner, and the users and invitations as they are
    before = logins_of(world)

    # When an invitation names a login id or a password, as owners once did
    response = invite(owner, **field)

    # Then it is refused: no owner learns which ids exist anywhere, and nothing was made
    assert_error(response, 422, "validation_error")
    assert logins_of(world) == before
    assert listing(owner)["invitations"] == []
    assert entries(world, "user.invited") == []


@pytest.mark.parametrize("spelling", [str, str.upper, lambda s: f"  {s}  "], ids=["same", "upper-case", "spaced"])
def test_a_login_id_taken_in_any_contract_is_told_only_to_the_invitee(world_factory, spelling):
    # Given an invitation of one contract, and a login id used in another (one id per person, Art. 7-11)
    tenant, other = world_factory(), world_factory()
    owner = login(tenant.login_id, tenant.password)
    link = link_token(invited(owner))
    before = logins_of(tenant)

    # When the invitee claims that id on the invitation's page
    response = claim(link, spelling(other.login_id))

    # Then the form says, to them alone, that the id is not available, keeping what they typed; nothing was stored
    assert response["statusCode"] == 409, response["body"]
    assert response["multiValueHeaders"]["Content-Type"] == ["text/html; charset=utf-8"]
    assert "This login ID is not available" in response["body"]
    assert f'value="{html.escape(spelling(other.login_id))}"' in response["body"]
    assert PASSWORD not in response["body"]
    assert logins_of(tenant) == before
    assert registry_store.get_user(other.login_id).contract_id == other.contract_id
    # and the invitation still works for another id
    assert claim(link, f"hanako-{secrets.token_hex(3)}")["statusCode"] == 201


def test_too_many_taken_ids_spend_the_invitation(world_factory):
    # Given an invitation, and ids taken in another contract
    tenant, other = world_factory(), world_factory()
    owner = login(tenant.login_id, tenant.password)
    created = invited(owner)
    link = link_token(created)

    # When the invitee asks for taken ids as often as an invitation answers it
    for _ in range(invitations.MAX_TAKEN_ANSWERS):
        assert claim(link, other.login_id)["statusCode"] == 409

    # Then one more spends the invitation: refused, gone from the pending list, and its owners see why
    spent = claim(link, other.login_id)
    assert spent["statusCode"] == 404, spent["body"]
    assert "too many unavailable login IDs" in spent["body"]
    assert page(link)["statusCode"] == 404
    assert claim(link, f"hanako-{secrets.token_hex(3)}")["statusCode"] == 404
    assert listing(owner)["invitations"] == []
    (entry,) = entries(tenant, "invitation.spent")
    assert entry.subject == created["invitation_id"]
    assert logins_of(tenant) == {tenant.login_id}


@pytest.mark.parametrize(
    ("password", "again", "field", "says"),
    [
        pytest.param("short-pw", None, "password", "at least 10 characters", id="too-short"),
        pytest.param("my-{login_id}-pw", None, "password", "must not contain the login ID", id="contains-id"),
        pytest.param("my-{LOGIN_ID}-pw", None, "password", "must not contain the login ID", id="contains-id-upper"),
        pytest.param(PASSWORD, PASSWORD + "x", "password_again", "The two passwords differ", id="differ"),
    ],
)
def test_a_password_the_policy_refuses_shows_the_form_again(world, owner, password, again, field, says):
    # Given an invitation, and the id the invitee wants
    link = link_token(invited(owner))
    login_id = f"hanako-{secrets.token_hex(3)}"
    password = password.format(login_id=login_id, LOGIN_ID=login_id.upper())

    # When they post a password the policy refuses, or two that differ
    response = claim(link, login_id, password, again)

    # Then the form says why, by that field, and nobody was made
    assert response["statusCode"] == 422, response["body"]
    assert f'id="{field}-problem"' in response["body"]
    assert says in response["body"]
    assert password not in response["body"]
    assert login_id not in logins_of(world)
    # and the invitation still works
    assert claim(link, login_id)["statusCode"] == 201


@pytest.mark.parametrize(
    ("fields", "status", "code"),
    [
        pytest.param({"role": "admin"}, 422, "validation_error", id="unknown-role"),
        pytest.param({"site_ids": []}, 422, "validation_error", id="empty-scope"),
        pytest.param({"site_ids": ["sit_unknown"]}, 404, "not_found", id="unknown-site"),
        pytest.param({"name": ""}, 422, "validation_error", id="empty-name"),
        pytest.param({"name": "   "}, 422, "validation_error", id="blank-name"),
        pytest.param({"name": "Hanako\nSato"}, 422, "validation_error", id="two-line-name"),
    ],
)
def test_an_invalid_invitation_is_refused_and_stores_nothing(world, owner, fields, status, code):
    # Given the owner and the users as they are
    before = logins_of(world)

    # When an invitation breaks a rule
    response = invite(owner, **fields)

    # Then it is refused with the right code, and nothing was made or audited
    assert_error(response, status, code)
    assert logins_of(world) == before
    assert listing(owner)["invitations"] == []
    assert entries(world, "user.invited") == []


def test_a_site_of_another_contract_is_not_found(world_factory):
    # Given two tenants
    tenant, other = world_factory(), world_factory()
    owner = login(tenant.login_id, tenant.password)

    # When the first owner invites a user scoped to the other contract's site
    response = invite(owner, site_ids=[other.site_id])

    # Then it is 404, as if the site did not exist, and nothing was stored
    assert_error(response, 404, "not_found")
    assert listing(owner)["invitations"] == []


def test_a_site_scoped_owner_invites_only_within_their_sites(world):
    # Given an owner scoped to the contract's first site, and a second site
    annex = registry.create_site(world.contract_id, "Annex", None, utcnow())
    scoped_id, password = add_user(world, "owner", site_ids=[world.site_id])
    token = login(scoped_id, password)

    # When they invite without a scope, with the other site, and with their own site
    unscoped = invite(token)
    elsewhere = invite(token, site_ids=[annex.site_id])
    own = invite(token, site_ids=[world.site_id])

    # Then only the invitation within their sites is made, and its invitee gets that scope
    assert_error(unscoped, 403, "forbidden")
    assert_error(elsewhere, 404, "not_found")
    assert own["statusCode"] == 201, own["body"]
    assert pending_ids(token) == {body_of(own)["invitation_id"]}
    login_id = f"scoped-{secrets.token_hex(3)}"
    assert claim(link_token(body_of(own)), login_id)["statusCode"] == 201
    assert registry_store.get_user(login_id).site_ids == frozenset({world.site_id})


def test_a_site_scoped_owner_sees_and_revokes_only_invitations_within_their_sites(world, owner):
    # Given an owner scoped to the first site, and invitations to it, to a second site and to every site
    annex = registry.create_site(world.contract_id, "Annex", None, utcnow())
    scoped_id, password = add_user(world, "owner", site_ids=[world.site_id])
    token = login(scoped_id, password)
    inside = invited(owner, site_ids=[world.site_id])["invitation_id"]
    elsewhere = invited(owner, site_ids=[annex.site_id])["invitation_id"]
    wider = invited(owner)["invitation_id"]

    # When the scoped owner lists them
    # Then only the one within their sites is listed; the contract-wide owner sees all three
    assert pending_ids(token) == {inside}
    assert pending_ids(owner) == {inside, elsewhere, wider}

    # When the scoped owner revokes the others
    # Then each is 404 as if it did not exist, and they stay pending
    for invitation_id in (elsewhere, wider):
        assert_error(revoke(token, invitation_id), 404, "not_found")
    assert pending_ids(owner) == {inside, elsewhere, wider}

    # When they revoke the one within their sites
    # Then that works
    assert revoke(token, inside)["statusCode"] == 204
    assert pending_ids(owner) == {elsewhere, wider}


def test_an_owner_revokes_an_invitation_and_its_link_stops_working(world, owner):
    # Given an invitation
    created = invited(owner)
    link = link_token(created)

    # When the owner revokes it
    response = revoke(owner, created["invitation_id"])

    # Then it is gone: not pending, its page refused, its form too; revoking it again is 404; the revocation is audited
    assert response["statusCode"] == 204, response["body"]
    assert listing(owner)["invitations"] == []
    assert page(link)["statusCode"] == 404
    assert claim(link, f"hanako-{secrets.token_hex(3)}")["statusCode"] == 404
    assert logins_of(world) == {world.login_id}
    assert_error(revoke(owner, created["invitation_id"]), 404, "not_found")
    (entry,) = entries(world, "invitation.revoked")
    assert entry.subject == created["invitation_id"]
    assert entry.actor == f"user:{registry_store.get_user(world.login_id).user_id}"


@pytest.mark.parametrize("target", ["other-tenant", "nobody"])
def test_an_invitation_of_another_contract_or_none_is_not_found(world_factory, target):
    # Given two tenants, the second with a pending invitation
    tenant, other = world_factory(), world_factory()
    other_owner = login(other.login_id, other.password)
    theirs = invited(other_owner)["invitation_id"]
    invitation_id = theirs if target == "other-tenant" else f"inv_{secrets.token_hex(10)}"

    # When the first owner revokes it, or an id nobody has
    response = revoke(login(tenant.login_id, tenant.password), invitation_id)

    # Then both are 404 alike, and the other contract's invitation stays pending
    assert_error(response, 404, "not_found")
    assert pending_ids(other_owner) == {theirs}


def test_an_expired_invitation_is_refused_and_no_longer_pending(world, owner):
    # Given an invitation made longer ago than an invitation lives
    owner_user = registry_store.get_user(world.login_id)
    made = invitations.invite(
        owner_user, name="Late", role="viewer", site_ids=None, now=utcnow() - invitations.LIFETIME - timedelta(1)
    )

    # When its link is opened and its form posted
    opened = page(made.token)
    posted = claim(made.token, f"late-{secrets.token_hex(3)}")

    # Then both are refused as expired, nobody was made, and owners no longer see it pending
    assert opened["statusCode"] == posted["statusCode"] == 404
    assert "expired" in opened["body"]
    assert logins_of(world) == {world.login_id}
    assert listing(owner)["invitations"] == []


@pytest.mark.parametrize(
    ("state", "status"),
    [(terms.SUSPENDED, 403), (terms.TERMINATED, 403), (terms.PURGED, 403), (terms.CANCELLING, 201)],
)
def test_the_invitation_page_serves_only_while_the_contract_does(world, owner, state, status):
    # Given an invitation, and then the contract in a state
    link = link_token(invited(owner))
    set_contract_state(world.contract_id, state)

    # When the invitee opens the link and posts the form
    login_id = f"hanako-{secrets.token_hex(3)}"
    opened, posted = page(link), claim(link, login_id)

    # Then the page and the form answer as the contract serves (SPEC §3), and only a serving contract gains the user
    assert opened["statusCode"] == (200 if status == 201 else status)
    assert posted["statusCode"] == status, posted["body"]
    assert (login_id in logins_of(world)) is (status == 201)


def test_the_invitation_page_is_strict_bilingual_and_for_phones(owner):
    # Given an invitation for a name with markup in it
    link = link_token(invited(owner, name='<img src=x onerror="alert(1)">Hanako'))

    # When its page is opened
    response = page(link)
    body = response["body"]
    headers = {name: values[0] for name, values in response["multiValueHeaders"].items()}

    # Then nothing but its own stylesheet may load, forms post only here, and it is never framed, cached or indexed
    (style,) = re.findall(r"<style>(.*?)</style>", body, re.S)
    digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
    assert headers["Content-Security-Policy"] == (
        f"default-src 'none'; style-src 'sha256-{digest}'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
    assert headers["Cache-Control"] == "no-store"
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["X-Frame-Options"] == "DENY"
    assert "<script" not in body
    # and the name is text
    assert "<img" not in body
    assert "&lt;img src=x" in body
    # and it is a phone page in Japanese with English beside it, each field labelled and described
    assert '<html lang="ja">' in body
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in body
    assert '<span lang="en">' in body
    for field, autocomplete in (
        ("login_id", "username"),
        ("password", "new-password"),
        ("password_again", "new-password"),
    ):
        assert f'<label for="{field}">' in body
        assert re.search(rf'<input id="{field}" name="{field}"[^>]*autocomplete="{autocomplete}"[^>]*required', body)
    assert 'aria-describedby="login_id-hint"' in body


@pytest.mark.parametrize(
    ("content_type", "body", "status", "code"),
    [
        pytest.param("application/json", '{"login_id": "hanako"}', 415, "unsupported_media_type", id="json"),
        pytest.param(FORM, "a=1&" * 20, 422, "validation_error", id="too-many-fields"),
        pytest.param(FORM, b"login_id=\xff\xfe", 422, "validation_error", id="not-utf-8"),
        pytest.param(FORM, "login_id=" + "a" * 9000, 413, "payload_too_large", id="too-large"),
    ],
)
def test_a_post_no_browser_sends_is_refused_in_the_error_format(world, owner, content_type, body, status, code):
    # Given an invitation
    link = link_token(invited(owner))

    # When something other than its form is posted to it
    response = post_form(link, body, content_type)

    # Then it is refused in the SPEC §10 format, and nobody was made
    assert_error(response, status, code)
    assert logins_of(world) == {world.login_id}


def test_one_link_makes_one_user(world, owner):
    # Given an invitation accepted once
    link = link_token(invited(owner))
    first = f"first-{secrets.token_hex(3)}"
    assert claim(link, first)["statusCode"] == 201

    # When the same link is posted again, with another id
    again = claim(link, f"second-{secrets.token_hex(3)}")

    # Then it is refused, and the contract gained one user
    assert again["statusCode"] == 404
    assert logins_of(world) == {world.login_id, first}


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
    token = login(scoped_id, password)

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
    tokens = [login(viewer_id, password) for _ in range(2)]

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
    # and the login id can be claimed again, through a new invitation, while the old sessions stay dead
    assert claim(link_token(invited(owner)), viewer_id)["statusCode"] == 201
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
    response = remove(login(tenant.login_id, tenant.password), login_id)

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
