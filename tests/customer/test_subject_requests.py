"""Requests from the people filmed (issue 15 points 4 and 5), through the viewer's handler: the notice page's form as a
browser posts it, the status link, and owners and managers answering in the viewer."""

from __future__ import annotations

import base64
from datetime import timedelta
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities import parameters

from doti import runtime
from doti.clock import utcnow
from doti.contracts import registry
from doti.jobs.suspension import run_suspension
from doti.oversight import audit
from doti.store.models import ContractModel, SubjectRequestModel
from doti.subjects import requests as subject_requests
from doti.subjects.deletion import run_request_deletions
from tests.support import World, admin_call, api_event, assert_error, body_of, camera_consents, customer_event
from tests.support.mail import sent_mails
from tests.support.moto import PUBLIC_BASE_URL
from tests.support.subject_requests import (
    form_fields,
    header,
    listed_requests,
    local,
    open_form,
    open_status,
    page_text,
    post_form,
    requests_call,
    status_token,
)
from tests.support.viewer import (
    add_site,
    add_user,
    ingest_frame_id,
    listed_ids,
    login,
    owner_token,
    set_contract_state,
    viewer_call,
)


@pytest.fixture(autouse=True)
def public_base_url(aws) -> str:
    """The links' base URL, set again here: a test before, in this process, may have left another."""
    name = runtime.get_settings().public_base_url_parameter
    boto3.client("ssm").put_parameter(Name=name, Value=PUBLIC_BASE_URL, Type="String", Overwrite=True)
    parameters.clear_caches()
    return PUBLIC_BASE_URL


def stored(contract_id: str) -> list[SubjectRequestModel]:
    return list(SubjectRequestModel.by_contract.query(contract_id))


def make_request(world: World, **fields: str) -> str:
    """Given-step: a request made on the site's page; its status token."""
    form = open_form(world.site_id)
    return status_token(post_form(form, form_fields(form, utcnow(), **fields)))


def only_request(world: World) -> dict[str, Any]:
    (item,) = listed_requests(owner_token(world))
    return item


def answer(token: str, request_id: str, body: dict[str, Any]) -> dict[str, Any]:
    return requests_call(token, f"/v1/requests/{request_id}/answer", method="POST", body=body)


def problems_of(response: dict[str, Any]) -> str:
    return page_text(response["body"])


# ---------------------------------------------------------------- the form


def test_the_notice_page_has_a_form_that_posts_to_itself_with_a_token_paired_to_its_cookie(world: World):
    form = open_form(world.site_id)

    assert f'action="/p/{form.public_id}/requests"' in form.page
    assert form.cookie == f"__Host-doti_form={form.token}"
    event = api_event(
        "viewer/notice_page.json", path=f"/p/{form.public_id}", path_parameters={"public_id": form.public_id}
    )
    response_cookie = header(viewer_call(event), "Set-Cookie")
    for attribute in ("HttpOnly", "SameSite=Strict", "Secure", "Path=/"):
        assert attribute in response_cookie
    # the camera is offered by a reference that names neither the camera nor the site
    (ref,) = form.cameras.values()
    assert world.camera_id not in form.page
    assert world.site_id not in form.page
    assert world.contract_id not in form.page
    assert len(ref) == 16


