"""E-mail alerts (issue 16 §5): an owner may choose to receive `camera.offline` and `device.event` by e-mail.

- The choice is the owner's own, kept on their user item and audited ("alerts.mail_chosen"); only owners choose
  (Permission.MANAGE_ALERTS), and only what MAIL_EVENT_TYPES lists.
- Users have no e-mail address of their own in doti: an alert goes, as notices do (doti.contracts.notices), to the
  contract's registered address through SES, one mail per event once at least one owner of that contract chose its
  type. Owners of other contracts are never asked: the recipients come from the event's own contract.
- At most RATE_LIMIT alert mails per contract per RATE_WINDOW (a fixed window): a site whose cameras all drop, or a
  device that floods events, does not flood the contract's mailbox; the rest are counted (AlertMailsSuppressed).
- At most once per event: the event id is marked before the mail goes, so a redelivered event, or the same fact told
  again, mails nothing more. SES has no idempotency key: a mail SES refused, or that never reached it, was not sent
  and the mark is given up (raised, so the event is retried); a mail whose answer was lost (MailUnconfirmed) may have
  gone and is never sent again.
- Japanese first, then English, in one mail (as notices); times in Japan time. Never footage and no link to any:
  the camera and site by name, the time, and for a device event its text as the device sent it (at most the
  event's DEVICE_TEXT_CAP characters).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta, timezone
from functools import partial
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from doti.accounts import roles
from doti.clock import parse_rfc3339
from doti.contracts import registry, terms
from doti.entities import Camera, Contract, Site, User
from doti.errors import DotiError, NotFound, ValidationError
from doti.mail import Mailer, MailUnconfirmed
from doti.observability import logger, metrics
from doti.oversight import audit
from doti.store import accounts as account_store
from doti.store import rate_limits
from doti.store import registry as registry_store
from doti.webhooks.events import CAMERA_OFFLINE, DEVICE_EVENT, MAIL_EVENT_TYPES, Event

RATE_LIMIT = 20
RATE_WINDOW = timedelta(hours=1)
# An event's "mailed" mark outlives every redelivery of it (the events queue keeps a message 4 days).
SENT_MARK_KEPT = timedelta(days=7)
_JST = timezone(timedelta(hours=9), "JST")  # the service's customers are in Japan

# type -> (Japanese, English) of the subject and first line
_HEADLINES: dict[str, tuple[str, str]] = {
    CAMERA_OFFLINE: ("カメラからの映像が途絶えています", "A camera has stopped sending"),
    DEVICE_EVENT: ("警報機器から通報がありました", "An alarm device reported an event"),
}


# the owner's choice


def _require_owner(user: User, now: datetime) -> None:
    terms.require_serving(terms.get_contract(user.contract_id), now)
    roles.require(user, roles.Permission.MANAGE_ALERTS)


def mail_alerts_of(user: User, *, now: datetime) -> list[str]:
    """The event types the owner receives by e-mail, in MAIL_EVENT_TYPES' order."""
    _require_owner(user, now)
    return [kind for kind in MAIL_EVENT_TYPES if kind in (user.mail_alerts or ())]


def check_choice(events: Iterable[str]) -> frozenset[str]:
    """The chosen types, or a 422 naming `events` when one is not an alert type."""
    chosen = frozenset(events)
    unknown = sorted(chosen - set(MAIL_EVENT_TYPES))
    if unknown:
        raise ValidationError(
            "events may only name event types sent by e-mail", field="events", unknown=unknown, allowed=MAIL_EVENT_TYPES
        )
    return chosen


def choose_mail_alerts(user: User, events: Iterable[str], *, now: datetime) -> list[str]:
    """Set the event types the owner receives by e-mail (an empty list: none); audited with the choice."""
    _require_owner(user, now)
    chosen = check_choice(events)

    def prepare() -> audit.StateWrite:
        current = registry_store.get_user(user.login_id, consistent_read=True)
        if current.user_id != user.user_id or current.contract_id != user.contract_id:
            raise NotFound("user not found")  # removed meanwhile (its login id may be someone else's now)
        roles.require(current, roles.Permission.MANAGE_ALERTS)  # no longer an owner
        write = partial(account_store.add_mail_alerts, user=current, events=chosen)
        return audit.StateWrite(write, {"events": sorted(chosen)})

    audit.record_with(
        user.contract_id,
        actor=audit.user_actor(user),
        action="alerts.mail_chosen",
        subject=user.user_id,
        now=now,
        prepare=prepare,
    )
    return [kind for kind in MAIL_EVENT_TYPES if kind in chosen]


# sending


