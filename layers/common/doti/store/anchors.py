"""Data access for the audit digests: objects under digests/ in the Object Lock bucket (doti.oversight.anchor).

The bucket is versioned (Object Lock requires it) and locks every version in COMPLIANCE mode for the stack's
AuditAnchorRetentionDays. A PUT never replaces a locked version, it adds one, and a DELETE without a version only adds
a delete marker: so digests are listed by version, and a key with more than one version or a delete marker is
reported by the caller rather than hidden.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from doti.errors import StorageError

PREFIX = "digests/"
# S3's answers to a conditional PUT whose key exists (412), or that raced another one on the same key (409).
_KEY_TAKEN = {"PreconditionFailed", "ConditionalRequestConflict"}


@dataclass(frozen=True)
class DigestVersion:
    key: str
    version_id: str
    delete_marker: bool


class DigestStore:
    def __init__(self, s3: Any, bucket: str):
        self._s3 = s3
        self._bucket = bucket

    def versions(self) -> list[DigestVersion]:
        """Every version and delete marker under digests/, by key; a key's versions oldest first. S3 lists a key's
        versions newest first, and that order is the one to trust: LastModified has only second resolution."""
        objects: list[DigestVersion] = []
        markers: list[DigestVersion] = []
        try:
            for page in self._s3.get_paginator("list_object_versions").paginate(Bucket=self._bucket, Prefix=PREFIX):
                objects.extend(DigestVersion(v["Key"], v["VersionId"], False) for v in page.get("Versions", []))
                markers.extend(DigestVersion(m["Key"], m["VersionId"], True) for m in page.get("DeleteMarkers", []))
        except (BotoCoreError, ClientError) as exc:
            raise StorageError("could not list the audit digests") from exc
        by_key: dict[str, list[DigestVersion]] = {}
        for version in objects:
            by_key.setdefault(version.key, []).insert(0, version)
        return [v for versions in by_key.values() for v in versions] + markers

    def read(self, version: DigestVersion) -> bytes:
        try:
            answer = self._s3.get_object(Bucket=self._bucket, Key=version.key, VersionId=version.version_id)
            return answer["Body"].read()
        except (BotoCoreError, ClientError) as exc:
            raise StorageError(f"could not read the audit digest {version.key}") from exc

    def put_new(self, key: str, body: bytes) -> bool:
        """Write `body` at `key` unless the key exists (If-None-Match: *), so two runs cannot both write digest n;
        False when another did. The SHA-256 checksum is what S3 requires of a PUT into a locked bucket."""
        try:
            self._s3.put_object(
                Bucket=self._bucket,
                Key=key,
                Body=body,
                ContentType="application/json",
                ChecksumAlgorithm="SHA256",
                IfNoneMatch="*",
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _KEY_TAKEN:
                return False
            raise StorageError(f"could not write the audit digest {key}") from exc
        except BotoCoreError as exc:
            raise StorageError(f"could not write the audit digest {key}") from exc
        return True
