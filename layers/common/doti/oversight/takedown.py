"""Takedown (Art. 7-2): staff delete a frame or a note (text data) when it falls under a prohibited act of Art. 7-1.

The ground is one of the nineteen items of Art. 7-1 (`art7-1-1` ... `art7-1-19`). Order: the frame's objects,
then the audit entry, then the index item, in one transaction with its timeline slot's count (doti.store.timeline).
While the index item exists the takedown can be repeated, so one that stops half-way is finished by repeating it:
it never leaves an unlisted object that only its lifecycle rule would remove, nor a takedown without its audit entry
(at worst, a repeat after a failed index delete logs it twice).
The audit entry is visible to the customer: Art. 7-2 needs no prior notice, but the customer can see what was
removed and on which ground.

A note (a customer's note, or a device event, named with a camera it is listed with) has no objects: the audit entry,
then the item. Its audit entry records the note's length and SHA-256, not its text: the audit log outlives the purge,
and text taken down on a ground of Art. 7-1 must not live on in it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from doti import ids
from doti.clock import format_rfc3339
from doti.contracts import contract_states, registry, terms
from doti.entities import Camera, Frame
from doti.errors import Conflict, NotFound, StorageError, ValidationError
from doti.ingest import notes
from doti.oversight import audit
from doti.store import claims, transactions
from doti.store import frames as store
from doti.store import notes as notes_store
from doti.store import timeline as timeline_store
from doti.store.objects import Storage
from doti.viewing import deletions

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
_UNINDEX_ATTEMPTS = 3  # another frame may move the slot's first frame between the read and the transaction


@dataclass(frozen=True)
class Takedown:
    contract_id: str
    camera_id: str
    frame_id: str | None
    ground: str
    reason: str
    taken_down_at: datetime
    actor: str
    captured_at: datetime
    bytes_deleted: int
    audit_seq: int
    note_id: str | None = None


def _checked(contract_id: str, camera_id: str, ground: str, reason: str) -> tuple[str, Camera]:
    """The trimmed reason and the contract's camera, once the ground, the reason and the contract's state allow a
    takedown (a purged contract has nothing left to take down: 409, naming the state)."""
    if ground not in GROUNDS:
        raise ValidationError("ground must be an item of Art. 7-1", field="ground", allowed=list(GROUNDS))
    text = reason.strip()
    if not text or len(text) > MAX_REASON:
        raise ValidationError(f"reason must be 1 to {MAX_REASON} characters", field="reason")
    contract = terms.get_contract(contract_id)
    if contract_states.rules_of(contract).purged:
        raise Conflict("the contract is purged", state=contract.state)
    return text, registry.camera_of_contract(contract_id, camera_id)


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
    text, camera = _checked(contract_id, camera_id, ground, reason)
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
    # counted in the transaction that removes the index item: a repeat (possible only while it exists) cannot count
    # the frame twice, and a failure after it cannot lose the count
    unindex(frame, partial(deletions.add_takedown, contract_id=contract_id, now=now, frames=1, bytes_freed=freed))
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


def unindex(frame: Frame, also: Callable[[transactions.Transaction], None] | None = None) -> bool:
    """Delete the frame's index item and uncount it from its timeline slot, in one transaction conditional on the
    item, with what `also` adds (the receipt's count of it): a repeat does nothing twice. A frame indexed before
    timeline slots existed has none to uncount. False when the item was gone already (nothing counted)."""
    start = timeline_store.slot_start(frame.captured_at)
    for _ in range(_UNINDEX_ATTEMPTS):
        seen = timeline_store.read_slot(frame.camera_id, start)
        first = seen is not None and seen.first_frame_id == frame.frame_id
        next_id = timeline_store.next_frame_id(frame.camera_id, start, frame.frame_id) if first else None

        def remove(transaction: transactions.Transaction, seen=seen, next_id=next_id) -> None:
            store.add_index_removal(transaction, frame.camera_id, frame.frame_id)
            claims.add_tombstone(transaction, frame)  # the device's replay must not store it again
            if seen is not None:
                timeline_store.add_removal(transaction, frame, seen, next_id)
            if also is not None:
                also(transaction)

        try:
            transactions.commit(remove)
            return True
        except transactions.NotCommitted as exc:
            if not store.frame_indexed(frame.camera_id, frame.frame_id):
                # it applied and its answer was lost, or a repeat got there first (then it is counted there)
                return not exc.cancelled
            if not exc.cancelled:
                raise
    raise StorageError("could not delete the frame's index item; try again", frame_id=frame.frame_id)


def take_down_note(
    contract_id: str, *, camera_id: str, note_id: str, ground: str, reason: str, actor: str, now: datetime
) -> Takedown:
    """Delete one note listed with a camera of the contract (the camera's own, or its site's device event) on an
    Art. 7-1 ground, and audit it. Unknown or another contract's camera or note: NotFound."""
    text, camera = _checked(contract_id, camera_id, ground, reason)
    note = notes.note_of_camera(camera, note_id)
    entry = audit.record(
        contract_id,
        actor=actor,
        action="note.taken_down",
        subject=note.note_id,
        details={
            "camera_id": camera.camera_id,
            "note_id": note.note_id,
            "kind": note.kind,
            "at": format_rfc3339(note.at),
            "text_length": len(note.text),
            "text_sha256": hashlib.sha256(note.text.encode()).hexdigest(),
            "ground": ground,
            "ground_text": GROUNDS[ground],
            "reason": text,
        },
        now=now,
        customer_visible=True,
    )
    notes_store.delete_notes(notes_store.partition_of(note), [note.note_id])
    deletions.record_takedown(contract_id, now, frames=0, bytes_freed=0, notes=1)
    return Takedown(
        contract_id=contract_id,
        camera_id=camera.camera_id,
        frame_id=None,
        ground=ground,
        reason=text,
        taken_down_at=now,
        actor=actor,
        captured_at=note.at,
        bytes_deleted=0,
        audit_seq=entry.seq,
        note_id=note.note_id,
    )


def take_down(
    contract_id: str,
    *,
    camera_id: str,
    frame_id: str | None,
    note_id: str | None,
    ground: str,
    reason: str,
    actor: str,
    storage: Storage,
    now: datetime,
) -> Takedown:
    """Take down the one item named: a frame (`frame_id`) or a note (`note_id`), of the given camera."""
    if frame_id is not None and note_id is None:
        return take_down_frame(
            contract_id,
            camera_id=camera_id,
            frame_id=frame_id,
            ground=ground,
            reason=reason,
            actor=actor,
            storage=storage,
            now=now,
        )
    if note_id is not None and frame_id is None:
        return take_down_note(
            contract_id, camera_id=camera_id, note_id=note_id, ground=ground, reason=reason, actor=actor, now=now
        )
    problem = "name exactly one item to take down: frame_id or note_id"
    raise ValidationError(problem, problems=[{"field": f, "problem": problem} for f in ("frame_id", "note_id")])
