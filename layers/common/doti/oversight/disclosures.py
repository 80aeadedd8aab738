"""Third-party disclosures of a customer's frames (Art. 10-3) and the evidence package each one produces.

Without the customer's prior consent, frames go to a third party only on one of the five grounds of Art. 10-3.
Basis codes are ASCII, article then paragraph then item:

- ``art10-3-1`` ① required by law or regulation (法令に基づく場合): e.g. a warrant, a court order, or an inquiry
  from an investigating authority under the Code of Criminal Procedure (Art. 197-2).
- ``art10-3-2`` ② needed to protect a person's life, body or property, when the customer's consent is hard to
  obtain (人の生命、身体または財産の保護).
- ``art10-3-3`` ③ especially needed for public health or the sound upbringing of children, when the customer's
  consent is hard to obtain (公衆衛生の向上または児童の健全な育成の推進).
- ``art10-3-4`` ④ cooperation with a national or local government body (or its contractor) carrying out duties
  prescribed by law, when asking the customer's consent would get in the way of those duties (国の機関等への協力).
- ``art10-3-5`` ⑤ succession of the business through a merger or other cause (事業の承継).

What the customer sees of a disclosure in their access log depends on the basis (`Basis.customer_visible` and
`Basis.withheld`), and is fixed in the audit entry when it is written:

- ④ is not shown at all: the basis itself says that involving the customer would hinder the authority's duty, and
  even the bare fact of a disclosure could tip off the person under investigation.
- ① is shown as a fact (basis, scope, number of frames, time) with the recipient, the reason and the legal
  reference withheld: requests under law, criminal-investigation inquiries above all, routinely ask that the data
  subject not be told who asked or why.
- ②, ③ and ⑤ are shown in full: consent was merely hard to get in time (②, ③) or the recipient is the successor
  of the service itself (⑤); nothing entitles us to keep the recipient from the customer afterwards.

Each disclosure produces an evidence package (doti.oversight.evidence), kept for `EVIDENCE_RETENTION` and
handed over through a presigned link that never outlives it.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from doti import ids
from doti.clock import format_optional, format_rfc3339
from doti.contracts import registry, retention_policy, terms
from doti.entities import Disclosure, Frame, StaffMember
from doti.errors import NotFound, ValidationError
from doti.observability import logger
from doti.oversight import audit, evidence
from doti.store import disclosures as store
from doti.store import frames as frame_store
from doti.store import requests
from doti.store.objects import Storage
from doti.store.signing import presign_get

if TYPE_CHECKING:
    from doti.store.transactions import Transaction


@dataclass(frozen=True)
class Basis:
    title: str
    customer_visible: bool = True
    withheld: tuple[str, ...] = ()  # audit-detail keys the customer's access log leaves out


_CONFIDENTIAL = ("recipient", "reason", "legal_reference")
BASES: dict[str, Basis] = {
    "art10-3-1": Basis("required by law (Art. 10-3 ①)", withheld=_CONFIDENTIAL),
    "art10-3-2": Basis("protection of life, body or property (Art. 10-3 ②)"),
    "art10-3-3": Basis("public health or the upbringing of children (Art. 10-3 ③)"),
    "art10-3-4": Basis(
        "cooperation with a public body's statutory duties (Art. 10-3 ④)",
        customer_visible=False,
        withheld=_CONFIDENTIAL,
    ),
    "art10-3-5": Basis("succession of the business (Art. 10-3 ⑤)"),
}

# A package is built inside one API request (29 s, 512 MB of /tmp): bounded so it always finishes in time.
MAX_PACKAGE_FRAMES = 200
MAX_PACKAGE_BYTES = 128 * 1024 * 1024
# Long enough for a recipient to fetch the package within a working day after staff hand the link over; short
# enough that a forwarded mail is not lasting access. Staff mint a fresh link with GET /v1/admin/disclosures/{id}.
# (A URL signed with the function's temporary credentials also dies when those expire, which may be sooner.)
LINK_TTL = timedelta(hours=24)
# Mirrors the evidence-expiry lifecycle rule of template.yaml (a test compares them): after this, no package.
EVIDENCE_RETENTION = timedelta(days=30)
# The same request asked again within this gets the disclosure it made: staff asking again after an error or no
# answer. Later, it records a new disclosure (the frames handed over once more).
REPEAT_WINDOW = timedelta(minutes=15)
_SPOOL_IN_MEMORY = 8 * 1024 * 1024  # the ZIP rolls over to /tmp beyond this


@dataclass(frozen=True)
class DisclosureRequest:
    contract_id: str
    basis: str
    recipient: str
    reason: str
    camera_id: str
    frame_ids: tuple[str, ...] | None = None
    start: datetime | None = None  # a window [start, end) instead of frame ids
    end: datetime | None = None
    legal_reference: str | None = None


@dataclass(frozen=True)
class PackageLink:
    url: str | None  # None once the package has passed EVIDENCE_RETENTION
    expires_at: datetime | None


# selecting frames


def _validate(request: DisclosureRequest) -> Basis:
    basis = BASES.get(request.basis)
    if basis is None:
        raise ValidationError("basis must be one of the grounds of Art. 10-3", field="basis", allowed=list(BASES))
    if not request.recipient.strip():
        raise ValidationError("recipient must not be empty", field="recipient")
    if not request.reason.strip():
        raise ValidationError("reason must not be empty", field="reason")
    by_ids = request.frame_ids is not None
    by_window = request.start is not None or request.end is not None
    if by_ids == by_window:
        raise ValidationError("give either frame_ids or a from/to window", field="frame_ids")
    if by_window and (request.start is None or request.end is None or request.start >= request.end):
        raise ValidationError("a window needs 'from' before 'to'", field="from")
    if by_ids and not request.frame_ids:
        raise ValidationError("frame_ids must name at least one frame", field="frame_ids")
    if by_ids and len(set(request.frame_ids or ())) > MAX_PACKAGE_FRAMES:
        raise ValidationError("too many frames for one package", field="frame_ids", maximum=MAX_PACKAGE_FRAMES)
    return basis


def _frames_by_id(camera_id: str, frame_ids: tuple[str, ...], now: datetime) -> list[Frame]:
    frames: list[Frame] = []
    for frame_id in dict.fromkeys(frame_ids):  # unique, in the order given
        if not ids.is_frame_id(frame_id):
            raise NotFound("frame not found", frame_id=frame_id)
        try:
            frame = frame_store.get_frame(camera_id, frame_id)
        except NotFound as exc:
            raise NotFound("frame not found", frame_id=frame_id) from exc
        if retention_policy.is_expired(frame, now):
            raise NotFound("frame not found", frame_id=frame_id)
        frames.append(frame)
    return sorted(frames, key=lambda f: f.frame_id)


def _frames_in_window(camera_id: str, start: datetime, end: datetime, now: datetime) -> list[Frame]:
    upper = ids.frame_id_floor(end)
    if upper == ids.FRAME_ID_MIN:
        return []
    frames, _ = frame_store.query_frames(
        camera_id,
        ids.frame_id_floor(start),
        upper,
        newest_first=False,
        limit=MAX_PACKAGE_FRAMES + 1,
        start_after=None,
        now=now,
    )
    return frames


def select_frames(request: DisclosureRequest, now: datetime) -> list[Frame]:
    """The frames a request names, all of the contract's camera, oldest first, within the package bounds."""
    registry.camera_of_contract(request.contract_id, request.camera_id)
    if request.frame_ids is not None:
        frames = _frames_by_id(request.camera_id, request.frame_ids, now)
    else:
        frames = _frames_in_window(request.camera_id, request.start, request.end, now)  # type: ignore[arg-type]
    if not frames:
        raise ValidationError("the scope holds no frames", field="from")
    if len(frames) > MAX_PACKAGE_FRAMES:
        raise ValidationError(
            "too many frames for one package; split the window", field="from", maximum=MAX_PACKAGE_FRAMES
        )
    total = sum(f.size for f in frames)
    if total > MAX_PACKAGE_BYTES:
        raise ValidationError(
            "the frames are too large for one package; split the scope", bytes=total, maximum=MAX_PACKAGE_BYTES
        )
    return frames


