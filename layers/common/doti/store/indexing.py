"""Data access for indexing stored frames: their index items, the contract's usage charge and their timeline slots in
one DynamoDB transaction, so a frame is visible exactly when it is charged and counted (SPEC §4, §12).

The frame's claim (doti.store.claims) is not in the transaction: an in-progress claim whose index item exists stands
for a stored frame (doti.ingest.frames reads it so). A transaction writes at twice the price, so the claim's update
cost 2 of a direct frame's 10 write units; and the frames of one request share the usage item's write and their
slots' (cost model: bench/cost_model.py).

Each index item carries the token of the request that indexed it, so a request tells its own write (applied, its
answer lost, or botocore's resend of it failing its own conditions; DynamoDB honours the client request token for
that, moto does not, and neither does anything after ten minutes) from another request's.
"""

from __future__ import annotations

import random
import time
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from pynamodb.exceptions import DoesNotExist, PynamoDBException, TransactWriteError
from pynamodb.transactions import TransactWrite

from doti import entities
from doti.errors import StorageError
from doti.store import timeline
from doti.store import usage as usage_store
from doti.store.mapping import to_item
from doti.store.models import FrameModel

# Every frame of a contract charges the same usage item, so concurrent transactions can cancel each other with a
# TransactionConflict; a slot another frame moved since it was read cancels ours too. Each cancellation leaves
# nothing written, so the transaction is tried again from new reads: at most _ATTEMPTS tries, with full jitter
# doubling from _CONFLICT_BACKOFF_S (under 0.4 s of waiting in all). A cancellation that removes frames from the
# transaction (indexed by another request, or no room left) does not use up a try: there are at most as many.
_ATTEMPTS = 4
_CONFLICT_BACKOFF_S = 0.05
_CONDITION_FAILED = "ConditionalCheckFailed"


@dataclass(frozen=True)
class Indexed:
    """What one transaction made of the frames it was given (each in exactly one list, in the given order)."""

    indexed: list[entities.Frame] = field(default_factory=list)  # indexed and charged by this request
    taken: list[entities.Frame] = field(default_factory=list)  # indexed before by another request: not charged here
    over_quota: list[entities.Frame] = field(default_factory=list)  # the month has no room for them: not indexed


def index_frames(frames: Sequence[entities.Frame], token: str, *, period: str, quota: int) -> Indexed:
    """Index `frames` (all of one contract), charge their bytes to `period` if the month has room for them (the bound is
    `quota`), and count them in their timeline slots: all in one transaction, or not at all.

    A frame whose index item exists already is left out (`taken`), and so are the last frames while the month has no
    room for all (`over_quota`): the rest are tried again at once. Raises StorageError when DynamoDB kept refusing.
    """
    pending = list(frames)
    taken: list[entities.Frame] = []
    over_quota: list[entities.Frame] = []
    conflicts = 0
    while pending:
        outcome = _index_once(pending, token, period=period, quota=quota)
        if outcome is None:
            return Indexed(pending, taken, over_quota)
        if isinstance(outcome, _Cancelled) and outcome.taken:
            if _indexed_with(outcome.taken[0], token):
                return Indexed(pending, taken, over_quota)  # our own transaction applied; its answer was lost
            taken += outcome.taken
            pending = [frame for frame in pending if frame not in outcome.taken]
            continue
        if isinstance(outcome, _Cancelled):  # no room for them all
            fitting = _fitting(pending, usage_store.bytes_used(pending[0].contract_id, period), quota)
            if len(fitting) < len(pending):
                over_quota = pending[len(fitting) :] + over_quota
                pending = fitting
                continue
        conflicts += 1
        if conflicts >= _ATTEMPTS:
            raise StorageError("could not index the frame: its transaction kept conflicting")
        time.sleep(random.uniform(0, _CONFLICT_BACKOFF_S * 2 ** (conflicts - 1)))
    return Indexed([], taken, over_quota)


def charged_bytes(frame: entities.Frame) -> int:
    """What a frame counts against its contract's monthly quota: the bytes stored for it."""
    return frame.size + (frame.thumb_size or 0)


def _fitting(frames: list[entities.Frame], used: int, quota: int) -> list[entities.Frame]:
    """The longest head of `frames` whose bytes still fit in the month after `used`."""
    return frames[: usage_store.fitting((charged_bytes(frame) for frame in frames), used, quota)]


@dataclass(frozen=True)
class _Cancelled:
    taken: list[entities.Frame]  # their index items exist; none: the usage item had no room for them all


class _Conflict:
    """Another transaction touched one of our items, or moved a slot since it was read: nothing was written."""


def _index_once(frames: list[entities.Frame], token: str, *, period: str, quota: int) -> _Cancelled | _Conflict | None:
    size = sum(charged_bytes(frame) for frame in frames)
    usage_item, usage_actions, usage_condition = usage_store.charge_update(
        frames[0].contract_id, period, size, quota, objects=len(frames)
    )
    slots = _by_slot(frames)
    seen = {key: timeline.read_slot(key[0], key[1]) for key in slots}
    try:
        with TransactWrite(
            connection=FrameModel._get_connection().connection, client_request_token=uuid.uuid4().hex
        ) as transaction:
            for frame in frames:
                transaction.save(
                    to_item(FrameModel, frame, claim_token=token), condition=FrameModel.frame_id.does_not_exist()
                )
            transaction.update(usage_item, actions=usage_actions, condition=usage_condition)
            for key, members in slots.items():
                timeline.add_frames(transaction, members, seen[key])
    except TransactWriteError as exc:
        reasons = [reason.code if reason else None for reason in (exc.cancellation_reasons or [])]
        if len(reasons) != len(frames) + 1 + len(slots):
            # not cancelled (a timeout, a lost answer): it applied if our first frame's item is ours
            if _indexed_with(frames[0], token):
                return None
            raise StorageError("could not index the frame") from exc
        index_codes, usage_code = reasons[: len(frames)], reasons[len(frames)]
        taken = [frame for frame, code in zip(frames, index_codes, strict=True) if code == _CONDITION_FAILED]
        if taken or usage_code == _CONDITION_FAILED:
            return _Cancelled(taken)
        if _CONDITION_FAILED in reasons or "TransactionConflict" in reasons:
            return _Conflict()
        raise StorageError("could not index the frame") from exc
    return None


def _by_slot(frames: list[entities.Frame]) -> dict[tuple[str, datetime], list[entities.Frame]]:
    slots: dict[tuple[str, datetime], list[entities.Frame]] = defaultdict(list)
    for frame in frames:
        slots[(frame.camera_id, timeline.slot_start(frame.captured_at))].append(frame)
    return slots


def _indexed_with(frame: entities.Frame, token: str) -> bool:
    """Whether the frame's index item exists and was written by the request of `token` (a consistent read)."""
    try:
        item = FrameModel.get(frame.camera_id, frame.frame_id, consistent_read=True, attributes_to_get=["claim_token"])
    except DoesNotExist:
        return False
    except PynamoDBException as exc:
        raise StorageError("could not read the frame index") from exc
    return bool(token) and item.claim_token == token
