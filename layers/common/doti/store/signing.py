"""Presigned S3 GET URLs: the only way a customer's browser reaches an object (the bucket is private); and the signed
links to thumbnails rendered when viewed (`RenderLinks`), which reach a still's original through the renderer.

A listing signs two URLs per frame, up to 400 per page. botocore's generate_presigned_url runs the whole client
pipeline for every URL (parameter validation, endpoint rules, serialization, request preparation, URL re-parsing):
about 200 µs, most of a listing's CPU. A SigV4 query signature itself is one SHA-256 and one HMAC once the day's
signing key is known. So botocore resolves each (client, bucket) once, by presigning a probe URL, and `QuerySigner`
signs every URL after that as botocore's S3SigV4QueryAuth does: same URL, byte for byte. It is trusted only if it
reproduces botocore's probe URL exactly (base URL, signing region, credentials, encoding); otherwise, or without
credentials, every URL comes from botocore as before.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import threading
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qs, quote, urlencode, urlsplit

from botocore.exceptions import BotoCoreError, ClientError

from doti.errors import Forbidden, StorageError
from doti.store.aws import botocore_session

ALGORITHM = "AWS4-HMAC-SHA256"
_AMZ_DATE = "%Y%m%dT%H%M%SZ"
# Exercises what botocore encodes: a space, non-ASCII, '+', '=', '~', '/' in the key; quotes and ';' in the params.
_PROBE_KEY = "doti/probe ü+=~.jpg"
_PROBE_PARAMS = (("response-content-type", "image/jpeg"), ("response-content-disposition", 'inline; filename="ü.jpg"'))


@dataclass(frozen=True)
class SignedUrl:
    url: str
    expires_at: datetime


@lru_cache(maxsize=16)
def _signing_key(secret_key: str, date: str, region: str) -> bytes:
    """The SigV4 key of one day, region and service: four HMACs, the same for every URL signed that day."""
    key = f"AWS4{secret_key}".encode()
    for part in (date, region, "s3", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def _encode(value: str) -> str:
    return quote(value, safe="-._~")


class QuerySigner:
    """SigV4 query-string signatures for GET URLs of one bucket (AWS docs: sigv4-query-string-auth)."""

    def __init__(self, origin: str, path_prefix: str, region: str, credentials: Any) -> None:
        self._origin = origin  # "https://bucket.s3.amazonaws.com" or "http://127.0.0.1:4566"
        self._host = urlsplit(origin).netloc
        self._path_prefix = path_prefix  # "/" (virtual-hosted) or "/bucket/" (path-style)
        self._region = region
        self._credentials = credentials  # botocore credentials: refreshable ones stay fresh

    def url(self, key: str, params: tuple[tuple[str, str], ...], ttl_seconds: int, amz_date: str) -> str:
        frozen = self._credentials.get_frozen_credentials()
        access_key, secret_key, token = frozen.access_key, frozen.secret_key, frozen.token
        path = self._path_prefix + quote(key, safe="/~")
        scope = f"{amz_date[:8]}/{self._region}/s3/aws4_request"
        auth = [
            ("X-Amz-Algorithm", ALGORITHM),
            ("X-Amz-Credential", f"{access_key}/{scope}"),
            ("X-Amz-Date", amz_date),
            ("X-Amz-Expires", str(ttl_seconds)),
            ("X-Amz-SignedHeaders", "host"),
        ]
        if token is not None:
            auth.append(("X-Amz-Security-Token", token))
        encoded = [(_encode(name), _encode(value)) for name, value in (*params, *auth)]
        canonical_query = "&".join(f"{name}={value}" for name, value in sorted(encoded))
        canonical_request = f"GET\n{path}\n{canonical_query}\nhost:{self._host}\n\nhost\nUNSIGNED-PAYLOAD"
        digest = hashlib.sha256(canonical_request.encode()).hexdigest()
        string_to_sign = f"{ALGORITHM}\n{amz_date}\n{scope}\n{digest}"
        key_bytes = _signing_key(secret_key, amz_date[:8], self._region)
        signature = hmac.new(key_bytes, string_to_sign.encode(), hashlib.sha256).hexdigest()
        query = "&".join(f"{name}={value}" for name, value in encoded)
        return f"{self._origin}{path}?{query}&X-Amz-Signature={signature}"

    @classmethod
    def matching_botocore(cls, s3: Any, bucket: str, credentials: Any) -> QuerySigner | None:
        """A signer for `bucket` built from botocore's URL for a probe key, if it reproduces that URL exactly."""
        probe = _botocore_url(s3, bucket, _PROBE_KEY, _PROBE_PARAMS, 300)
        parts = urlsplit(probe)
        encoded_key = quote(_PROBE_KEY, safe="/~")
        query = parse_qs(parts.query)
        credential = query.get("X-Amz-Credential", [""])[0].split("/")
        if not parts.path.endswith(encoded_key) or len(credential) != 5 or "X-Amz-Date" not in query:
            return None
        signer = cls(f"{parts.scheme}://{parts.netloc}", parts.path[: -len(encoded_key)], credential[2], credentials)
        return signer if signer.url(_PROBE_KEY, _PROBE_PARAMS, 300, query["X-Amz-Date"][0]) == probe else None