def _link(storage: Storage, disclosure: Disclosure, now: datetime) -> PackageLink:
    """A presigned GET that downloads the package as an attachment, never past the package's own expiry."""
    package_gone = disclosure.created_at + EVIDENCE_RETENTION
    if now >= package_gone:
        return PackageLink(url=None, expires_at=None)
    ttl = min(LINK_TTL, package_gone - now)
    signed = presign_get(
        storage.s3,
        storage.bucket,
        disclosure.package_key,
        content_type="application/zip",
        filename=f"{disclosure.disclosure_id}.zip",
        ttl_seconds=int(ttl.total_seconds()),
        now=now,
        disposition="attachment",
    )
    return PackageLink(url=signed.url, expires_at=signed.expires_at)


# records


def _scope(request: DisclosureRequest, frames: list[Frame]) -> dict[str, Any]:
    return {
        "camera_id": request.camera_id,
        "from": format_optional(request.start),
        "to": format_optional(request.end),
        "first_captured_at": format_rfc3339(frames[0].captured_at),
        "last_captured_at": format_rfc3339(frames[-1].captured_at),
        "frame_ids": [f.frame_id for f in frames],
    }


def _add_disclosure(transaction: Transaction, disclosure: Disclosure) -> None:
    """Store the disclosure, in the transaction of its "disclosure.created" entry."""
    store.add_new_disclosure(transaction, disclosure)


