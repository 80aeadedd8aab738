"""Device request signing (SPEC §2, §12; issue 10) and the device secrets that back it.

A device signs, with HMAC-SHA256 under its secret, the lines

    METHOD
    PATH
    CANONICAL_QUERY   (empty when the request has no query)
    TIMESTAMP
    hex(SHA-256(body))

CANONICAL_QUERY is SigV4's: every query parameter as name=value, name and value percent-encoded from UTF-8 with only
RFC 3986's unreserved characters (A-Z a-z 0-9 - _ . ~) kept, sorted by encoded name then encoded value, joined by &.
The server rebuilds it from the parameters as API Gateway delivers them (multiValueQueryStringParameters, already
decoded), so how a client escaped its URL does not matter, only the parameters it sent. Before issue 10 the query was
not signed, and whoever saw a request could replay it with another query; that form is no longer accepted.

The secret is shown once at registration and stored only as KMS ciphertext bound to the device id (doti.store.secrets).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import quote

from doti.clock import format_rfc3339, parse_rfc3339
from doti.entities import Device
from doti.errors import DotiError, NotFound, SignatureExpired, Unauthorized

CLOCK_SKEW = timedelta(seconds=300)
HEADER_DEVICE = "x-doti-device"
HEADER_TIMESTAMP = "x-doti-timestamp"
HEADER_SIGNATURE = "x-doti-signature"

# Query parameters by name, as API Gateway's multiValueQueryStringParameters holds them (decoded); a client may give
# a single value as a plain string.
QueryParameters = Mapping[str, str | Sequence[str]]


def _encode(text: str) -> str:
    # safe="": only the unreserved characters quote() always keeps. surrogatepass: a lone surrogate (which a decoded
    # query can hold) still encodes, to a signature that simply does not match, never to an exception.
    return quote(text, safe="", encoding="utf-8", errors="surrogatepass")


def canonical_query(query: QueryParameters | None) -> str:
    """The query line of the string to sign: encoded name=value pairs, sorted, joined by &; "" for no query."""
    pairs = [
        (_encode(name), _encode(value))
        for name, values in (query or {}).items()
        for value in ([values] if isinstance(values, str) else values)
    ]
    return "&".join(f"{name}={value}" for name, value in sorted(pairs))


def string_to_sign(
    method: str, path: str, timestamp: str, body: bytes, *, query: QueryParameters | None = None
) -> bytes:
    lines = (method.upper(), path, canonical_query(query), timestamp, hashlib.sha256(body).hexdigest())
    return "\n".join(lines).encode()


def sign(
    secret: str, method: str, path: str, timestamp: str, body: bytes, *, query: QueryParameters | None = None
) -> str:
    """The X-Doti-Signature value; devices (and our simulated camera) compute exactly this."""
    message = string_to_sign(method, path, timestamp, body, query=query)
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signed_headers(
    device_id: str,
    secret: str,
    method: str,
    path: str,
    body: bytes,
    now: datetime,
    *,
    query: QueryParameters | None = None,
) -> dict[str, str]:
    """The three auth headers for a request, as a device sends them; `query` is the request's query parameters."""
    timestamp = format_rfc3339(now)
    return {
        "X-Doti-Device": device_id,
        "X-Doti-Timestamp": timestamp,
        "X-Doti-Signature": sign(secret, method, path, timestamp, body, query=query),
    }


def presented_signature(headers: Mapping[str, str]) -> str:
    """The request's X-Doti-Signature as it is compared (hex, lower case); headers have lower-case names."""
    return headers.get(HEADER_SIGNATURE, "").strip().lower()


def new_device_secret() -> str:
    return secrets.token_urlsafe(32)


@dataclass(frozen=True)
class SignedRequest:
    method: str
    path: str
    headers: Mapping[str, str]  # lower-case names
    body: bytes
    query: QueryParameters | None = None  # as API Gateway delivers it: multiValueQueryStringParameters


def authenticate_device(
    request: SignedRequest,
    *,
    load_device: Callable[[str], Device],
    open_secret: Callable[[Device], str],
    now: datetime,
) -> Device:
    """The device that signed this request, or Unauthorized / SignatureExpired.

    Every failure says only what the caller could have known: an unknown device and a wrong signature look alike.
    """
    missing = [h for h in (HEADER_DEVICE, HEADER_TIMESTAMP, HEADER_SIGNATURE) if not request.headers.get(h)]
    if missing:
        raise Unauthorized("missing device authentication headers", missing=missing)
    timestamp = request.headers[HEADER_TIMESTAMP]
    try:
        signed_at = parse_rfc3339(timestamp, "X-Doti-Timestamp")
    except DotiError as exc:
        raise Unauthorized("X-Doti-Timestamp is not an RFC 3339 time") from exc
    if abs(now - signed_at) > CLOCK_SKEW:
        raise SignatureExpired(
            "request timestamp is outside the allowed clock skew",
            server_time=format_rfc3339(now),
            max_skew_seconds=int(CLOCK_SKEW.total_seconds()),
        )
    try:
        device = load_device(request.headers[HEADER_DEVICE])
    except NotFound as exc:
        raise Unauthorized("invalid device credentials") from exc
    expected = sign(open_secret(device), request.method, request.path, timestamp, request.body, query=request.query)
    if not hmac.compare_digest(expected, presented_signature(request.headers)):
        raise Unauthorized("invalid device credentials")
    if device.status != "active":
        raise Unauthorized("device is revoked")
    return device
