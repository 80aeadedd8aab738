"""Data access for frame claims: a device's frame id is owned by the first request that claims it (SPEC §12).

A claim is written with `attribute_not_exists` before anything is stored. The request holding it stores the
objects, then completes it in one DynamoDB transaction with the frame's index item and the usage charge: the
frame becomes visible, is charged, is counted on the camera's timeline (doti.store.timeline) and its claim completed
together or not at all.

Each claim carries its request's token. A write whose answer was lost, or that botocore resent after it applied (the
resend fails its own condition), is read back: a claim holding our token, or completed with our token, is our own
write, and the request goes on rather than meet itself as "another request".
"""

from __future__ import annotations

import dataclasses
import random
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from pynamodb.exceptions import (
    DeleteError,
    DoesNotExist,
    PutError,
    PynamoDBException,
    TransactWriteError,
    UpdateError,
)
from pynamodb.transactions import TransactWrite

from doti import entities
from doti.errors import Conflict, StorageError
from doti.observability import logger
from doti.store import timeline
from doti.store import usage as usage_store
from doti.store.conditions import is_condition_failure
from doti.store.mapping import to_entity, to_item
from doti.store.models import FrameClaimModel, FrameModel

IN_PROGRESS = "in_progress"
ABANDONED_AT = datetime(1970, 1, 1, tzinfo=UTC)  # claimed_at of a claim its holder gave up
COMPLETED = "completed"
_CLAIM_ATTEMPTS = 3  # a claim can vanish between the failed put and the read (released or expired): try again
# Every frame of a contract charges the same usage item, so concurrent completions can cancel each other with a
# TransactionConflict. The transaction is all-or-nothing, so it is tried again after a jittered pause: at most
# _COMPLETE_ATTEMPTS tries and, with full jitter doubling from _CONFLICT_BACKOFF_S, under 0.4 s of waiting in all.
_COMPLETE_ATTEMPTS = 4
_CONFLICT_BACKOFF_S = 0.05


@dataclass(frozen=True)
class Claim:
    claim_id: str  # "<device_id>#<device frame id>"
    status: str
    body_sha256: str
    camera_id: str
    frame_id: str  # chosen by the first request: a retry that takes the claim over reuses it and its keys
    captured_at: datetime  # the first capture time stands
    claimed_at: datetime  # completion and release are conditional on it
    expires_at: datetime  # the frame's expiry (TTL), in whole seconds
    token: str = ""  # the request that wrote it ("" for a claim written before tokens)


def claim_id(device_id: str, device_frame_id: str) -> str:
    return f"{device_id}#{device_frame_id}"


def _claim(item: FrameClaimModel) -> Claim:
    return to_entity(Claim, item, claim_id=item.id, token=item.token or "")  # "" for a claim written before tokens


def _held_by(claim: Claim):
    return (FrameClaimModel.status == IN_PROGRESS) & (FrameClaimModel.claimed_at == claim.claimed_at)


def acquire(claim: Claim) -> Claim | None:
    """Write `claim` if its id is free. Returns None when it is ours, else the claim that holds the id."""
    for _ in range(_CLAIM_ATTEMPTS):
        try:
            to_item(FrameClaimModel, claim, exclude=("claim_id",), id=claim.claim_id).save(
                condition=FrameClaimModel.id.does_not_exist()
            )
            return None
        except PutError as exc:
            held = get(claim.claim_id)
            if held is not None and _is_ours(held, claim.token):
                return None  # our write applied; its answer was lost, or was a resend's failing its own condition
            if not is_condition_failure(exc):
                raise StorageError("could not claim the frame id") from exc
        if held is not None:
            return held
    raise Conflict("this frame id is being stored by another request", in_progress=True)


def _is_ours(held: Claim, token: str) -> bool:
    return bool(token) and held.token == token


def take_over(stale: Claim, now: datetime, token: str) -> Claim:
    """Take an in-progress claim whose holder stopped (crashed or timed out) for the request of `token`; conditional
    on the claim as it was read, so of two retries taking it over at once only one wins. The loser is told the frame
    is in progress."""
    try:
        FrameClaimModel(id=stale.claim_id).update(
            actions=[FrameClaimModel.claimed_at.set(now), FrameClaimModel.token.set(token)], condition=_held_by(stale)
        )
    except UpdateError as exc:
        held = get(stale.claim_id)
        if held is not None and held.status == IN_PROGRESS and _is_ours(held, token):
            return held  # our update applied; its answer was lost, or was a resend's failing its own condition
        if is_condition_failure(exc):
            raise Conflict("this frame id is being stored by another request", in_progress=True) from exc
        raise StorageError("could not take over the frame id's claim") from exc
    return dataclasses.replace(stale, claimed_at=now, token=token)


def release(claim: Claim) -> None:
    """Give the claim up after a failure: it stays in progress but dated at the epoch, so the device's retry takes it
    over at once and reuses its frame id, capture time and keys (whatever objects this attempt left are overwritten,
    not doubled). Best effort: a claim that cannot be given up is taken over once it is stale."""
    try:
        FrameClaimModel(id=claim.claim_id).update(
            actions=[FrameClaimModel.claimed_at.set(ABANDONED_AT)], condition=_held_by(claim)
        )
    except UpdateError as exc:
        if not is_condition_failure(exc):
            logger.warning("could not give up a frame claim", extra={"claim_id": claim.claim_id})


