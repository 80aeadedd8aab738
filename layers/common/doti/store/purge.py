"""Data access for purging a contract (Art. 10-5): its data found by contract, deleted in batches, and the tally.

Every listing here is keyed by the contract (a prefix, a GSI, a per-camera key range), never a scan of frame data,
and finds one batch by key (`find_*`), which is deleted by key afterwards (`delete_items`, `delete_object_versions`):
the purge records a batch in its tally before deleting it, so that a run that stops can be finished by the next.
The tally, the running totals of a purge that may take several runs, is one item in the schedule table under its own
kind (`TALLY_KIND`, due_key = contract id): the batch pending, if any (`begin_batch`), the totals it is added to
once (`commit_batch`), the certificate, and the receipt's attempt and result.

Every table is reached through its model. One small table has no key for a contract: re-mask jobs are keyed by their
own ids (one item per request, TTL'd), and are found by a filtered scan of that table alone. Exports are found through
their `by_contract` index.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterable, Iterator, Mapping
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from pynamodb.exceptions import DoesNotExist, PynamoDBException
from pynamodb.models import Model

from doti.clock import format_rfc3339
from doti.errors import Conflict, NotFound, StorageError
from doti.store import claims
from doti.store.conditions import is_condition_failure
from doti.store.models import (
    CameraModel,
    ContractModel,
    DeletionReceiptModel,
    DeviceModel,
    DisclosureModel,
    ExportModel,
    FrameModel,
    NoteModel,
    NoticeModel,
    NoticeReadModel,
    RemaskJobModel,
    ScheduledWorkModel,
    SessionModel,
    ShareModel,
    SiteModel,
    SubjectRequestModel,
    SuspensionModel,
    TimelineSlotModel,
    UsageModel,
    UserModel,
    WebhookAttemptModel,
    WebhookModel,
)

S3_DELETE_BATCH = 1000  # DeleteObjects takes at most 1000 keys; ListObjectVersions returns at most 1000 entries
TALLY_KIND = "purge_tally"
PURGED = "purged"
ALL_AUDIENCE = "all"  # the audience of notices to every customer (doti.contracts.notices.ALL)


def _client() -> Any:
    """The low-level DynamoDB client of the shared botocore session, as bound at cold start (bind_models)."""
    return ScheduledWorkModel._get_connection().connection.client


# objects: the current objects under a prefix, then every version and delete marker left there


@dataclass(frozen=True)
class ObjectVersion:
    key: str
    version_id: str | None  # None: the current object, by key; "null": a version written while unversioned
    size: int
    delete_marker: bool = False


def current_objects(s3: Any, bucket: str, prefix: str, limit: int) -> list[ObjectVersion]:
    """The first `limit` current objects under the prefix (ListObjectsV2); deleted ones leave the next listing."""
    try:
        page = s3.list_objects_v2(Bucket=bucket, Prefix=prefix, MaxKeys=min(limit, S3_DELETE_BATCH))
    except (ClientError, BotoCoreError) as exc:
        raise StorageError("could not list the contract's objects") from exc
    return [ObjectVersion(o["Key"], None, int(o.get("Size", 0))) for o in page.get("Contents", [])]


def object_versions(s3: Any, bucket: str, prefix: str, limit: int) -> list[ObjectVersion]:
    """The first `limit` object versions and delete markers under the prefix; deleted ones leave the next listing."""
    try:
        page = s3.list_object_versions(Bucket=bucket, Prefix=prefix, MaxKeys=min(limit, S3_DELETE_BATCH))
    except (ClientError, BotoCoreError) as exc:
        raise StorageError("could not list the contract's object versions") from exc
    versions = [
        ObjectVersion(v["Key"], v.get("VersionId") or "null", int(v.get("Size", 0))) for v in page.get("Versions", [])
    ]
    markers = [ObjectVersion(m["Key"], m.get("VersionId") or "null", 0, True) for m in page.get("DeleteMarkers", [])]
    return versions + markers


@dataclass(frozen=True)
class ObjectDeletion:
    failed: list[ObjectVersion]  # S3 refused these
    marked: list[ObjectVersion]  # deleted by key in a versioned bucket: a delete marker hides their data, still kept


def delete_object_versions(s3: Any, bucket: str, versions: list[ObjectVersion]) -> ObjectDeletion:
    """Delete these objects, by version where one is given: a version id ("null" included) deletes that version for
    good; a key alone deletes an unversioned object for good but only puts a delete marker over a versioned one."""
    failed: list[ObjectVersion] = []
    marked: list[ObjectVersion] = []
    for start in range(0, len(versions), S3_DELETE_BATCH):
        chunk = versions[start : start + S3_DELETE_BATCH]
        objects = [{"Key": v.key, **({"VersionId": v.version_id} if v.version_id else {})} for v in chunk]
        try:
            response = s3.delete_objects(Bucket=bucket, Delete={"Objects": objects, "Quiet": False})
        except (ClientError, BotoCoreError) as exc:
            raise StorageError("could not delete the contract's objects") from exc
        errors = {(e.get("Key"), e.get("VersionId")) for e in response.get("Errors", [])}
        failed.extend(v for v in chunk if (v.key, v.version_id) in errors)
        new_markers = {
            d["Key"] for d in response.get("Deleted", []) if d.get("DeleteMarker") and not d.get("VersionId")
        }
        marked.extend(v for v in chunk if v.version_id is None and v.key in new_markers)
    return ObjectDeletion(failed, marked)


# index items and registry items of the contract: found first (the purge records them), deleted by key afterwards


@dataclass(frozen=True)
class Items:
    """Items of one table, by key (attribute name -> typed DynamoDB value), e.g. found for one batch of a purge."""

    table: str
    keys: list[dict[str, Any]]

    def __len__(self) -> int:
        return len(self.keys)


def _keys_of(model: type[Model], items: Iterable[Model]) -> Items:
    keys = []
    for item in items:
        hash_key, range_key = item._get_serialized_keys()
        hash_attribute = model._hash_key_attribute()  # by its name in the table (NoteModel's differs from Python's)
        key = {hash_attribute.attr_name: {hash_attribute.attr_type: hash_key}}
        if range_attribute := model._range_key_attribute():
            key[range_attribute.attr_name] = {range_attribute.attr_type: range_key}
        keys.append(key)
    return Items(model.Meta.table_name, keys)


def delete_items(items: Items) -> None:
    """Delete these items, 25 per BatchWriteItem; deleting an item already gone is no error (so a rerun may repeat
    a batch)."""
    client = _client()
    for start in range(0, len(items.keys), 25):
        requests = [{"DeleteRequest": {"Key": key}} for key in items.keys[start : start + 25]]
        try:
            pending: dict[str, Any] = {items.table: requests}
            for _ in range(8):
                pending = client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
                if not pending:
                    break
            else:
                raise StorageError("could not delete the contract's items", table=items.table)
        except (ClientError, BotoCoreError) as exc:
            raise StorageError("could not delete the contract's items", table=items.table) from exc


def _first(query: Iterator[Model], limit: int) -> list[Model]:
    items: list[Model] = []
    try:
        for item in query:
            items.append(item)
            if len(items) == limit:
                break
    except PynamoDBException as exc:
        raise StorageError("could not list the contract's items") from exc
    return items


def find_frame_items(camera_id: str, limit: int) -> tuple[Items, list[str]]:
    """Up to `limit` index items of a camera (one key-range query), and the ids of the device claims naming them
    (doti.store.claims), which are to go first: they name the frames (ids, capture time, body digest)."""
    query = FrameModel.query(
        camera_id,
        attributes_to_get=["camera_id", "frame_id", "device_id", "device_frame_id"],
        limit=limit,
        page_size=limit,
    )
    items = _first(query, limit)
    return _keys_of(FrameModel, items), [claims.claim_id(item.device_id, item.device_frame_id) for item in items]


def find_timeline_slots(camera_id: str, limit: int) -> Items:
    """Up to `limit` of a camera's timeline slots (doti.store.timeline): one key-range query."""
    query = TimelineSlotModel.query(camera_id, attributes_to_get=["camera_id", "slot"], limit=limit, page_size=limit)
    return _keys_of(TimelineSlotModel, _first(query, limit))


