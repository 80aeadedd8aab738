"""Purpose-bound share links (issue 15 point 6) through the viewer handler: a link's purpose is one of the camera's
registered purposes, a statutory ground, or (made only by answering it) a data-subject request; anything else is a
422 naming `purpose`. The link list, the share page and the access log say which.

API Gateway events into the handlers, moto in-process; the request-answering seam is called as the domain function
the requests' answer route calls.
"""

from __future__ import annotations

import html
import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from doti import tokens
from doti.auth import customer
from doti.clock import format_rfc3339, utcnow
from doti.oversight import audit
from doti.store.models import ShareModel
from doti.viewing import share_purposes, shares
from functions.viewer import app as viewer
from tests.support import LambdaContext, World, assert_error, body_of, customer_event, scan_table
from tests.support.purposes import register_purposes
from tests.support.shares import (
    CRIME_PREVENTION,
    GROUND,
    create_share,
    created,
    link_token,
    open_page,
)
from tests.support.viewer import owner_token

GROUND_EN = "Statutory ground: Protection of a person's life, body or property (APPI Art. 27-1-2)"


def window(base_time) -> dict[str, str]:
    return {"from": format_rfc3339(base_time), "to": format_rfc3339(base_time + timedelta(minutes=5))}


def share_for(token: str, world: World, base_time, **body: Any) -> dict[str, Any]:
    return created(token, camera_id=world.camera_id, **window(base_time), expires_in=3600, **body)


def listed(token: str) -> list[dict[str, Any]]:
    event = customer_event("viewer/list_cameras.json", token, path="/v1/shares", resource="/v1/shares", query={})
    response = viewer.lambda_handler(event, LambdaContext())
    assert response["statusCode"] == 200, response["body"]
    return body_of(response)["items"]


def access_log(token: str) -> list[dict[str, Any]]:
    event = customer_event(
        "viewer/list_cameras.json", token, path="/v1/access-log", resource="/v1/access-log", query={}
    )
    response = viewer.lambda_handler(event, LambdaContext())
    assert response["statusCode"] == 200, response["body"]
    return body_of(response)["items"]


def refused(response: dict[str, Any]) -> dict[str, Any]:
    """The 422's error body, which names `purpose`."""
    assert_error(response, 422, "validation_error")
    error = body_of(response)["error"]
    assert error["details"]["field"] == "purpose", error
    return error


# creating


@pytest.mark.isolated  # reads the whole shares table
def test_a_link_for_a_registered_purpose_says_so_in_the_list_on_its_page_and_in_the_access_log(aws, world, base_time):
    # Given a camera registered for crime prevention and safety
    register_purposes(world, world.camera_id, {"crime_prevention", "safety"})
    token = owner_token(world)

    # When the owner shares footage for crime prevention, with a note
    share = share_for(token, world, base_time, purpose=CRIME_PREVENTION, purpose_note="the 1 Dec break-in")

    # Then the list shows the code, the label in both languages and the note
    (item,) = listed(token)
    assert (item["purpose"], item["purpose_note"]) == (CRIME_PREVENTION, "the 1 Dec break-in")
    assert item["purpose_label"] == {
        "ja": "登録された利用目的: 防犯",
        "en": "Registered purpose: Crime prevention",
    }
    # and the page shows the kind, the purpose and the note, in both languages
    page = open_page(share["url"])["body"]
    assert '登録された利用目的: 防犯 / <span lang="en">Registered purpose: Crime prevention</span>' in page
    assert "the 1 Dec break-in" in page
    # and the access log's creation and view entries carry the code and say it in words
    entries = access_log(token)
    log = [e for e in entries if e["subject"] == share["share_id"]]
    assert [e["action"] for e in log] == ["share.viewed", "share.created"]
    for entry in log:
        assert entry["details"]["purpose"] == CRIME_PREVENTION
        assert entry["purpose_label"]["en"] == "Registered purpose: Crime prevention"
    assert log[1]["details"]["purpose_note"] == "the 1 Dec break-in"
    # and an entry that is not a link's (the registration) carries no purpose label
    (registration,) = [e for e in entries if e["action"] == "camera.purposes_set"]
    assert "purpose_label" not in registration