def discard(claim: Claim) -> None:
    """Delete the claim after a refusal (nothing stored), conditional on still holding it: the frame id is free again,
    for another body too. Best effort: a claim that cannot be deleted goes stale and is taken over like a released
    one."""
    try:
        FrameClaimModel(id=claim.claim_id).delete(condition=_held_by(claim))
    except DeleteError as exc:
        if not is_condition_failure(exc):
            logger.warning("could not delete a refused frame's claim", extra={"claim_id": claim.claim_id})


def complete(claim: Claim, frame: entities.Frame, *, period: str, quota: int) -> None:
    """In one transaction: index the frame, charge its bytes to the contract's month, count it in its timeline slot
    and complete the claim; tried again after a short jittered pause when another transaction on the same items (the
    usage item) cancelled it, or another frame moved the slot since it was read.

    Raises Conflict(in_progress) if the claim is no longer ours (taken over after we stalled), QuotaExceededRace
    if the month's counter no longer has room (another frame was charged since the check), StorageError otherwise.
    """
    conflict: _TransactionConflict | None = None
    for attempt in range(_COMPLETE_ATTEMPTS):
        if attempt:
            time.sleep(random.uniform(0, _CONFLICT_BACKOFF_S * 2 ** (attempt - 1)))
        try:
            _complete_once(claim, frame, period=period, quota=quota)
            return
        except _TransactionConflict as exc:
            conflict = exc
    raise StorageError("could not index the frame: its transaction kept conflicting") from conflict


def _completed_by(claim: Claim, frame: entities.Frame) -> bool:
    """Whether our completion applied: the claim completed under our token, for our frame. A transaction's answer
    can be lost, or be botocore's resend of it failing its own conditions (DynamoDB honours a client request token
    for that; moto does not, and neither does anything after ten minutes)."""
    held = get(claim.claim_id)
    if held is None or held.status != COMPLETED:
        return False
    return _is_ours(held, claim.token) and held.frame_id == frame.frame_id


def _complete_once(claim: Claim, frame: entities.Frame, *, period: str, quota: int) -> None:
    size = frame.size + frame.thumb_size
    usage_item, usage_actions, usage_condition = usage_store.charge_update(frame.contract_id, period, size, quota)
    seen = timeline.read_slot(frame.camera_id, timeline.slot_start(frame.captured_at))
    try:
        token = uuid.uuid4().hex  # a resend of this very transaction is the same transaction to DynamoDB
        with TransactWrite(
            connection=FrameModel._get_connection().connection, client_request_token=token
        ) as transaction:
            transaction.save(to_item(FrameModel, frame), condition=FrameModel.frame_id.does_not_exist())
            transaction.update(usage_item, actions=usage_actions, condition=usage_condition)
            transaction.update(
                FrameClaimModel(id=claim.claim_id),
                actions=[
                    FrameClaimModel.status.set(COMPLETED),
                    FrameClaimModel.frame_id.set(frame.frame_id),
                    FrameClaimModel.camera_id.set(frame.camera_id),
                    FrameClaimModel.captured_at.set(frame.captured_at),
                ],
                condition=_held_by(claim),
            )
            timeline.add_frame(transaction, frame, seen)
    except TransactWriteError as exc:
        if _completed_by(claim, frame):
            return
        reasons = [reason.code if reason else None for reason in (exc.cancellation_reasons or [])]
        if len(reasons) == 4 and "ConditionalCheckFailed" in reasons:
            index, usage, held, slot = (code == "ConditionalCheckFailed" for code in reasons)
            if slot and not (index or usage or held):
                raise _TransactionConflict() from exc  # another frame moved the slot since `seen`: read it again
            if held:
                raise Conflict("this frame id is being stored by another request", in_progress=True) from exc
            if usage:
                raise QuotaExceededRace() from exc
            if index:
                raise Conflict("frame already indexed", frame_id=frame.frame_id) from exc
        if "TransactionConflict" in reasons and "ConditionalCheckFailed" not in reasons:
            raise _TransactionConflict() from exc
        raise StorageError("could not index the frame") from exc


class QuotaExceededRace(Exception):
    """The usage counter lost its room between the check and the charge."""


class _TransactionConflict(Exception):
    """Another transaction touched one of our items at the same time; nothing was written."""


def get(claim_id_: str) -> Claim | None:
    try:
        return _claim(FrameClaimModel.get(claim_id_, consistent_read=True))
    except DoesNotExist:
        return None
    except PynamoDBException as exc:
        raise StorageError("could not read the frame id's claim") from exc


def delete(claim_ids: list[str]) -> None:
    """Delete claims by id (for purge: a frame item's claim id is claim_id(device_id, device_frame_id)). PynamoDB
    sends them 25 at a time and retries unprocessed ones."""
    try:
        with FrameClaimModel.batch_write() as batch:
            for id_ in claim_ids:
                batch.delete(FrameClaimModel(id=id_))
    except PynamoDBException as exc:
        raise StorageError("could not delete frame claims") from exc
