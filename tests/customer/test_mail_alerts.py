"""E-mail alerts (issue 16 §5): owners choose `camera.offline` and `device.event` by e-mail (GET/PUT
/v1/alerts/mail), and `send_mail_alerts`, which the webhooks function calls for every event, mails the event's own
contract when one of its owners chose the type: Japanese and English, Japan time, no footage, at most once per event,
at most RATE_LIMIT an hour per contract."""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from doti import runtime
from doti.clock import format_rfc3339, utcnow
from doti.contracts import terms
from doti.errors import StorageError
from doti.mail import MailUnconfirmed
from doti.oversight import audit
from doti.webhooks import alerts
from doti.webhooks.events import CAMERA_OFFLINE, DEVICE_EVENT, Event, from_message, new_event
from infra.provision import Provisioned
from tests.support import World, admin_call, assert_error, body_of, customer_event
from tests.support.events import told
from tests.support.mail import sent_mails
from tests.support.notes import recorded
from tests.support.viewer import add_user, login, owner_token, viewer_call

ROUTE = "/v1/alerts/mail"


def alerts_call(token: str, method: str = "GET", body: Any = None) -> dict[str, Any]:
    event = customer_event(
        "viewer/list_cameras.json",
        token,
        path=ROUTE,
        resource=ROUTE,
        method=method,
        query={},
        body=None if body is None else json.dumps(body),
    )
    return viewer_call(event)


def choose(world: World, events: list[str]) -> None:
    response = alerts_call(owner_token(world), "PUT", {"events": events})
    assert response["statusCode"] == 200, response["body"]


def own_address(world: World) -> str:
    """Give the world's contract an address of its own, so its mails are told apart from other tenants'."""
    address = f"alerts-{secrets.token_hex(4)}@test-shop.example"
    response = admin_call(
        "PATCH", f"/v1/admin/contracts/{world.contract_id}", world.staff_key, {"contact_email": address}
    )
    assert response["statusCode"] == 200, response["body"]
    return address


def mails_to(address: str) -> list[Any]:
    return [m for m in sent_mails() if m.destinations["ToAddresses"] == [address]]


def offline(world: World, at: datetime, fact: str = "1") -> Event:
    """A camera.offline as the health job tells one (its producer is not this test's)."""
    return new_event(
        CAMERA_OFFLINE,
        f"{world.camera_id}\x1f{fact}",
        time=at,
        contract_id=world.contract_id,
        site_id=world.site_id,
        camera_id=world.camera_id,
        data={"last_frame_at": format_rfc3339(at - timedelta(minutes=10))},
    )


def send(event: Event, now: datetime | None = None) -> int:
    return alerts.send_mail_alerts(event, mailer=runtime.mailer(), now=now or utcnow())


# the owner's choice


def test_an_owner_reads_and_replaces_the_choice_and_each_change_is_audited(aws: Provisioned, world: World) -> None:
    token = owner_token(world)

    # Given nothing chosen yet
    assert body_of(alerts_call(token)) == {"events": [], "available": ["camera.offline", "device.event"]}

    # When the owner chooses both (in any order, twice named), then only device events
    first = alerts_call(token, "PUT", {"events": ["device.event", "camera.offline", "device.event"]})
    assert body_of(first) == {
        "events": ["camera.offline", "device.event"],
        "available": ["camera.offline", "device.event"],
    }
    second = alerts_call(token, "PUT", {"events": ["device.event"]})

    # Then the choice reads back, and each change is in the contract's audit log
    assert body_of(second)["events"] == ["device.event"]
    assert body_of(alerts_call(token))["events"] == ["device.event"]
    entries, _ = audit.entries(world.contract_id, limit=100)
    chosen = [tuple(e.details["events"]) for e in entries if e.action == "alerts.mail_chosen"]
    assert sorted(chosen) == [("camera.offline", "device.event"), ("device.event",)]

    # and choosing none clears it
    assert body_of(alerts_call(token, "PUT", {"events": []}))["events"] == []


@pytest.mark.parametrize("events", [["camera.online"], ["device.event", "frame.activity"], ["*"]])
def test_a_type_not_sent_by_mail_is_refused_naming_events(aws: Provisioned, world: World, events: list[str]) -> None:
    # When the owner names a type that is not mailed
    response = alerts_call(owner_token(world), "PUT", {"events": events})

    # Then 422 naming `events`, and nothing changed
    error = assert_error(response, 422, "validation_error")
    assert error["details"]["field"] == "events"
    assert body_of(alerts_call(owner_token(world)))["events"] == []


@pytest.mark.parametrize("role", ["manager", "viewer"])
def test_only_owners_choose_or_read_alerts(aws: Provisioned, world: World, role: str) -> None:
    token = login(*add_user(world, role=role))
    assert_error(alerts_call(token), 403, "forbidden")
    assert_error(alerts_call(token, "PUT", {"events": ["device.event"]}), 403, "forbidden")


# sending


def test_a_device_event_is_mailed_in_japanese_and_english_when_an_owner_chose_it(
    aws: Provisioned, world: World
) -> None:
    # Given an owner who chose device events, and a device event stored (and told) at 23:30 UTC
    address = own_address(world)
    choose(world, ["device.event"])
    at = utcnow().replace(hour=0, minute=30, second=0, microsecond=0) - timedelta(hours=1)  # 23:30 UTC, 08:30 JST
    recorded(world, {"camera_id": world.camera_id, "occurred_at": format_rfc3339(at), "text": "扉3 強制開放"})
    (queued,) = told(aws, world.contract_id)

    # When the webhooks function hands the event over
    count = send(from_message(queued))

    # Then one mail goes to the contract's address: both languages, the site, camera and Japan time, the text
    assert count == 1
    (mail,) = mails_to(address)
    assert mail.subject == "[doti] 警報機器から通報がありました / An alarm device reported an event: Store / Entrance"
    local = at.astimezone(alerts._JST).strftime("%Y-%m-%d 08:30:00 JST")
    for line in (
        "日時: " + local,
        "拠点: Store",
        "カメラ: Entrance",
        "内容: 扉3 強制開放",
        "Time: " + local,
        "Camera: Entrance",
    ):
        assert line in mail.body
    assert "http" not in mail.body  # no link, to footage or anything else


