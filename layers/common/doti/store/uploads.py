"""Data access for large uploads: the presigned POST into incoming/ and the incoming objects the processor reads."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from doti.errors import StorageError

_MISSING = frozenset({"NoSuchKey", "404", "NotFound"})


@dataclass(frozen=True)
class PresignedPost:
    url: str
    fields: dict[str, str]


@dataclass(frozen=True)
class IncomingObject:
    key: str
    body: bytes
    content_type: str
    metadata: dict[str, str]  # x-amz-meta-* without the prefix, names in lower case (as S3 returns them)


def presign_post(
    s3: Any, bucket: str, key: str, *, fields: dict[str, str], max_bytes: int, ttl_seconds: int
) -> PresignedPost:
    """A SigV4 POST policy for exactly `key`: every field in `fields` must be sent with exactly its value, and the
    body must be 1 to `max_bytes` bytes. S3 enforces the policy; the signature carries the caller's role."""
    conditions: list[Any] = [{name: value} for name, value in fields.items()]
    conditions.append(["content-length-range", 1, max_bytes])
    try:
        post = s3.generate_presigned_post(bucket, key, Fields=fields, Conditions=conditions, ExpiresIn=ttl_seconds)
    except (ClientError, BotoCoreError) as exc:
        raise StorageError("could not sign the upload") from exc
    return PresignedPost(url=post["url"], fields=post["fields"])


def read_incoming(s3: Any, bucket: str, key: str) -> IncomingObject | None:
    """The uploaded object with its content type and metadata; None when it is gone (an earlier delivery of the
    same notification processed and deleted it, or the incoming/ lifecycle rule expired it).

    Only a 404 means gone. S3 answers a missing key with 403 AccessDenied to a caller without s3:ListBucket (the
    function has it, on incoming/), and a 403 may as well be a real denial: taking it for gone would acknowledge an
    upload never stored, so it raises StorageError and the message is retried.
    """
    try:
        response = s3.get_object(Bucket=bucket, Key=key)
        body = response["Body"].read()
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in _MISSING:
            return None
        raise StorageError("could not read the uploaded object") from exc
    except BotoCoreError as exc:
        raise StorageError("could not read the uploaded object") from exc
    metadata = {name.lower(): value for name, value in (response.get("Metadata") or {}).items()}
    return IncomingObject(key=key, body=body, content_type=response.get("ContentType") or "", metadata=metadata)


def delete_incoming(s3: Any, bucket: str, key: str) -> None:
    try:
        s3.delete_object(Bucket=bucket, Key=key)
    except (ClientError, BotoCoreError) as exc:
        raise StorageError("could not delete the uploaded object") from exc
