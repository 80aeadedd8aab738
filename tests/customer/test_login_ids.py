"""Login ids have one definition (doti.accounts.login_ids; SPEC §2, Art. 7-11; issue 10), used at every entrance: staff
user creation and the staff user routes, the owner's removal route, the invitation page's form, and login.

Each class of id that issue 10 found accepted is tried at each entrance: refused (422, field login_id) everywhere but
at login, where it is an id nobody has. Ids that are one id after normalisation (full-width, upper case) are one id at
every entrance. The blank id that once spun a function forever is answered within a deadline.
"""

from __future__ import annotations

import json
import secrets
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any
from urllib.parse import quote, urlencode

import pytest

from doti.accounts import login_ids
from doti.auth import customer
from doti.errors import ValidationError
from doti.oversight import audit
from doti.store import registry as registry_store
from tests.support import World, admin_call, api_event, assert_error, body_of, customer_event
from tests.support.viewer import login_response, logins_of, owner_token, viewer_call

# Each kind of id issue 10 saw accepted, and the edges of the length rule (`tag` makes each unique per test).
BAD_IDS = {
    "cyrillic-o": "b\u043eb-{tag}",
    "zero-width": "bob\u200b{tag}",
    "bidi": "bob\u202e{tag}",
    "newline": "bob\n{tag}",
    "nul": "bob\x00{tag}",
    "inner-space": "bob {tag}",
    "slash": "bob/{tag}",
    "percent": "bob%40{tag}",
    "blank": "   ",
    "too-short": "ab",
    "too-long": "a" * (login_ids.MAX_CHARS + 1),
}
# Those a path can carry unencoded: Powertools routes a path parameter of word characters, space, % and RFC 3986's
# safe characters only. A client percent-encodes the rest (`in_path`), which every route decodes once.
UNROUTABLE = ["bidi", "newline", "nul", "slash", "zero-width"]
STAFF_USER_OPERATIONS = ["lock", "unlock", "reset", "compromised"]
PASSWORD = "a-strong-password-42"


def bad_id(kind: str) -> str:
    return BAD_IDS[kind].format(tag=secrets.token_hex(3))


def in_path(login_id: str) -> str:
    """The id as a client puts it in a path segment: percent-encoded, as a REST API then hands it to the Lambda."""
    return quote(login_id, safe="")


def full_width(text: str, *, symbols: bool = True) -> str:
    """The full-width, upper-case spelling of an ASCII id (U+FF01..U+FF5E mirror U+0021..U+007E); without `symbols`,
    only its letters and digits (full-width symbols are not word characters, which a route's path parameter needs)."""
    return "".join(chr(ord(c.upper()) + 0xFEE0) if "!" <= c <= "~" and (symbols or c.isalnum()) else c for c in text)