def _load(disclosure_id: str) -> Disclosure:
    return store.get_disclosure(disclosure_id)


def _audit_details(disclosure: Disclosure) -> dict[str, Any]:
    basis = BASES[disclosure.basis]
    return {
        "basis": disclosure.basis,
        "basis_title": basis.title,
        "recipient": disclosure.recipient,
        "reason": disclosure.reason,
        "legal_reference": disclosure.legal_reference,
        "scope": disclosure.scope,
        "frames": disclosure.frames,
        "package_sha256": disclosure.package_sha256,
        "withheld_from_customer": list(basis.withheld),
    }


def _document(disclosure_id: str, request: DisclosureRequest, staff: StaffMember, now: datetime) -> dict[str, Any]:
    return {
        "disclosure_id": disclosure_id,
        "contract_id": request.contract_id,
        "basis": request.basis,
        "basis_title": BASES[request.basis].title,
        "recipient": request.recipient,
        "reason": request.reason,
        "legal_reference": request.legal_reference,
        "staff_id": staff.staff_id,
        "created_at": format_rfc3339(now),
        "marking": (
            "Each image is the original with one added JPEG COM segment (PNG: tEXt chunk 'Comment') whose text starts "
            f"with '{evidence.MARK_PREFIX.decode()}{disclosure_id}'. Removing it gives the original bytes; their "
            "SHA-256 is original_sha256 in manifest.csv."
        ),
    }


class _AskedAgain(Exception):
    """The request was made before, and its disclosure is the answer."""

    def __init__(self, disclosure: Disclosure) -> None:
        super().__init__(disclosure.disclosure_id)
        self.disclosure = disclosure


def _request_key(request: DisclosureRequest, staff: StaffMember) -> str:
    """What makes two requests the same disclosure: the staff member, and everything the request says."""
    frame_ids = json.dumps(sorted(set(request.frame_ids))) if request.frame_ids is not None else None
    window = [format_optional(request.start), format_optional(request.end)]
    return requests.request_key(
        "disclosure",
        request.contract_id,
        staff.staff_id,
        request.basis,
        request.recipient,
        request.reason,
        request.legal_reference,
        request.camera_id,
        frame_ids,
        *window,
    )


def _still_answering(key: str, nonce: str | None, now: datetime) -> Disclosure | None:
    """The disclosure that answered the request under `nonce` less than REPEAT_WINDOW ago, if there is one."""
    if nonce is None:
        return None
    try:
        disclosure = _load(requests.answer_id("dsc", key, nonce))
    except NotFound:
        return None
    return disclosure if now - disclosure.created_at < REPEAT_WINDOW else None


