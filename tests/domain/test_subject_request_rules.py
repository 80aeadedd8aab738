"""The pure rules behind requests from people filmed (issue 15 points 4 and 5): the public form's origin and cookie
checks, how a form body is read, what a form's token derives, the contract's periods. No AWS."""

from __future__ import annotations

import pytest

from doti import public_forms
from doti.entities import Contract
from doti.errors import ValidationError
from doti.subjects import periods
from doti.subjects.requests import camera_ref, form_identity, status_path

BASE = "https://doti.example"


@pytest.mark.parametrize(
    ("headers", "foreign"),
    [
        ({}, False),  # a client that sends neither (not a browser's cross-site post)
        ({"origin": "https://doti.example"}, False),
        ({"origin": "https://doti.example:443"}, False),
        ({"referer": "https://doti.example/p/abc"}, False),
        ({"origin": "https://evil.example"}, True),
        ({"origin": "http://doti.example"}, True),  # another scheme is another origin
        ({"origin": "https://doti.example:8443"}, True),
        ({"origin": "null"}, True),
        ({"origin": "https://doti.example", "referer": "https://evil.example/x"}, True),
        ({"origin": "https://doti.example:notaport"}, True),
    ],
)
def test_a_form_from_another_origin_is_recognised(headers, foreign):
    assert public_forms.from_another_site(headers, BASE) is foreign


def test_a_form_body_gives_the_first_value_of_each_wanted_field_and_nothing_else():
    body = b"kind=question&kind=disclosure&text=a%20b+c&extra=1&contact="
    assert public_forms.read_form(body, ("kind", "text", "contact", "camera_id")) == {
        "kind": "question",
        "text": "a b c",
        "contact": "",
        "camera_id": "",
    }


def test_a_body_that_is_not_utf8_is_read_with_replacements_not_refused():
    assert public_forms.read_form(b"text=%FF%FEok", ("text",))["text"] == "\ufffd\ufffdok"


def test_a_body_with_too_many_fields_is_refused():
    with pytest.raises(ValueError, match="fields"):
        public_forms.read_form(b"&".join(b"f%d=1" % n for n in range(100)), ("text",))


@pytest.mark.parametrize(
    ("cookie", "token", "matches"),
    [
        ("__Host-doti_form=abc123", "abc123", True),
        ("other=1; __Host-doti_form=abc123", "abc123", True),
        ("__Host-doti_form=abc123", "abc124", False),
        ("doti_form=abc123", "abc123", False),  # the https name only, on https
        ("", "", False),
        ("__Host-doti_form=", "", False),
        ('__Host-doti_form="unterminated', "x", False),
    ],
)
def test_the_form_token_must_be_the_cookie_its_page_set(cookie, token, matches):
    assert public_forms.token_matches({"cookie": cookie}, token, BASE) is matches


def test_the_cookie_is_host_only_strict_and_secure_on_https_and_plain_on_http():
    assert public_forms.form_cookie("t", BASE) == "__Host-doti_form=t; Path=/; HttpOnly; SameSite=Strict; Secure"
    assert public_forms.form_cookie("t", "http://127.0.0.1:8000") == "doti_form=t; Path=/; HttpOnly; SameSite=Strict"


def test_a_forms_token_derives_one_request_id_and_status_secret_that_name_nothing():
    first = form_identity("PUBLICID", "token-1")
    assert first == form_identity("PUBLICID", "token-1")
    assert first != form_identity("PUBLICID", "token-2")
    assert first != form_identity("OTHERSITE", "token-1")
    request_id, secret = first
    assert request_id.startswith("dsr_")
    assert len(request_id) == 24
    assert len(secret) == 43  # 256 bits
    assert "token-1" not in secret
    assert status_path(request_id, secret) == f"/r/{request_id}.{secret}"


def test_a_camera_is_offered_by_a_reference_of_its_page_and_id_alone():
    ref = camera_ref("PUBLICID", "cam_1")
    assert ref == camera_ref("PUBLICID", "cam_1")
    assert ref != camera_ref("OTHERSITE", "cam_1")
    assert len(ref) == 16
    assert "cam_1" not in ref


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"request_due_days": 0}, "request_due_days"),
        ({"request_due_days": 31}, "request_due_days"),
        ({"request_due_days": True}, "request_due_days"),
        ({"request_keep_days": 29}, "request_keep_days"),
        ({"request_keep_days": 1826}, "request_keep_days"),
        ({"request_keep_days": "90"}, "request_keep_days"),
    ],
)
def test_the_contracts_request_periods_stay_in_range(changes, field):
    with pytest.raises(ValidationError) as raised:
        periods.check_request_periods(changes)
    assert raised.value.details["field"] == field


def test_periods_in_range_or_cleared_are_accepted_and_default_when_unset():
    periods.check_request_periods({"request_due_days": 1, "request_keep_days": 1825})
    periods.check_request_periods({"request_due_days": None, "request_keep_days": None})
    contract = Contract.__new__(Contract)
    object.__setattr__(contract, "request_due_days", None)
    object.__setattr__(contract, "request_keep_days", 90)
    assert periods.due_days(contract) == periods.DEFAULT_DUE_DAYS == 14
    assert periods.keep_days(contract) == 90