def test_a_link_on_a_statutory_ground_needs_no_registered_purpose(world, base_time):
    # Given a camera with no registered purpose
    token = owner_token(world)

    # When the owner shares footage on a statutory ground
    share = share_for(token, world, base_time, purpose=GROUND)

    # Then the link is made, and the list, the page and the access log name the ground
    (item,) = listed(token)
    assert (item["purpose"], item["purpose_label"]["en"], item["purpose_note"]) == (GROUND, GROUND_EN, None)
    page = open_page(share["url"])["body"]
    assert html.escape(GROUND_EN) in page
    assert "法令上の根拠: 人の生命、身体または財産の保護のために必要な場合" in page
    (creation,) = [e for e in access_log(token) if e["action"] == "share.created"]
    assert creation["purpose_label"]["en"] == GROUND_EN


def test_other_is_shown_by_the_cameras_own_text(world, base_time):
    # Given a camera registered for another purpose, in its own words
    register_purposes(world, world.camera_id, {"other"}, other="checking deliveries")
    token = owner_token(world)

    # When a link is made for it
    share = share_for(token, world, base_time, purpose="purpose:other")

    # Then the list and the page name it by that text
    assert listed(token)[0]["purpose_label"]["en"] == "Registered purpose: checking deliveries"
    assert "Registered purpose: checking deliveries" in open_page(share["url"])["body"]


# refusing


@pytest.mark.isolated  # reads the whole shares table
def test_a_purpose_the_camera_has_not_registered_is_refused_saying_which_it_has(aws, world, base_time):
    # Given a camera registered for safety only
    register_purposes(world, world.camera_id, {"safety"})

    # When the owner asks for a link for staffing
    response = create_share(
        owner_token(world), camera_id=world.camera_id, **window(base_time), purpose="purpose:staffing", expires_in=60
    )

    # Then it is a 422 naming purpose that says what the camera has, and no link exists
    error = refused(response)
    assert "it has safety" in error["message"]
    assert error["details"]["registered"] == ["safety"]
    assert error["details"]["allowed"][0] == "purpose:safety"
    assert scan_table(aws.refs["SharesTable"]) == []


def test_a_camera_without_purposes_refuses_a_registered_purpose_saying_an_owner_registers_them(world, base_time):
    response = create_share(
        owner_token(world), camera_id=world.camera_id, **window(base_time), purpose=CRIME_PREVENTION, expires_in=60
    )
    error = refused(response)
    assert "owner registers the camera's purposes first" in error["message"]
    assert error["details"]["registered"] == []


@pytest.mark.parametrize(
    ("purpose", "says"),
    [
        ("ground:art10-3-9", "unknown statutory ground"),
        ("insurance claim", "purpose:<code>"),
        ("request:req_0123", "POST /v1/requests/{request_id}/answer"),
        ("", "must not be empty"),
        ("   ", "must not be empty"),
        ("ground:" + "x" * 100, "at most 100 characters"),
        ("ground:art10-3-1\u0000x", "one line"),
    ],
    ids=["unknown-ground", "free-text", "request", "empty", "blank", "too-long", "control-char"],
)
def test_anything_but_a_registered_purpose_or_a_ground_is_refused_with_a_clear_message(world, base_time, purpose, says):
    register_purposes(world, world.camera_id, {"safety"})
    response = create_share(
        owner_token(world), camera_id=world.camera_id, **window(base_time), purpose=purpose, expires_in=60
    )
    assert says in refused(response)["message"]


@pytest.mark.parametrize("note", ["x" * 201, "line one\nline two", "bell\x07"], ids=["too-long", "two-lines", "bell"])
def test_a_note_over_200_characters_or_not_one_line_is_refused_naming_purpose_note(world, base_time, note):
    response = create_share(
        owner_token(world),
        camera_id=world.camera_id,
        **window(base_time),
        purpose=GROUND,
        purpose_note=note,
        expires_in=60,
    )
    assert_error(response, 422, "validation_error")
    assert body_of(response)["error"]["details"]["field"] == "purpose_note"


def test_another_tenants_camera_is_not_found_whatever_its_purposes(world_factory, base_time):
    # Given tenant B's camera, registered for crime prevention
    tenant_a, tenant_b = world_factory(), world_factory()
    register_purposes(tenant_b, tenant_b.camera_id, {"crime_prevention"})

    # When A's owner asks for a link to it, with a purpose B registered and with one B did not
    asked = [
        create_share(
            owner_token(tenant_a), camera_id=tenant_b.camera_id, **window(base_time), purpose=code, expires_in=60
        )
        for code in (CRIME_PREVENTION, "purpose:safety")
    ]

    # Then both are not found, and neither tells A what B registered
    for response in asked:
        assert_error(response, 404, "not_found")
        assert "crime_prevention" not in response["body"]


