"""Webhooks (issue 16 §3, §4, §6): an owner registers endpoints through the viewer's handler; events go through the
events queue and the webhooks function to a real receiver on loopback (the local setting), signed in the Standard
Webhooks format, which the test checks with its own implementation of the reference algorithm. Retries, giving up,
disabling and rotation are driven through the delivery step with the times the test chooses."""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import boto3
import pytest

from doti import runtime
from doti.clock import format_rfc3339, parse_rfc3339, utcnow
from doti.webhooks import dispatch, endpoints
from doti.webhooks.events import new_event
from functions.webhooks import app as webhooks_function
from infra.queues import sqs_event
from tests.support import LambdaContext, World, admin_call, assert_error, body_of, customer_event
from tests.support.mail import sent_mails
from tests.support.thumbnails import is_render_link, render
from tests.support.viewer import add_user, login, owner_token, viewer_call
from tests.support.webhook_receiver import answer_status, running_receiver, verify_standard_webhook

REGION = "us-east-1"


def sqs() -> Any:
    return boto3.client("sqs", region_name=REGION)


def call(token: str, method: str, path: str, body: Any = None) -> dict[str, Any]:
    """The viewer's answer to a request on a webhook route (the resource found from the path's shape)."""
    parts = path.strip("/").split("/")
    parameters = {"webhook_id": parts[2]} if len(parts) > 2 else {}
    resource = "/" + "/".join(["v1", "webhooks", *(["{webhook_id}"] if len(parts) > 2 else []), *parts[3:]])
    event = customer_event(
        "viewer/invite_user.json" if body is not None else "viewer/list_cameras.json",
        token,
        path=path,
        resource=resource,
        path_parameters=parameters,
        method=method,
        body=json.dumps(body) if body is not None else None,
    )
    return viewer_call(event)


@pytest.fixture
def loopback(aws, monkeypatch) -> Iterator[None]:
    """The local stack's setting: receivers on 127.0.0.1 (over plain http) are allowed."""
    monkeypatch.setenv("WEBHOOKS_ALLOW_LOOPBACK", "true")
    runtime.reset()
    runtime.init()
    yield
    monkeypatch.delenv("WEBHOOKS_ALLOW_LOOPBACK")
    runtime.reset()
    runtime.init()


def register(token: str, url: str, events: list[str], **extra: Any) -> dict[str, Any]:
    response = call(token, "POST", "/v1/webhooks", {"url": url, "events": events, **extra})
    assert response["statusCode"] == 201, response["body"]
    return body_of(response)


def drain(queue: str) -> list[dict[str, Any]]:
    """Every message waiting in the queue (by logical id), taken off it."""
    settings = runtime.get_settings()
    url = {
        "EventsQueue": settings.events_queue_url,
        "DeliveriesQueue": settings.deliveries_queue_url,
        "DeliveriesDeadLetterQueue": settings.deliveries_dead_letter_queue_url,
    }[queue]
    messages: list[dict[str, Any]] = []
    while batch := sqs().receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=60).get("Messages"):
        messages.extend(batch)
        sqs().delete_message_batch(
            QueueUrl=url, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)]
        )
    return messages


def queued_retries(calls: list[tuple[str, dict[str, Any]]]) -> list[tuple[dict[str, Any], int]]:
    """The delivery messages sent to the deliveries queue since the list was last cleared, with their delays (SQS
    hides a delayed message until its delay ends, so the test reads what was sent rather than wait)."""
    url = runtime.get_settings().deliveries_queue_url
    sent = [
        (json.loads(entry["MessageBody"]), entry.get("DelaySeconds", 0))
        for operation, params in calls
        if operation == "SendMessageBatch" and params["QueueUrl"] == url
        for entry in params["Entries"]
    ]
    calls.clear()
    return sent


def run_function(aws, queue: str, messages: list[dict[str, Any]]) -> dict[str, Any]:
    """The webhooks function on the SQS event the event source mapping would send for these messages."""
    return webhooks_function.lambda_handler(sqs_event(messages, aws.arns[queue], REGION), LambdaContext())


# registering


def test_an_owner_registers_an_endpoint_and_its_secret_is_shown_once(world: World) -> None:
    token = owner_token(world)
    made = register(token, "https://hooks.example.invalid/doti", ["camera.offline", "device.event"])

    assert made["secret"].startswith("whsec_")
    assert len(base64.b64decode(made["secret"].removeprefix("whsec_"))) == 32
    assert made["status"] == "active"
    assert made["include_image_links"] is False
    (listed,) = body_of(call(token, "GET", "/v1/webhooks"))["items"]
    assert listed["webhook_id"] == made["webhook_id"]
    assert "secret" not in listed
    assert made["secret"] not in json.dumps(body_of(call(token, "GET", "/v1/webhooks")))


