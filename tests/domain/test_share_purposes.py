"""What a share link may be for (issue 15 point 6), as doti.viewing.share_purposes decides it: no AWS, no clock."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from doti.contracts import purposes
from doti.entities import Camera
from doti.errors import ValidationError
from doti.oversight.disclosures import BASES
from doti.viewing import share_purposes
from doti.viewing.share_purposes import GROUND, LEGACY, REGISTERED, REQUEST


def camera(*codes: str, other_text: str | None = None) -> Camera:
    return Camera(
        camera_id="cam_1",
        contract_id="ctr_1",
        site_id="sit_1",
        name="Entrance",
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
        purposes=frozenset(codes) or None,
        purpose_other_text=other_text,
    )


def refusal(code: str, cam: Camera) -> ValidationError:
    with pytest.raises(ValidationError) as refused:
        share_purposes.chosen(share_purposes.checked_form(code), cam)
    assert refused.value.details["field"] == "purpose"
    return refused.value


# accepted


@pytest.mark.parametrize("code", purposes.PURPOSES)
def test_each_registered_purpose_of_the_camera_is_accepted(code):
    cam = camera(code, other_text="deliveries" if code == purposes.OTHER else None)
    assert share_purposes.chosen(f"purpose:{code}", cam) == f"purpose:{code}"


@pytest.mark.parametrize("key", list(BASES))
def test_each_statutory_ground_is_accepted_whatever_the_camera_registered(key):
    assert share_purposes.chosen(f"ground:{key}", camera()) == f"ground:{key}"
    assert share_purposes.chosen(f"ground:{key}", camera("safety")) == f"ground:{key}"


def test_the_grounds_are_the_disclosure_bases_each_worded_in_both_languages():
    assert tuple(BASES) == share_purposes.GROUNDS
    for key in share_purposes.GROUNDS:
        assert set(share_purposes.GROUND_LABELS[key]) == {"ja", "en"}
        assert all(share_purposes.GROUND_LABELS[key].values())


def test_a_code_is_taken_without_surrounding_blanks():
    assert share_purposes.checked_form("  ground:art10-3-1 ") == "ground:art10-3-1"


# refused


def test_a_purpose_the_camera_has_not_registered_is_refused_naming_what_it_has():
    error = refusal("purpose:staffing", camera("safety", "crime_prevention"))
    assert "not a registered purpose of this camera" in str(error)
    assert "crime_prevention, safety" in str(error)
    assert error.details["registered"] == ["crime_prevention", "safety"]
    assert error.details["allowed"][:2] == ["purpose:crime_prevention", "purpose:safety"]
    assert "ground:art10-3-1" in error.details["allowed"]


def test_a_camera_without_registered_purposes_says_an_owner_registers_them_first():
    error = refusal("purpose:crime_prevention", camera())
    assert "no registered purpose" in str(error)
    assert "owner registers" in str(error)
    assert error.details["registered"] == []
    assert error.details["allowed"] == [f"ground:{key}" for key in BASES]


@pytest.mark.parametrize(
    "code",
    ["ground:art10-3-9", "ground:", "purpose:marketing", "purpose:", "police report", "request", "GROUND:art10-3-1"],
)
def test_an_unknown_ground_code_or_free_text_is_refused(code):
    error = refusal(code, camera("safety"))
    assert "ground" in str(error)


def test_a_request_answer_through_the_public_path_is_refused_pointing_at_the_answer_route():
    error = refusal("request:req_abc", camera("safety"))
    assert "POST /v1/requests/{request_id}/answer" in str(error)


@pytest.mark.parametrize(
    "value",
    ["", "   ", None, 42, "ground:" + "x" * share_purposes.MAX_CODE_CHARS, "ground:art10-3-1\nx", "purpose:\x07safety"],
    ids=["empty", "blank", "null", "number", "too-long", "line-break", "control-char"],
)
def test_a_purpose_that_is_no_one_line_code_is_refused_naming_purpose(value: Any):
    with pytest.raises(ValidationError) as refused:
        share_purposes.checked_form(value)
    assert refused.value.details["field"] == "purpose"


@pytest.mark.parametrize(
    "value",
    ["x" * (share_purposes.MAX_NOTE_CHARS + 1), "one\ntwo", "tab\there", "a\u2028b"],
    ids=["too-long", "line-break", "tab", "line-separator"],
)
def test_a_note_over_200_characters_or_on_more_than_one_line_is_refused_naming_purpose_note(value):
    with pytest.raises(ValidationError) as refused:
        share_purposes.checked_note(value)
    assert refused.value.details["field"] == "purpose_note"


def test_a_note_is_optional_and_trimmed():
    assert share_purposes.checked_note(None) is None
    assert share_purposes.checked_note("  ") is None
    assert share_purposes.checked_note(" claim 7 ") == "claim 7"
    assert share_purposes.checked_note("x" * share_purposes.MAX_NOTE_CHARS) == "x" * share_purposes.MAX_NOTE_CHARS


def test_a_request_code_is_made_only_of_a_request_id():
    assert share_purposes.request_code("req_0123abc") == "request:req_0123abc"
    for bad in ("", "req 1", "req:1", "x" * 65):
        with pytest.raises(ValueError, match="not a request id"):
            share_purposes.request_code(bad)


# in words


def test_every_kind_is_described_in_japanese_and_english():
    described = {
        REGISTERED: share_purposes.describe("purpose:crime_prevention", camera("crime_prevention")),
        GROUND: share_purposes.describe("ground:art10-3-1", None),
        REQUEST: share_purposes.describe("request:req_7", None),
    }
    assert {kind: d.kind for kind, d in described.items()} == {kind: kind for kind in described}
    assert described[REGISTERED].labels() == {
        "ja": "登録された利用目的: 防犯",
        "en": "Registered purpose: Crime prevention",
    }
    assert described[GROUND].label("en") == "Statutory ground: Required by law (APPI Art. 27-1-1)"
    assert described[GROUND].label("ja").startswith("法令上の根拠: 法令に基づく場合")
    assert described[REQUEST].labels() == {
        "ja": "本人からの請求への回答: 受付番号 req_7",
        "en": "Answer to a request from the person filmed: ref. req_7",
    }


def test_other_is_named_by_the_cameras_own_text_and_plainly_once_that_is_gone():
    assert share_purposes.describe("purpose:other", camera("other", other_text="deliveries")).label("en") == (
        "Registered purpose: deliveries"
    )
    assert share_purposes.describe("purpose:other", None).label("en") == "Registered purpose: Other"


@pytest.mark.parametrize(
    "stored", ["insurance claim", "purpose:marketing", "ground:art99", "request:", "<b>police</b>", "a: b"]
)
def test_a_link_from_before_the_codes_is_described_as_its_free_text_and_never_refused(stored):
    described = share_purposes.describe(stored, camera("safety"))
    assert described.kind == LEGACY
    assert described.labels() == {
        "ja": f"自由記述の目的 (以前の形式): {stored}",
        "en": f"Free-text purpose (from before): {stored}",
    }
