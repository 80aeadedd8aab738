"""The frames bucket, as the domain holds it (`Storage`, built by doti.runtime), and whole-object reads and
uploads with SDK errors turned into doti errors."""

from __future__ import annotations

from dataclasses import dataclass
from typing import IO, Any

from botocore.exceptions import BotoCoreError, ClientError

from doti.errors import StorageError
from doti.store.signing import RenderLinks


@dataclass(frozen=True)
class Storage:
    s3: Any
    bucket: str
    # The renderer's links, for stills without a stored thumbnail (doti.viewing.frames.sign_frame); None in a
    # function that hands out no thumbnails (THUMBNAILS_URL unset).
    render_links: RenderLinks | None = None


def read_object(storage: Storage, key: str, *, what: str) -> bytes | None:
    """The object's bytes, or None when there is no such object."""
    try:
        return storage.s3.get_object(Bucket=storage.bucket, Key=key)["Body"].read()
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in {"NoSuchKey", "404"}:
            return None
        raise StorageError(f"could not read {what}") from exc
    except BotoCoreError as exc:
        raise StorageError(f"could not read {what}") from exc


def upload_file(
    storage: Storage,
    key: str,
    body: IO[bytes],
    *,
    content_type: str,
    disposition: str,
    metadata: dict[str, str],
    what: str,
) -> None:
    """Upload a file object (in parts when large: boto3's managed transfer, on our botocore client)."""
    # boto3 is imported here, not at the top: no other path needs it, and it costs a cold start about 60 ms.
    from boto3.exceptions import S3UploadFailedError
    from boto3.s3.inject import upload_fileobj

    try:
        upload_fileobj(
            storage.s3,
            body,
            storage.bucket,
            key,
            ExtraArgs={"ContentType": content_type, "ContentDisposition": disposition, "Metadata": metadata},
        )
    except (ClientError, BotoCoreError, S3UploadFailedError) as exc:
        raise StorageError(f"could not store {what}") from exc