def delete_claims(claim_ids: list[str]) -> None:
    claims.delete(claim_ids)


def camera_ids(contract_id: str) -> list[str]:
    return [item.camera_id for item in _first(CameraModel.by_contract.query(contract_id), 10_000)]


def site_ids(contract_id: str) -> list[str]:
    return [item.site_id for item in _first(SiteModel.by_contract.query(contract_id), 10_000)]


def login_ids(contract_id: str) -> list[str]:
    return [item.login_id for item in _first(UserModel.by_contract.query(contract_id), 10_000)]


def find_notice_reads(login_id: str, limit: int) -> Items:
    return _keys_of(NoticeReadModel, _first(NoticeReadModel.query(login_id, limit=limit, page_size=limit), limit))


def webhook_ids(contract_id: str) -> list[str]:
    return [item.webhook_id for item in _first(WebhookModel.by_contract.query(contract_id), 10_000)]


def find_webhook_items(webhook_id: str, limit: int) -> Items:
    """Up to `limit` items of an endpoint's partition: its delivery log first ("attempt#..." sorts before
    "endpoint"), then the endpoint, so an interrupted purge still finds the rest through it."""
    query = WebhookAttemptModel.query(
        webhook_id, attributes_to_get=["webhook_id", "sort_key"], limit=limit, page_size=limit
    )
    return _keys_of(WebhookAttemptModel, _first(query, limit))


