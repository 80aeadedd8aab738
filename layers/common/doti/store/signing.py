"""Presigned S3 GET URLs: the only way a customer's browser reaches an image (the bucket is private).

A listing signs two URLs per frame, up to 400 per page. botocore's generate_presigned_url runs the whole client
pipeline for every URL (parameter validation, endpoint rules, serialization, request preparation, URL re-parsing):
about 200 µs, most of a listing's CPU. A SigV4 query signature itself is one SHA-256 and one HMAC once the day's
signing key is known. So botocore resolves each (client, bucket) once, by presigning a probe URL, and `QuerySigner`
signs every URL after that as botocore's S3SigV4QueryAuth does: same URL, byte for byte. It is trusted only if it
reproduces botocore's probe URL exactly (base URL, signing region, credentials, encoding); otherwise, or without
credentials, every URL comes from botocore as before.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import weakref
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from botocore.exceptions import BotoCoreError, ClientError

from doti.errors import StorageError
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