@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.example.com/doti",  # not https
        "ftp://hooks.example.com/doti",
        "https://127.0.0.1/doti",  # loopback: the local setting only
        "https://localhost/doti",  # a name that resolves to loopback
        "https://10.1.2.3/doti",  # private
        "https://192.168.0.10/doti",
        "https://169.254.169.254/latest/meta-data/",  # instance metadata
        "https://[fd00:ec2::254]/",  # IPv6 instance metadata
        "https://[::1]/doti",
        "https://[::ffff:10.0.0.1]/doti",  # IPv4-mapped private
        "https://[64:ff9b::a9fe:a9fe]/",  # NAT64 of the metadata address
        "https://[2002:7f00:1::]/",  # 6to4 of loopback
        "https://0x7f.1/doti",  # loopback in hex
        "https://2130706433/doti",  # loopback as one number
        "https://user:pw@hooks.example.com/doti",
        "https://[fe80::1%25eth0]/",  # scoped link-local
    ],
)
def test_a_url_that_is_not_https_to_a_public_address_is_refused_naming_url(world: World, url: str) -> None:
    response = call(owner_token(world), "POST", "/v1/webhooks", {"url": url, "events": ["camera.offline"]})

    assert_error(response, 422, "validation_error")
    assert body_of(response)["error"]["details"]["field"] == "url"
    assert body_of(call(owner_token(world), "GET", "/v1/webhooks"))["items"] == []


@pytest.mark.parametrize("events", [[], ["camera.exploded"], ["webhook.test"], ["camera.offline", "nope"]])
def test_events_must_be_known_types_naming_events(world: World, events: list[str]) -> None:
    response = call(owner_token(world), "POST", "/v1/webhooks", {"url": "https://h.example.invalid/", "events": events})

    assert_error(response, 422, "validation_error")
    assert body_of(response)["error"]["details"]["field"] == "events"


def test_an_owner_limited_to_some_sites_cannot_manage_webhooks(world: World) -> None:
    login_id, password = add_user(world, role="owner", site_ids=[world.site_id])

    response = call(login(login_id, password), "GET", "/v1/webhooks")

    assert_error(response, 403, "forbidden")


def test_a_contract_has_at_most_ten_endpoints(world: World) -> None:
    token = owner_token(world)
    for n in range(endpoints.MAX_WEBHOOKS_PER_CONTRACT):
        register(token, f"https://h{n}.example.invalid/", ["export.ready"])

    response = call(token, "POST", "/v1/webhooks", {"url": "https://h.example.invalid/", "events": ["export.ready"]})

    assert_error(response, 409, "conflict")


def test_deleting_an_endpoint_removes_it_and_its_delivery_log(world: World) -> None:
    token = owner_token(world)
    made = register(token, "https://h.example.invalid/", ["export.ready"])
    call(token, "POST", f"/v1/webhooks/{made['webhook_id']}/test")

    assert call(token, "DELETE", f"/v1/webhooks/{made['webhook_id']}")["statusCode"] == 204

    assert body_of(call(token, "GET", "/v1/webhooks"))["items"] == []
    assert_error(call(token, "GET", f"/v1/webhooks/{made['webhook_id']}/deliveries"), 404, "not_found")
    table = boto3.resource("dynamodb", region_name=REGION).Table(runtime.get_settings().webhooks_table)
    assert (
        table.query(KeyConditionExpression="webhook_id = :w", ExpressionAttributeValues={":w": made["webhook_id"]})[
            "Items"
        ]
        == []
    )


# delivering