def find_notes(partition: str, limit: int) -> Items:
    """Up to `limit` notes of one key range: a camera's, or a site's device events (doti.ingest.notes)."""
    return _keys_of(NoteModel, _first(NoteModel.query(partition, limit=limit, page_size=limit), limit))


# (model, how to find the contract's items): a GSI on contract_id, the table's own hash key, or for the small table
# keyed by its own ids alone (one item per re-mask request, TTL'd) a filtered scan of that table
_BY_CONTRACT: dict[str, tuple[type[Model], str]] = {
    "shares": (ShareModel, "gsi"),
    "exports": (ExportModel, "gsi"),
    "subject_requests": (SubjectRequestModel, "gsi"),  # requests from people filmed: their text and sealed contact
    "remask_jobs": (RemaskJobModel, "scan"),
    "usage": (UsageModel, "hash"),
    "deletion_receipts": (DeletionReceiptModel, "hash"),
    "users": (UserModel, "gsi"),
    "sessions": (SessionModel, "gsi"),  # after users: once they are gone, no login can add a session
    "devices": (DeviceModel, "gsi"),
    "cameras": (CameraModel, "gsi"),
    "sites": (SiteModel, "gsi"),
    "disclosures": (DisclosureModel, "gsi"),
    "suspensions": (SuspensionModel, "hash"),
    "notices": (NoticeModel, "hash"),  # notices addressed to this contract alone (audience = contract id)
}
BY_CONTRACT_KINDS = tuple(_BY_CONTRACT)
# what the contract's service made (shares to usage counts), then its registry, which the purge needs until the end
SERVICE_KINDS = BY_CONTRACT_KINDS[: BY_CONTRACT_KINDS.index("users")]
REGISTRY_KINDS = BY_CONTRACT_KINDS[len(SERVICE_KINDS) :]


def find_by_contract(kind: str, contract_id: str, limit: int) -> Items:
    """Up to `limit` items of one kind (`BY_CONTRACT_KINDS`) that belong to the contract."""
    model, access = _BY_CONTRACT[kind]
    if access == "gsi":
        query = model.by_contract.query(contract_id, limit=limit, page_size=limit)  # type: ignore[attr-defined]
    elif access == "scan":
        query = model.scan(model.contract_id == contract_id)  # type: ignore[attr-defined]
    else:
        query = model.query(contract_id, limit=limit, page_size=limit)
    return _keys_of(model, _first(query, limit))


def delete_by_contract(kind: str, contract_id: str, limit: int) -> int:
    """Delete up to `limit` items of one kind (`BY_CONTRACT_KINDS`) that belong to the contract; returns how many."""
    items = find_by_contract(kind, contract_id, limit)
    delete_items(items)
    return len(items)