def _botocore_url(s3: Any, bucket: str, key: str, params: tuple[tuple[str, str], ...], ttl_seconds: int) -> str:
    names = {
        "response-content-type": "ResponseContentType",
        "response-content-disposition": "ResponseContentDisposition",
    }
    return s3.generate_presigned_url(
        "get_object",
        Params={"Bucket": bucket, "Key": key, **{names[name]: value for name, value in params}},
        ExpiresIn=ttl_seconds,
    )


# Per client (a test or a new endpoint makes a new client) and bucket; None: botocore signs every URL.
_SIGNERS: weakref.WeakKeyDictionary[Any, dict[str, QuerySigner | None]] = weakref.WeakKeyDictionary()
_SIGNERS_LOCK = threading.Lock()


def _signer(s3: Any, bucket: str) -> QuerySigner | None:
    with _SIGNERS_LOCK:
        known = _SIGNERS.setdefault(s3, {})
        if bucket not in known:
            credentials = botocore_session().get_credentials()
            known[bucket] = QuerySigner.matching_botocore(s3, bucket, credentials) if credentials else None
        return known[bucket]


def presign_get(
    s3: Any,
    bucket: str,
    key: str,
    *,
    content_type: str,
    filename: str,
    ttl_seconds: int,
    now: datetime,
    disposition: str = "inline",
) -> SignedUrl:
    """A SigV4 URL valid for `ttl_seconds` that makes S3 answer with the stored content type, shown inline
    (images in the viewer) or as an `attachment` download (evidence packages)."""
    params = (
        ("response-content-type", content_type),
        ("response-content-disposition", f'{disposition}; filename="{filename}"'),
    )
    try:
        signer = _signer(s3, bucket)
        if signer is None:
            url = _botocore_url(s3, bucket, key, params, ttl_seconds)
        else:  # signed at the clock's time, as botocore does
            url = signer.url(key, params, ttl_seconds, datetime.now(UTC).strftime(_AMZ_DATE))
    except (ClientError, BotoCoreError) as exc:
        raise StorageError("could not sign the URL") from exc
    return SignedUrl(url=url, expires_at=now + timedelta(seconds=ttl_seconds))


# ---------------------------------------------------------------- links to thumbnails rendered when viewed

# The longest signed_url_ttl a contract may have (doti.contracts.terms.MAX_SIGNED_URL_TTL), and clock skew on top: a
# link claiming to live longer was not made here, and is refused before any AWS call.
RENDER_LINK_MAX_SECONDS = 3600 + 60
_RENDER_LINK_VERSION = "doti-thumbnail-link-v1"
_RENDER_KEY_PREFIX = "frames/"  # only originals: never an export, evidence package or anything else in the bucket
_RENDER_TYPES = ("image/jpeg", "image/png")
_MAX_EDGE = 100_000


