"""Standard Webhooks signatures (https://www.standardwebhooks.com, spec 1.0.0, symmetric scheme `v1`).

A receiver can check our requests with any Standard Webhooks library: the signed content is
`{webhook-id}.{webhook-timestamp}.{body}`, the key is the base64 part of the `whsec_` secret, and
`webhook-signature` lists `v1,<base64 HMAC-SHA256>` once per secret, space-separated, so that during a rotation's
overlap window both the old and the new secret verify.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
from collections.abc import Mapping, Sequence

from doti.errors import Unauthorized

SECRET_PREFIX = "whsec_"  # noqa: S105 - the format's marker, not a secret
SECRET_BYTES = 32
# The spec's bounds for a symmetric secret: at least 24 random bytes, at most 64 (512 bits).
MIN_SECRET_BYTES, MAX_SECRET_BYTES = 24, 64
VERSION = "v1"
TOLERANCE_SECONDS = 300

ID_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER = "webhook-id", "webhook-timestamp", "webhook-signature"

# The spec asks that neither id nor timestamp can hold a "." (the separator of the signed content): ids are ours,
# timestamps are digits, and both are checked so that a caller's mistake cannot make two messages sign alike.
_MESSAGE_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")
_TIMESTAMP = re.compile(r"[0-9]{1,12}")


def new_secret() -> str:
    """A fresh endpoint secret as Standard Webhooks writes it: `whsec_` + base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def sign(secret: str, msg_id: str, timestamp: int, payload: bytes) -> str:
    """One `v1,<base64>` signature of `payload` sent as message `msg_id` at `timestamp` (Unix seconds)."""
    if not _MESSAGE_ID.fullmatch(msg_id):
        raise ValueError("a webhook message id is 1-128 letters, digits, '_' or '-'")
    if isinstance(timestamp, bool) or not isinstance(timestamp, int) or timestamp < 0:
        raise ValueError("a webhook timestamp is a non-negative whole number of Unix seconds")
    return f"{VERSION},{_mac(_key(secret), msg_id, str(timestamp), payload)}"


def headers(secrets_in_use: Sequence[str], msg_id: str, timestamp: int, payload: bytes) -> dict[str, str]:
    """The three Standard Webhooks headers, signed with every secret in use (the new one first while rotating)."""
    if not secrets_in_use:
        raise ValueError("a webhook is signed with at least one secret")
    signatures = " ".join(sign(secret, msg_id, timestamp, payload) for secret in secrets_in_use)
    return {ID_HEADER: msg_id, TIMESTAMP_HEADER: str(timestamp), SIGNATURE_HEADER: signatures}


def verify(
    secret: str, received: Mapping[str, str], payload: bytes, now: float, tolerance: int = TOLERANCE_SECONDS
) -> None:
    """Check a received webhook as a receiver would; raises `Unauthorized` saying why it is refused.

    Header names are matched without regard to case (HTTP's rule); any one `v1` signature that matches is enough,
    and signatures of other schemes (`v1a`, …) are skipped, as the spec lets a sender add them.
    """
    by_name = {name.lower(): value for name, value in received.items()}
    msg_id, timestamp = by_name.get(ID_HEADER), by_name.get(TIMESTAMP_HEADER)
    listed = by_name.get(SIGNATURE_HEADER)
    if not (msg_id and timestamp and listed):
        raise Unauthorized("a webhook needs webhook-id, webhook-timestamp and webhook-signature")
    if not _TIMESTAMP.fullmatch(timestamp):
        raise Unauthorized("webhook-timestamp is not a whole number of Unix seconds")
    if abs(now - int(timestamp)) > tolerance:
        # Outside the window a captured request could be replayed at will; inside it, webhook-id deduplicates.
        raise Unauthorized("webhook-timestamp is too far from now", tolerance_seconds=tolerance)
    expected = base64.b64decode(_mac(_key(secret), msg_id, timestamp, payload))
    for signature in listed.split():
        version, _, encoded = signature.partition(",")
        if version == VERSION and hmac.compare_digest(expected, _decoded(encoded)):
            return
    raise Unauthorized("no webhook-signature matches")


def _key(secret: str) -> bytes:
    encoded = secret.removeprefix(SECRET_PREFIX)
    try:
        key = base64.b64decode(encoded, validate=True)
    except binascii.Error as exc:
        raise ValueError("a webhook secret is whsec_ followed by base64") from exc
    if not MIN_SECRET_BYTES <= len(key) <= MAX_SECRET_BYTES:
        raise ValueError(f"a webhook secret holds {MIN_SECRET_BYTES} to {MAX_SECRET_BYTES} bytes")
    return key


def _mac(key: bytes, msg_id: str, timestamp: str, payload: bytes) -> str:
    signed = f"{msg_id}.{timestamp}.".encode() + payload
    return base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode("ascii")


def _decoded(encoded: str) -> bytes:
    # A signature that is not base64 cannot match; it is compared as no bytes rather than refused, so that one
    # malformed entry does not hide a good one later in the list.
    try:
        return base64.b64decode(encoded, validate=True)
    except binascii.Error:
        return b""