def find_scheduled_work(contract_id: str, kinds: Iterable[str], limit: int) -> Items:
    """Up to `limit` work items of the contract among `kinds` (the schedule holds only pending work)."""
    found: list[Model] = []
    for kind in kinds:
        query = ScheduledWorkModel.query(kind, filter_condition=ScheduledWorkModel.contract_id == contract_id)
        found += _first(query, limit - len(found))
        if len(found) >= limit:
            break
    return _keys_of(ScheduledWorkModel, found)


def delete_scheduled_work(contract_id: str, kinds: Iterable[str], limit: int) -> int:
    """Delete up to `limit` work items of the contract among `kinds`; returns how many."""
    items = find_scheduled_work(contract_id, kinds, limit)
    delete_items(items)
    return len(items)


def find_notice_deliveries(contract_id: str, limit: int) -> list[str]:
    """The ids of up to `limit` notices to all customers whose e-mail delivery records name the contract."""
    found: list[str] = []
    try:
        for item in NoticeModel.query(ALL_AUDIENCE):
            if contract_id in (item.email_delivered or {}):
                found.append(item.notice_id)
                if len(found) == limit:
                    break
    except PynamoDBException as exc:
        raise StorageError("could not read the notices' delivery records") from exc
    return found


def forget_notice_deliveries(contract_id: str, notice_ids: Iterable[str]) -> None:
    """Take the contract out of these notices' delivery records (a notice that no longer names it is left as is)."""
    try:
        for notice_id in notice_ids:
            try:
                item = NoticeModel.get(ALL_AUDIENCE, notice_id, consistent_read=True)
            except DoesNotExist:
                continue
            delivered = item.email_delivered or {}
            if contract_id in delivered:
                remaining = {key: value for key, value in delivered.items() if key != contract_id}
                item.update(actions=[NoticeModel.email_delivered.set(remaining)])
    except PynamoDBException as exc:
        raise StorageError("could not update the notices' delivery records") from exc


# devices and sessions when a contract ends (before its purge)


def active_devices(contract_id: str) -> int:
    """How many devices of the contract are still active (what `revoke_active_devices` would revoke now)."""
    return sum(1 for item in _first(DeviceModel.by_contract.query(contract_id), 10_000) if item.status == "active")


def revoke_active_devices(contract_id: str, now: datetime) -> int:
    """Mark every still-active device of the contract revoked; returns how many changed (a rerun changes none)."""
    revoked = 0
    for item in _first(DeviceModel.by_contract.query(contract_id), 10_000):
        if item.status != "active":
            continue
        try:
            item.update(
                actions=[DeviceModel.status.set("revoked"), DeviceModel.revoked_at.set(now)],
                condition=DeviceModel.status == "active",
            )
        except PynamoDBException as exc:
            if is_condition_failure(exc):
                continue  # revoked meanwhile by someone else
            raise StorageError("could not revoke the device") from exc
        revoked += 1
    return revoked


# the tally of a purge in progress

# The pending batch's targets are stored compressed: up to 1000 S3 keys of a prefix compress well. A batch whose
# targets would not fit (keys of up to 1 KiB each) is made smaller by the purge (see `fits_in_tally`).
PENDING_LIMIT = 256_000  # bytes of compressed targets; the item holds little else, and DynamoDB takes 400 KB


@dataclass(frozen=True)
class PendingBatch:
    """A batch recorded before it is deleted: what it deletes, so that a later run can finish it if this one stops."""

    token: str  # unique per batch: its commit applies once
    phase: str
    last: bool  # the phase's listing found no more than this: once these are gone, the phase is done
    targets: dict[str, Any]  # JSON, as the purge described them


@dataclass(frozen=True)
class Tally:
    contract_id: str
    started_at: str  # RFC 3339, of the run that started the purge
    counts: dict[str, int]
    phases_done: frozenset[str]  # the phases that found nothing left (a resumed run skips them)
    certificate: dict[str, Any] | None  # set once the certificate entry is written
    pending: PendingBatch | None = None  # a batch recorded and not yet committed
    receipt: str | None = None  # how sending the receipt went, once known ("sent", "unconfirmed", "no_address")
    receipt_attempt: str | None = None  # a sending under way: recorded before the mail goes


