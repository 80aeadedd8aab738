"""A site's public notice page and its printable sign (issue 15 points 2 and 3, Art. 2-4), through the handlers.

A camera's purposes and the contract's operator and contact are given through the staff routes that set them
(tests.support.purposes), so the page is tested on what a real registration stores.
"""

from __future__ import annotations

import base64
import html
import re
from datetime import timedelta
from typing import Any

import boto3
import cv2
import numpy as np
import pytest
from aws_lambda_powertools.utilities import parameters

from doti import runtime
from doti.clock import utcnow
from doti.contracts import public_ids, registry
from doti.store import registry as registry_store
from doti.store.models import CameraModel, ContractModel, SiteModel
from tests.support import (
    World,
    admin_call,
    api_event,
    assert_error,
    body_of,
    camera_consents,
    created,
    customer_event,
)
from tests.support.moto import PUBLIC_BASE_URL
from tests.support.purposes import register_purposes, set_operator
from tests.support.viewer import add_site, add_user, login, owner_token, set_contract_state, viewer_call

# helpers


@pytest.fixture
def public_base_url(aws) -> str:
    """The deployment's public base URL, set again here: a test before, in this process, may have left another."""
    name = runtime.get_settings().public_base_url_parameter
    boto3.client("ssm").put_parameter(Name=name, Value=PUBLIC_BASE_URL, Type="String", Overwrite=True)
    parameters.clear_caches()
    return PUBLIC_BASE_URL


def public_id_of(site_id: str) -> str:
    public_id = registry_store.get_site(site_id).public_id
    assert public_id
    return public_id


def open_notice(public_id: str) -> dict[str, Any]:
    event = api_event("viewer/notice_page.json", path=f"/p/{public_id}", path_parameters={"public_id": public_id})
    return viewer_call(event)


def header(response: dict[str, Any], name: str) -> str:
    (value,) = response["multiValueHeaders"][name]
    return value


def text_of(page: str) -> str:
    """The page's text, tags removed and entities decoded, for checks of what a reader sees."""
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))


def signage(token: str, site_id: str, format_: str | None = "svg") -> dict[str, Any]:
    return viewer_call(
        customer_event(
            "viewer/list_cameras.json",
            token,
            path=f"/v1/sites/{site_id}/signage",
            resource="/v1/sites/{site_id}/signage",
            path_parameters={"site_id": site_id},
            query={"format": format_} if format_ else {},
        )
    )


def body_bytes(response: dict[str, Any]) -> bytes:
    assert response["isBase64Encoded"] is True
    return base64.b64decode(response["body"])


# the public id and notice_url


def test_a_new_site_gets_a_random_public_id_that_names_neither_its_contract_nor_itself(world: World, public_base_url):
    # When staff create two sites
    first = created(
        admin_call("POST", f"/v1/admin/contracts/{world.contract_id}/sites", world.staff_key, {"name": "A"})
    )
    second = created(
        admin_call("POST", f"/v1/admin/contracts/{world.contract_id}/sites", world.staff_key, {"name": "B"})
    )

    # Then each has a notice_url on the public base URL, with an unguessable id of its own
    ids = []
    for site in (first, second):
        public_id = public_id_of(site["site_id"])
        assert site["notice_url"] == f"{public_base_url}/p/{public_id}"
        assert re.fullmatch(r"[A-Za-z0-9_-]{22}", public_id)  # 16 random bytes
        for secret in (site["site_id"], world.contract_id):
            assert secret not in public_id
            assert public_id not in secret
        ids.append(public_id)
    assert ids[0] != ids[1]


def test_the_staff_listing_gives_each_site_its_notice_url(world: World, public_base_url):
    annex = add_site(world)
    response = admin_call("GET", f"/v1/admin/contracts/{world.contract_id}/sites", world.staff_key)
    assert response["statusCode"] == 200, response["body"]
    urls = {site["site_id"]: site["notice_url"] for site in body_of(response)["items"]}
    assert urls == {
        world.site_id: f"{public_base_url}/p/{public_id_of(world.site_id)}",
        annex.site_id: f"{public_base_url}/p/{public_id_of(annex.site_id)}",
    }