def send_mail_alerts(event: Event, *, mailer: Mailer, now: datetime) -> int:
    """Mail the event to its contract if an owner of that contract chose its type; how many mails went (0 or 1).

    Raises a DotiError when the mail was not sent and may be tried again (the caller retries the event)."""
    if event.type not in MAIL_EVENT_TYPES:
        return 0
    contract = _serving_contract(event.contract_id, now)
    if contract is None or not _owners_opted_in(contract.contract_id, event.type):
        return 0
    mark = f"alert-mail#{event.event_id}"
    if not rate_limits.claim_once(mark, now + SENT_MARK_KEPT):
        return 0  # mailed already, or being mailed by another attempt
    if not rate_limits.count_in_window(f"alert-mail#{contract.contract_id}", RATE_LIMIT, RATE_WINDOW, now):
        logger.warning("alert mail over the contract's limit: not sent", extra={"event_type": event.type})
        metrics.add_metric(name="AlertMailsSuppressed", unit=MetricUnit.Count, value=1)
        return 0  # dropped for good: its mark stays, so a redelivery does not send it late
    subject, body = compose(event, _camera(event), _site(event))
    try:
        mailer.send(contract.contact_email, subject, body, now)
    except MailUnconfirmed:
        logger.warning("alert mail unconfirmed: never resent", extra={"event_type": event.type})
        metrics.add_metric(name="AlertMailsUnconfirmed", unit=MetricUnit.Count, value=1)
        return 0
    except DotiError:
        rate_limits.release_once(mark)  # not sent: a retry of the event may send it
        raise
    metrics.add_metric(name="AlertMailsSent", unit=MetricUnit.Count, value=1)
    return 1


def _serving_contract(contract_id: str, now: datetime) -> Contract | None:
    try:
        contract = terms.get_contract(contract_id)
    except NotFound:
        return None
    try:
        terms.require_serving(contract, now)
    except DotiError:
        return None  # suspended or ended: its cameras and devices are not watched for it
    return contract


def _owners_opted_in(contract_id: str, event_type: str) -> bool:
    return any(
        user.role == roles.OWNER and not user.locked_by_staff and event_type in (user.mail_alerts or ())
        for user in registry_store.users_of_contract(contract_id)
    )


def _camera(event: Event) -> Camera | None:
    if event.camera_id is None:
        return None
    try:
        return registry.camera_of_contract(event.contract_id, event.camera_id)
    except NotFound:
        return None


def _site(event: Event) -> Site | None:
    if event.site_id is None:
        return None
    try:
        return registry.site_of_contract(event.contract_id, event.site_id)
    except NotFound:
        return None


def _japan_time(moment: datetime) -> str:
    return moment.astimezone(_JST).strftime("%Y-%m-%d %H:%M:%S JST")


def _data_time(data: Mapping[str, Any], name: str) -> str | None:
    value = data.get(name)
    if not isinstance(value, str):
        return None
    try:
        return _japan_time(parse_rfc3339(value, name))
    except ValidationError:
        return None


def compose(event: Event, camera: Camera | None, site: Site | None) -> tuple[str, str]:
    """The subject and body of an alert mail: Japanese, then English; no footage and no link to any."""
    headline_ja, headline_en = _HEADLINES[event.type]
    camera_name = camera.name if camera else None
    site_name = site.name if site else None
    where = " / ".join(name for name in (site_name, camera_name) if name) or event.contract_id
    subject = f"[doti] {headline_ja} / {headline_en}: {where}"
    ja = [f"{headline_ja}。", f"日時: {_japan_time(event.time)}"]
    en = [f"{headline_en}.", f"Time: {_japan_time(event.time)}"]
    if site_name:
        ja.append(f"拠点: {site_name}")
        en.append(f"Site: {site_name}")
    if camera_name:
        ja.append(f"カメラ: {camera_name}")
        en.append(f"Camera: {camera_name}")
    if event.type == CAMERA_OFFLINE and (last := _data_time(event.data, "last_frame_at")):
        ja.append(f"最後の映像: {last}")
        en.append(f"Last frame: {last}")
    if event.type == DEVICE_EVENT:
        text = str(event.data.get("text", ""))
        ja.append(f"内容: {text}")
        en.append(f"Text: {text}")
    footer_ja = (
        f"このメールは、契約 {event.contract_id} の所有者が選んだメール通知です。映像は含まれません。"
        "通知の種類は doti の設定(メール通知)で所有者が変更できます。"
    )
    footer_en = (
        f"An owner of contract {event.contract_id} chose to receive this alert by e-mail. It never carries footage. "
        "Owners change which alerts are mailed in doti's settings (mail alerts)."
    )
    body = "\n".join([*ja, "", *en, "", footer_ja, footer_en]) + "\n"
    return subject, body