class _ConditionFailed(Exception):
    """The tally is not as the update expected."""


def _tally_key(contract_id: str) -> dict[str, Any]:
    return {"kind": {"S": TALLY_KIND}, "due_key": {"S": contract_id}}


def _encode(targets: Mapping[str, Any]) -> bytes:
    return zlib.compress(json.dumps(targets, separators=(",", ":"), sort_keys=True).encode(), 6)


def fits_in_tally(targets: Mapping[str, Any]) -> bool:
    """Whether a batch with these targets can be recorded (the tally is one DynamoDB item)."""
    return len(_encode(targets)) <= PENDING_LIMIT


def _pending(attributes: Mapping[str, Any]) -> PendingBatch | None:
    pending = attributes.get("pending", {}).get("M")
    if not pending:
        return None
    return PendingBatch(
        token=pending["token"]["S"],
        phase=pending["phase"]["S"],
        last=pending["last"]["BOOL"],
        targets=json.loads(zlib.decompress(pending["targets"]["B"])),
    )


def _tally(attributes: Mapping[str, Any]) -> Tally:
    counts = {name: int(value["N"]) for name, value in attributes.get("counts", {}).get("M", {}).items()}
    certificate = attributes.get("certificate", {}).get("S")
    return Tally(
        contract_id=attributes["contract_id"]["S"],
        started_at=attributes["started_at"]["S"],
        counts=counts,
        phases_done=frozenset(attributes.get("phases_done", {}).get("SS", [])),
        certificate=json.loads(certificate) if certificate else None,
        pending=_pending(attributes),
        receipt=attributes.get("receipt", {}).get("S"),
        receipt_attempt=attributes.get("receipt_attempt", {}).get("S"),
    )


def _update_tally(
    contract_id: str,
    expression: str,
    names: dict[str, str],
    values: dict[str, Any],
    condition: str | None = None,
    returns: str = "NONE",
) -> dict[str, Any]:
    """One UpdateItem of the tally; returns the attributes `returns` asks for (DynamoDB's ReturnValues)."""
    request: dict[str, Any] = {
        "TableName": ScheduledWorkModel.Meta.table_name,
        "Key": _tally_key(contract_id),
        "UpdateExpression": expression,
        "ReturnValues": returns,
    }
    if values:
        request["ExpressionAttributeValues"] = values
    if names:
        request["ExpressionAttributeNames"] = names
    if condition:
        request["ConditionExpression"] = condition
    try:
        return _client().update_item(**request).get("Attributes", {})
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
            raise _ConditionFailed from exc
        raise StorageError("could not record the purge's progress") from exc
    except BotoCoreError as exc:
        raise StorageError("could not record the purge's progress") from exc


def start_tally(contract_id: str, now: datetime) -> Tally:
    """The contract's tally, created on the purge's first run (a later run keeps the first start time)."""
    started = format_rfc3339(now)
    attributes = _update_tally(
        contract_id,
        "SET contract_id = :c, started_at = if_not_exists(started_at, :s), counts = if_not_exists(counts, :empty)",
        {},
        {":c": {"S": contract_id}, ":s": {"S": started}, ":empty": {"M": {}}},
        returns="ALL_NEW",
    )
    return _tally(attributes)


def begin_batch(contract_id: str, batch: PendingBatch) -> None:
    """Record a batch before deleting it. Conflict if another batch is pending (another run is purging).

    Recording it again is harmless (a resent request); when the answer is lost, the tally is read to learn whether it
    was recorded: StorageError only if it was not (then nothing may be deleted, and the next run lists again).
    """
    pending = {
        "token": {"S": batch.token},
        "phase": {"S": batch.phase},
        "last": {"BOOL": batch.last},
        "targets": {"B": _encode(batch.targets)},
    }
    try:
        _update_tally(
            contract_id,
            "SET pending = :p",
            {"#t": "token"},
            {":p": {"M": pending}, ":t": {"S": batch.token}},
            condition="attribute_exists(contract_id) AND (attribute_not_exists(pending) OR pending.#t = :t)",
        )
    except _ConditionFailed as exc:
        raise Conflict("another run of the purge has a batch under way", contract_id=contract_id) from exc
    except StorageError:
        tally = find_tally(contract_id)
        if tally is None or tally.pending is None or tally.pending.token != batch.token:
            raise