def test_a_site_made_before_public_ids_gets_one_on_first_need_and_keeps_it(world: World, public_base_url):
    # Given a site stored without a public id, as sites were before
    SiteModel.get(world.site_id).update(actions=[SiteModel.public_id.remove()])

    # When staff list the sites twice
    def listed_url() -> str:
        items = body_of(admin_call("GET", f"/v1/admin/contracts/{world.contract_id}/sites", world.staff_key))["items"]
        return items[0]["notice_url"]

    first, again = listed_url(), listed_url()

    # Then it got one id, stored, and the page opens under it
    public_id = public_id_of(world.site_id)
    assert first == again == f"{public_base_url}/p/{public_id}"
    assert open_notice(public_id)["statusCode"] == 200


def test_two_requests_racing_to_give_an_old_site_its_id_leave_it_one_id(world: World):
    # Given a site without a public id, read by two requests before either writes
    SiteModel.get(world.site_id).update(actions=[SiteModel.public_id.remove()])
    stale = registry_store.get_site(world.site_id)
    assert stale.public_id is None

    # When both give it an id
    first = public_ids.ensure_public_id(stale)
    second = public_ids.ensure_public_id(stale)

    # Then the second write lost to the first: one id, the one stored, which both got back
    assert first.public_id == second.public_id == public_id_of(world.site_id)


# the notice page


def test_the_page_names_the_operator_the_cameras_their_purposes_retention_sharing_and_contact(world: World):
    # Given a site with a registered camera, an "other" purpose, and a camera with nothing registered
    set_operator(world, "Sakura Bakery Ltd.", "privacy@sakura.example / 03-1234-5678")
    register_purposes(
        world, world.camera_id, {"crime_prevention", "store_operations", "other"}, other="Delivery checks"
    )
    CameraModel.get(world.camera_id).update(actions=[CameraModel.name.set("Front door")])
    now = utcnow()
    registry.create_camera(world.contract_id, world.site_id, "Back room", now, consents=camera_consents(now))

    # When anyone opens the site's page
    response = open_notice(public_id_of(world.site_id))
    retention = ContractModel.get(world.contract_id).retention_days

    # Then it is a Japanese and English HTML page with everything the public needs to know
    assert response["statusCode"] == 200
    assert header(response, "Content-Type") == "text/html; charset=utf-8"
    text = text_of(response["body"])
    for expected in (
        "カメラを設置しています",
        "Cameras are in operation here",
        "Front door",
        "防犯 / Crime prevention",
        "店舗運営 / Store operations",
        "その他: Delivery checks / Other: Delivery checks",
        "Entrance and till",
        "撮影されます / Yes",
        "Back room",
        "The purposes and coverage of this camera have not been registered yet.",
        f"{retention}日間保存",
        f"Footage is kept for {retention} day",
        "第10条第3項",
        "Art. 10-3",
        "share links",
        "privacy@sakura.example / 03-1234-5678",
        "Requests about footage of you",
    ):
        assert expected in text, expected
    assert re.search(r"運営者 / Operator ?: Sakura Bakery Ltd\.", text)
    assert "人員配置" not in text  # a purpose not registered is not claimed
    assert '<section id="requests">' in response["body"]  # where point 4's form goes


def test_without_an_operator_name_the_page_names_the_contract_and_says_no_contact_is_registered(world: World):
    set_operator(world, None, None)
    text = text_of(open_notice(public_id_of(world.site_id))["body"])
    assert "Test Shop" in text
    assert "No contact has been registered yet" in text


def test_the_page_is_strict_has_no_script_and_is_not_cached(world: World):
    response = open_notice(public_id_of(world.site_id))
    policy = dict(part.strip().split(" ", 1) for part in header(response, "Content-Security-Policy").split(";"))
    assert policy["default-src"] == "'none'"
    assert re.fullmatch(r"'sha256-[A-Za-z0-9+/=]+'", policy["style-src"])
    assert policy["form-action"] == "'self'"
    assert policy["base-uri"] == "'none'"
    assert policy["frame-ancestors"] == "'none'"
    assert "script-src" not in policy
    assert header(response, "Cache-Control") == "no-store"
    assert header(response, "X-Content-Type-Options") == "nosniff"
    page = response["body"]
    assert "<script" not in page.lower()
    assert not re.search(r"\son[a-z]+=", page)  # no inline event handler either
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page


