"""Requests from the people filmed (issue 15 points 4 and 5): made on a site's notice page, answered in the viewer.

A person who was filmed asks, without an account, for footage of them to be disclosed, for its use to stop or for it
to be deleted, or asks a question. They say roughly when and where (a camera of the site, a time window), how to
reach them, and what they ask. The form is checked as a whole (`FormRefused` lists every problem, in Japanese and
English); the public form is limited per ip and per site (fixed windows, counted only for a request that is
otherwise accepted), and its contact is sealed with KMS (encryption context = the request id) before it is stored:
it is read only by the contract's owners and managers, in the viewer, and never logged or audited.

The person gets the request's reference and a status link, `/r/<request_id>.<secret>`: 256 random bits of which only
the SHA-256 is stored. The status page shows the request's state and its answers, nothing else (not the text, not
the contact), so a forwarded link exposes nothing of what they wrote.

Owners and managers (Permission.HANDLE_REQUESTS, within their site scope) answer: disclose a frame of the window
through a one-time share link made for the request (the link is sealed like the contact, and shown on the status
page), refuse with a reason, delete the footage of the window (the retention job does it, through the takedown path
and its receipts, doti.subjects.deletion), or reply in text. Each answer commits with its customer-visible audit entry.
A request is due `request_due_days` after it arrives (14 unless the contract says otherwise); the suspension job
publishes an overdue notice, e-mailed to the contract's address, once (doti.subjects.overdue). A request is kept
`request_keep_days` after its last change (TTL), and the purge removes every one of the contract's.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Mapping
from contextlib import suppress
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from typing import Any

from doti import cursors, ids, tokens
from doti.accounts import roles
from doti.clock import format_optional, format_rfc3339
from doti.contracts import contract_states, public_ids, registry, retention_policy, terms
from doti.contracts.contract_states import Capability
from doti.entities import Camera, Contract, Site, SubjectRequest, User
from doti.errors import Conflict, NotFound, ValidationError
from doti.jobs import schedule
from doti.oversight import audit
from doti.public_urls import public_url
from doti.store import rate_limits
from doti.store import registry as registry_store
from doti.store import subject_requests as store
from doti.store.personal_data import PersonalDataBox
from doti.subjects.periods import due_days, keep_days
from doti.viewing import shares

JST = timezone(timedelta(hours=9), "JST")  # the form's times are the site's local time: the sites are in Japan

DISCLOSURE, STOP_USE, DELETION, QUESTION = "disclosure", "stop_use", "delete", "question"
KINDS: dict[str, dict[str, str]] = {
    DISCLOSURE: {"ja": "私が映った映像の開示", "en": "Disclosure of footage of me"},
    STOP_USE: {"ja": "私が映った映像の利用停止", "en": "Stop using footage of me"},
    DELETION: {"ja": "私が映った映像の削除", "en": "Delete footage of me"},
    QUESTION: {"ja": "質問", "en": "A question"},
}
_NEEDS_WINDOW = (DISCLOSURE, STOP_USE, DELETION)  # about footage: when, roughly (the camera may be left to the owner)

OPEN, DELETING, ANSWERED = "open", "deleting", "answered"
STATUS_LABELS: dict[str, dict[str, str]] = {
    OPEN: {"ja": "受付済み・回答待ち", "en": "Received, awaiting an answer"},
    DELETING: {"ja": "削除を実施中", "en": "Deletion in progress"},
    ANSWERED: {"ja": "回答済み", "en": "Answered"},
}
DISCLOSE, REFUSE, DELETE, REPLY = "disclose", "refuse", "delete", "reply"
ACTION_LABELS: dict[str, dict[str, str]] = {
    DISCLOSE: {"ja": "映像を開示しました", "en": "Footage disclosed"},
    REFUSE: {"ja": "ご請求に応じられません", "en": "Request refused"},
    DELETE: {"ja": "映像を削除します", "en": "Footage to be deleted"},
    REPLY: {"ja": "回答", "en": "Answer"},
}
DELETED_LABEL = {"ja": "映像を削除しました", "en": "Footage deleted"}

MAX_TEXT = 2000
MAX_CONTACT = 200
MAX_ANSWER_TEXT = 2000
MAX_WINDOW = timedelta(hours=24)  # "roughly when": a day at most, so a deletion's work stays bounded
MAX_FORM_BYTES = 16 * 1024
# Fixed windows; a request that is refused for its input counts against neither.
IP_LIMIT, IP_WINDOW = 5, timedelta(hours=1)
SITE_LIMIT, SITE_WINDOW = 50, timedelta(days=1)
DISCLOSURE_LINK_LIFETIME = timedelta(days=7)  # the longest a share link lives (doti.viewing.shares.MAX_LIFETIME)
PAGE_SIZE, MAX_PAGE_SIZE = 50, 100

FORM_FIELDS = ("kind", "camera_id", "from", "to", "contact", "text", "website", "form_token")
HONEYPOT = "website"  # hidden from people; a bot that fills every field fills it
MIN_FORM_TOKEN = 16  # the page's tokens are 32 characters (doti.public_forms.new_form_token)
ACTOR = "public:request-form"  # the audit actor of a request made on the notice page
_LOCAL_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # newlines and tabs are allowed in text


@dataclass(frozen=True)
class Problem:
    field: str
    ja: str
    en: str


class FormRefused(Exception):
    """The form is not accepted: `status` (422 its input, 429 a limit, 400 not a person's form) and what to fix."""

    def __init__(self, status: int, problems: list[Problem]) -> None:
        super().__init__("; ".join(p.en for p in problems))
        self.status = status
        self.problems = tuple(problems)


@dataclass(frozen=True)
class Accepted:
    request: SubjectRequest
    status_url: str


def camera_ref(public_id: str, camera_id: str) -> str:
    return hashlib.sha256(f"{public_id}\n{camera_id}".encode()).hexdigest()[:16]


# ---------------------------------------------------------------- the public form


def _site_cameras(site: Site) -> list[Camera]:
    return [c for c in registry_store.cameras_of_contract(site.contract_id) if c.site_id == site.site_id]


def _local_time(value: str, name: str, problems: list[Problem]) -> datetime | None:
    text = value.strip()
    if not text:
        return None
    if _LOCAL_TIME.match(text):
        try:
            return datetime.fromisoformat(text).replace(tzinfo=JST)
        except ValueError:
            pass
    problems.append(Problem(name, "日時の形式が正しくありません。", "This is not a date and time."))
    return None


def _text(fields: Mapping[str, str], name: str, limit: int, problems: list[Problem], *, one_line: bool) -> str:
    value = fields.get(name, "").strip()
    if not value:
        problems.append(Problem(name, "入力してください。", "Please fill this in."))
    elif len(value) > limit:
        problems.append(
            Problem(name, f"{limit}文字以内で入力してください。", f"Please keep this to {limit} characters or fewer.")
        )
    elif _CONTROL.search(value) or (one_line and ("\n" in value or "\r" in value)):
        problems.append(
            Problem(name, "使用できない文字が含まれています。", "This contains characters that cannot be used.")
        )
    return value


def _window(
    fields: Mapping[str, str], kind: str, contract: Contract, now: datetime, problems: list[Problem]
) -> tuple[datetime | None, datetime | None]:
    start = _local_time(fields.get("from", ""), "from", problems)
    end = _local_time(fields.get("to", ""), "to", problems)
    if start is None and end is None:
        if kind in _NEEDS_WINDOW and not any(p.field in ("from", "to") for p in problems):
            problems.append(
                Problem(
                    "from", "撮影されたおおよその日時を入力してください。", "Please say roughly when you were filmed."
                )
            )
        return None, None
    if start is None or end is None:
        missing = "from" if start is None else "to"
        if not any(p.field == missing for p in problems):
            problems.append(
                Problem(missing, "開始と終了の両方を入力してください。", "Please give both a start and an end.")
            )
        return None, None
    if end <= start:
        problems.append(Problem("to", "終了は開始より後にしてください。", "The end must be after the start."))
    elif end - start > MAX_WINDOW:
        problems.append(
            Problem("to", "時間帯は24時間以内にしてください。", "Please keep the window to 24 hours or less.")
        )
    days = contract.retention_days
    kept_from = retention_policy.cutoff(contract, now)
    if start < kept_from:
        since = kept_from.astimezone(JST).strftime("%Y-%m-%d %H:%M")
        problems.append(
            Problem(
                "from",
                f"映像の保存期間は{days}日間です。{since} より前の映像はすでに削除されています。",
                f"Footage is kept for {days} days: footage from before {since} (Japan time) has already been deleted.",
            )
        )
    if end > now + retention_policy.FUTURE_TOLERANCE:
        problems.append(Problem("to", "未来の日時は指定できません。", "The window cannot end in the future."))
    return start, end


def _check(
    fields: Mapping[str, str], site: Site, contract: Contract, cameras: list[Camera], now: datetime
) -> dict[str, Any]:
    problems: list[Problem] = []
    kind = fields.get("kind", "").strip()
    if kind not in KINDS:
        problems.append(Problem("kind", "ご請求の種類を選んでください。", "Please choose what you are asking for."))
    # the page offers each camera by its reference (naming no id); a client that knows a camera's id may send that
    chosen = fields.get("camera_id", "").strip()
    camera = next((c for c in cameras if chosen in (camera_ref(site.public_id or "", c.camera_id), c.camera_id)), None)
    if chosen and camera is None:
        problems.append(
            Problem("camera_id", "カメラを一覧から選んでください。", "Please choose a camera from the list.")
        )
    elif camera is None and len(cameras) == 1 and kind in _NEEDS_WINDOW:
        camera = cameras[0]  # the site's only camera
    start, end = _window(fields, kind, contract, now, problems)
    contact = _text(fields, "contact", MAX_CONTACT, problems, one_line=True)
    text = _text(fields, "text", MAX_TEXT, problems, one_line=False)
    if problems:
        raise FormRefused(422, problems)
    return {"kind": kind, "camera": camera, "start": start, "end": end, "contact": contact, "text": text}


def _count(site: Site, ip: str, now: datetime) -> None:
    """Count the submission against its ip's and its site's limits (the ip's only as a digest)."""
    if not rate_limits.count_in_window(f"ip:{ip}", IP_LIMIT, IP_WINDOW, now):
        raise FormRefused(
            429,
            [
                Problem(
                    "",
                    "送信回数が多すぎます。1時間ほどしてからお試しください。",
                    "Too many requests: please try again in an hour.",
                )
            ],
        )
    if not rate_limits.count_in_window(f"site:{site.site_id}", SITE_LIMIT, SITE_WINDOW, now):
        raise FormRefused(
            429,
            [
                Problem(
                    "",
                    "この場所への本日のご請求が上限に達しました。明日お試しいただくか、お問い合わせ先にご連絡ください。",
                    "This site has had too many requests today: please try again tomorrow, or use the contact above.",
                )
            ],
        )


def status_path(request_id: str, secret: str) -> str:
    return f"/r/{request_id}.{secret}"


def form_identity(public_id: str, form_token: str) -> tuple[str, str]:
    """The request id and status secret a form makes: derived from its token (192 random bits, known only to the
    browser that opened the page, in its form and its HttpOnly cookie), so the same form sent again (a retry after a
    lost answer, a double click) is the same request, and lands on the same status link."""
    digest = hashlib.sha256(f"request\n{public_id}\n{form_token}".encode()).digest()
    request_id = "dsr_" + base64.b32encode(digest[:15]).decode().lower()[:20]
    secret = base64.urlsafe_b64encode(hashlib.sha256(b"status\n" + digest).digest()).decode().rstrip("=")
    return request_id, secret


class _Made(Exception):
    """The form's request is stored already (another sending of it got there first)."""


def submit(
    public_id: str, fields: Mapping[str, str], *, ip: str, box: PersonalDataBox, now: datetime
) -> Accepted | None:
    """Accept a request made on a site's notice page; None when the page itself would be a 404 (an unknown id, a
    contract that does not serve). A filled honeypot is a 400 with nothing stored or counted. The same form sent
    again answers with the request it made, counted and stored once."""
    found = public_ids.serving_site(public_id, now)
    if found is None:
        return None
    site, contract = found
    if fields.get(HONEYPOT, "").strip() or len(fields.get("form_token", "")) < MIN_FORM_TOKEN:
        raise FormRefused(400, [Problem("", "送信できませんでした。", "The form could not be sent.")])
    request_id, secret = form_identity(public_id, fields["form_token"])
    status_url = public_url(status_path(request_id, secret))
    made = _made(request_id, contract.contract_id)
    if made is not None:
        return Accepted(made, status_url)
    checked = _check(fields, site, contract, _site_cameras(site), now)
    _count(site, ip, now)
    camera: Camera | None = checked["camera"]
    request = SubjectRequest(
        request_id=request_id,
        contract_id=contract.contract_id,
        site_id=site.site_id,
        camera_id=camera.camera_id if camera else None,
        kind=checked["kind"],
        window_start=checked["start"],
        window_end=checked["end"],
        text=checked["text"],
        contact_ciphertext=box.seal(request_id, "contact", checked["contact"]),
        secret_hash=tokens.hash_token(secret),
        status=OPEN,
        created_at=now,
        due_at=now + timedelta(days=due_days(contract)),
        expires_at=now + timedelta(days=keep_days(contract)),
    )

    def prepare() -> audit.StateWrite:
        if _made(request_id, contract.contract_id) is not None:
            raise _Made()

        def add(transaction: Any) -> None:
            store.add_new_request(transaction, request)
            schedule.add_work(transaction, schedule.REQUEST_OVERDUE, request.due_at, contract.contract_id, request_id)

        return audit.StateWrite(add, _facts(request))

    with suppress(_Made):  # another sending of the form stored it first
        audit.record_with(
            contract.contract_id, actor=ACTOR, action="subject_request.received", subject=request_id, now=now,
            prepare=prepare,
        )  # fmt: skip
    return Accepted(_made(request_id, contract.contract_id) or request, status_url)


def _made(request_id: str, contract_id: str) -> SubjectRequest | None:
    try:
        request = store.get_request(request_id)
    except NotFound:
        return None
    return request if request.contract_id == contract_id else None


def _facts(request: SubjectRequest) -> dict[str, Any]:
    """What the audit log says of a request: never its text or contact (the log outlives the purge)."""
    return {
        "kind": request.kind,
        "site_id": request.site_id,
        "camera_id": request.camera_id,
        "from": format_optional(request.window_start),
        "to": format_optional(request.window_end),
        "due_at": format_rfc3339(request.due_at),
    }


# ---------------------------------------------------------------- the status link


@dataclass(frozen=True)
class StatusAnswer:
    action: str
    at: datetime
    text: str | None
    link: str | None = None  # a disclosure's one-time link, while it can still be opened
    link_expires_at: datetime | None = None
    frames_deleted: int | None = None
    link_state: str | None = None  # a disclosure's link: active, used, revoked or expired (doti.viewing.shares)


@dataclass(frozen=True)
class RequestStatus:
    request_id: str
    kind: str
    status: str
    created_at: datetime
    due_at: datetime
    answers: tuple[StatusAnswer, ...]


def request_by_status_token(token: str, now: datetime) -> SubjectRequest | None:
    """The request a status link names, while its contract serves; None for anything else alike."""
    request_id, _, secret = token.partition(".")
    if not request_id.startswith("dsr_") or not secret or len(token) > 128:
        return None
    try:
        request = store.get_request(request_id)
        if not hmac.compare_digest(request.secret_hash, tokens.hash_token(secret)):
            return None
        contract = registry_store.get_contract(request.contract_id)
    except NotFound:
        return None
    if contract_states.refusal(contract, Capability.SERVING, now) is not None or request.expires_at <= now:
        return None
    return request


def status_of(token: str, *, box: PersonalDataBox, now: datetime) -> RequestStatus | None:
    request = request_by_status_token(token, now)
    if request is None:
        return None
    answers = tuple(_status_answer(request, answer, box, now) for answer in request.answers)
    return RequestStatus(request.request_id, request.kind, request.status, request.created_at, request.due_at, answers)


def _status_answer(
    request: SubjectRequest, answer: Mapping[str, Any], box: PersonalDataBox, now: datetime
) -> StatusAnswer:
    """An answer as the status page shows it: a disclosure's link only while it can still be opened (not used, not
    withdrawn, not expired), else what became of it."""
    at = datetime.fromisoformat(answer["at"])
    link = expires = state = None
    if answer.get("link_sealed") and answer.get("share_id"):
        expires = datetime.fromisoformat(answer["link_expires_at"])
        state = shares.state_of_share(request.contract_id, answer["share_id"], now)
        if state == shares.ACTIVE:
            link = box.open(request.request_id, "link", base64.b64decode(answer["link_sealed"]))
    return StatusAnswer(answer["action"], at, answer.get("text"), link, expires, answer.get("frames_deleted"), state)


# ---------------------------------------------------------------- the viewer


@dataclass(frozen=True)
class RequestView:
    request: SubjectRequest
    site_name: str
    camera_name: str | None
    overdue: bool
    contact: str | None = None  # only in the one request's view


def _handler_contract(user: User, now: datetime) -> Contract:
    contract = terms.get_contract(user.contract_id)
    terms.require_account_open(contract, now)
    roles.require(user, roles.Permission.HANDLE_REQUESTS)
    return contract


def _view(request: SubjectRequest, now: datetime, names: dict[str, str], contact: str | None = None) -> RequestView:
    return RequestView(
        request=request,
        site_name=names.get(request.site_id, ""),
        camera_name=names.get(request.camera_id or ""),
        overdue=request.status == OPEN and request.due_at <= now,
        contact=contact,
    )


def _names(contract_id: str) -> dict[str, str]:
    sites = {s.site_id: s.name for s in registry_store.sites_of_contract(contract_id)}
    return sites | {c.camera_id: c.name for c in registry_store.cameras_of_contract(contract_id)}


def list_requests(
    user: User, *, now: datetime, limit: int = PAGE_SIZE, cursor: str | None = None
) -> tuple[list[RequestView], str | None]:
    """A page of the contract's requests in the user's site scope, newest first."""
    _handler_contract(user, now)
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise ValidationError(f"limit must be 1 to {MAX_PAGE_SIZE}", field="limit")
    scope = f"requests:{user.contract_id}"
    after = _after(cursors.unpack(cursors.decode(cursor, scope, True)), user.contract_id) if cursor else None
    found, last = store.requests_of_contract(user.contract_id, limit=limit, after=after)
    names = _names(user.contract_id)
    views = [_view(r, now, names) for r in found if roles.in_scope(user, r.site_id)]
    next_cursor = cursors.encode(scope, True, cursors.pack(last)) if last else None
    return views, next_cursor


def _after(key: Any, contract_id: str) -> dict[str, Any]:
    """The index key a cursor holds, checked: the contract's own, of string attributes only."""
    names = {"request_id", "contract_id", "created_at"}
    if not (
        isinstance(key, dict)
        and set(key) == names
        and all(isinstance(v, dict) and set(v) == {"S"} and isinstance(v["S"], str) for v in key.values())
        and key["contract_id"]["S"] == contract_id
    ):
        raise ValidationError("cursor is not valid", field="cursor")
    return key


def _request_for(user: User, request_id: str) -> SubjectRequest:
    """A request of the user's contract within their scope; anything else is 404 alike."""
    if not request_id.startswith("dsr_") or len(request_id) > 64:
        raise NotFound("request not found")
    request = store.get_request(request_id)
    if request.contract_id != user.contract_id or not roles.in_scope(user, request.site_id):
        raise NotFound("request not found")
    return request


def get_request(user: User, request_id: str, *, box: PersonalDataBox, now: datetime) -> RequestView:
    """One request with its contact opened, for whoever answers it."""
    _handler_contract(user, now)
    request = _request_for(user, request_id)
    return _view(
        request, now, _names(user.contract_id), contact=box.open(request_id, "contact", request.contact_ciphertext)
    )


def _disclosure_link(user: User, request: SubjectRequest, frame_id: str, now: datetime) -> tuple[str, str]:
    """A one-time link to the frame, whose purpose is this request (doti.viewing.shares audits it); only this answer
    makes a link for a request (the public POST /v1/shares refuses `request:` purposes)."""
    made = shares.create_share(
        user,
        shares.ShareRequest(
            camera_id=request.camera_id or "",
            purpose="",  # not read: the link answers the request
            expires_in=int(DISCLOSURE_LINK_LIFETIME.total_seconds()),
            frame_id=frame_id,
            one_time=True,
        ),
        now=now,
        answering_request=request.request_id,
    )
    return made.share.share_id, public_url(f"/s/{made.token}")


@dataclass(frozen=True)
class Answer:
    action: str
    text: str | None = None
    frame_id: str | None = None
    camera_id: str | None = None  # disclose/delete when the person named no camera: one of the request's site


def _answer_text(answer: Answer) -> str | None:
    text = (answer.text or "").strip() or None
    if answer.action in (REFUSE, REPLY) and text is None:
        raise ValidationError(
            "a refusal needs its reason" if answer.action == REFUSE else "a reply needs its text", field="text"
        )
    if text is not None and len(text) > MAX_ANSWER_TEXT:
        raise ValidationError(f"text must be at most {MAX_ANSWER_TEXT} characters", field="text")
    return text


def _with_camera(user: User, request: SubjectRequest, camera_id: str | None) -> SubjectRequest:
    """The request with the camera a disclosure or deletion is about: its own, else the one the answer names (a camera
    of the request's site the user may see); it must name a window."""
    if request.window_start is None or request.window_end is None:
        raise ValidationError("this request names no time window", field="action")
    if request.camera_id is not None:
        if camera_id not in (None, request.camera_id):
            raise ValidationError("the request names its camera already", field="camera_id")
        return request
    if not camera_id:
        raise ValidationError("the person named no camera: choose one of the site's", field="camera_id")
    try:
        camera = registry.camera_for_user(user, camera_id)
    except NotFound as exc:
        raise ValidationError("camera_id must be a camera of the request's site", field="camera_id") from exc
    if camera.site_id != request.site_id:
        raise ValidationError("camera_id must be a camera of the request's site", field="camera_id")
    return replace(request, camera_id=camera.camera_id)


def answer_request(user: User, request_id: str, answer: Answer, *, box: PersonalDataBox, now: datetime) -> RequestView:
    """Answer a request (owners and managers): each answer commits with its "subject_request.answered" entry."""
    contract = _handler_contract(user, now)
    terms.require_serving(contract, now)
    if answer.action not in ACTION_LABELS:
        raise ValidationError(
            "action must be one of " + ", ".join(ACTION_LABELS), field="action", allowed=list(ACTION_LABELS)
        )
    request = _request_for(user, request_id)
    if request.status == DELETING:
        raise Conflict("the footage of this request is being deleted", status=request.status)
    text = _answer_text(answer)
    entry: dict[str, Any] = {"action": answer.action, "at": format_rfc3339(now), "text": text}
    details: dict[str, Any] = {"action": answer.action}
    status = ANSWERED
    if answer.action in (DISCLOSE, DELETE):
        request = _with_camera(user, request, answer.camera_id)
    if answer.action == DISCLOSE:
        frame_id = answer.frame_id or ""
        if not ids.is_frame_id(frame_id) or not (
            ids.frame_id_floor(request.window_start) <= frame_id < ids.frame_id_floor(request.window_end)
        ):
            raise ValidationError("frame_id must name a frame of the request's camera and window", field="frame_id")
        share_id, url = _disclosure_link(user, request, frame_id, now)
        expires = now + DISCLOSURE_LINK_LIFETIME
        entry |= {
            "share_id": share_id,
            "frame_id": frame_id,
            "link_sealed": base64.b64encode(box.seal(request_id, "link", url)).decode(),
            "link_expires_at": format_rfc3339(expires),
        }
        details |= {"share_id": share_id, "frame_id": frame_id}
    elif answer.action == DELETE:
        status = DELETING
        details |= {"camera_id": request.camera_id, "from": format_optional(request.window_start),
                    "to": format_optional(request.window_end)}  # fmt: skip
    keep_until = now + timedelta(days=keep_days(contract))

    def prepare() -> audit.StateWrite:
        seen = store.get_request(request_id)
        if seen.status == DELETING:
            raise Conflict("the footage of this request is being deleted", status=seen.status)
        changes: dict[str, Any] = {
            "answers": [*seen.answers, entry],
            "status": status,
            "expires_at": max(keep_until, seen.expires_at),
        }
        if request.camera_id != seen.camera_id:
            changes["camera_id"] = request.camera_id  # the camera the answer chose, for the deletion job

        def add(transaction: Any) -> None:
            store.add_change(transaction, seen, **changes)
            if status == DELETING:
                schedule.add_work(transaction, schedule.REQUEST_DELETE, now, seen.contract_id, request_id)

        return audit.StateWrite(add, details)

    audit.record_with(
        user.contract_id, actor=audit.user_actor(user), action="subject_request.answered", subject=request_id,
        now=now, prepare=prepare,
    )  # fmt: skip
    return get_request(user, request_id, box=box, now=now)