# answering a request (the seam for POST /v1/requests/{id}/answer)


def test_a_link_answering_a_request_is_made_by_the_domain_seam_without_a_registered_purpose(world, base_time):
    # Given a camera with no registered purpose, and its owner
    token = owner_token(world)
    user = customer.authenticate_session(f"Bearer {token}", utcnow())[1]

    # When answering request req_0123 makes a link to a window for the requester
    request = shares.ShareRequest(
        camera_id=world.camera_id,
        purpose="",
        expires_in=3600,
        start=base_time,
        end=base_time + timedelta(minutes=5),
        purpose_note="your footage of 1 Dec",
    )
    made = shares.create_share(user, request, now=utcnow(), answering_request="req_0123")

    # Then its purpose is the request, shown as an answer to it in the list, on the page and in the access log
    assert made.share.purpose == "request:req_0123"
    (item,) = listed(token)
    assert item["purpose"] == "request:req_0123"
    assert item["purpose_label"]["en"] == "Answer to a request from the person filmed: ref. req_0123"
    page = open_page(made.token)["body"]
    assert "本人からの請求への回答: 受付番号 req_0123" in page
    assert "your footage of 1 Dec" in page
    (creation,) = [e for e in access_log(token) if e["action"] == "share.created"]
    assert creation["purpose_label"]["ja"] == "本人からの請求への回答: 受付番号 req_0123"


def test_the_seam_refuses_an_id_that_is_no_request_id(world, base_time):
    user = customer.authenticate_session(f"Bearer {owner_token(world)}", utcnow())[1]
    request = shares.ShareRequest(
        camera_id=world.camera_id, purpose="", expires_in=60, start=base_time, end=base_time + timedelta(minutes=5)
    )
    with pytest.raises(ValueError, match="not a request id"):
        shares.create_share(user, request, now=utcnow(), answering_request="req 1; drop")


# links from before the codes


def test_a_link_stored_with_free_text_keeps_working_and_is_shown_as_a_free_text_purpose(world, base_time):
    # Given a link stored before purposes were codes: its purpose is free text, and so is its creation entry's
    token = owner_token(world)
    share = share_for(token, world, base_time, purpose=GROUND)
    token_hash = tokens.hash_token(link_token(share["url"]))
    ShareModel(token_hash=token_hash).update(actions=[ShareModel.purpose.set("<b>insurance</b> claim")])
    audit.record(
        world.contract_id,
        actor="user:usr_old",
        action="share.created",
        subject="shr_old",
        details={"camera_id": world.camera_id, "purpose": "police report"},
        now=utcnow(),
    )

    # When it is listed and opened, and the access log is read
    (item,) = listed(token)
    response = open_page(share["url"])
    log = access_log(token)

    # Then it still opens, and each names its text as a free-text purpose from before, escaped on the page
    assert item["purpose"] == "<b>insurance</b> claim"
    assert item["purpose_label"]["en"] == "Free-text purpose (from before): <b>insurance</b> claim"
    assert response["statusCode"] == 200, response["body"]
    assert html.escape("Free-text purpose (from before): <b>insurance</b> claim") in response["body"]
    assert "<b>insurance" not in response["body"]
    (old,) = [e for e in log if e["subject"] == "shr_old"]
    assert old["purpose_label"]["en"] == "Free-text purpose (from before): police report"


# the viewer's form


def test_the_viewers_grounds_are_the_services_and_each_is_worded_in_both_languages():
    web = Path(__file__).resolve().parents[2] / "functions" / "viewer" / "web"
    script = (web / "app.js").read_text(encoding="utf-8")
    (listed,) = re.findall(r"const SHARE_GROUNDS = \[([^\]]*)\];", script)
    assert tuple(re.findall(r'"([^"]+)"', listed)) == share_purposes.GROUNDS
    strings = json.loads((web / "i18n.json").read_text(encoding="utf-8"))
    for lang in ("ja", "en"):
        assert all(strings[lang][f"ground.{key}"] for key in share_purposes.GROUNDS)
