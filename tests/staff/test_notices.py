"""Notices (SPEC §8, Art. 5) and leak incidents (Art. 11-4): staff publish to one contract or to all; customers
read them on the site, unread first, and mark them read; each goes by e-mail through SES to the contract's
registered address and records when it counts as delivered. Incidents notify every affected contract.

Staff go through the admin handler, customers through the viewer handler; mails are read back from moto's SES.
"""

from __future__ import annotations

import json
import secrets
from datetime import timedelta
from typing import Any

import pytest
from moto.ses.models import ses_backends

from doti.clock import format_rfc3339, parse_rfc3339, utcnow
from doti.store.models import ContractModel
from functions.viewer import app as viewer
from tests.support import LambdaContext, World, admin_call, assert_error, body_of, created, customer_event, scan_table
from tests.support.viewer import owner_token, set_contract_state

# Isolated (moto emptied before each test): a notice to all goes to every contract; mails are counted among all.
pytestmark = pytest.mark.isolated

NOTICE_KEYS = {"notice_id", "kind", "title", "body", "published_at", "effective_at", "read", "read_at"}


# helpers


def publish(key: str, audience: str, *, kind: str = "maintenance", title: str | None = None, **fields: Any) -> dict:
    body = {"audience": audience, "kind": kind, "title": title or f"Notice {secrets.token_hex(3)}", "body": "Details."}
    return admin_call("POST", "/v1/admin/notices", key=key, body={**body, **fields})


def with_address(world: World) -> str:
    """Given-step: give the tenant its own registered address, so mails can be told apart."""
    address = f"owner-{secrets.token_hex(4)}@shop.example"
    ContractModel.get(world.contract_id).update(actions=[ContractModel.contact_email.set(address)])
    return address


def list_notices(token: str) -> dict[str, Any]:
    event = customer_event("viewer/list_cameras.json", token, path="/v1/notices", resource="/v1/notices", query={})
    return viewer.lambda_handler(event, LambdaContext())


def notices_of(token: str) -> list[dict[str, Any]]:
    response = list_notices(token)
    assert response["statusCode"] == 200, response["body"]
    return body_of(response)["items"]


def mark_read(token: str, notice_id: str) -> dict[str, Any]:
    event = customer_event(
        "viewer/list_cameras.json",
        token,
        method="POST",
        path=f"/v1/notices/{notice_id}/read",
        resource="/v1/notices/{notice_id}/read",
        path_parameters={"notice_id": notice_id},
    )
    return viewer.lambda_handler(event, LambdaContext())


def mails_to(address: str) -> list[Any]:
    sent = ses_backends["123456789012"]["us-east-1"].sent_messages
    return [m for m in sent if address in m.destinations["ToAddresses"]]


def all_mails() -> list[Any]:
    return list(ses_backends["123456789012"]["us-east-1"].sent_messages)


def audit_items(world: World, contract_id: str | None = None) -> list[dict[str, Any]]:
    response = admin_call("GET", f"/v1/admin/contracts/{contract_id or world.contract_id}/audit", key=world.staff_key)
    assert response["statusCode"] == 200, response["body"]
    return body_of(response)["items"]


def report_incident(key: str, contract_ids: list[str], **fields: Any) -> dict[str, Any]:
    body = {
        "title": "Possible leak of camera images",
        "description": "A misconfigured export link may have exposed images.",
        "occurred_at": format_rfc3339(utcnow() - timedelta(days=1)),
        "contract_ids": contract_ids,
        "data_affected": "Frames of 2026-11-01, exports only",
        **fields,
    }
    return admin_call("POST", "/v1/admin/incidents", key=key, body=body)


# publishing and delivery