@dataclass(frozen=True)
class RenderRequest:
    """What a verified thumbnail link names: the stored original, its type and size (from the frame's index item)."""

    key: str
    content_type: str
    width: int
    height: int
    expires_at: datetime


class RenderLinks:
    """Links to the thumbnail renderer (doti.viewing.renders), signed with HMAC-SHA256 under a key of the day.

    The day's key is KMS GenerateMac of the day under the stack's HMAC key (ThumbnailLinksKey): deterministic, so the
    functions that sign and the renderer that verifies derive the same key, and no secret is ever stored or copied.
    A link's day is that of its expiry, so a process asks KMS once per day (and key) it meets, not once per link: 60
    thumbnails of a page cost 60 local HMACs. A KMS call per link would cost $0.03 per 10,000, 60 times a page.
    """

    def __init__(self, kms: Any, key_id: str, base_url: str) -> None:
        self._kms = kms
        self._key_id = key_id
        self._base_url = base_url.rstrip("/")
        self._day_keys: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def url(self, key: str, content_type: str, width: int, height: int, expires_at: datetime) -> str:
        """The renderer's URL for the thumbnail of the original at `key`, valid until `expires_at`."""
        expires = int(expires_at.timestamp())
        signature = self._signature(key, content_type, width, height, expires)
        query = urlencode({"k": key, "t": content_type, "w": width, "h": height, "e": expires, "s": signature})
        return f"{self._base_url}/?{query}"

    def verify(self, params: Mapping[str, str], now: datetime) -> RenderRequest:
        """The request a link names, if this service signed it and it has not expired; Forbidden otherwise. A link
        that is malformed, expired or claims too long a life is refused without any AWS call."""
        try:
            key, content_type, signature = params["k"], params["t"], params["s"]
            width, height, expires = int(params["w"]), int(params["h"]), int(params["e"])
        except (KeyError, ValueError) as exc:
            raise Forbidden("the thumbnail link is not valid") from exc
        if (
            not key.startswith(_RENDER_KEY_PREFIX)
            or content_type not in _RENDER_TYPES
            or not (0 < width <= _MAX_EDGE and 0 < height <= _MAX_EDGE)
        ):
            raise Forbidden("the thumbnail link is not valid")
        seconds_left = expires - now.timestamp()
        if seconds_left <= 0:
            expired_at = datetime.fromtimestamp(expires, UTC).isoformat()
            raise Forbidden("the thumbnail link has expired", expired_at=expired_at)
        if seconds_left > RENDER_LINK_MAX_SECONDS:
            raise Forbidden("the thumbnail link is not valid")
        expected = self._signature(key, content_type, width, height, expires)
        if not hmac.compare_digest(expected.encode(), signature.encode()):
            raise Forbidden("the thumbnail link is not valid")
        return RenderRequest(key, content_type, width, height, datetime.fromtimestamp(expires, UTC))

    def _signature(self, key: str, content_type: str, width: int, height: int, expires: int) -> str:
        message = "\n".join([_RENDER_LINK_VERSION, key, content_type, str(width), str(height), str(expires)])
        day = datetime.fromtimestamp(expires, UTC).strftime("%Y-%m-%d")
        digest = hmac.new(self._day_key(day), message.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def _day_key(self, day: str) -> bytes:
        with self._lock:
            known = self._day_keys.get(day)
        if known is not None:
            return known
        try:
            mac = self._kms.generate_mac(
                KeyId=self._key_id, Message=f"{_RENDER_LINK_VERSION} {day}".encode(), MacAlgorithm="HMAC_SHA_256"
            )["Mac"]
        except (ClientError, BotoCoreError) as exc:
            raise StorageError("could not derive the thumbnail links' key") from exc
        with self._lock:
            if len(self._day_keys) >= 8:  # a warm process meets a day or two; never grows without bound
                self._day_keys.clear()
            self._day_keys[day] = mac
        return mac