def test_a_request_is_stored_with_its_contact_sealed_and_the_person_gets_a_status_link(world: World):
    # When a person filmed sends the form
    form = open_form(world.site_id)
    now = utcnow()
    response = post_form(form, form_fields(form, now, contact="hanako@example.jp"))

    # Then they are sent to the status link, which shows the reference and the state, not what they wrote
    token = status_token(response)
    status = open_status(token)
    assert status["statusCode"] == 200
    text = page_text(status["body"])
    (item,) = stored(world.contract_id)
    assert item.request_id in text
    assert "受付済み" in text
    assert "Received, awaiting an answer" in text
    assert "hanako@example.jp" not in status["body"]
    assert "red coat" not in status["body"]
    assert header(status, "Content-Security-Policy").startswith("default-src 'none'")

    # And the contact is stored only sealed; the window, kind and camera as given
    assert b"hanako" not in item.contact_ciphertext
    assert item.kind == "disclosure"
    assert item.camera_id == world.camera_id
    assert item.status == "open"
    assert item.due_at == item.created_at + timedelta(days=14)

    # And the audit log says a request came, without its text or contact
    entries, _ = audit.entries(world.contract_id, limit=100)
    (received,) = [e for e in entries if e.action == "subject_request.received"]
    logged = get_json(owner_token(world), "/v1/access-log")["items"]
    (shown,) = [e for e in logged if e["action"] == "subject_request.received"]
    assert shown["actor"] == "public"
    assert shown["actor_name"] == "a person filmed (the notice page's form)"
    assert received.customer_visible
    assert received.subject == item.request_id
    assert "hanako" not in str(received.details)
    assert "coat" not in str(received.details)


def test_the_same_form_sent_again_is_the_same_request_counted_once(world: World):
    # Given a form sent once (its answer lost, say)
    form = open_form(world.site_id)
    fields = form_fields(form, utcnow(), form_token=form.token)
    first = status_token(post_form(form, fields, ip="198.51.100.200"))

    # When the browser sends it again, and again after the ip's allowance would be spent
    again = [status_token(post_form(form, fields, ip="198.51.100.200")) for _ in range(subject_requests.IP_LIMIT + 1)]

    # Then it is one request on one status link, counted once: the ip may still send other requests
    assert set(again) == {first}
    assert len(stored(world.contract_id)) == 1
    other = post_form(form, form_fields(form, utcnow()), ip="198.51.100.200")
    assert other["statusCode"] == 303


def test_the_contact_never_reaches_the_logs(world: World, capsys):
    capsys.readouterr()
    token = make_request(world, contact="secret-contact@example.jp", text="unique-request-text-4711")
    item = only_request(world)
    requests_call(owner_token(world), f"/v1/requests/{item['request_id']}")
    open_status(token)
    logged = capsys.readouterr()
    assert "secret-contact@example.jp" not in logged.out + logged.err


@pytest.mark.parametrize(
    ("fields", "field_text"),
    [
        ({"kind": "", "contact": "", "text": ""}, ["ご請求の種類", "ご連絡先", "ご請求の内容"]),
        ({"text": "x" * (subject_requests.MAX_TEXT + 1)}, ["2000"]),
        ({"camera_id": "cam_elsewhere"}, ["camera from the list"]),
        ({"from": "", "to": ""}, ["roughly when"]),
        ({"contact": "two\nlines"}, ["cannot be used"]),
    ],
)
def test_bad_input_gets_the_page_again_with_each_problem_and_what_was_typed(world: World, fields, field_text):
    form = open_form(world.site_id)
    sent = form_fields(form, utcnow(), **fields)
    response = post_form(form, sent)

    assert response["statusCode"] == 422
    text = problems_of(response)
    assert "送信できませんでした" in text
    assert "Your request was not sent" in text
    for expected in field_text:
        assert expected in text
    if sent["text"] and len(sent["text"]) < 100:
        assert sent["text"] in text  # kept for the person to fix
    # a fresh token, paired with a fresh cookie, so the form can be sent again from this page
    assert 'name="form_token" value="' in response["body"]
    assert header(response, "Set-Cookie")
    assert stored(world.contract_id) == []


def test_a_window_outside_retention_or_in_the_future_or_too_long_is_refused_plainly(world: World):
    form = open_form(world.site_id)
    now = utcnow()
    days = ContractModel.get(world.contract_id).retention_days
    cases = [
        ({"from": local(now - timedelta(days=days + 2)), "to": local(now - timedelta(days=days + 1))}, "is kept for"),
        ({"from": local(now + timedelta(hours=1)), "to": local(now + timedelta(hours=2))}, "cannot end in the future"),
        ({"from": local(now - timedelta(hours=30)), "to": local(now)}, "24 hours or less"),
        ({"from": local(now), "to": local(now - timedelta(hours=1))}, "must be after the start"),
        ({"from": "yesterday", "to": local(now)}, "not a date and time"),
    ]
    for window, expected in cases:
        response = post_form(form, form_fields(form, now, **window))
        assert response["statusCode"] == 422, window
        assert expected in problems_of(response), (window, problems_of(response)[-600:])
    assert stored(world.contract_id) == []


