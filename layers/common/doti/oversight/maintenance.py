"""Maintenance access (Art. 10-1): staff view a customer's frames for maintenance, fault investigation or recovery.

Each access names a ticket (the maintenance or incident reference that justifies it), a camera and a time window,
and is written to the contract's audit log as customer-visible before any URL is handed out: the customer sees who
looked, under which ticket, at which camera, over which window and at how many frames (`GET /v1/access-log`).

It works in every contract state but `purged`: staff may need to maintain a suspended or terminated account's data
during its grace period, and a purged contract has no data left.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from doti import ids
from doti.clock import format_rfc3339
from doti.contracts import contract_states, registry, terms
from doti.errors import Conflict, ValidationError
from doti.oversight import audit
from doti.store import frames as store
from doti.store.objects import Storage
from doti.viewing.frames import MAX_PAGE, SignedFrame, sign_frame

DEFAULT_LIMIT = 50
# A ticket is a reference, not prose: 3-100 characters, starting with a letter or digit (e.g. "MNT-1234",
# "INC0012345", "2026/11 panel #7").
TICKET = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._:/#\-]{2,99}$")
MAX_REASON = 1000


@dataclass(frozen=True)
class MaintenanceWindow:
    camera_id: str
    start: datetime
    end: datetime
    ticket: str
    reason: str
    limit: int = DEFAULT_LIMIT


@dataclass(frozen=True)
class MaintenanceAccess:
    contract_id: str
    window: MaintenanceWindow
    items: list[SignedFrame]
    truncated: bool  # more frames in the window than the limit; ask again with a later `from`
    url_ttl: int
    audit_seq: int


def _validated(window: MaintenanceWindow) -> MaintenanceWindow:
    ticket, reason = window.ticket.strip(), window.reason.strip()
    if not TICKET.fullmatch(ticket):
        raise ValidationError(
            "ticket must be a reference of 3 to 100 letters, digits, spaces or . _ : / # -, starting with a letter"
            " or digit",
            field="ticket",
        )
    if not reason or len(reason) > MAX_REASON:
        raise ValidationError(f"reason must be 1 to {MAX_REASON} characters", field="reason")
    if window.start >= window.end:
        raise ValidationError("'from' must be before 'to'", field="from")
    if not 1 <= window.limit <= MAX_PAGE:
        raise ValidationError(f"limit must be between 1 and {MAX_PAGE}", field="limit")
    return MaintenanceWindow(window.camera_id, window.start, window.end, ticket, reason, window.limit)


def access_frames(
    contract_id: str, window: MaintenanceWindow, *, actor: str, storage: Storage, now: datetime
) -> MaintenanceAccess:
    """The camera's frames in [start, end), oldest first, with signed URLs valid for the contract's TTL; audited."""
    window = _validated(window)
    contract = terms.get_contract(contract_id)
    if contract_states.rules_of(contract).purged:
        raise Conflict("the contract is purged; it has no data left", state=contract.state)
    camera = registry.camera_of_contract(contract_id, window.camera_id)
    upper = ids.frame_id_floor(window.end)
    frames, more = (
        ([], None)  # a window that ends at or before 1970 holds no frame (and has no key range)
        if upper == ids.FRAME_ID_MIN
        else store.query_frames(
            camera.camera_id,
            ids.frame_id_floor(window.start),
            upper,
            newest_first=False,
            limit=window.limit,
            start_after=None,
            now=now,
        )
    )
    items = [sign_frame(frame, storage, contract.signed_url_ttl, now) for frame in frames]
    # Recorded before the URLs leave: an access that could not be logged does not happen.
    entry = audit.record(
        contract_id,
        actor=actor,
        action="maintenance.access",
        subject=camera.camera_id,
        details={
            "ticket": window.ticket,
            "reason": window.reason,
            "camera_id": camera.camera_id,
            "from": format_rfc3339(window.start),
            "to": format_rfc3339(window.end),
            "frames": len(items),
            "frame_ids": [item.frame.frame_id for item in items],
            "url_ttl_seconds": contract.signed_url_ttl,
        },
        now=now,
        customer_visible=True,
    )
    return MaintenanceAccess(
        contract_id=contract_id,
        window=window,
        items=items,
        truncated=more is not None,
        url_ttl=contract.signed_url_ttl,
        audit_seq=entry.seq,
    )