def test_stored_text_is_shown_as_text(world: World):
    evil = '<script>alert(1)</script><img src=x onerror="alert(2)">'
    set_operator(world, evil, evil)
    register_purposes(world, world.camera_id, {"other"}, coverage=evil, other=evil)
    CameraModel.get(world.camera_id).update(actions=[CameraModel.name.set(evil)])
    page = open_notice(public_id_of(world.site_id))["body"]
    assert "<script" not in page
    assert "<img" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_the_page_lists_only_its_own_sites_cameras(world_factory):
    # Given two tenants, and a second site of the first
    world, other = world_factory(), world_factory()
    annex = add_site(world, "Annex")
    CameraModel.get(world.camera_id).update(actions=[CameraModel.name.set("Shop floor")])
    CameraModel.get(other.camera_id).update(actions=[CameraModel.name.set("Other tenant's till")])

    # When the first site's page is opened
    text = text_of(open_notice(public_id_of(world.site_id))["body"])

    # Then it shows the site's camera and no other site's, nor the other tenant's
    assert "Shop floor" in text
    assert "Annex door" not in text
    assert "Other tenant" not in text
    assert "Annex door" in text_of(open_notice(public_id_of(annex.site_id))["body"])


@pytest.mark.parametrize("state", ["active", "cancelling"])
def test_the_page_is_shown_while_the_contract_serves(world: World, state: str):
    set_contract_state(world.contract_id, state)
    assert open_notice(public_id_of(world.site_id))["statusCode"] == 200


def test_a_cancellation_past_its_effective_date_stops_the_page_before_the_job_moves_it(world: World):
    # Given a cancelling contract whose effective date has passed, the hourly termination job not yet run
    set_contract_state(world.contract_id, "cancelling")
    past = utcnow() - timedelta(minutes=1)
    ContractModel.get(world.contract_id).update(actions=[ContractModel.cancel_effective_at.set(past)])

    # When its site's page is opened
    response = open_notice(public_id_of(world.site_id))

    # Then it is the 404 page an unknown id gets
    assert response["statusCode"] == 404
    assert response["body"] == open_notice("AAAAAAAAAAAAAAAAAAAAAA")["body"]


def test_unknown_ids_and_contracts_that_do_not_serve_get_one_identical_plain_404(world_factory):
    # Given sites of contracts in every state that does not serve
    unserving = {}
    for state in ("pending", "suspended", "terminated", "purged"):
        world = world_factory()
        set_contract_state(world.contract_id, state)
        unserving[state] = public_id_of(world.site_id)

    # When the pages are opened, and unknown or malformed ids
    cases = {
        **unserving,
        "unknown": "AAAAAAAAAAAAAAAAAAAAAA",
        "too long": "x" * 5000,
        "a site id": world_factory().site_id,  # a site's own id is not its public id
    }
    responses = {case: open_notice(public_id) for case, public_id in cases.items()}

    # Then every answer is the same 404 page, headers and all, naming no reason
    bodies = {r["body"] for r in responses.values()}
    assert len(bodies) == 1
    assert {r["statusCode"] for r in responses.values()} == {404}
    assert (
        len({tuple(sorted((k, tuple(v)) for k, v in r["multiValueHeaders"].items())) for r in responses.values()}) == 1
    )
    (page,) = bodies
    assert "Page not found" in page
    for word in ("suspend", "停止", "終了", "ended", "Test Shop"):
        assert word not in page


# the sign


