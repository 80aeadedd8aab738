"""Share links (SPEC §6): purpose-scoped, expiring, revocable grants to one frame or to a camera's time window.

A manager or owner creates a link for a purpose the link names by its code (doti.viewing.share_purposes: one of the
camera's registered purposes, or a statutory ground; a link answering a data-subject request is made only by answering
it), with an optional note, that expires within seven days. The holder of the link sees only what it grants: the one
frame, or the frames of that camera captured in [from, to), read by key range between the window's frame-id bounds,
so nothing captured before or after can appear, whatever the page's query string says. Every view mints fresh signed
URLs.

A link grants recorded footage, not a live feed: a window may end at most MAX_WINDOW_END_AHEAD after the link is
created (the ingest tolerance for device clocks), so a window ending days ahead cannot keep showing new frames until
the link expires. Whoever wants to share later footage creates a new link for it.

The signed URLs of a view never outlive the link: they expire with the contract's signed-URL TTL, or when the link
expires if that comes sooner, and a one-time link's within ONE_TIME_URL_TTL, since its page cannot be reloaded. A
revocation stops new views; URLs already minted expire on their own within that TTL (S3 cannot revoke them).

The token (256 random bits) is shown once, in the link; only its SHA-256 is stored. A link dies when it expires,
is revoked, has been used (one-time links; only a one-frame link can be one-time, since a window spans several
pages), or when its contract is suspended or has ended. Creations, views and revocations are audited, each in one
transaction with the change it records (the link, its revocation, a one-time link spent); a view is the link holder's
act, not the customer's, so it does not count as the customer's use of the service (Art. 12-1-11).

A one-time link survives link previews: opening it (a GET, a person's browser or a chat app's preview bot alike) shows
an interstitial that signs nothing, writes nothing and spends nothing; only its button (a POST, `posted=True`) shows
the frame and spends the link. Other links show their footage on any opening, as before.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from doti import ids, tokens
from doti.accounts import roles
from doti.clock import floor_to_second, format_optional, format_rfc3339
from doti.contracts import contract_states, registry, retention_policy, terms
from doti.entities import Camera, Contract, Frame, Share, User
from doti.errors import NotFound, ValidationError
from doti.oversight import audit
from doti.store import frames as frame_store
from doti.store import registry as registry_store
from doti.store import shares as store
from doti.store.events import EventSink
from doti.store.objects import Storage
from doti.viewing import share_purposes
from doti.viewing.frames import SignedFrame, sign_frame
from doti.viewing.share_purposes import SharePurpose
from doti.webhooks import producers

MIN_LIFETIME = timedelta(minutes=1)
MAX_LIFETIME = timedelta(days=7)
PAGE_SIZE = 50  # frames per page of a window's share page (SPEC §12 caps pages at 200)
# Frames may be captured up to 5 minutes ahead of the server's clock (doti.contracts.retention_policy.FUTURE_TOLERANCE).
MAX_WINDOW_END_AHEAD = timedelta(minutes=5)
ONE_TIME_URL_TTL = 300  # seconds: long enough to load a one-time page's images, not to pass its URLs on for long
_MAX_TOKEN_CHARS = 128

ACTIVE, EXPIRED, REVOKED, USED = "active", "expired", "revoked", "used"


@dataclass(frozen=True)
class ShareRequest:
    camera_id: str
    purpose: str  # a code of doti.viewing.share_purposes
    expires_in: int  # seconds
    frame_id: str | None = None
    start: datetime | None = None
    end: datetime | None = None
    one_time: bool = False
    purpose_note: str | None = None


@dataclass(frozen=True)
class CreatedShare:
    share: Share
    token: str  # shown once, in the link; never stored


def share_actor(share_id: str) -> str:
    return f"share:{share_id}"


def _serving_contract(user: User, now: datetime) -> Contract:
    roles.require(user, roles.Permission.SHARE)
    contract = terms.get_contract(user.contract_id)
    terms.require_serving(contract, now)
    return contract


def _purpose(request: ShareRequest, camera: Camera, answering_request: str | None) -> str:
    """The purpose code the link stores. Only the caller answering a request names one (it has checked the request);
    otherwise the camera's registration decides, after the camera itself is known to be the user's (a 404 first, so
    another tenant's registration never shows in a refusal)."""
    if answering_request is not None:
        return share_purposes.request_code(answering_request)
    return share_purposes.chosen(share_purposes.checked_form(request.purpose), camera)


def _lifetime(expires_in: int) -> timedelta:
    # Compared as a number first: timedelta(seconds=1e14) overflows before any range check could refuse it.
    if not MIN_LIFETIME.total_seconds() <= expires_in <= MAX_LIFETIME.total_seconds():
        raise ValidationError(
            "expires_in is out of range",
            field="expires_in",
            minimum=int(MIN_LIFETIME.total_seconds()),
            maximum=int(MAX_LIFETIME.total_seconds()),
        )
    return timedelta(seconds=expires_in)


def _check_scope(request: ShareRequest, now: datetime) -> None:
    by_window = request.start is not None or request.end is not None
    if (request.frame_id is not None) == by_window:
        raise ValidationError("give either frame_id or a from/to window", field="frame_id")
    if by_window and (request.start is None or request.end is None or request.start >= request.end):
        raise ValidationError("a window needs 'from' before 'to'", field="from")
    latest_end = now + MAX_WINDOW_END_AHEAD
    if request.end is not None and request.end > latest_end:
        minutes = MAX_WINDOW_END_AHEAD.seconds // 60
        raise ValidationError(
            f"a link shares recorded footage, not a live feed: 'to' must be at most {minutes} minutes from now",
            field="to",
            latest=format_rfc3339(latest_end),
        )
    if by_window and request.one_time:
        raise ValidationError("only a one-frame link can be one-time: a window spans several pages", field="one_time")


def _live_frame(camera_id: str, frame_id: str, now: datetime) -> Frame:
    if not ids.is_frame_id(frame_id):
        raise NotFound("frame not found")
    frame = frame_store.get_frame(camera_id, frame_id)
    if retention_policy.is_expired(frame, now):
        raise NotFound("frame not found")
    return frame


def create_share(
    user: User, request: ShareRequest, *, now: datetime, answering_request: str | None = None
) -> CreatedShare:
    """A new link to a frame or a window of a camera the user may see; the token is returned once.

    The link's purpose is `request.purpose`, which must be one of the camera's registered purposes or a statutory
    ground. A link that answers data-subject request `answering_request` (the request's answer, never the public
    route) has `request:<answering_request>` as its purpose instead, and `request.purpose` is not read.
    """
    _serving_contract(user, now)
    note = share_purposes.checked_note(request.purpose_note)
    lifetime = _lifetime(request.expires_in)
    _check_scope(request, now)
    camera = registry.camera_for_user(user, request.camera_id)
    purpose = _purpose(request, camera, answering_request)
    if request.frame_id is not None:
        _live_frame(camera.camera_id, request.frame_id, now)
    token = tokens.new_token()
    share = Share(
        share_id=ids.new_id("shr"),
        token_hash=tokens.hash_token(token),
        contract_id=user.contract_id,
        site_id=camera.site_id,
        camera_id=camera.camera_id,
        frame_id=request.frame_id,
        window_start=request.start,
        window_end=request.end,
        purpose=purpose,
        purpose_note=note,
        one_time=request.one_time,
        created_by=user.user_id,
        created_at=now,
        expires_at=floor_to_second(now + lifetime),
    )
    details = {
        "camera_id": share.camera_id,
        "frame_id": share.frame_id,
        "from": format_optional(share.window_start),
        "to": format_optional(share.window_end),
        "purpose": share.purpose,
        "purpose_note": share.purpose_note,
        "expires_at": format_rfc3339(share.expires_at),
        "one_time": share.one_time,
    }
    # No link without its entry, nor an entry without its link: they commit together, so a failed write leaves
    # nothing, and the customer who asks again after an error gets the one link there is.
    audit.record_with(
        share.contract_id,
        actor=audit.user_actor(user),
        action="share.created",
        subject=share.share_id,
        now=now,
        prepare=lambda: audit.StateWrite(partial(store.add_new_share, share=share), details),
    )
    return CreatedShare(share=share, token=token)


@dataclass(frozen=True)
class ListedShare:
    share: Share
    purpose: SharePurpose


def list_shares(user: User, *, now: datetime) -> list[ListedShare]:
    """The contract's links that have not expired (revoked and used ones included), newest first, limited to the
    cameras of the user's sites, each with its purpose in words (one batched read of their cameras)."""
    _serving_contract(user, now)
    found = [
        s for s in store.shares_of_contract(user.contract_id) if s.expires_at > now and roles.in_scope(user, s.site_id)
    ]
    cameras = registry_store.cameras_by_id(user.contract_id, {s.camera_id for s in found})
    return [
        ListedShare(s, share_purposes.describe(s.purpose, cameras.get(s.camera_id)))
        for s in sorted(found, key=lambda s: (s.created_at, s.share_id), reverse=True)
    ]


def revoke_share(user: User, share_id: str, *, now: datetime) -> None:
    """Revoke a link of the user's contract (and sites); revoking it again changes nothing."""
    _serving_contract(user, now)
    share = store.share_of_contract(user.contract_id, share_id)
    if not roles.in_scope(user, share.site_id):
        raise NotFound("share not found")

    def prepare() -> audit.StateWrite:
        # Read again on every attempt: a revocation that committed (its answer lost) is the first one, and stands.
        current = store.share_by_token_hash(share.token_hash)
        if current is None or current.revoked_at is not None:
            raise _AlreadyRevoked()
        revoked = partial(store.add_revoked, share=share, by=user.user_id, now=now)
        return audit.StateWrite(revoked, {"camera_id": share.camera_id, "purpose": share.purpose})

    # The revocation and its entry commit together: a failed write leaves the link live and unrevoked, and the
    # customer's second try revokes it with its entry, rather than find it revoked with no entry saying so.
    try:
        audit.record_with(
            share.contract_id,
            actor=audit.user_actor(user),
            action="share.revoked",
            subject=share.share_id,
            now=now,
            prepare=prepare,
        )
    except _AlreadyRevoked:
        return


class _AlreadyRevoked(Exception):
    """The link was revoked already (or is gone): the first revocation stands, with its entry."""


def share_status(share: Share, now: datetime) -> str:
    if share.revoked_at is not None:
        return REVOKED
    if share.expires_at <= now:
        return EXPIRED
    if share.one_time and share.consumed_at is not None:
        return USED
    return ACTIVE


def state_of_share(contract_id: str, share_id: str, now: datetime) -> str:
    """What became of one of the contract's links (a disclosure's, for the status page of the request it answered);
    a link no longer stored (TTL, purge) is EXPIRED."""
    try:
        return share_status(store.share_of_contract(contract_id, share_id), now)
    except NotFound:
        return EXPIRED


# the page a link holder opens


UNKNOWN, GONE, BAD_PAGE = "unknown", "gone", "bad_page"
SUSPENDED, ENDED = contract_states.PAGE_SUSPENDED, contract_states.PAGE_ENDED  # as the contract's state says
FOREIGN_FORM = "foreign_form"  # a button's POST that another site's page sent (its Origin or Referer says so)
# The link is dead (404), its contract stopped serving (403), the button was pressed on another site's page (403),
# or the page address was altered (400).
REFUSAL_STATUS = {
    UNKNOWN: 404,
    EXPIRED: 404,
    REVOKED: 404,
    USED: 404,
    GONE: 404,
    SUSPENDED: 403,
    ENDED: 403,
    FOREIGN_FORM: 403,
    BAD_PAGE: 400,
}


@dataclass(frozen=True)
class ShareRefusal:
    reason: str  # one of REFUSAL_STATUS

    @property
    def status(self) -> int:
        return REFUSAL_STATUS[self.reason]


@dataclass(frozen=True)
class ShareInterstitial:
    """A one-time link opened without its button: what it grants and why, with no frame, URL or write."""

    share: Share
    camera_name: str
    purpose: SharePurpose


@dataclass(frozen=True)
class SharedFootage:
    share: Share
    camera_name: str
    purpose: SharePurpose
    frames: list[SignedFrame]
    cursor: str | None  # where the next page starts; None on the last page
    paged: bool  # this is a later page of a window


class _Refused(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def open_share(
    token: str, cursor: str | None, *, storage: Storage, events: EventSink, now: datetime, posted: bool = False
) -> SharedFootage | ShareInterstitial | ShareRefusal:
    """What a link holder sees: the frames the link grants, signed for this view, or why there are none.

    A one-time link shows its frames only when `posted` (its interstitial's button); opened otherwise it answers the
    interstitial, after the same checks, so a dead link says so at once. Every check runs before a one-time link is
    spent, so a link refused for a passing reason (a suspension) is not used up; the view is audited before any URL
    is signed. Once audited, an opening (a window's first page; its later pages are the same view) is told to
    `events` as `share.viewed`; an interstitial, which shows nothing, is not.
    """
    try:
        share = _usable_share(token, now)
        contract = _serving_contract_of(share, now)
        camera = _camera(share)
        frames, next_cursor = _granted_frames(share, cursor, now)
        purpose = share_purposes.describe(share.purpose, camera)
        if share.one_time and not posted:
            return ShareInterstitial(share, camera.name, purpose)  # read only: a preview bot's GET leaves no trace
        _record_view(share, cursor, len(frames), now)
    except _Refused as refused:
        return ShareRefusal(refused.reason)
    if cursor is None:
        producers.tell(events, [producers.share_viewed(share, now)])
    ttl = _url_ttl(share, contract, now)
    signed = [sign_frame(frame, storage, ttl, now) for frame in frames]
    return SharedFootage(share, camera.name, purpose, signed, next_cursor, paged=cursor is not None)


def _record_view(share: Share, cursor: str | None, frames: int, now: datetime) -> None:
    """Audit the view. A one-time link is spent in the entry's transaction: a failed write neither spends the link
    without its entry (its holder could never reload the page) nor records a view that did not happen."""
    action, subject = "share.viewed", share.share_id
    details = {"camera_id": share.camera_id, "purpose": share.purpose, "frames": frames, "after": cursor}
    actor = share_actor(share.share_id)
    if not share.one_time:
        audit.record(share.contract_id, actor=actor, action=action, subject=subject, details=details, now=now)
        return

    def prepare() -> audit.StateWrite:
        current = store.share_by_token_hash(share.token_hash)
        if current is None or current.revoked_at is not None:
            raise _Refused(REVOKED)
        if current.consumed_at is not None:
            raise _Refused(USED)  # another view came first
        return audit.StateWrite(partial(store.add_consumed, share=share, now=now), details)

    audit.record_with(share.contract_id, actor=actor, action=action, subject=subject, now=now, prepare=prepare)


def _url_ttl(share: Share, contract: Contract, now: datetime) -> int:
    """Seconds the signed URLs of a view live: the contract's TTL, but never past the link's own expiry, and short
    for a one-time link (at least a second: a usable link has not expired yet)."""
    ttl = min(contract.signed_url_ttl, int((share.expires_at - now).total_seconds()))
    if share.one_time:
        ttl = min(ttl, ONE_TIME_URL_TTL)
    return max(ttl, 1)


def _usable_share(token: str, now: datetime) -> Share:
    if not token or len(token) > _MAX_TOKEN_CHARS:
        raise _Refused(UNKNOWN)
    share = store.share_by_token_hash(tokens.hash_token(token))
    if share is None:
        raise _Refused(UNKNOWN)
    status = share_status(share, now)
    if status != ACTIVE:
        raise _Refused(status)
    return share


def _serving_contract_of(share: Share, now: datetime) -> Contract:
    try:
        contract = terms.get_contract(share.contract_id)
    except NotFound as exc:
        raise _Refused(UNKNOWN) from exc
    refused = contract_states.refusal(contract, contract_states.Capability.SHARE_PAGES, now)
    if refused is not None:
        raise _Refused(refused.page_refusal)  # SUSPENDED or ENDED
    return contract


def _camera(share: Share) -> Camera:
    try:
        return registry.camera_of_contract(share.contract_id, share.camera_id)
    except NotFound as exc:
        raise _Refused(GONE) from exc


def _granted_frames(share: Share, cursor: str | None, now: datetime) -> tuple[list[Frame], str | None]:
    if share.frame_id is not None:
        if cursor is not None:
            raise _Refused(BAD_PAGE)  # a one-frame link has one page
        try:
            return [_live_frame(share.camera_id, share.frame_id, now)], None
        except NotFound as exc:
            raise _Refused(GONE) from exc
    return _window_page(share, cursor, now)


def _window_page(share: Share, cursor: str | None, now: datetime) -> tuple[list[Frame], str | None]:
    """One page of the window's frames, oldest first. The key range is the window's, and a cursor outside it is
    refused rather than clamped: the page shows frames of [from, to) and nothing else."""
    start, end = share.window_start, share.window_end
    if start is None or end is None:
        raise _Refused(GONE)  # not a window: create_share stores either a frame or both bounds
    lower, upper = ids.frame_id_floor(start), ids.frame_id_floor(end)
    if cursor is not None and not (ids.is_frame_id(cursor) and lower <= cursor < upper):
        raise _Refused(BAD_PAGE)
    if upper == ids.FRAME_ID_MIN:
        return [], None  # a window that ends before 1970 holds no frame
    frames, last = frame_store.query_frames(
        share.camera_id, lower, upper, newest_first=False, limit=PAGE_SIZE, start_after=cursor, now=now
    )
    return [f for f in frames if start <= f.captured_at < end], last