def test_a_notice_to_one_contract_is_on_its_site_and_in_its_mailbox(world_factory, operator_key):
    # Given two tenants with their own addresses
    world, other = world_factory(), world_factory()
    address, other_address = with_address(world), with_address(other)

    # When an operator publishes a maintenance notice to the first
    before = utcnow()
    notice = created(publish(operator_key, world.contract_id, title="Planned maintenance on 12/1"))

    # Then it is mailed to that contract's registered address, and only there
    (mail,) = mails_to(address)
    assert "Planned maintenance on 12/1" in mail.subject
    assert mail.body == "Details."
    assert mails_to(other_address) == []
    # and the response says when each channel counts as delivered (Art. 5-3)
    assert before <= parse_rfc3339(notice["site_delivered_at"], "site_delivered_at") <= utcnow()
    assert notice["email_delivered"] == {world.contract_id: notice["site_delivered_at"]}
    assert notice["emails_sent"] == 1
    assert notice["kind"] == "maintenance"
    assert "read" not in notice
    # and the customer sees it, unread; the other tenant does not
    (listed,) = notices_of(owner_token(world))
    assert set(listed) == NOTICE_KEYS
    assert listed["notice_id"] == notice["notice_id"]
    assert listed["kind"] == "maintenance"
    assert listed["read"] is False
    assert listed["read_at"] is None
    assert notices_of(owner_token(other)) == []


def test_each_delivery_is_recorded_and_audited(aws, world):
    # Given a notice to the contract
    notice = created(publish(world.staff_key, world.contract_id, kind="fee_change", title="New fees"))

    # When the stored notice and the contract's audit log are read
    (item,) = [i for i in scan_table(aws.refs["NoticesTable"]) if i["notice_id"]["S"] == notice["notice_id"]]
    (entry,) = [e for e in audit_items(world) if e["action"] == "notice.delivered"]

    # Then the notice records when it was viewable on the site and when each e-mail went out
    assert item["audience"]["S"] == world.contract_id
    assert "site_delivered_at" in item
    assert world.contract_id in json.loads(item["email_delivered"]["S"])
    # and the delivery is on the contract's chain, by the staff member, with the e-mail time
    assert entry["subject"] == notice["notice_id"]
    assert entry["actor"].startswith("staff:")
    assert entry["details"]["kind"] == "fee_change"
    assert entry["details"]["email_sent_at"] == notice["email_delivered"][world.contract_id]


def test_a_notice_to_all_reaches_every_customer(world_factory):
    # Given two tenants
    world, other = world_factory(), world_factory()
    addresses = [with_address(world), with_address(other)]

    # When an admin publishes a terms change to everyone
    notice = created(publish(world.staff_key, "all", kind="terms_change", title="Terms change (Art. 16)"))

    # Then both customers see it and both registered addresses got it
    for tenant in (world, other):
        assert [n["notice_id"] for n in notices_of(owner_token(tenant))] == [notice["notice_id"]]
    for address in addresses:
        assert len(mails_to(address)) == 1
    assert notice["audience"] == "all"
    assert notice["emails_sent"] >= 2
    # and the broadcast is on the system chain
    assert audit_items(world, "_system")[0]["action"] == "notice.published"


def test_only_an_admin_may_publish_to_everyone(aws, world, operator_key):
    # When an operator publishes to everyone
    response = publish(operator_key, "all")

    # Then it is forbidden and nothing is published or sent
    assert_error(response, 403, "forbidden")
    assert scan_table(aws.refs["NoticesTable"]) == []
    assert all_mails() == []


def test_an_unknown_contract_is_not_found_and_nothing_is_sent(aws, world):
    # When a notice is published to a contract that does not exist
    response = publish(world.staff_key, "ctr_doesnotexist")

    # Then it is not found, and nothing is stored or sent
    assert_error(response, 404, "not_found")
    assert scan_table(aws.refs["NoticesTable"]) == []
    assert all_mails() == []


@pytest.mark.parametrize(
    ("days", "status"),
    [(None, 422), (30, 422), (89, 422), (92, 201)],
    ids=["no-date", "one-month", "under-three-months", "three-months"],
)
def test_ending_the_service_needs_three_months_notice(aws, world, days, status):
    # Given an end date some days ahead (or none)
    fields = {"effective_at": format_rfc3339(utcnow() + timedelta(days=days))} if days else {}

    # When an admin announces the end of the service (Art. 8-3)
    response = publish(world.staff_key, world.contract_id, kind="service_end", **fields)

    # Then less than three months ahead is refused, with nothing sent
    if status == 422:
        assert_error(response, 422, "validation_error")
        assert all_mails() == []
    else:
        assert created(response)["kind"] == "service_end"


