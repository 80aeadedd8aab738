"""Presigned S3 GET URLs: the only way a customer's browser reaches an image (the bucket is private)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from doti.errors import StorageError


@dataclass(frozen=True)
class SignedUrl:
    url: str
    expires_at: datetime


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
    try:
        url = s3.generate_presigned_url(
            "get_object",
            Params={
                "Bucket": bucket,
                "Key": key,
                "ResponseContentType": content_type,
                "ResponseContentDisposition": f'{disposition}; filename="{filename}"',
            },
            ExpiresIn=ttl_seconds,
        )
    except (ClientError, BotoCoreError) as exc:
        raise StorageError("could not sign the URL") from exc
    return SignedUrl(url=url, expires_at=now + timedelta(seconds=ttl_seconds))
