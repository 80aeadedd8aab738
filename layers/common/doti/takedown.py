"""Takedown (Art. 7-2): staff delete a frame the customer sent when it falls under a prohibited act of Art. 7-1.

The ground is one of the nineteen items of Art. 7-1 (`art7-1-1` ... `art7-1-19`). Order: the frame's objects,
then the audit entry, then the index item. While the index item exists the takedown can be repeated, so one that
stops half-way is finished by repeating it: it never leaves an unlisted object that only its lifecycle rule would
remove, nor a takedown without its audit entry (at worst, a repeat after a failed index delete logs it twice).
The audit entry is visible to the customer: Art. 7-2 needs no prior notice, but the customer can see what was
removed and on which ground.

Notes (text data) are not stored yet; only frames can be taken down until they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from doti import audit, contracts, deletions, ids, registry
from doti.clock import format_rfc3339
from doti.errors import Conflict, NotFound, StorageError, ValidationError
from doti.frames import Storage
from doti.store import frames as store

# Art. 7-1 items, in the terms' order (a short English gloss of each).
GROUNDS: dict[str, str] = {
    "art7-1-1": "infringes another's intellectual property, portrait, privacy, honour or other rights",
    "art7-1-2": "filming, with the cameras, content that infringes another's rights",
    "art7-1-3": "sending to the service content that infringes another's rights",
    "art7-1-4": "related to a crime, or against public order and morals",
    "art7-1-5": "obscene information, or information harmful to minors",
    "art7-1-6": "information for dating",
    "art7-1-7": "against the law or the rules of Secom's or the customer's industry body",
    "art7-1-8": "computer viruses or other harmful programs",
    "art7-1-9": "tampering with information available through the service",
    "art7-1-10": "sending data above the volume Secom sets",
    "art7-1-11": "one person with several user ids, or one user id shared by several people",
    "art7-1-12": "impersonating Secom or a third party",
    "art7-1-13": "distributing means to defeat the service's access control",
    "art7-1-14": "obtaining other users' information without consent or by fraud (phishing)",
    "art7-1-15": "excessive calls or demands that seriously hinder Secom's work",
    "art7-1-16": "liable to obstruct Secom's operation of the service",
    "art7-1-17": "reverse engineering, decompiling or disassembling",
    "art7-1-18": "embedding the software in other software, or other software in it",
    "art7-1-19": "any other act Secom reasonably judges inappropriate",
}
MAX_REASON = 2000


@dataclass(frozen=True)
class Takedown:
    contract_id: str
    camera_id: str
    frame_id: str
    ground: str
    reason: str
    taken_down_at: datetime
    actor: str
    captured_at: datetime
    bytes_deleted: int
    audit_seq: int


def _check_ground_and_reason(ground: str, reason: str) -> str:
    if ground not in GROUNDS:
        raise ValidationError("ground must be an item of Art. 7-1", field="ground", allowed=list(GROUNDS))
    text = reason.strip()
    if not text or len(text) > MAX_REASON:
        raise ValidationError(f"reason must be 1 to {MAX_REASON} characters", field="reason")
    return text


def take_down_frame(
    contract_id: str,
    *,
    camera_id: str,
    frame_id: str,
    ground: str,
    reason: str,
    actor: str,
    storage: Storage,
    now: datetime,
) -> Takedown:
    """Delete one frame of the contract (objects and index item) on an Art. 7-1 ground, and audit it.

    Another contract's camera, an unknown camera and an unknown frame are all NotFound; a purged contract has
    nothing left to take down (409, naming the state).
    """
    text = _check_ground_and_reason(ground, reason)
    contract = contracts.get_contract(contract_id)
    if contract.state == contracts.PURGED:
        raise Conflict("the contract is purged", state=contract.state)
    camera = registry.camera_of_contract(contract_id, camera_id)
    if not ids.is_frame_id(frame_id):
        raise NotFound("frame not found")
    frame = store.get_frame(camera.camera_id, frame_id)
    failed = store.delete_objects(storage.s3, storage.bucket, [frame.object_key, frame.thumb_key])
    if failed:
        # Nothing audited and the index item kept: the takedown can be repeated until the objects are gone.
        raise StorageError("could not delete the frame's objects; try again", frame_id=frame_id)
    freed = frame.size + frame.thumb_size
    entry = audit.record(
        contract_id,
        actor=actor,
        action="frame.taken_down",
        subject=frame_id,
        details={
            "camera_id": camera.camera_id,
            "frame_id": frame_id,
            "captured_at": format_rfc3339(frame.captured_at),
            "ground": ground,
            "ground_text": GROUNDS[ground],
            "reason": text,
            "bytes_deleted": freed,
        },
        now=now,
        customer_visible=True,
    )
    store.delete_frame_items(
        [store.ExpiredFrame(frame.camera_id, frame.frame_id, frame.object_key, frame.thumb_key, freed)]
    )
    # After the index delete: a repeat (possible only while the item exists) cannot count the frame twice.
    deletions.record(contract_id, now, frames=1, bytes_freed=freed)
    return Takedown(
        contract_id=contract_id,
        camera_id=camera.camera_id,
        frame_id=frame_id,
        ground=ground,
        reason=text,
        taken_down_at=now,
        actor=actor,
        captured_at=frame.captured_at,
        bytes_deleted=freed,
        audit_seq=entry.seq,
    )


def takedown_view(record: Takedown) -> dict[str, Any]:
    return {
        "contract_id": record.contract_id,
        "camera_id": record.camera_id,
        "frame_id": record.frame_id,
        "captured_at": format_rfc3339(record.captured_at),
        "ground": record.ground,
        "ground_text": GROUNDS[record.ground],
        "reason": record.reason,
        "taken_down_at": format_rfc3339(record.taken_down_at),
        "taken_down_by": record.actor,
        "bytes_deleted": record.bytes_deleted,
        "audit_seq": record.audit_seq,
    }