def test_a_question_needs_no_camera_or_window(world: World):
    make_request(world, kind="question", camera_id="", **{"from": "", "to": ""})
    (item,) = stored(world.contract_id)
    assert item.kind == "question"
    assert item.camera_id is None
    assert item.window_start is None


@pytest.mark.parametrize("kind", ["disclosure", "stop_use", "delete", "question"])
def test_each_kind_of_the_published_form_is_taken(world: World, kind):
    make_request(world, kind=kind)
    (item,) = stored(world.contract_id)
    assert item.kind == kind


def test_a_camera_may_be_named_by_its_id_or_left_out_on_a_site_of_one_camera(world: World):
    # a client that knows the camera's id may send it instead of the page's reference
    make_request(world, camera_id=world.camera_id)
    # left out on a site with one camera: that camera
    make_request(world, camera_id="")
    assert {item.camera_id for item in stored(world.contract_id)} == {world.camera_id}
    # another site's camera is not one of this page's
    form = open_form(world.site_id)
    annex = add_site(world)
    refused = post_form(form, form_fields(form, utcnow(), camera_id=annex.camera_id))
    assert refused["statusCode"] == 422
    assert "camera from the list" in problems_of(refused)


def test_when_the_person_named_no_camera_the_answer_names_one_of_the_sites(world: World):

    # Given a site with two cameras, and a deletion request that names neither
    now = utcnow()

    registry.create_camera(world.contract_id, world.site_id, "Back door", now, consents=camera_consents(now))
    inside = ingest_frame_id(world, now - timedelta(minutes=10))
    token = make_request(world, kind="delete", camera_id="")
    owner = owner_token(world)
    request_id = only_request(world)["request_id"]
    assert only_request(world)["camera_id"] is None

    # Then deleting needs a camera, one of the request's site
    assert_error(answer(owner, request_id, {"action": "delete"}), 422, "validation_error")
    annex = add_site(world)
    wrong = answer(owner, request_id, {"action": "delete", "camera_id": annex.camera_id})
    assert_error(wrong, 422, "validation_error")
    chosen = answer(owner, request_id, {"action": "delete", "camera_id": world.camera_id})
    assert chosen["statusCode"] == 200, chosen["body"]
    assert body_of(chosen)["camera_id"] == world.camera_id

    # And the retention job deletes that camera's footage of the window
    run_request_deletions(storage=runtime.storage(), now=utcnow(), remaining_ms=lambda: 900_000.0)
    assert inside not in listed_ids(owner, world.camera_id)
    assert "Frames deleted: 1" in page_text(open_status(token)["body"])


def test_a_filled_honeypot_is_refused_and_counts_against_no_limit(world: World):
    form = open_form(world.site_id)
    response = post_form(form, form_fields(form, utcnow(), website="http://spam.example"))
    assert response["statusCode"] == 400
    assert stored(world.contract_id) == []
    for _ in range(subject_requests.IP_LIMIT):  # the ip's whole allowance is still there
        assert post_form(form, form_fields(form, utcnow()))["statusCode"] == 303


def test_a_form_from_another_site_or_without_its_cookie_is_refused_and_stores_nothing(world: World):
    form = open_form(world.site_id)
    fields = form_fields(form, utcnow())
    assert post_form(form, fields, origin="https://evil.example")["statusCode"] == 403
    assert post_form(form, fields, cookie="")["statusCode"] == 403
    assert post_form(form, fields, cookie="__Host-doti_form=someone-elses")["statusCode"] == 403
    assert post_form(form, {**fields, "form_token": ""})["statusCode"] == 403
    stale = post_form(form, fields, cookie="__Host-doti_form=x")
    assert "open the page again" in problems_of(stale)
    assert stored(world.contract_id) == []