def test_an_owner_downloads_the_sign_as_svg_with_the_operator_and_purposes(world: World, public_base_url):
    set_operator(world, "Sakura Bakery Ltd.", "privacy@sakura.example")
    register_purposes(world, world.camera_id, {"crime_prevention", "safety", "other"}, other="Delivery checks")

    response = signage(owner_token(world), world.site_id)

    assert response["statusCode"] == 200, response["body"]
    assert header(response, "Content-Type") == "image/svg+xml"
    assert header(response, "Cache-Control") == "no-store"
    assert header(response, "Content-Disposition") == f'attachment; filename="doti-sign-{world.site_id}.svg"'
    svg = body_bytes(response).decode()
    assert svg.startswith('<?xml version="1.0" encoding="UTF-8"?><svg xmlns="http://www.w3.org/2000/svg"')
    assert 'width="210mm" height="297mm"' in svg  # A4
    text = html.unescape(re.sub(r"<[^>]+>", "\n", svg))
    for expected in (
        "カメラ作動中",
        "Cameras in operation",
        "運営者: Sakura Bakery Ltd.",
        "防犯 / Crime prevention",
        "安全管理 / Safety",
        "その他 / Other: Delivery checks",
        f"{public_base_url}/p/{public_id_of(world.site_id)}",
    ):
        assert expected in text, expected
    assert "店舗運営" not in text
    assert "<script" not in svg


def test_the_sign_as_pdf_is_an_a4_page_in_the_built_in_japanese_font(world: World):
    response = signage(owner_token(world), world.site_id, "pdf")
    assert response["statusCode"] == 200, response["body"]
    assert header(response, "Content-Type") == "application/pdf"
    pdf = body_bytes(response)
    assert pdf.startswith(b"%PDF-")
    assert b"/HeiseiKakuGo-W5" in pdf
    assert re.search(rb"/MediaBox \[ 0 0 595\.27\d* 841\.88\d* \]", pdf)  # A4 in points


def test_the_sign_as_png_is_an_a4_image_whose_qr_code_opens_the_page(world: World, public_base_url):
    response = signage(owner_token(world), world.site_id, "png")
    assert response["statusCode"] == 200, response["body"]
    assert header(response, "Content-Type") == "image/png"
    assert header(response, "Content-Disposition") == f'attachment; filename="doti-sign-{world.site_id}.png"'
    image = cv2.imdecode(np.frombuffer(body_bytes(response), np.uint8), cv2.IMREAD_COLOR)
    assert image.shape[:2] == (1754, 1240)
    text, _, _ = cv2.QRCodeDetector().detectAndDecode(image)
    assert text == f"{public_base_url}/p/{public_id_of(world.site_id)}"


@pytest.mark.parametrize("format_", ["jpeg", "gif", "SVG"])
def test_a_format_that_is_not_produced_is_a_422_naming_format(world: World, format_: str):
    error = assert_error(signage(owner_token(world), world.site_id, format_), 422, "validation_error")
    assert error["details"]["field"] == "format"


def test_without_a_format_the_sign_is_svg(world: World):
    response = signage(owner_token(world), world.site_id, None)
    assert header(response, "Content-Type") == "image/svg+xml"


def test_the_sign_is_for_a_sites_owners_only(world: World):
    for role in ("manager", "viewer"):
        token = login(*add_user(world, role=role))
        assert_error(signage(token, world.site_id), 403, "forbidden")


def test_another_contracts_site_or_one_outside_the_owners_scope_is_not_found(world_factory):
    world, other = world_factory(), world_factory()
    assert_error(signage(owner_token(world), other.site_id), 404, "not_found")
    assert_error(signage(owner_token(world), "sit_nonexistent"), 404, "not_found")

    annex = add_site(world)
    scoped = login(*add_user(world, role="owner", site_ids=[annex.site_id]))
    assert_error(signage(scoped, world.site_id), 404, "not_found")
    assert signage(scoped, annex.site_id)["statusCode"] == 200


def test_the_sign_needs_a_session_and_a_serving_contract(world: World):
    assert_error(signage("not-a-session", world.site_id), 401, "unauthorized")
    token = owner_token(world)
    set_contract_state(world.contract_id, "suspended")
    assert_error(signage(token, world.site_id), 403, "contract_suspended")