@pytest.mark.isolated
def test_an_event_reaches_a_loopback_receiver_signed_as_standard_webhooks_say(aws, world: World, loopback) -> None:
    token = owner_token(world)
    with running_receiver() as receiver:
        made = register(token, receiver.url("/hooks/doti"), ["camera.offline"])
        other = register(token, receiver.url("/hooks/other"), ["export.ready"])  # not subscribed: nothing
        now = utcnow()
        event = new_event(
            "camera.offline",
            "last-frame-1",
            time=now,
            contract_id=world.contract_id,
            site_id=world.site_id,
            camera_id=world.camera_id,
            data={"camera_name": "Front door"},
        )
        runtime.events().publish([event])

        fanned = run_function(aws, "EventsQueue", drain("EventsQueue"))
        deliveries = drain("DeliveriesQueue")
        assert [json.loads(m["Body"])["webhook_id"] for m in deliveries] == [made["webhook_id"]]
        answered = run_function(aws, "DeliveriesQueue", deliveries)

    assert fanned == {"batchItemFailures": []}
    assert answered == {"batchItemFailures": []}
    (got,) = receiver.received
    assert got.path == "/hooks/doti"
    assert verify_standard_webhook(made["secret"], got.headers, got.body)
    assert not verify_standard_webhook(other["secret"], got.headers, got.body)
    assert got.headers["webhook-id"] == event.event_id
    assert abs(int(got.headers["webhook-timestamp"]) - utcnow().timestamp()) < 60
    assert got.headers["content-type"] == "application/json"
    payload = json.loads(got.body)
    assert payload == {
        "type": "camera.offline",
        "id": event.event_id,
        "time": format_rfc3339(now),
        "contract_id": world.contract_id,
        "site_id": world.site_id,
        "camera_id": world.camera_id,
        "data": {"camera_name": "Front door"},
    }
    (logged,) = body_of(call(token, "GET", f"/v1/webhooks/{made['webhook_id']}/deliveries"))["items"]
    assert logged["ok"] is True
    assert logged["status"] == 204
    assert logged["event_id"] == event.event_id
    assert logged["attempt"] == 1


@pytest.mark.isolated
def test_another_contracts_event_never_reaches_this_contracts_endpoint(aws, world_factory, loopback) -> None:
    mine, theirs = world_factory(), world_factory()
    with running_receiver() as receiver:
        register(owner_token(mine), receiver.url(), ["device.event"])
        event = new_event("device.event", "note-1", time=utcnow(), contract_id=theirs.contract_id, data={"text": "x"})
        runtime.events().publish([event])
        run_function(aws, "EventsQueue", drain("EventsQueue"))

        assert drain("DeliveriesQueue") == []
    assert receiver.received == []


def _deliverer(**kw: Any) -> dispatch.Deliverer:
    return dispatch.Deliverer(
        box=runtime.webhook_secrets(),
        storage=runtime.storage(),
        queue=runtime.deliveries(),
        allow_loopback=True,
        **kw,
    )


def _first_message(world: World, webhook_id: str, event_type: str = "device.event") -> dict[str, Any]:
    event = new_event(event_type, "fact-1", time=utcnow(), contract_id=world.contract_id, data={"text": "Alarm"})
    return {"webhook_id": webhook_id, "event": event.to_message(), "attempt": 1}


@pytest.mark.isolated
def test_a_failed_delivery_comes_back_later_and_succeeds(aws, aws_calls, world: World, loopback) -> None:
    token = owner_token(world)
    answers = iter([answer_status(500), answer_status(200)])
    with running_receiver(lambda handler: next(answers)(handler)) as receiver:  # noqa: PLW0108 - one per request
        made = register(token, receiver.url(), ["device.event"])
        now = utcnow()
        aws_calls.clear()

        first = dispatch.deliver(_first_message(world, made["webhook_id"]), deliverer=_deliverer(), now=now)
        ((message, delay),) = queued_retries(aws_calls)
        early = dispatch.deliver(message, deliverer=_deliverer(), now=now + timedelta(seconds=1))
        ((waited, delay_again),) = queued_retries(aws_calls)
        second = dispatch.deliver(waited, deliverer=_deliverer(), now=now + timedelta(seconds=6))

    assert (first, early, second) == (dispatch.RETRYING, dispatch.WAITING, dispatch.DELIVERED)
    assert message["attempt"] == 2
    assert message["not_before"] == format_rfc3339(now + timedelta(seconds=5))
    assert (delay, delay_again) == (5, 4)
    assert waited == message
    assert len(receiver.received) == 2
    assert receiver.received[0].headers["webhook-id"] == receiver.received[1].headers["webhook-id"]
    log = body_of(call(token, "GET", f"/v1/webhooks/{made['webhook_id']}/deliveries"))["items"]
    assert [(a["attempt"], a["ok"], a["status"]) for a in log] == [(2, True, 200), (1, False, 500)]
    assert "HTTP 500" in log[1]["error"] or "500" in log[1]["error"]
    (listed,) = body_of(call(token, "GET", "/v1/webhooks"))["items"]
    assert listed["consecutive_failures"] == 0
    assert "failing_since" not in listed