def test_not_a_browsers_form_is_refused_in_the_error_format(world: World):
    form = open_form(world.site_id)
    response = post_form(form, form_fields(form, utcnow()), content_type="application/json", body='{"kind":"x"}')
    assert_error(response, 415, "unsupported_media_type")
    big = post_form(form, {}, body="text=" + "x" * subject_requests.MAX_FORM_BYTES)
    assert big["statusCode"] == 413
    assert "too large" in problems_of(big)
    assert stored(world.contract_id) == []


def test_the_ip_limit_and_the_site_limit_stop_a_flood(world: World):
    form = open_form(world.site_id)
    now = utcnow()
    for _ in range(subject_requests.IP_LIMIT):
        assert post_form(form, form_fields(form, now), ip="198.51.100.7")["statusCode"] == 303
    limited = post_form(form, form_fields(form, now), ip="198.51.100.7")
    assert limited["statusCode"] == 429
    assert "Too many requests" in problems_of(limited)

    # another ip may still send, until the site's daily limit
    for n in range(subject_requests.SITE_LIMIT - subject_requests.IP_LIMIT):
        assert post_form(form, form_fields(form, now), ip=f"192.0.2.{n}")["statusCode"] == 303
    site_limited = post_form(form, form_fields(form, now), ip="203.0.113.99")
    assert site_limited["statusCode"] == 429
    assert "too many requests today" in problems_of(site_limited)
    assert len(stored(world.contract_id)) == subject_requests.SITE_LIMIT


def test_unknown_and_suspended_cases_get_the_plain_404_and_tell_nothing(world: World):
    form = open_form(world.site_id)
    token = make_request(world)
    unknown_form = post_form(
        type(form)("AAAAAAAAAAAAAAAAAAAAAA", form.token, form.cookie, form.cameras, ""), form_fields(form, utcnow())
    )
    request_id, _, secret = token.partition(".")
    guesses = [f"{request_id}.{'A' * len(secret)}", "dsr_nothing.x", token + "x", "x" * 200]
    pages = [unknown_form, *(open_status(g) for g in guesses)]

    set_contract_state(world.contract_id, "suspended")
    pages += [open_status(token), post_form(form, form_fields(form, utcnow()))]

    bodies = {page["body"] for page in pages}
    assert {page["statusCode"] for page in pages} == {404}
    assert len(bodies) == 1  # one and the same page, whatever was wrong


# ---------------------------------------------------------------- the viewer


def test_owners_and_managers_see_the_requests_of_their_sites_with_due_dates(world: World):
    annex = add_site(world)
    make_request(world)
    annex_form = open_form(annex.site_id)
    status_token(post_form(annex_form, form_fields(annex_form, utcnow())))

    everything = listed_requests(owner_token(world))
    assert len(everything) == 2
    assert {i["camera_id"] for i in everything} == {world.camera_id, annex.camera_id}
    assert all(i["due_at"] and i["overdue"] is False for i in everything)

    # a manager of the main site sees its request only, and the annex's is not found for them
    login_id, password = add_user(world, role="manager", site_ids=[world.site_id])
    manager = login(login_id, password)
    (mine,) = listed_requests(manager)
    assert mine["site_id"] == world.site_id
    (theirs,) = [i for i in everything if i["site_id"] == annex.site_id]
    assert_error(requests_call(manager, f"/v1/requests/{theirs['request_id']}"), 404, "not_found")

    # a viewer cannot see requests at all
    viewer_login, viewer_password = add_user(world, role="viewer")
    assert_error(requests_call(login(viewer_login, viewer_password), "/v1/requests"), 403, "forbidden")


def test_one_request_shows_what_was_asked_and_how_to_reach_them(world: World):
    make_request(world, contact="090-1234-5678", text="Please delete the footage of me at the till.")
    item = only_request(world)
    response = requests_call(owner_token(world), f"/v1/requests/{item['request_id']}")
    assert response["statusCode"] == 200
    body = body_of(response)
    assert body["contact"] == "090-1234-5678"
    assert body["text"] == "Please delete the footage of me at the till."
    assert "contact" not in item
    assert "text" not in item


