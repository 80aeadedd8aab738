"""Data access for backup exports: the export item, the request queue and the streaming multipart upload."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from pynamodb.exceptions import PynamoDBException, UpdateError
from pynamodb.transactions import TransactWrite

from doti.entities import Export
from doti.errors import NotFound, StorageError
from doti.store.conditions import is_condition_failure
from doti.store.mapping import to_entity, to_item
from doti.store.models import ExportModel

QUEUED, BUILDING, READY, FAILED = "queued", "building", "ready", "failed"
RETRYABLE_ERROR = StorageError.code  # an export that failed on storage is rebuilt when its message comes back


def _export(item: ExportModel) -> Export:
    return to_entity(Export, item)


def add_new_export(transaction: TransactWrite, export: Export) -> None:
    """Store a new export, in the transaction of its "export.requested" entry."""
    item = to_item(ExportModel, export)
    transaction.save(item, condition=ExportModel.export_id.does_not_exist())


def get_export(export_id: str) -> Export:
    try:
        return _export(ExportModel.get(export_id, consistent_read=True))
    except ExportModel.DoesNotExist as exc:
        raise NotFound("export not found") from exc
    except PynamoDBException as exc:
        raise StorageError("could not read the export") from exc


@dataclass(frozen=True)
class ListPosition:
    """Where a listing of a contract's exports stopped: the last export it returned (by_contract's keys)."""

    created_at: datetime
    export_id: str


def exports_of_contract(contract_id: str, *, after: ListPosition | None, page_size: int) -> Iterator[Export]:
    """The contract's exports newest first (its by_contract index), from just after `after`; read `page_size` at a
    time, as far as the caller iterates."""
    start = (
        None
        if after is None
        else {
            "contract_id": {"S": contract_id},
            "created_at": {"S": ExportModel.created_at.serialize(after.created_at)},
            "export_id": {"S": after.export_id},
        }
    )
    try:
        query = ExportModel.by_contract.query(
            contract_id, scan_index_forward=False, page_size=page_size, last_evaluated_key=start
        )
        for item in query:
            yield _export(item)
    except PynamoDBException as exc:
        raise StorageError("could not list the exports") from exc


def _update(export_id: str, actions: list[Any], condition: Any) -> bool:
    """Apply `actions` if `condition` holds; False when it does not."""
    try:
        ExportModel(export_id=export_id).update(actions=actions, condition=ExportModel.export_id.exists() & condition)
    except UpdateError as exc:
        if is_condition_failure(exc):
            return False
        raise StorageError("could not update the export") from exc
    return True


def _held_by(token: str) -> Any:
    return (ExportModel.status == BUILDING) & (ExportModel.claim_token == token)


def holder(export_id: str) -> str | None:
    """The claim token of the run building the export; None unless it is building."""
    try:
        item = ExportModel.get(export_id, consistent_read=True)
    except ExportModel.DoesNotExist as exc:
        raise NotFound("export not found") from exc
    except PynamoDBException as exc:
        raise StorageError("could not read the export") from exc
    return item.claim_token if item.status == BUILDING else None


def start_building(export_id: str, token: str, now: datetime, *, stale_after: timedelta) -> bool:
    """Claim an export for building under `token`: queued, failed on storage, or claimed more than `stale_after` ago
    by a run that must have stopped since (no run outlives the exporter's timeout). An export a run claimed more
    recently is still being built: a duplicate delivery of its message must not build it a second time alongside.

    The claim knows itself: when the write's answer is lost, or botocore's resend of the applied write fails its
    own condition (the export is building now, and not stale), the export read back under our token is ours."""
    buildable = (
        (ExportModel.status == QUEUED)
        | ((ExportModel.status == BUILDING) & (ExportModel.updated_at < now - stale_after))
        | ((ExportModel.status == FAILED) & (ExportModel.error_code == RETRYABLE_ERROR))
    )
    actions = [
        ExportModel.status.set(BUILDING),
        ExportModel.claim_token.set(token),
        ExportModel.updated_at.set(now),
        ExportModel.error_code.remove(),
        ExportModel.error_message.remove(),
    ]
    try:
        ExportModel(export_id=export_id).update(actions=actions, condition=ExportModel.export_id.exists() & buildable)
    except UpdateError as exc:
        if holder(export_id) == token:
            return True
        if is_condition_failure(exc):
            return False
        raise StorageError("could not claim the export") from exc
    return True


def release(export_id: str, token: str, now: datetime) -> bool:
    """Give a claim up after a failure that a later run may not meet: the export is queued again, for the message's
    next delivery. False when the claim was no longer ours."""
    actions = [ExportModel.status.set(QUEUED), ExportModel.claim_token.remove(), ExportModel.updated_at.set(now)]
    return _update(export_id, actions, _held_by(token))


def add_ready(
    transaction: TransactWrite,
    export_id: str,
    token: str,
    *,
    object_key: str,
    size: int,
    frames: int,
    sha256: str,
    now: datetime,
) -> None:
    """Mark the export ready, in the transaction of its "export.ready" entry, if the claim is still `token`'s."""
    actions = [
        ExportModel.status.set(READY),
        ExportModel.object_key.set(object_key),
        ExportModel.size.set(size),
        ExportModel.frames.set(frames),
        ExportModel.sha256.set(sha256),
        ExportModel.updated_at.set(now),
        ExportModel.claim_token.remove(),
    ]
    transaction.update(ExportModel(export_id=export_id), actions=actions, condition=_held_by(token))


def add_failed(
    transaction: TransactWrite, export_id: str, *, held_by: str, code: str, message: str, now: datetime
) -> None:
    """Mark the export failed, in the transaction of its "export.failed" entry, if the claim is still `held_by`'s."""
    actions = [
        ExportModel.status.set(FAILED),
        ExportModel.error_code.set(code),
        ExportModel.error_message.set(message),
        ExportModel.updated_at.set(now),
        ExportModel.claim_token.remove(),
    ]
    transaction.update(ExportModel(export_id=export_id), actions=actions, condition=_held_by(held_by))


def send_request(sqs: Any, queue_url: str, export_id: str) -> None:
    try:
        sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps({"export_id": export_id}))
    except (ClientError, BotoCoreError) as exc:
        raise StorageError("could not queue the export") from exc


