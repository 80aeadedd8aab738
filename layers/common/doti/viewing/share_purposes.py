"""What a share link may be for (Art. 2-4, issue 15 point 6): one place for the codes, their checks and their words.

Footage of people goes to whoever holds a link, so a link must say why in terms the customer has already committed
to, not in free text. A share's purpose is a code, stored as the share's `purpose`:

- ``purpose:<code>``: one of the camera's registered purposes (doti.contracts.purposes); `other` is named by the
  camera's own text for it;
- ``ground:<key>``: a statutory ground on which personal data may go to a third party without the person's consent
  (APPI Art. 27-1, and 27-5-2 for a business's succession). The keys are the Art. 10-3 bases of
  doti.oversight.disclosures, whose five grounds mirror these, so a ground means the same thing in a staff disclosure
  and in a customer's link; the words differ because a customer's link is the customer's own act under the Act,
  not the service's under the terms;
- ``request:<request_id>``: the answer to a data-subject request. Only answering the request makes such a link
  (`POST /v1/requests/{id}/answer`), never the public `POST /v1/shares`.

An optional one-line note says more ("insurance claim for the 1 Dec accident"). Links stored before the codes hold
free text: they keep working and are described as a free-text purpose from before, never refused or crashed on.

Everything here is pure (no AWS call, no clock), so every rule is tested without moto; doti.viewing.shares applies them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from doti.contracts import purposes
from doti.contracts.purposes import one_line
from doti.entities import Camera
from doti.errors import ValidationError
from doti.oversight.disclosures import BASES

REGISTERED, GROUND, REQUEST, LEGACY = "purpose", "ground", "request", "legacy"
_SEPARATOR = ":"
MAX_NOTE_CHARS = 200
MAX_CODE_CHARS = 100  # the longest code: "request:" and a request id
_REQUEST_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
ANSWER_ROUTE = "POST /v1/requests/{request_id}/answer"

# Each kind in words, as the share page, the link list and the access log name it.
KIND_LABELS = MappingProxyType(
    {
        REGISTERED: MappingProxyType({"ja": "登録された利用目的", "en": "Registered purpose"}),
        GROUND: MappingProxyType({"ja": "法令上の根拠", "en": "Statutory ground"}),
        REQUEST: MappingProxyType({"ja": "本人からの請求への回答", "en": "Answer to a request from the person filmed"}),
        LEGACY: MappingProxyType({"ja": "自由記述の目的 (以前の形式)", "en": "Free-text purpose (from before)"}),
    }
)

# The grounds in words, by the keys of doti.oversight.disclosures.BASES.
GROUND_LABELS = MappingProxyType(
    {
        "art10-3-1": MappingProxyType(
            {"ja": "法令に基づく場合 (個人情報保護法第27条第1項第1号)", "en": "Required by law (APPI Art. 27-1-1)"}
        ),
        "art10-3-2": MappingProxyType(
            {
                "ja": "人の生命、身体または財産の保護のために必要な場合 (同第2号)",
                "en": "Protection of a person's life, body or property (APPI Art. 27-1-2)",
            }
        ),
        "art10-3-3": MappingProxyType(
            {
                "ja": "公衆衛生の向上または児童の健全な育成のために特に必要な場合 (同第3号)",
                "en": "Public health or the sound upbringing of children (APPI Art. 27-1-3)",
            }
        ),
        "art10-3-4": MappingProxyType(
            {
                "ja": "国の機関等が法令の定める事務を遂行することに協力する場合 (同第4号)",
                "en": "Cooperation with a public body carrying out duties prescribed by law (APPI Art. 27-1-4)",
            }
        ),
        "art10-3-5": MappingProxyType(
            {
                "ja": "合併その他の事由による事業の承継に伴う場合 (同法第27条第5項第2号)",
                "en": "Succession of the business by a merger or otherwise (APPI Art. 27-5-2)",
            }
        ),
    }
)
# One list of grounds: the keys of BASES (a test holds every one worded here).
GROUNDS: tuple[str, ...] = tuple(BASES)


def registered_code(code: str) -> str:
    return f"{REGISTERED}{_SEPARATOR}{code}"


def ground_code(key: str) -> str:
    return f"{GROUND}{_SEPARATOR}{key}"


def request_code(request_id: str) -> str:
    """The purpose of a link answering data-subject request `request_id` (a ValueError for an id no request has)."""
    if not _REQUEST_ID.fullmatch(request_id):
        raise ValueError("not a request id")
    return f"{REQUEST}{_SEPARATOR}{request_id}"


@dataclass(frozen=True)
class SharePurpose:
    """A share's purpose as people read it: its kind, and what it is within that kind, in Japanese and English."""

    code: str  # as stored
    kind: str  # REGISTERED, GROUND, REQUEST or LEGACY
    what: Mapping[str, str]  # {"ja", "en"}: the purpose, the ground, the request's reference or the old text

    def label(self, lang: str) -> str:
        """The purpose in `lang` ("ja" or "en"), its kind first: 'Registered purpose: Crime prevention'."""
        return f"{KIND_LABELS[self.kind][lang]}: {self.what[lang]}"

    def labels(self) -> dict[str, str]:
        return {lang: self.label(lang) for lang in ("ja", "en")}