def commit_batch(contract_id: str, token: str, counts: Mapping[str, int], finished: Iterable[str] = ()) -> None:
    """Add a pending batch's counts to the totals and drop it, once: the update applies only while that batch is
    pending, so a resent or repeated commit adds nothing. Marks the `finished` phases done (the batch's own if it
    was its last, and any the run found empty since its last commit)."""
    finished = sorted(set(finished))
    counts = {name: value for name, value in counts.items() if value}
    names = {"#t": "token", **{f"#k{i}": name for i, name in enumerate(counts)}}
    values: dict[str, Any] = {":t": {"S": token}}
    values |= {f":v{i}": {"N": str(value)} for i, value in enumerate(counts.values())}
    clauses = [f"counts.#k{i} = if_not_exists(counts.#k{i}, :zero) + :v{i}" for i in range(len(counts))]
    expression = f"SET {', '.join(clauses)} REMOVE pending" if clauses else "REMOVE pending"
    if counts:
        values[":zero"] = {"N": "0"}
    if finished:
        expression += " ADD phases_done :p"
        values[":p"] = {"SS": finished}
    try:
        _update_tally(contract_id, expression, names, values, condition="pending.#t = :t")
    except (_ConditionFailed, StorageError) as exc:
        # A lost answer, or a resent commit failing its own condition: committed if the batch is no longer pending.
        pending = read_tally(contract_id).pending
        if pending is not None and pending.token == token:
            raise StorageError("could not record the purge's progress") from exc


def finish_phases(contract_id: str, phases: Iterable[str]) -> None:
    """Mark phases that found nothing left as done (adding to a set: repeating it changes nothing)."""
    _update_tally(contract_id, "ADD phases_done :p", {}, {":p": {"SS": sorted(set(phases))}})


def find_tally(contract_id: str) -> Tally | None:
    try:
        item = _client().get_item(
            TableName=ScheduledWorkModel.Meta.table_name, Key=_tally_key(contract_id), ConsistentRead=True
        )
    except (ClientError, BotoCoreError) as exc:
        raise StorageError("could not read the purge's progress") from exc
    return _tally(item["Item"]) if "Item" in item else None


def read_tally(contract_id: str) -> Tally:
    tally = find_tally(contract_id)
    if tally is None:
        raise NotFound("no purge in progress", contract_id=contract_id)
    return tally


def record_certificate(contract_id: str, certificate: Mapping[str, Any]) -> None:
    _update_tally(contract_id, "SET certificate = :c", {}, {":c": {"S": json.dumps(certificate)}})


_NO_OTHER_ATTEMPT = "attribute_not_exists(receipt) AND (attribute_not_exists(receipt_attempt) OR receipt_attempt = :a)"


def begin_receipt(contract_id: str, attempt: str) -> None:
    """Record that the receipt is about to be sent (attempt id), before sending it. Conflict if another attempt or
    its result is recorded; on a lost answer the tally is read: StorageError only if the attempt was not recorded."""
    try:
        _update_tally(
            contract_id,
            "SET receipt_attempt = :a",
            {},
            {":a": {"S": attempt}},
            condition=_NO_OTHER_ATTEMPT,
        )
    except _ConditionFailed as exc:
        raise Conflict("the receipt is being sent by another run", contract_id=contract_id) from exc
    except StorageError:
        tally = find_tally(contract_id)
        if tally is None or tally.receipt_attempt != attempt:
            raise


def abandon_receipt(contract_id: str, attempt: str) -> None:
    """Forget an attempt known not to have sent the mail, so that the next run sends it."""
    with suppress(_ConditionFailed):  # already forgotten
        _update_tally(contract_id, "REMOVE receipt_attempt", {}, {":a": {"S": attempt}}, "receipt_attempt = :a")


