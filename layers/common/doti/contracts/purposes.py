"""The purposes a camera may be used for (Art. 2-4, issue 15): a fixed list, named in Japanese and English.

The customer handles camera images as personal information; the Camera Image Utilisation Guidebook asks them to say
why each camera records. The codes are part of the API (`PUT .../purposes`); the labels are what the public notice
page, the printed sign and the viewer show. `other` needs a short text of its own.

A registration also says what the camera covers and whether it films people at all; the rules for each field are
here (`validate`), the audited write in doti.contracts.purpose_registry.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from doti.entities import Camera
from doti.errors import ValidationError

OTHER = "other"
# In the order they are shown.
PURPOSES: tuple[str, ...] = ("crime_prevention", "store_operations", "staffing", "customer_flow", "safety", OTHER)
LABELS = MappingProxyType(
    {
        "crime_prevention": MappingProxyType({"ja": "防犯", "en": "Crime prevention"}),
        "store_operations": MappingProxyType({"ja": "店舗運営", "en": "Store operations"}),
        "staffing": MappingProxyType({"ja": "人員配置", "en": "Staffing"}),
        "customer_flow": MappingProxyType({"ja": "来店者の動線把握", "en": "Customer flow"}),
        "safety": MappingProxyType({"ja": "安全管理", "en": "Safety"}),
        OTHER: MappingProxyType({"ja": "その他", "en": "Other"}),
    }
)


def ordered(codes: frozenset[str] | set[str] | None) -> tuple[str, ...]:
    """`codes` in the order of PURPOSES (stored as a set, shown in one order everywhere)."""
    chosen = codes or frozenset()
    return tuple(code for code in PURPOSES if code in chosen)


MAX_OTHER_TEXT = 200
MAX_COVERAGE = 300
MAX_OPERATOR_NAME = 100
MAX_INQUIRY_CONTACT = 200


@dataclass(frozen=True)
class Registration:
    """A camera's registered purposes, as checked: what the camera, the audit entry and the public notice hold."""

    purposes: frozenset[str]
    other_text: str | None
    coverage: str
    people_filmed: bool

    def details(self) -> dict[str, Any]:
        """The registration as the audit entry records it (purposes in display order)."""
        return {
            "purposes": list(ordered(self.purposes)),
            "other_text": self.other_text,
            "coverage": self.coverage,
            "people_filmed": self.people_filmed,
        }


def one_line(value: Any, field: str, max_length: int) -> str:
    """`value` without surrounding blanks: a 422 naming `field` unless it is 1..max_length characters on one line.

    These texts are printed on a sign and a public page, so a line break or a control character (which could also
    break a layout or hide text) is refused, not silently joined.
    """
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(f"{field} must not be empty", field=field)
    text = value.strip()
    if len(text) > max_length:
        raise ValidationError(f"{field} must be at most {max_length} characters", field=field, length=len(text))
    for position, char in enumerate(text):
        if unicodedata.category(char) in _NOT_ON_ONE_LINE:
            raise ValidationError(
                f"{field} must be one line, without control characters",
                field=field,
                position=position,
                code_point=f"U+{ord(char):04X}",
            )
    return text


# control and surrogate characters (newline, tab, ...) and the Unicode line and paragraph separators
_NOT_ON_ONE_LINE = frozenset({"Cc", "Cs", "Zl", "Zp"})


def _codes(purposes: Any) -> frozenset[str]:
    if not isinstance(purposes, list | tuple) or not purposes:
        raise ValidationError("purposes must name at least one purpose", field="purposes", allowed=list(PURPOSES))
    unknown = [code for code in purposes if code not in PURPOSES]
    if unknown:
        raise ValidationError(
            "purposes names an unknown purpose", field="purposes", unknown=[str(c) for c in unknown],
            allowed=list(PURPOSES),
        )  # fmt: skip
    repeated = sorted({code for code in purposes if purposes.count(code) > 1})
    if repeated:
        raise ValidationError("purposes names a purpose more than once", field="purposes", repeated=repeated)
    return frozenset(purposes)


def validate(purposes: Any, other_text: Any, coverage: Any, people_filmed: Any) -> Registration:
    """A registration, or a 422 naming the field at fault.

    `other` needs its own text, and a text without `other` is refused rather than dropped: the customer meant to say
    something the notice would not show. `people_filmed` must be said explicitly, true or false.
    """
    codes = _codes(purposes)
    if OTHER in codes:
        text = one_line(other_text, "other_text", MAX_OTHER_TEXT)
    elif other_text is not None:
        raise ValidationError("other_text is given only with the purpose other", field="other_text")
    else:
        text = None
    described = one_line(coverage, "coverage", MAX_COVERAGE)
    if not isinstance(people_filmed, bool):
        raise ValidationError("people_filmed must be true or false", field="people_filmed")
    return Registration(purposes=codes, other_text=text, coverage=described, people_filmed=people_filmed)


def registration_of(camera: Camera) -> Registration | None:
    """The camera's registration, or None while it has none."""
    if not camera.purposes or camera.coverage is None or camera.people_filmed is None:
        return None
    return Registration(
        purposes=frozenset(camera.purposes),
        other_text=camera.purpose_other_text,
        coverage=camera.coverage,
        people_filmed=camera.people_filmed,
    )


def check_contract_fields(changes: Mapping[str, Any]) -> dict[str, Any]:
    """The contract's operator name and inquiry contact among `changes`, checked (None clears them)."""
    limits = {"operator_name": MAX_OPERATOR_NAME, "inquiry_contact": MAX_INQUIRY_CONTACT}
    return {
        name: None if changes[name] is None else one_line(changes[name], name, limit)
        for name, limit in limits.items()
        if name in changes
    }