# objects


def read_chunks(s3: Any, bucket: str, key: str, chunk_size: int) -> Iterator[bytes] | None:
    """The object's bytes, `chunk_size` at a time, never the whole object at once; None when it is gone."""
    try:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"]
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in {"NoSuchKey", "404"}:
            return None
        raise StorageError("could not read a frame") from exc
    except BotoCoreError as exc:
        raise StorageError("could not read a frame") from exc
    return _chunks(body, chunk_size)


def _chunks(body: Any, chunk_size: int) -> Iterator[bytes]:
    try:
        yield from body.iter_chunks(chunk_size)
    except (ClientError, BotoCoreError) as exc:
        raise StorageError("could not read a frame") from exc
    finally:
        body.close()


class MultipartUpload:
    """A write-only, non-seekable file that streams into an S3 multipart upload.

    Bytes collect in one buffer; each time it holds `part_size` bytes (S3 wants at least 5 MiB for every part but
    the last) it goes up as the next part and is dropped, so at most about one part is ever held. `zipfile` writes
    to it like any stream (it asks only for write and tell, and writes data descriptors when it cannot seek).
    """

    def __init__(self, s3: Any, bucket: str, key: str, *, part_size: int, content_type: str, disposition: str):
        self._s3, self._bucket, self._key, self._part_size = s3, bucket, key, part_size
        try:
            created = s3.create_multipart_upload(
                Bucket=bucket, Key=key, ContentType=content_type, ContentDisposition=disposition
            )
        except (ClientError, BotoCoreError) as exc:
            raise StorageError("could not start the export upload") from exc
        self._upload_id: str = created["UploadId"]
        self._buffer = bytearray()
        self._parts: list[dict[str, Any]] = []
        self._position = 0
        self._sha256 = hashlib.sha256()

    @property
    def size(self) -> int:
        return self._position

    @property
    def sha256(self) -> str:
        return self._sha256.hexdigest()

    def write(self, data: bytes) -> int:
        self._buffer += data
        self._position += len(data)
        self._sha256.update(data)
        if len(self._buffer) >= self._part_size:
            self._send_part()
        return len(data)

    def tell(self) -> int:
        return self._position

    def flush(self) -> None:
        """Parts go up when full, not on flush: a part below 5 MiB would be refused unless it is the last."""

    def _send_part(self) -> None:
        number = len(self._parts) + 1
        part, self._buffer = self._buffer, bytearray()
        try:
            sent = self._s3.upload_part(
                Bucket=self._bucket, Key=self._key, UploadId=self._upload_id, PartNumber=number, Body=part
            )
        except (ClientError, BotoCoreError) as exc:
            raise StorageError("could not upload a part of the export") from exc
        self._parts.append({"ETag": sent["ETag"], "PartNumber": number})

    def complete(self) -> None:
        if self._buffer or not self._parts:
            self._send_part()  # the last part may be small
        try:
            self._s3.complete_multipart_upload(
                Bucket=self._bucket, Key=self._key, UploadId=self._upload_id, MultipartUpload={"Parts": self._parts}
            )
        except (ClientError, BotoCoreError) as exc:
            raise StorageError("could not complete the export upload") from exc

    def abort(self) -> None:
        """Drop the parts sent so far; the bucket's abort-stale-multipart rule is the floor if this fails too."""
        self._buffer = bytearray()
        try:
            self._s3.abort_multipart_upload(Bucket=self._bucket, Key=self._key, UploadId=self._upload_id)
        except (ClientError, BotoCoreError):
            return
