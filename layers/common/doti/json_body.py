"""One reader for every JSON request body: the HTTP edge's routes and the signed device routes alike.

Python's json module reads more than RFC 8259 allows and more than anything downstream can hold: NaN and Infinity,
integers of thousands of digits (ValueError past 4300), nesting up to the recursion limit (RecursionError), and
strings with lone surrogates ("\\ud800"), which no UTF-8 encoder takes. Each is refused here as a 422, and a body
past MAX_JSON_BODY_BYTES as a 413, so no request body reaches a route or DynamoDB in a form that raises later.
"""

from __future__ import annotations

import json
from typing import Any

from doti.errors import PayloadTooLarge, ValidationError

# The largest body a route takes (a privacy mask of 64 polygons of 64 points) is a few hundred KiB at most; the
# deepest nests four levels. Past these a body costs parsing time and memory for nothing.
MAX_JSON_BODY_BYTES = 1024 * 1024
MAX_JSON_DEPTH = 32


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")  # RFC 8259 has no NaN or Infinity; Python's json reads them


def _check_parsed(value: Any) -> None:
    """Refuse nesting past MAX_JSON_DEPTH and strings with lone surrogates, naming the field where one sits (keys and
    list positions joined by dots, as the routes name fields). Walks without recursing."""
    pending: list[tuple[Any, int, str]] = [(value, 1, "")]
    while pending:  # bounded: each step takes one value of a parsed body of at most MAX_JSON_BODY_BYTES
        item, level, field = pending.pop()
        if isinstance(item, str):
            if not _encodable(item):
                raise ValidationError("the request body has text that is not Unicode", **_named(field))
            continue
        if isinstance(item, dict):
            children = []
            for key, child in item.items():
                if not _encodable(key):
                    raise ValidationError("the request body has a name that is not Unicode", **_named(field))
                children.append((child, f"{field}.{key}" if field else key))
        elif isinstance(item, list):
            children = [(child, f"{field}.{index}" if field else str(index)) for index, child in enumerate(item)]
        else:
            continue
        if children and level > MAX_JSON_DEPTH:
            raise ValidationError("the request body nests too deeply", max_depth=MAX_JSON_DEPTH)
        pending.extend((child, level + 1, name) for child, name in children)


def _named(field: str) -> dict[str, str]:
    return {"field": field} if field else {}


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def parse_json_body(raw: bytes, *, max_bytes: int = MAX_JSON_BODY_BYTES) -> Any:
    """The JSON value of a request body, or None for an empty one; 413 past `max_bytes` (MAX_JSON_BODY_BYTES but for
    a frame batch), 422 for bytes that are not UTF-8 or not JSON within CPython's limits (nesting, 4300-digit
    integers) and MAX_JSON_DEPTH."""
    if len(raw) > max_bytes:
        raise PayloadTooLarge("the request body is too large", max_bytes=max_bytes)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValidationError("the request body is not UTF-8 text") from exc
    if not text:
        return None
    try:
        data = json.loads(text, parse_constant=_no_constant)
    except (ValueError, RecursionError) as exc:  # ValueError includes JSONDecodeError and int digits past the limit
        raise ValidationError("the request body is not valid JSON") from exc
    _check_parsed(data)
    return data
