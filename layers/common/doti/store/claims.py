"""Data access for frame claims: a device's frame id is owned by the first request that claims it (SPEC §12).

A claim is written with `attribute_not_exists` before anything is stored. The request holding it stores the
objects, then indexes the frame (doti.store.indexing): it becomes visible, is charged and is counted on the camera's
timeline together or not at all. The claim stays in progress: its frame's index item existing is what says it was
stored (an update of the claim in that transaction would cost 2 more write units per frame). A claim is `completed`
when it was written so before that change, or when its frame was deleted before its retention ended (add_tombstone).

Each claim carries its request's token. A write whose answer was lost, or that botocore resent after it applied (the
resend fails its own condition), is read back: a claim holding our token is our own write, and the request goes on
rather than meet itself as "another request".
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import UTC, datetime

from pynamodb.exceptions import (
    DeleteError,
    DoesNotExist,
    PutError,
    PynamoDBException,
    UpdateError,
)
from pynamodb.transactions import TransactWrite

from doti import entities
from doti.errors import Conflict, StorageError
from doti.observability import logger
from doti.store.conditions import is_condition_failure
from doti.store.mapping import to_entity, to_item
from doti.store.models import FrameClaimModel

IN_PROGRESS = "in_progress"
ABANDONED_AT = datetime(1970, 1, 1, tzinfo=UTC)  # claimed_at of a claim its holder gave up
COMPLETED = "completed"
_CLAIM_ATTEMPTS = 3  # a claim can vanish between the failed put and the read (released or expired): try again


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


def add_tombstone(transaction: TransactWrite, frame: entities.Frame) -> None:
    """Mark the frame's claim completed, in the transaction that deletes its index item (a takedown, a subject's
    deletion): an in-progress claim without its index item would otherwise read as a request that stopped, and the
    device's replay would store the deleted frame again. A plain put: the claim may have expired already."""
    transaction.save(
        FrameClaimModel(
            id=claim_id(frame.device_id, frame.device_frame_id),
            status=COMPLETED,
            body_sha256=frame.sha256,
            camera_id=frame.camera_id,
            frame_id=frame.frame_id,
            captured_at=frame.captured_at,
            claimed_at=frame.received_at,
            expires_at=frame.expires_at,
        )
    )


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