def test_a_reply_and_a_refusal_need_their_text_and_show_on_the_status_link(world: World):
    token = make_request(world)
    owner = owner_token(world)
    request_id = only_request(world)["request_id"]

    assert_error(answer(owner, request_id, {"action": "refuse"}), 422, "validation_error")
    assert_error(answer(owner, request_id, {"action": "reply", "text": "  "}), 422, "validation_error")
    assert_error(answer(owner, request_id, {"action": "shrug", "text": "x"}), 422, "validation_error")

    refused = answer(owner, request_id, {"action": "refuse", "text": "We hold no footage of that day."})
    assert refused["statusCode"] == 200, refused["body"]
    assert body_of(refused)["status"] == "answered"
    text = page_text(open_status(token)["body"])
    assert "Request refused" in text
    assert "We hold no footage of that day." in text

    entries, _ = audit.entries(world.contract_id, limit=100)
    (answered,) = [e for e in entries if e.action == "subject_request.answered"]
    assert answered.customer_visible
    assert answered.details["action"] == "refuse"


def test_disclosing_makes_a_one_time_link_for_a_frame_of_the_window_shown_on_the_status_link(world: World):
    frame_id = ingest_frame_id(world, utcnow() - timedelta(minutes=10))
    outside = ingest_frame_id(world, utcnow() - timedelta(hours=3))
    token = make_request(world)
    owner = owner_token(world)
    request_id = only_request(world)["request_id"]

    assert_error(answer(owner, request_id, {"action": "disclose", "frame_id": outside}), 422, "validation_error")
    disclosed = answer(owner, request_id, {"action": "disclose", "frame_id": frame_id})
    assert disclosed["statusCode"] == 200, disclosed["body"]
    (given,) = body_of(disclosed)["answers"]
    assert given["action"] == "disclose"
    assert given["frame_id"] == frame_id
    assert given["share_id"]

    status = open_status(token)["body"]
    link = status.split('class="disclosure-link" href="', 1)[1].split('"', 1)[0]
    assert link.startswith(f"{PUBLIC_BASE_URL}/s/")
    # the share is the owner's one-time link to that frame, listed with their shares
    (share,) = [s for s in get_json(owner, "/v1/shares")["items"] if s["share_id"] == given["share_id"]]
    assert share["one_time"] is True
    assert share["frame_id"] == frame_id
    # whose purpose is the request it answers (a link the public POST /v1/shares cannot make)
    assert share["purpose"] == f"request:{request_id}"
    assert share["purpose_label"]["en"] == f"Answer to a request from the person filmed: ref. {request_id}"
    stored_answer = SubjectRequestModel.get(request_id).answers[0]
    assert link.encode() not in base64.b64decode(stored_answer["link_sealed"])  # sealed at rest


def test_a_used_or_withdrawn_disclosure_link_is_no_longer_shown_and_the_page_says_why(world: World):
    frame_id = ingest_frame_id(world, utcnow() - timedelta(minutes=10))
    token = make_request(world)
    owner = owner_token(world)
    request_id = only_request(world)["request_id"]
    share_id = body_of(answer(owner, request_id, {"action": "disclose", "frame_id": frame_id}))["answers"][0][
        "share_id"
    ]

    # When the owner withdraws the link
    revoked = viewer_call(
        customer_event(
            "viewer/list_cameras.json",
            owner,
            method="DELETE",
            path=f"/v1/shares/{share_id}",
            resource="/v1/shares/{share_id}",
            path_parameters={"share_id": share_id},
        )
    )
    assert revoked["statusCode"] == 204

    # Then the status page no longer offers it, and says it was withdrawn
    page = open_status(token)["body"]
    assert "disclosure-link" not in page
    assert "The disclosure link was withdrawn." in page_text(page)