def test_a_camera_offline_is_mailed_with_its_last_frame_time(aws: Provisioned, world: World) -> None:
    address = own_address(world)
    choose(world, ["camera.offline"])
    at = datetime(2026, 1, 5, 15, 0, tzinfo=UTC)

    assert send(offline(world, at), now=utcnow()) == 1

    (mail,) = mails_to(address)
    assert mail.subject.startswith("[doti] カメラからの映像が途絶えています / A camera has stopped sending")
    assert "日時: 2026-01-06 00:00:00 JST" in mail.body
    assert "Last frame: 2026-01-05 23:50:00 JST" in mail.body


def test_nothing_is_mailed_unless_an_owner_chose_that_type(aws: Provisioned, world: World) -> None:
    # Given an owner who chose camera.offline only, and a manager (who cannot choose)
    address = own_address(world)
    choose(world, ["camera.offline"])
    add_user(world, role="manager")
    device_event = new_event(DEVICE_EVENT, "n1", time=utcnow(), contract_id=world.contract_id, data={"text": "x"})
    not_mailed = new_event("camera.online", "c1", time=utcnow(), contract_id=world.contract_id)

    # When a device event and a camera.online are handed over
    counts = [send(device_event), send(not_mailed)]

    # Then nothing is mailed
    assert counts == [0, 0]
    assert mails_to(address) == []


def test_another_contracts_owners_are_never_mailed(aws: Provisioned, world_factory) -> None:
    # Given two contracts whose owners both chose camera.offline
    mine, theirs = world_factory(), world_factory()
    my_address, their_address = own_address(mine), own_address(theirs)
    choose(mine, ["camera.offline"])
    choose(theirs, ["camera.offline"])

    # When my camera goes offline
    assert send(offline(mine, utcnow())) == 1

    # Then only my contract's address is mailed
    assert len(mails_to(my_address)) == 1
    assert mails_to(their_address) == []


def test_a_contract_gets_at_most_the_limit_an_hour(aws: Provisioned, world: World) -> None:
    # Given an owner who chose camera.offline, and a moment at the start of an hour's window
    address = own_address(world)
    choose(world, ["camera.offline"])
    hour = utcnow().replace(minute=0, second=0, microsecond=0)

    # When more distinct events than the limit come within that hour, and one more in the next hour
    counts = [send(offline(world, hour, str(n)), now=hour + timedelta(seconds=n)) for n in range(alerts.RATE_LIMIT + 3)]
    next_hour = send(offline(world, hour, "next"), now=hour + timedelta(hours=1, seconds=1))

    # Then the limit held, and the next hour mails again
    assert counts == [1] * alerts.RATE_LIMIT + [0, 0, 0]
    assert next_hour == 1
    assert len(mails_to(address)) == alerts.RATE_LIMIT + 1


def test_an_event_is_mailed_at_most_once(aws: Provisioned, world: World) -> None:
    # Given an owner who chose camera.offline
    address = own_address(world)
    choose(world, ["camera.offline"])
    event = offline(world, utcnow())

    # When the same event is handed over twice (a redelivered message, or the fact told again)
    assert [send(event), send(event)] == [1, 0]

    # Then one mail
    assert len(mails_to(address)) == 1


class _RefusingMailer:
    """SES answered with an error, or was never reached: the mail did not go."""

    def send(self, to: str, subject: str, body: str, now: datetime) -> datetime:  # noqa: ARG002 - the Mailer protocol
        raise StorageError("could not send the e-mail")


class _AnswerLostMailer:
    """The request reached SES and its answer was lost: the mail may have gone."""

    def send(self, to: str, subject: str, body: str, now: datetime) -> datetime:  # noqa: ARG002 - the Mailer protocol
        raise MailUnconfirmed("the e-mail may have been sent; its answer was lost")


def test_a_mail_that_did_not_go_is_sent_by_the_retry_and_one_that_may_have_gone_never_again(
    aws: Provisioned, world: World
) -> None:
    address = own_address(world)
    choose(world, ["camera.offline"])
    refused, lost = offline(world, utcnow(), "refused"), offline(world, utcnow(), "lost")

    # When SES refuses the first event's mail, the event is retried (it raised) and the retry sends it
    with pytest.raises(StorageError):
        alerts.send_mail_alerts(refused, mailer=_RefusingMailer(), now=utcnow())
    assert send(refused) == 1

    # When the second event's answer is lost, a retry does not send it again
    assert alerts.send_mail_alerts(lost, mailer=_AnswerLostMailer(), now=utcnow()) == 0
    assert send(lost) == 0

    # Then one mail in all: the first event's
    assert len(mails_to(address)) == 1


def test_a_suspended_contract_is_not_mailed(aws: Provisioned, world: World) -> None:
    address = own_address(world)
    choose(world, ["camera.offline"])
    body = {"to": "suspended", "ground": "art8-1-1", "reason": "equipment fault"}
    assert (
        admin_call("POST", f"/v1/admin/contracts/{world.contract_id}/transitions", world.staff_key, body)["statusCode"]
        == 200
    )
    before = len(mails_to(address))  # the suspension's own notice

    assert send(offline(world, utcnow())) == 0
    assert len(mails_to(address)) == before
    assert terms.get_contract(world.contract_id).state == "suspended"