def record_receipt(contract_id: str, status: str, now: datetime) -> str:
    """Record how sending the receipt went; the first status recorded stays, and is returned."""
    attributes = _update_tally(
        contract_id,
        "SET receipt = if_not_exists(receipt, :s), receipt_at = if_not_exists(receipt_at, :t)",
        {},
        {":s": {"S": status}, ":t": {"S": format_rfc3339(now)}},
        returns="UPDATED_NEW",
    )
    return attributes.get("receipt", {}).get("S", status)


def delete_tally(contract_id: str) -> None:
    try:
        _client().delete_item(TableName=ScheduledWorkModel.Meta.table_name, Key=_tally_key(contract_id))
    except (ClientError, BotoCoreError) as exc:
        raise StorageError("could not remove the purge's progress") from exc


# the contract itself


@dataclass(frozen=True)
class PurgeTarget:
    contract_id: str
    state: str
    contact_email: str
    purge_due_at: datetime | None


def purge_target(contract_id: str) -> PurgeTarget:
    try:
        item = ContractModel.get(contract_id, consistent_read=True)
    except DoesNotExist as exc:
        raise NotFound("contract not found", contract_id=contract_id) from exc
    except PynamoDBException as exc:
        raise StorageError("could not read the contract") from exc
    return PurgeTarget(item.contract_id, item.state, item.contact_email, item.purge_due_at)


def _contract_item(contract_id: str) -> ContractModel:
    try:
        return ContractModel.get(contract_id, consistent_read=True)
    except DoesNotExist as exc:
        raise NotFound("contract not found", contract_id=contract_id) from exc
    except PynamoDBException as exc:
        raise StorageError("could not read the contract") from exc


def _is_minimal(item: ContractModel) -> bool:
    return item.name == "" and item.contact_email == ""


def shrink_to_purged_record(contract_id: str, certificate: Mapping[str, Any], receipt: str | None) -> None:
    """Replace a purged contract by its minimal record, in one write conditional on the version; a rerun is a no-op.

    Kept: the id, state `purged`, the lifecycle times, the plan numbers (not personal, and required by the model, so
    the record stays readable everywhere), the deletion certificate's summary (`deletion_certificate`, JSON) and how
    sending its receipt went (`deletion_receipt`: "sent", "unconfirmed" or "no_address"), for operators.
    Dropped: the customer's name and contact address (left as empty strings), the security-service contract id and
    the usage times.
    """
    item = _contract_item(contract_id)
    if item.state != PURGED:
        raise Conflict("only a purged contract is shrunk to its record", current_state=item.state)
    if _is_minimal(item):
        return
    minimal = ContractModel(
        contract_id=item.contract_id,
        name="",
        state=PURGED,
        contact_email="",
        retention_days=item.retention_days,
        signed_url_ttl=item.signed_url_ttl,
        max_object_bytes=item.max_object_bytes,
        max_pixels=item.max_pixels,
        monthly_byte_quota=item.monthly_byte_quota,
        service_start=item.service_start,
        created_at=item.created_at,
        updated_at=item.updated_at,
        cancel_effective_at=item.cancel_effective_at,
        terminated_at=item.terminated_at,
        purge_due_at=item.purge_due_at,
        purged_at=item.purged_at,
    )
    record = minimal.serialize()
    record["version"] = {"N": str(int(item.version or 0) + 1)}
    # Read back by a JSONAttribute should the model gain the field; until then PynamoDB ignores it.
    record["deletion_certificate"] = {"S": json.dumps(certificate, sort_keys=True)}
    if receipt:
        record["deletion_receipt"] = {"S": receipt}
    request: dict[str, Any] = {
        "TableName": ContractModel.Meta.table_name,
        "Item": record,
        "ConditionExpression": "#v = :v" if item.version is not None else "attribute_not_exists(#v)",
        "ExpressionAttributeNames": {"#v": "version"},
    }
    if item.version is not None:
        request["ExpressionAttributeValues"] = {":v": {"N": str(int(item.version))}}
    try:
        _client().put_item(**request)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
            if _is_minimal(_contract_item(contract_id)):
                return  # this write, resent after it was applied
            raise Conflict("the contract changed meanwhile; the next run retries", contract_id=contract_id) from exc
        raise StorageError("could not write the purged contract record") from exc
    except BotoCoreError as exc:
        raise StorageError("could not write the purged contract record") from exc
