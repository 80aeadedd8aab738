"""The forms of the public pages (a one-time share's button, the notice page's request form): posted by a browser,
same-origin, without a session.

A form from another site is refused by its Origin or Referer (browsers send them on a POST); the request form also
carries a token that must equal the SameSite=Strict cookie its page set (double submit), so a page elsewhere can
neither post it from a visitor's browser nor make it by fetching the page first on its own server without keeping
the cookie. Bodies are URL-encoded and small; only the fields a form has are read, the first of each.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Iterable, Mapping
from http.cookies import CookieError, SimpleCookie
from urllib.parse import parse_qsl, urlsplit

FORM = "application/x-www-form-urlencoded"
_DEFAULT_PORTS = {"http": 80, "https": 443}
_COOKIE = "doti_form"
_SECURE_COOKIE = "__Host-doti_form"  # on https: a cookie no subdomain or plain-http page can set


def origin_of(url: str) -> str | None:
    """scheme://host:port of a URL or an Origin header, the port always written; None when it names no origin (the
    opaque `null`, or not a URL)."""
    try:
        parts = urlsplit(url.strip())
        scheme, host = parts.scheme.lower(), parts.hostname
        port = parts.port or _DEFAULT_PORTS.get(scheme)
    except ValueError:  # a port that is not a number, or out of range
        return None
    if scheme not in _DEFAULT_PORTS or not host or port is None:
        return None
    return f"{scheme}://{host}:{port}"


def from_another_site(headers: Mapping[str, str], base_url: str) -> bool:
    """Whether the POST's Origin or Referer (lower-case header names), when the browser sent them, names an origin
    other than the public base URL's. `Origin: null` (a sandboxed frame, a page hiding its origin) is another site,
    since the public pages' referrer policy lets the browser send its real origin."""
    stated = [headers[name] for name in ("origin", "referer") if headers.get(name, "").strip()]
    if not stated:
        return False
    ours = origin_of(base_url)
    return any(origin_of(value) != ours for value in stated)


def is_form(content_type: str) -> bool:
    return content_type.split(";", 1)[0].strip().lower() == FORM


def read_form(body: bytes, fields: Iterable[str]) -> dict[str, str]:
    """The named fields of a URL-encoded body (the first value of each; absent ones are ""). Bytes that are not
    UTF-8 are replaced, so a person's text is never refused for its encoding alone."""
    wanted = set(fields)
    values: dict[str, str] = {}
    text = body.decode("utf-8", "replace")
    for name, value in parse_qsl(text, keep_blank_values=True, max_num_fields=len(wanted) * 4 + 8):
        if name in wanted and name not in values:
            values[name] = value
    return {name: values.get(name, "") for name in wanted}


def new_form_token() -> str:
    return secrets.token_urlsafe(24)


def cookie_name(base_url: str) -> str:
    return _SECURE_COOKIE if base_url.lower().startswith("https://") else _COOKIE


def form_cookie(token: str, base_url: str) -> str:
    """The Set-Cookie value that pairs a page's form with this browser: HttpOnly, SameSite=Strict, whole site."""
    secure = "; Secure" if base_url.lower().startswith("https://") else ""
    return f"{cookie_name(base_url)}={token}; Path=/; HttpOnly; SameSite=Strict{secure}"


def token_matches(headers: Mapping[str, str], token: str, base_url: str) -> bool:
    """Whether the form's token equals the cookie its page set in this browser."""
    jar = SimpleCookie()
    try:
        jar.load(headers.get("cookie", ""))
    except CookieError:
        return False
    cookie = jar.get(cookie_name(base_url))
    return bool(token) and cookie is not None and hmac.compare_digest(cookie.value.encode(), token.encode())
