"""The rules of a camera's purpose registry and the contract's notice fields (Art. 2-4, issue 15), one by one."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from doti.contracts import purposes
from doti.errors import ValidationError

GOOD: dict[str, Any] = {
    "purposes": ["safety", "crime_prevention"],
    "other_text": None,
    "coverage": "the shop entrance and the till",
    "people_filmed": True,
}


def refused(**change: Any) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        purposes.validate(**(GOOD | change))
    return caught.value


def test_a_registration_is_kept_as_a_set_and_recorded_in_display_order():
    registration = purposes.validate(**GOOD)

    assert registration.purposes == frozenset({"safety", "crime_prevention"})
    assert registration.details() == {
        "purposes": ["crime_prevention", "safety"],
        "other_text": None,
        "coverage": "the shop entrance and the till",
        "people_filmed": True,
    }


def test_every_listed_code_is_accepted_and_labelled_in_japanese_and_english():
    registration = purposes.validate(**(GOOD | {"purposes": list(purposes.PURPOSES), "other_text": "deliveries"}))

    assert purposes.ordered(registration.purposes) == purposes.PURPOSES
    assert all(set(purposes.LABELS[code]) == {"ja", "en"} for code in purposes.PURPOSES)


@pytest.mark.parametrize(
    ("value", "detail"),
    [
        ([], "allowed"),
        (None, "allowed"),
        ("safety", "allowed"),
        (["safety", "spying"], "unknown"),
        (["safety", "safety"], "repeated"),
    ],
)
def test_purposes_must_be_known_codes_each_named_once(value, detail):
    error = refused(purposes=value)

    assert error.details["field"] == "purposes"
    assert detail in error.details


def test_other_needs_its_text_and_the_text_needs_other():
    assert refused(purposes=["other"]).details["field"] == "other_text"
    assert refused(purposes=["other"], other_text="   ").details["field"] == "other_text"
    assert refused(other_text="deliveries").details["field"] == "other_text"
    with_other = purposes.validate(**(GOOD | {"purposes": ["other"], "other_text": "  deliveries  "}))
    assert with_other.other_text == "deliveries"


@pytest.mark.parametrize(("field", "limit"), [("other_text", 200), ("coverage", 300)])
def test_texts_are_one_line_within_their_limit(field, limit):
    base = GOOD | {"purposes": ["other"], "other_text": "deliveries"}
    assert getattr(purposes.validate(**(base | {field: "あ" * limit})), field) == "あ" * limit
    for bad in ("あ" * (limit + 1), "two\nlines", "tab\there", "line\u2028separator", "", "  "):
        with pytest.raises(ValidationError) as caught:
            purposes.validate(**(base | {field: bad}))
        assert caught.value.details["field"] == field


@pytest.mark.parametrize("value", [None, "true", 1, 0])
def test_people_filmed_is_said_true_or_false(value):
    assert refused(people_filmed=value).details["field"] == "people_filmed"
    assert purposes.validate(**(GOOD | {"people_filmed": False})).people_filmed is False


def test_the_contract_fields_are_one_line_within_their_limits_and_may_be_cleared():
    checked = purposes.check_contract_fields(
        {"operator_name": " Shop Co. ", "inquiry_contact": "https://shop.example/contact", "name": "x"}
    )
    assert checked == {"operator_name": "Shop Co.", "inquiry_contact": "https://shop.example/contact"}
    assert purposes.check_contract_fields({"operator_name": None}) == {"operator_name": None}
    for field, limit in (("operator_name", 100), ("inquiry_contact", 200)):
        assert purposes.check_contract_fields({field: "x" * limit}) == {field: "x" * limit}
        for bad in ("x" * (limit + 1), "a\nb", ""):
            with pytest.raises(ValidationError) as caught:
                purposes.check_contract_fields({field: bad})
            assert caught.value.details["field"] == field


def test_the_web_viewer_labels_the_purposes_as_the_domain_does():
    strings = json.loads((Path(__file__).parents[2] / "functions/viewer/web/i18n.json").read_text(encoding="utf-8"))

    for lang in ("ja", "en"):
        assert {code: strings[lang][f"purpose.{code}"] for code in purposes.PURPOSES} == {
            code: purposes.LABELS[code][lang] for code in purposes.PURPOSES
        }