@contextmanager
def returns_within(seconds: float) -> Iterator[None]:
    """Fail the block if it has not returned after `seconds`: SIGALRM interrupts even a loop that never yields."""

    def expired(_signum: int, _frame: FrameType | None) -> None:
        raise TimeoutError(f"did not return within {seconds} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def owner_post_users(token: str, body: dict[str, Any]) -> dict[str, Any]:
    event = customer_event(
        "viewer/invite_user.json", token, path="/v1/users", resource="/v1/users", method="POST", body=json.dumps(body)
    )
    return viewer_call(event)


def invitation_token(world: World) -> str:
    response = owner_post_users(owner_token(world), {"name": "Hanako Sato", "role": "viewer"})
    assert response["statusCode"] == 201, response["body"]
    return body_of(response)["url"].rsplit("/i/", 1)[1]


def claim(token: str, login_id: str, password: str = PASSWORD) -> dict[str, Any]:
    form = urlencode({"login_id": login_id, "password": password, "password_again": password})
    event = api_event(
        "viewer/share_page.json",
        method="POST",
        path=f"/i/{token}",
        resource="/i/{token}",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        body=form,
        path_parameters={"token": token},
    )
    return viewer_call(event)


def staff_create(world: World, login_id: str) -> dict[str, Any]:
    body = {"login_id": login_id, "name": "Jiro", "role": "viewer"}  # the server makes a temporary password
    return admin_call("POST", f"/v1/admin/contracts/{world.contract_id}/users", world.staff_key, body)


def owner_remove(world: World, login_id: str) -> dict[str, Any]:
    event = customer_event(
        "viewer/remove_user.json",
        owner_token(world),
        path=f"/v1/users/{in_path(login_id)}",
        resource="/v1/users/{login_id}",
        method="DELETE",
        path_parameters={"login_id": in_path(login_id)},
    )
    return viewer_call(event)


def audit_actions(world: World) -> list[str]:
    entries, _ = audit.entries(world.contract_id, limit=1000)
    return [e.action for e in entries]


def assert_login_id_refused(response: dict[str, Any]) -> None:
    error = assert_error(response, 422, "validation_error")
    assert error["details"] == {"field": "login_id"}


# the definition


@pytest.mark.parametrize(
    ("typed", "key"),
    [
        ("Hanako.Sato", "hanako.sato"),
        ("  hanako@shop.example\t", "hanako@shop.example"),
        ("\u3000hanako\u3000", "hanako"),  # ideographic spaces around it
        (full_width("abc@ex"), "abc@ex"),
        ("\u212aelvin", "kelvin"),  # the Kelvin sign is a K
        ("STRASSE+1", "strasse+1"),
        ("a-b_c.d+e@f", "a-b_c.d+e@f"),
    ],
)
def test_an_id_is_normalised_and_folded_to_its_one_spelling(typed, key):
    # Given an id as someone typed it
    # When it is read as a login id
    # Then it is its canonical spelling
    assert login_ids.parse(typed) == key


@pytest.mark.parametrize("kind", list(BAD_IDS))
def test_each_kind_of_bad_id_is_no_login_id(kind):
    # Given an id of a kind issue 10 saw accepted
    # When it is read as a login id
    # Then it is refused, naming the field
    with pytest.raises(ValidationError) as refused:
        login_ids.parse(bad_id(kind))
    assert refused.value.details == {"field": "login_id"}


# issue 10, defect 1: an id that normalises to nothing spun the invitation forever


def test_an_owner_post_with_a_blank_login_id_is_answered_at_once(world):
    # Given an owner, and the request that once spun the viewer function forever
    token = owner_token(world)
    before = logins_of(world)

    # When it is posted, with a deadline
    with returns_within(5):
        response = owner_post_users(token, {"login_id": "   ", "name": "Hanako Sato", "role": "viewer"})

    # Then it is refused at once (owners name no login id any more) and nobody was created
    assert_error(response, 422, "validation_error")
    assert logins_of(world) == before


@pytest.mark.parametrize("typed", ["   ", "", "\u200b"])
def test_a_temporary_password_for_no_id_is_refused_at_once(typed):
    # Given ids that normalise to nothing, or to no id
    # When a temporary password is asked for one, with a deadline
    # Then the id is refused at once, instead of a retry loop that cannot end
    with returns_within(5), pytest.raises(ValidationError):
        customer.temporary_password(typed)


@pytest.mark.parametrize("login_id", ["aaa", "---", "___", "a0-", "zzz", "000", "...", "a@b"])
def test_a_temporary_password_never_contains_its_id_and_needs_no_retries(login_id):
    # Given ids made of the characters random passwords are made of
    # When many temporary passwords are made for each, with a deadline
    with returns_within(5):
        made = [customer.temporary_password(login_id) for _ in range(200)]

    # Then each meets the policy, and they differ
    for password in made:
        assert customer.password_problem(password, login_id) is None
    assert len(set(made)) == len(made)


# every entrance refuses every kind of bad id (one world per entrance, one subtest per kind)


def test_staff_cannot_create_a_user_with_a_bad_id(world, subtests):
    # Given a contract and its users
    before = logins_of(world)

    for kind in BAD_IDS:
        with subtests.test(kind=kind):
            # When staff create a user with a bad id
            response = staff_create(world, bad_id(kind))

            # Then it is refused on the field, and nobody was created
            assert_login_id_refused(response)
            assert logins_of(world) == before


def test_staff_user_routes_refuse_a_bad_id(world, subtests):
    # Given a contract's owner, logged in
    token = owner_token(world)

    for kind in BAD_IDS:
        for operation in STAFF_USER_OPERATIONS:
            with subtests.test(kind=kind, operation=operation):
                # When staff lock, unlock, reset or report compromised a bad id
                response = admin_call("POST", f"/v1/admin/users/{in_path(bad_id(kind))}/{operation}", world.staff_key)

                # Then it is refused on the field, and nothing happened to anyone
                assert_login_id_refused(response)
                assert audit_actions(world) == []
    me = customer_event("viewer/list_cameras.json", token, path="/v1/me", resource="/v1/me")
    assert viewer_call(me)["statusCode"] == 200


def test_an_owner_cannot_remove_a_bad_id(world, subtests):
    # Given an owner
    before = logins_of(world)

    for kind in BAD_IDS:
        with subtests.test(kind=kind):
            # When they remove a bad id
            response = owner_remove(world, bad_id(kind))

            # Then it is refused on the field, and nobody was removed
            assert_login_id_refused(response)
            assert logins_of(world) == before


def test_a_bad_id_sent_unencoded_where_a_path_cannot_carry_it_is_not_found(world, subtests):
    # Given a contract and its users
    before = logins_of(world)

    for kind in UNROUTABLE:
        with subtests.test(kind=kind):
            # When a bad id that a path segment cannot carry is put in the paths as it is, unencoded
            bad = bad_id(kind)
            remove = customer_event(
                "viewer/remove_user.json",
                owner_token(world),
                path=f"/v1/users/{bad}",
                resource="/v1/users/{login_id}",
                method="DELETE",
                path_parameters={"login_id": bad},
            )
            responses = [viewer_call(remove)] + [
                admin_call("POST", f"/v1/admin/users/{bad}/{operation}", world.staff_key)
                for operation in STAFF_USER_OPERATIONS
            ]

            # Then no route answers it, and nothing changed
            for response in responses:
                assert_error(response, 404, "not_found")
            assert logins_of(world) == before
            assert audit_actions(world) == []


def test_an_invitee_cannot_claim_a_bad_id(world, subtests):
    # Given an invitation
    token = invitation_token(world)
    before = logins_of(world)

    for kind in BAD_IDS:
        with subtests.test(kind=kind):
            # When the invitee claims a bad id on its page
            response = claim(token, bad_id(kind))

            # Then the form is shown again, saying what a login id is, and nobody was created
            assert response["statusCode"] == 422, response["body"]
            assert 'id="login_id-problem"' in response["body"]
            assert 'aria-invalid="true"' in response["body"]
            assert logins_of(world) == before
    # and the invitation still works
    assert claim(token, f"hanako-{secrets.token_hex(3)}")["statusCode"] == 201


def login_calls(aws_calls: list[tuple[str, dict[str, Any]]], login_id: str) -> tuple[dict[str, Any], list[Any]]:
    aws_calls.clear()
    error = assert_error(login_response(login_id, "not-the-password"), 401, "unauthorized")
    return error, [(operation, params.get("TableName")) for operation, params in aws_calls]


def test_login_with_a_bad_id_is_login_with_an_unknown_id(aws, world, aws_calls, subtests):
    # Given an id nobody has, tried at login
    unknown_error, unknown_calls = login_calls(aws_calls, f"nobody-{secrets.token_hex(4)}")
    assert ("GetItem", aws.refs["UsersTable"]) in unknown_calls

    for kind in [k for k in BAD_IDS if k != "too-long"]:  # the login request model caps the field at 128
        with subtests.test(kind=kind):
            # When a bad id is tried at login
            bad_error, bad_calls = login_calls(aws_calls, bad_id(kind))

            # Then it gets the same 401 through the same calls: the attempt counted, the user read
            assert bad_error == unknown_error
            assert bad_calls == unknown_calls


def test_failures_with_a_bad_id_lock_it_like_an_unknown_id(world):
    # Given a bad id tried as often as the lockout allows
    bad = bad_id("cyrillic-o")
    for _ in range(customer.LOCK_AFTER_FAILURES):
        assert_error(login_response(bad, "not-the-password"), 401, "unauthorized")

    # When it is tried once more
    # Then it is locked, as an unknown id would be
    assert_error(login_response(bad, "not-the-password"), 423, "account_locked")


# ids that are one id after normalisation are one id at every entrance


def test_a_full_width_spelling_is_the_same_id_everywhere(world_factory):
    # Given a user with an ASCII login id in one contract, and another contract
    tenant, other = world_factory(), world_factory()
    spelled = full_width(tenant.login_id)
    assert spelled != tenant.login_id

    # When staff create a user with its full-width spelling, in any contract
    # Then it is that id, taken
    assert_error(staff_create(other, spelled), 409, "conflict")
    # and an invitee of another contract cannot claim it either
    refused = claim(invitation_token(other), spelled)
    assert refused["statusCode"] == 409, refused["body"]
    assert tenant.login_id not in logins_of(other)

    # When the user logs in with the full-width spelling
    # Then it is them
    assert login_response(spelled, tenant.password)["statusCode"] == 200

    # When staff lock the full-width spelling
    locked = admin_call("POST", f"/v1/admin/users/{full_width(tenant.login_id, symbols=False)}/lock", tenant.staff_key)

    # Then the user is locked, and named by their one spelling
    assert locked["statusCode"] == 200, locked["body"]
    assert body_of(locked)["login_id"] == tenant.login_id
    assert registry_store.get_user(tenant.login_id).locked_by_staff


def test_a_full_width_id_is_stored_as_its_ascii_spelling(world):
    # Given an id typed in full width
    typed = full_width(f"hanako-{secrets.token_hex(3)}")

    # When an invitee claims it, and staff create another full-width id
    claimed = claim(invitation_token(world), typed)
    created = staff_create(world, full_width(f"jiro-{secrets.token_hex(3)}"))

    # Then both users hold the ASCII, lower-case spelling, and log in with either spelling
    assert claimed["statusCode"] == 201, claimed["body"]
    assert created["statusCode"] == 201, created["body"]
    assert login_ids.parse(typed) in logins_of(world)
    assert body_of(created)["login_id"] in logins_of(world)
    assert login_response(login_ids.parse(typed), PASSWORD)["statusCode"] == 200
    assert login_response(typed, PASSWORD)["statusCode"] == 200