@pytest.mark.isolated
def test_an_endpoint_failing_every_attempt_for_a_day_is_disabled_with_a_notice(
    aws, aws_calls, world: World, loopback
) -> None:
    token = owner_token(world)
    with running_receiver(answer_status(503)) as receiver:
        made = register(token, receiver.url(), ["device.event"])
        start = now = utcnow()
        message: dict[str, Any] = _first_message(world, made["webhook_id"])
        outcomes, delays = [], []
        aws_calls.clear()
        for _ in range(dispatch.MAX_ATTEMPTS):
            outcomes.append(dispatch.deliver(message, deliverer=_deliverer(), now=now))
            retries = queued_retries(aws_calls)
            if not retries:
                break
            ((message, delay),) = retries
            delays.append(delay)
            now = parse_rfc3339(message["not_before"], "not_before")

        # disabled: a new event is not even queued for it
        runtime.events().publish([new_event("device.event", "fact-2", time=now, contract_id=world.contract_id)])
        run_function(aws, "EventsQueue", drain("EventsQueue"))
        queued_after = queued_retries(aws_calls)

    assert outcomes == [dispatch.RETRYING] * (dispatch.MAX_ATTEMPTS - 1) + [dispatch.GAVE_UP]
    assert now - start >= timedelta(hours=24)
    assert max(delays) == dispatch.MAX_SQS_DELAY  # longer waits are re-delayed in steps SQS allows
    assert len(receiver.received) == dispatch.MAX_ATTEMPTS
    assert len({r.headers["webhook-id"] for r in receiver.received}) == 1
    (dead,) = drain("DeliveriesDeadLetterQueue")
    assert json.loads(dead["Body"])["attempt"] == dispatch.MAX_ATTEMPTS
    (listed,) = body_of(call(token, "GET", "/v1/webhooks"))["items"]
    assert listed["status"] == "disabled"
    assert listed["consecutive_failures"] == dispatch.MAX_ATTEMPTS
    assert "failed" in listed["disabled_reason"]
    notices = body_of(call(token, "GET", "/v1/notices"))["items"]
    assert [n["kind"] for n in notices].count("webhook_disabled") == 1
    assert queued_after == []


@pytest.mark.isolated
def test_a_test_event_that_succeeds_enables_a_disabled_endpoint(aws, world: World, loopback) -> None:
    token = owner_token(world)
    with running_receiver(answer_status(200)) as receiver:
        made = register(token, receiver.url(), ["device.event"])
        event = new_event("device.event", "fact-3", time=utcnow(), contract_id=world.contract_id)
        assert dispatch.disable(made["webhook_id"], event, now=utcnow())

        tried = body_of(call(token, "POST", f"/v1/webhooks/{made['webhook_id']}/test"))

    assert tried["ok"] is True
    assert tried["event_type"] == "webhook.test"
    (got,) = receiver.received
    assert verify_standard_webhook(made["secret"], got.headers, got.body)
    assert json.loads(got.body)["type"] == "webhook.test"
    (listed,) = body_of(call(token, "GET", "/v1/webhooks"))["items"]
    assert listed["status"] == "active"


@pytest.mark.isolated
def test_after_a_rotation_both_secrets_verify_until_the_overlap_ends(aws, world: World, loopback) -> None:
    token = owner_token(world)
    with running_receiver() as receiver:
        made = register(token, receiver.url(), ["device.event"])
        rotated = body_of(call(token, "POST", f"/v1/webhooks/{made['webhook_id']}/rotate"))
        now = utcnow()
        during = dispatch.deliver(_first_message(world, made["webhook_id"]), deliverer=_deliverer(), now=now)
        after = dispatch.deliver(
            _first_message(world, made["webhook_id"]),
            deliverer=_deliverer(),
            now=now + endpoints.ROTATION_OVERLAP + timedelta(seconds=1),
        )

    assert (during, after) == (dispatch.DELIVERED, dispatch.DELIVERED)
    assert rotated["secret"] != made["secret"]
    assert rotated["previous_secret_until"]
    first, second = receiver.received
    assert verify_standard_webhook(rotated["secret"], first.headers, first.body)
    assert verify_standard_webhook(made["secret"], first.headers, first.body)
    assert len(first.headers["webhook-signature"].split(" ")) == 2
    assert verify_standard_webhook(rotated["secret"], second.headers, second.body)
    assert not verify_standard_webhook(made["secret"], second.headers, second.body)