@pytest.mark.parametrize(
    "fields",
    [
        {"kind": "deletion"},
        {"kind": "inactivity"},
        {"kind": "party"},
        {"title": ""},
        {"body": ""},
        {"effective_at": "next week"},
        {"audience": ""},
        {"urgent": True},
    ],
    ids=[
        "job-kind-deletion",
        "job-kind-inactivity",
        "unknown-kind",
        "no-title",
        "no-body",
        "bad-time",
        "no-audience",
        "extra",
    ],
)
def test_an_invalid_notice_is_a_validation_error(aws, world, fields):
    # When a notice is invalid
    body = {"audience": world.contract_id, "kind": "maintenance", "title": "T", "body": "B", **fields}
    response = admin_call("POST", "/v1/admin/notices", key=world.staff_key, body=body)

    # Then it is refused and nothing is sent
    assert_error(response, 422, "validation_error")
    assert all_mails() == []


# reading on the site


def test_notices_are_listed_unread_first_then_newest_first(world):
    # Given three notices, the newest of which was read, and one to everyone
    first = created(publish(world.staff_key, world.contract_id, title="first"))["notice_id"]
    second = created(publish(world.staff_key, "all", title="second"))["notice_id"]
    third = created(publish(world.staff_key, world.contract_id, title="third"))["notice_id"]
    token = owner_token(world)
    assert mark_read(token, third)["statusCode"] == 204

    # When the customer lists them
    items = notices_of(token)

    # Then the unread come first, newest first, then the read one
    assert [n["notice_id"] for n in items] == [second, first, third]
    assert [n["read"] for n in items] == [False, False, True]
    assert parse_rfc3339(items[2]["read_at"], "read_at") <= utcnow()


def test_marking_a_notice_read_is_remembered_across_sessions(world):
    # Given a notice read in one session
    notice_id = created(publish(world.staff_key, world.contract_id))["notice_id"]
    response = mark_read(owner_token(world), notice_id)

    # When the customer lists notices in another session
    (item,) = notices_of(owner_token(world))

    # Then it is read
    assert response["statusCode"] == 204
    assert response["body"] == ""
    assert item["read"] is True


def test_another_contracts_notice_cannot_be_marked_read(aws, world_factory):
    # Given a notice to another tenant
    world, other = world_factory(), world_factory()
    notice_id = created(publish(world.staff_key, other.contract_id))["notice_id"]

    # When this tenant's customer marks it, or an id that does not exist, as read
    token = owner_token(world)
    responses = [mark_read(token, notice_id), mark_read(token, "01ARZ3NDEKTSV4RRFFQ69G5FAV")]

    # Then both are not found, and nothing is recorded
    for response in responses:
        assert_error(response, 404, "not_found")
    assert scan_table(aws.refs["NoticeReadsTable"]) == []
    # and the other tenant's notice is still unread for its own customer
    assert notices_of(owner_token(other))[0]["read"] is False


def test_a_suspended_customer_still_reads_notices(world):
    # Given a notice explaining a suspension, and the contract suspended afterwards
    notice_id = created(publish(world.staff_key, world.contract_id, kind="suspension"))["notice_id"]
    token = owner_token(world)
    set_contract_state(world.contract_id, "suspended")

    # When the customer lists and reads notices
    listed = notices_of(token)
    read = mark_read(token, notice_id)

    # Then both work (SPEC §3: a suspended account keeps /me and notices)
    assert [n["notice_id"] for n in listed] == [notice_id]
    assert read["statusCode"] == 204


@pytest.mark.parametrize(
    ("state", "code"),
    [
        ("pending", "contract_not_started"),
        ("terminated", "contract_terminated"),
        ("purged", "contract_terminated"),
    ],
)
def test_notices_close_before_the_service_starts_and_after_it_ends(world, state, code):
    # Given a notice and a session, and then the contract is not yet or no longer open
    notice_id = created(publish(world.staff_key, world.contract_id))["notice_id"]
    token = owner_token(world)
    set_contract_state(world.contract_id, state)

    # When the customer uses the notice routes
    # Then each is the state's 403
    assert_error(list_notices(token), 403, code)
    assert_error(mark_read(token, notice_id), 403, code)