def test_deleting_goes_through_the_retention_job_with_receipts_and_a_visible_audit_entry(world: World):

    now = utcnow()
    inside = [ingest_frame_id(world, now - timedelta(minutes=m)) for m in (5, 10, 15)]
    kept = ingest_frame_id(world, now - timedelta(hours=2))
    token = make_request(world, kind="delete")
    owner = owner_token(world)
    request_id = only_request(world)["request_id"]

    deleting = answer(owner, request_id, {"action": "delete"})
    assert deleting["statusCode"] == 200
    assert body_of(deleting)["status"] == "deleting"
    assert_error(answer(owner, request_id, {"action": "reply", "text": "x"}), 409, "conflict")
    assert "Deletion in progress" in page_text(open_status(token)["body"])

    report = run_request_deletions(storage=runtime.storage(), now=utcnow(), remaining_ms=lambda: 900_000.0)
    assert report.frames_deleted == 3
    assert report.requests_done == 1
    again = run_request_deletions(storage=runtime.storage(), now=utcnow(), remaining_ms=lambda: 900_000.0)
    assert again.frames_deleted == 0
    assert again.requests_done == 0

    assert listed_ids(owner, world.camera_id) == [kept]
    assert not set(inside) & set(listed_ids(owner, world.camera_id))
    (day,) = get_json(owner, "/v1/deletions")["items"]
    assert day["by_source"]["takedown"]["frames"] == 3
    text = page_text(open_status(token)["body"])
    assert "Footage deleted" in text
    assert "Frames deleted: 3" in text
    entries, _ = audit.entries(world.contract_id, limit=100)
    (done,) = [e for e in entries if e.action == "subject_request.footage_deleted"]
    assert done.customer_visible
    assert done.details["frames_deleted"] == 3


@pytest.mark.isolated  # the job takes every due item in the tables
def test_an_overdue_request_is_noticed_once_by_the_suspension_job(world: World):

    make_request(world)
    make_request(world, kind="question", camera_id="", **{"from": "", "to": ""})
    owner = owner_token(world)
    answered, waiting = sorted(listed_requests(owner), key=lambda i: i["kind"] != "question")
    answer(owner, answered["request_id"], {"action": "reply", "text": "No footage of the street is kept."})

    later = utcnow() + timedelta(days=15)
    before = len(sent_mails())
    run_suspension(now=later, mailer=runtime.mailer(), events=runtime.events(), remaining_ms=lambda: 900_000.0)
    run_suspension(
        now=later + timedelta(minutes=5),
        mailer=runtime.mailer(),
        events=runtime.events(),
        remaining_ms=lambda: 900_000.0,
    )

    notices = [n for n in _notices(owner) if n["kind"] == "request_overdue"]
    assert len(notices) == 1
    assert waiting["request_id"] in notices[0]["body"]
    mails = [m for m in sent_mails()[before:] if "overdue" in m.subject]
    assert len(mails) == 1
    assert SubjectRequestModel.get(waiting["request_id"]).overdue_notified_at is not None
    assert SubjectRequestModel.get(answered["request_id"]).overdue_notified_at is None


def _notices(token: str) -> list[dict[str, Any]]:
    return get_json(token, "/v1/notices")["items"]


def get_json(token: str, path: str) -> dict[str, Any]:
    response = viewer_call(customer_event("viewer/list_cameras.json", token, path=path, resource=path))
    assert response["statusCode"] == 200, response["body"]
    return body_of(response)


def test_staff_set_the_due_and_keep_periods_per_contract(world: World):
    path = f"/v1/admin/contracts/{world.contract_id}"
    assert_error(admin_call("PATCH", path, world.staff_key, {"request_due_days": 0}), 422, "validation_error")
    assert_error(admin_call("PATCH", path, world.staff_key, {"request_keep_days": 5000}), 422, "validation_error")
    changed = admin_call("PATCH", path, world.staff_key, {"request_due_days": 7, "request_keep_days": 90})
    assert changed["statusCode"] == 200, changed["body"]

    make_request(world)
    (item,) = stored(world.contract_id)
    assert item.due_at == item.created_at + timedelta(days=7)
    # (a TTL is stored in whole seconds)
    assert int(item.expires_at.timestamp()) == int((item.created_at + timedelta(days=90)).timestamp())