@pytest.mark.isolated
def test_image_links_only_when_the_owner_turned_them_on(aws, world: World, loopback) -> None:
    from tests.support.viewer import ingest_frame_id

    token = owner_token(world)
    frame_id = ingest_frame_id(world)
    with running_receiver() as receiver:
        plain = register(token, receiver.url("/plain"), ["frame.activity"])
        linked = register(token, receiver.url("/linked"), ["frame.activity"], include_image_links=True)
        event = new_event(
            "frame.activity",
            frame_id,
            time=utcnow(),
            contract_id=world.contract_id,
            site_id=world.site_id,
            camera_id=world.camera_id,
            data={"frame_id": frame_id, "activity_score": 0.5},
            frame_id=frame_id,
        )
        for hook in (plain, linked):
            message = {"webhook_id": hook["webhook_id"], "event": event.to_message(), "attempt": 1}
            assert dispatch.deliver(message, deliverer=_deliverer(), now=utcnow()) == dispatch.DELIVERED

    by_path = {r.path: json.loads(r.body) for r in receiver.received}
    assert "thumbnail_url" not in json.dumps(by_path["/plain"])
    assert frame_id in by_path["/plain"]["data"]["frame_id"]
    # the link is the renderer's (a still has no stored thumbnail), signed for the contract's link lifetime
    link = by_path["/linked"]["data"]["thumbnail_url"]
    assert is_render_link(link)
    expires = parse_rfc3339(by_path["/linked"]["data"]["thumbnail_url_expires_at"], "thumbnail_url_expires_at")
    assert int(dict(parse_qsl(urlsplit(link).query))["e"]) == int(expires.timestamp())
    assert render(link).status == 200


@pytest.mark.isolated
def test_a_name_that_resolves_to_a_private_address_at_delivery_is_not_sent(aws, world: World) -> None:
    token = owner_token(world)
    made = register(token, "https://hooks.example.invalid/doti", ["device.event"])
    rebinding = _deliverer(resolver=lambda _host: ["10.0.0.7"])

    outcome = dispatch.deliver(_first_message(world, made["webhook_id"]), deliverer=rebinding, now=utcnow())

    assert outcome == dispatch.RETRYING
    (logged,) = body_of(call(token, "GET", f"/v1/webhooks/{made['webhook_id']}/deliveries"))["items"]
    assert logged["status"] is None
    assert logged["error"].startswith("not sent:")
    assert "10.0.0.7" in logged["error"]
    drain("DeliveriesQueue")


def test_a_removed_endpoint_drops_its_queued_deliveries(aws, world: World) -> None:
    token = owner_token(world)
    made = register(token, "https://hooks.example.invalid/doti", ["device.event"])
    assert call(token, "DELETE", f"/v1/webhooks/{made['webhook_id']}")["statusCode"] == 204

    outcome = dispatch.deliver(_first_message(world, made["webhook_id"]), deliverer=_deliverer(), now=utcnow())

    assert outcome == dispatch.DROPPED


def test_a_body_out_of_shape_is_a_clear_422_and_nothing_is_stored(world: World) -> None:
    token = owner_token(world)
    bodies = [
        {"url": "https://h.example.invalid/", "events": ["x" * 65]},
        {"url": "https://h.example.invalid/", "events": ["camera.offline"] * 15},
        {"url": "https://h.example.invalid/" + "a" * 2100, "events": ["camera.offline"]},
        {"url": "https://h.example.invalid/", "events": ["camera.offline"], "secret": "whsec_mine"},
        {"events": ["camera.offline"]},
    ]
    for body in bodies:
        assert_error(call(token, "POST", "/v1/webhooks", body), 422, "validation_error")

    assert body_of(call(token, "GET", "/v1/webhooks"))["items"] == []


@pytest.mark.isolated
def test_the_webhooks_function_mails_an_event_an_owner_chose_and_posts_it_to_the_endpoints(
    aws, world: World, loopback
) -> None:
    address = f"alerts-{secrets.token_hex(4)}@test-shop.example"
    patched = admin_call(
        "PATCH", f"/v1/admin/contracts/{world.contract_id}", world.staff_key, {"contact_email": address}
    )
    assert patched["statusCode"] == 200, patched["body"]
    token = owner_token(world)
    chosen = customer_event(
        "viewer/invite_user.json",
        token,
        path="/v1/alerts/mail",
        resource="/v1/alerts/mail",
        method="PUT",
        body=json.dumps({"events": ["device.event"]}),
    )
    assert viewer_call(chosen)["statusCode"] == 200
    with running_receiver() as receiver:
        register(token, receiver.url(), ["device.event"])
        event = new_event("device.event", "note-9", time=utcnow(), contract_id=world.contract_id, data={"text": "扉3"})
        runtime.events().publish([event])

        run_function(aws, "EventsQueue", drain("EventsQueue"))
        run_function(aws, "DeliveriesQueue", drain("DeliveriesQueue"))

    mails = [m for m in sent_mails() if m.destinations["ToAddresses"] == [address]]
    assert len(mails) == 1
    assert "扉3" in mails[0].body
    (got,) = receiver.received
    assert json.loads(got.body)["data"] == {"text": "扉3"}