def test_the_notice_routes_need_a_session(world):
    assert_error(list_notices("dst_not-a-session"), 401, "unauthorized")
    assert_error(mark_read("dst_not-a-session", "01ARZ3NDEKTSV4RRFFQ69G5FAV"), 401, "unauthorized")


# incidents (Art. 11-4)


def test_an_incident_notifies_each_affected_contract_and_no_other(world_factory):
    # Given three tenants, two of them affected
    affected, also, bystander = world_factory(), world_factory(), world_factory()
    addresses = {w.contract_id: with_address(w) for w in (affected, also, bystander)}

    # When an admin reports the incident
    response = report_incident(affected.staff_key, [affected.contract_id, also.contract_id])

    # Then each affected contract gets one incident notice on the site and by e-mail
    assert response["statusCode"] == 201, response["body"]
    result = body_of(response)
    incident_id = result["incident_id"]
    assert incident_id.startswith("inc_")
    assert [n["contract_id"] for n in result["notices"]] == [affected.contract_id, also.contract_id]
    for tenant, notified in zip((affected, also), result["notices"], strict=True):
        (notice,) = notices_of(owner_token(tenant))
        assert notice["kind"] == "incident"
        assert notice["notice_id"] == notified["notice_id"]
        assert incident_id in notice["body"]
        assert "Frames of 2026-11-01, exports only" in notice["body"]
        (mail,) = mails_to(addresses[tenant.contract_id])
        assert incident_id in mail.body
        assert notified["email_sent_at"]
    # and the bystander gets nothing
    assert notices_of(owner_token(bystander)) == []
    assert mails_to(addresses[bystander.contract_id]) == []


def test_an_incident_is_audited_on_the_system_chain_and_each_contracts_chain(world_factory):
    # Given two affected tenants
    first, second = world_factory(), world_factory()

    # When an admin reports the incident
    result = created(report_incident(first.staff_key, [first.contract_id, second.contract_id]))

    # Then the system chain records it with every affected contract
    system = [e for e in audit_items(first, "_system") if e["subject"] == result["incident_id"]]
    assert [e["action"] for e in system] == ["incident.reported"]
    assert system[0]["details"]["contract_ids"] == [first.contract_id, second.contract_id]
    # and each contract's chain records its own notification, naming no other contract
    for tenant, other in ((first, second), (second, first)):
        entries = audit_items(first, tenant.contract_id)
        (entry,) = [e for e in entries if e["action"] == "incident.notified"]
        assert entry["subject"] == result["incident_id"]
        assert entry["customer_visible"] is True
        assert other.contract_id not in json.dumps(entries)


def test_an_incident_naming_an_unknown_contract_writes_nothing(aws, world):
    # Given one real and one unknown contract id
    audit_before = len(scan_table(aws.refs["AuditTable"]))

    # When the incident is reported for both
    response = report_incident(world.staff_key, [world.contract_id, "ctr_doesnotexist"])

    # Then it is not found, naming the unknown id, and nothing was recorded or sent
    error = assert_error(response, 404, "not_found")
    assert error["details"]["contract_ids"] == ["ctr_doesnotexist"]
    assert scan_table(aws.refs["NoticesTable"]) == []
    assert len(scan_table(aws.refs["AuditTable"])) == audit_before
    assert all_mails() == []


@pytest.mark.parametrize(
    "fields",
    [
        {"contract_ids": []},
        {"occurred_at": "2999-01-01T00:00:00Z"},
        {"occurred_at": "last night"},
        {"title": ""},
        {"data_affected": ""},
        {"severity": "high"},
    ],
    ids=["no-contracts", "future", "not-a-time", "no-title", "no-data-affected", "extra"],
)
def test_an_invalid_incident_is_a_validation_error(aws, world, fields):
    # When an incident report is invalid
    contract_ids = fields.pop("contract_ids", [world.contract_id])
    response = report_incident(world.staff_key, contract_ids, **fields)

    # Then it is refused and nobody is notified
    assert_error(response, 422, "validation_error")
    assert all_mails() == []


def test_reporting_an_incident_needs_an_admin_key(aws, world, operator_key):
    # When an operator reports an incident
    response = report_incident(operator_key, [world.contract_id])

    # Then it is forbidden and nobody is notified
    assert_error(response, 403, "forbidden")
    assert all_mails() == []