def create_disclosure(
    request: DisclosureRequest, *, staff: StaffMember, storage: Storage, now: datetime
) -> tuple[Disclosure, PackageLink]:
    """Record a disclosure with its audit entry, build and store its evidence package, and return a download link.

    The disclosure and its entry commit together: a failure leaves neither (at most a package nobody points at,
    which the bucket's evidence rule deletes), and staff asking again make it. The same request asked again by the
    same staff member within REPEAT_WINDOW (after an error, or no answer) gets the disclosure it made, with a new
    link (itself audited, as `get_disclosure` does), rather than record a second disclosure of the same frames.
    """
    basis = _validate(request)
    terms.get_contract(request.contract_id)  # an unknown contract is NotFound, before anything is read
    key = _request_key(request, staff)
    earlier = _still_answering(key, requests.answering_nonce(key), now)
    if earlier is not None:
        return earlier, _issue_link(earlier, staff, storage, now)
    frames = select_frames(request, now)
    nonce = requests.new_nonce()
    disclosure_id = requests.answer_id("dsc", key, nonce)
    key_of_package = evidence.package_key(request.contract_id, disclosure_id)
    with tempfile.SpooledTemporaryFile(max_size=_SPOOL_IN_MEMORY) as spool:
        package = evidence.write_package(spool, _document(disclosure_id, request, staff, now), frames, storage, now)
        evidence.upload_package(storage, key_of_package, spool, disclosure_id, package.sha256)
    disclosure = Disclosure(
        disclosure_id=disclosure_id,
        contract_id=request.contract_id,
        basis=request.basis,
        recipient=request.recipient,
        reason=request.reason,
        legal_reference=request.legal_reference,
        scope=_scope(request, frames),
        frames=len(frames),
        package_key=key_of_package,
        package_sha256=package.sha256,
        package_bytes=package.size,
        created_by=audit.staff_actor(staff),
        created_at=now,
    )

    def prepare() -> audit.StateWrite:
        # Read on every attempt: a transaction cancelled because the same request committed meanwhile finds it here.
        seen = requests.answering_nonce(key)
        if (again := _still_answering(key, seen, now)) is not None:
            raise _AskedAgain(again)

        def add(transaction: Transaction) -> None:
            _add_disclosure(transaction, disclosure)
            requests.add_answer(transaction, key, nonce, expires_at=now + REPEAT_WINDOW, replacing=seen)

        return audit.StateWrite(add, _audit_details(disclosure))

    try:
        audit.record_with(
            request.contract_id,
            actor=audit.staff_actor(staff),
            action="disclosure.created",
            subject=disclosure_id,
            customer_visible=basis.customer_visible,
            now=now,
            prepare=prepare,
        )
    except _AskedAgain as again:
        # The same request committed meanwhile; this package belongs to no disclosure, and the bucket's evidence rule
        # deletes it (the function may not delete evidence).
        logger.info(
            "the same disclosure was recorded meanwhile", extra={"disclosure_id": again.disclosure.disclosure_id}
        )
        return again.disclosure, _issue_link(again.disclosure, staff, storage, now)
    return disclosure, _link(storage, disclosure, now)


def get_disclosure(
    disclosure_id: str, *, staff: StaffMember, storage: Storage, now: datetime
) -> tuple[Disclosure, PackageLink]:
    """The record and a fresh link; issuing a link is itself audited, as visible to the customer as the disclosure."""
    disclosure = _load(disclosure_id)
    return disclosure, _issue_link(disclosure, staff, storage, now)


def _issue_link(disclosure: Disclosure, staff: StaffMember, storage: Storage, now: datetime) -> PackageLink:
    link = _link(storage, disclosure, now)
    basis = BASES[disclosure.basis]
    audit.record(
        disclosure.contract_id,
        actor=audit.staff_actor(staff),
        action="disclosure.link_issued",
        subject=disclosure.disclosure_id,
        details={
            "basis": disclosure.basis,
            "recipient": disclosure.recipient,
            "link_expires_at": format_optional(link.expires_at),
            "withheld_from_customer": list(basis.withheld),
        },
        customer_visible=basis.customer_visible,
        now=now,
    )
    return link