def _split(code: str) -> tuple[str, str]:
    kind, separator, value = code.partition(_SEPARATOR)
    return (kind, value) if separator else ("", code)


def _registered_label(code: str, camera: Camera | None) -> Mapping[str, str]:
    """A purpose's label; `other` is the camera's own text for it (as the notice page and the viewer name it), the
    text it has now, or plain "other" once the camera or its text is gone."""
    other_text = camera.purpose_other_text if camera is not None else None
    if code == purposes.OTHER and other_text:
        return {"ja": other_text, "en": other_text}
    return purposes.LABELS[code]


def describe(code: str, camera: Camera | None) -> SharePurpose:
    """The purpose `code` stored on a share of `camera` (None when the camera is gone), in words. Never raises: a
    stored value that is no code (a link from before the codes) is its own text, shown as such."""
    kind, value = _split(code)
    if kind == REGISTERED and value in purposes.LABELS:
        return SharePurpose(code, REGISTERED, _registered_label(value, camera))
    if kind == GROUND and value in GROUND_LABELS:
        return SharePurpose(code, GROUND, GROUND_LABELS[value])
    if kind == REQUEST and _REQUEST_ID.fullmatch(value):
        return SharePurpose(code, REQUEST, {"ja": f"受付番号 {value}", "en": f"ref. {value}"})
    return SharePurpose(code, LEGACY, {"ja": code, "en": code})


def _allowed(camera: Camera) -> list[str]:
    return [registered_code(code) for code in purposes.ordered(camera.purposes)] + [ground_code(g) for g in GROUNDS]


def _refuse(message: str, camera: Camera, **details: Any) -> ValidationError:
    return ValidationError(message, field="purpose", allowed=_allowed(camera), **details)


def checked_form(value: Any) -> str:
    """The purpose code as given, checked for shape only (a 422 naming `purpose`): one line, not too long. Whether
    the camera allows it is `chosen`'s, once the camera is known."""
    return one_line(value, "purpose", MAX_CODE_CHARS)


def chosen(code: str, camera: Camera) -> str:
    """`code` (shape checked by `checked_form`) if a customer may create a link to `camera` with it through the
    public route; otherwise a 422 naming `purpose` that says what the camera allows."""
    kind, value = _split(code)
    if kind == REGISTERED and value in (camera.purposes or ()):
        return code
    if kind == GROUND and value in GROUNDS:
        return code
    if kind == REQUEST:
        raise _refuse(
            f"a link that answers a request from the person filmed is made by answering the request "
            f"({ANSWER_ROUTE}), not here",
            camera,
        )
    if kind == REGISTERED and value in purposes.LABELS:
        registered = purposes.ordered(camera.purposes)
        if not registered:
            raise _refuse(
                "this camera has no registered purpose: an owner registers the camera's purposes first, or the link "
                "names a statutory ground (ground:<key>)",
                camera,
                registered=[],
            )
        raise _refuse(
            f"{value} is not a registered purpose of this camera; it has {', '.join(registered)}",
            camera,
            registered=list(registered),
        )
    if kind == GROUND:
        raise _refuse(f"unknown statutory ground; the grounds are {', '.join(GROUNDS)}", camera)
    raise _refuse(
        "purpose must be purpose:<code> (one of the camera's registered purposes) or ground:<key> (a statutory "
        "ground); say more in purpose_note",
        camera,
    )


def checked_note(value: Any) -> str | None:
    """The optional note: None when absent or blank, else one line of at most MAX_NOTE_CHARS (a 422 naming
    `purpose_note`)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return one_line(value, "purpose_note", MAX_NOTE_CHARS)
