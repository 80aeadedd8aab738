"""What a customer login id is (SPEC §2, Art. 7-11: one id per person): the one definition, used at every entrance.

An id is taken as typed, then NFKC-normalised (full-width and other compatibility forms become their plain letters),
case-folded and stripped of surrounding white space; what remains must be 3 to 128 characters of ASCII
`a-z 0-9 . _ @ + -`. So a full-width `ABC@ex` (U+FF21…) and `abc@ex` are one id, and lookalikes from other scripts
(a Cyrillic o, U+043E), zero-width and bidi characters, control characters, inner spaces, `/` and `%` are no id at all:
nobody can hold an id that reads like someone else's, and audit entries name ids that print as what they are.

Staff user creation and the staff user routes, the owner routes, the invitation page and login all go through here.
Login alone does not refuse an invalid id: it treats it as an id nobody has (doti.auth.customer), so the answer and
the work done are those of an unknown id.
"""

from __future__ import annotations

import re
import unicodedata

from doti.errors import ValidationError

MIN_CHARS = 3
MAX_CHARS = 128
ALPHABET = "a-z 0-9 . _ @ + -"
_ALLOWED = re.compile(rf"[a-z0-9._@+\-]{{{MIN_CHARS},{MAX_CHARS}}}")
# NFKC can turn one character into many (U+FDFA into 18): longer input cannot normalise to a valid id, and refusing
# it before normalising bounds the work any request can ask for.
_MAX_INPUT_CHARS = 4 * MAX_CHARS
_INVALID = f"login_id must be {MIN_CHARS} to {MAX_CHARS} characters of {ALPHABET} (letters are not case-sensitive)"


def fold(text: str) -> str:
    """NFKC, then case-folded: how ids are compared, also with text that should not contain one (a password)."""
    return unicodedata.normalize("NFKC", text).casefold()


def canonical(typed: str) -> str:
    """The id as stored and compared: folded and stripped. Not yet checked: see `parse` and `is_valid`."""
    return fold(typed[:_MAX_INPUT_CHARS]).strip()


def is_valid(key: str) -> bool:
    """Whether a canonical id (the result of `canonical`) is a login id anybody may hold."""
    return _ALLOWED.fullmatch(key) is not None


def parse(typed: str) -> str:
    """The canonical id of what was typed; 422 `validation_error` (field `login_id`) when it is not a login id."""
    key = canonical(typed)
    if len(typed) > _MAX_INPUT_CHARS or not is_valid(key):
        raise ValidationError(_INVALID, field="login_id")
    return key
