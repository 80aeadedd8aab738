"""The audit log (issue 3 §4): staff read a contract's chain page by page and verify it; tampering with a stored
entry (the attack: someone with write access to the table edits or deletes an item) is reported with the first
broken link.

Entries are written with doti.oversight.audit.record (the function every staff action and job uses) or by staff routes;
tampering is done the way an attacker would, with boto3 directly against the table.
"""

from __future__ import annotations

import itertools
import json
from datetime import datetime, timedelta
from typing import Any

import boto3
import pytest

from doti.auth.staff import create_staff_key
from doti.clock import utcnow
from doti.oversight import audit
from tests.support import World, admin_call, assert_error, body_of

ENTRY_KEYS = {"seq", "at", "actor", "action", "subject", "details", "hash", "prev_hash", "customer_visible"}


# helpers


def audit_page(world: World, contract_id: str | None = None, **query: str) -> dict[str, Any]:
    response = admin_call(
        "GET", f"/v1/admin/contracts/{contract_id or world.contract_id}/audit", key=world.staff_key, query=query
    )
    assert response["statusCode"] == 200, response["body"]
    return body_of(response)


def verify(world: World, contract_id: str | None = None) -> dict[str, Any]:
    path = f"/v1/admin/contracts/{contract_id or world.contract_id}/audit/verify"
    response = admin_call("GET", path, key=world.staff_key)
    assert response["statusCode"] == 200, response["body"]
    return body_of(response)


def write_entries(contract_id: str | None, count: int, *, hidden_every: int = 0) -> None:
    start = utcnow()
    for i in range(count):
        audit.record(
            contract_id,
            actor="staff:stf_test" if i % 2 else "job:retention",
            action=f"test.action{i + 1}",
            subject=f"subject-{i + 1}",
            details={"n": i + 1, "note": "名前"},
            customer_visible=not (hidden_every and (i + 1) % hidden_every == 0),
            now=start + timedelta(seconds=i),
        )


def audit_table(aws) -> Any:
    return boto3.client("dynamodb", region_name="us-east-1"), aws.refs["AuditTable"]


def key_of(contract_id: str, seq: int) -> dict[str, Any]:
    return {"contract_id": {"S": contract_id}, "seq": {"N": str(seq)}}


# listing


def test_the_log_lists_every_entry_newest_first(world):
    # Given entries, some of them hidden from the customer
    write_entries(world.contract_id, 5, hidden_every=2)

    # When staff list the contract's log
    page = audit_page(world)

    # Then every entry is there, newest first, in the staff shape
    items = page["items"]
    assert page["contract_id"] == world.contract_id
    assert [e["action"] for e in items] == [f"test.action{n}" for n in range(5, 0, -1)]
    assert [e["customer_visible"] for e in items] == [True, False, True, False, True]
    assert all(set(e) == ENTRY_KEYS for e in items)
    assert items[0]["details"] == {"n": 5, "note": "名前"}
    assert items[-1]["prev_hash"] == "0" * 64
    assert all(newer["prev_hash"] == older["hash"] for newer, older in itertools.pairwise(items))
    assert "next_after_seq" not in page


def test_after_seq_pages_through_every_entry_exactly_once(world):
    # Given 7 entries
    write_entries(world.contract_id, 7)

    # When staff page through them 3 at a time
    seen, query = [], {"limit": "3"}
    while True:
        page = audit_page(world, **query)
        seen.extend(e["seq"] for e in page["items"])
        if "next_after_seq" not in page:
            break
        query = {"limit": "3", "after_seq": str(page["next_after_seq"])}

    # Then each entry came once, newest first
    assert seen == [7, 6, 5, 4, 3, 2, 1]


def test_one_contracts_log_never_shows_anothers_entries(world_factory):
    # Given two tenants with their own entries
    world, other = world_factory(), world_factory()
    write_entries(world.contract_id, 2)
    audit.record(other.contract_id, actor="staff:stf_x", action="other.secret", now=utcnow())

    # When staff list the first tenant's log
    items = audit_page(world)["items"]

    # Then only its own entries are there
    assert [e["action"] for e in items] == ["test.action2", "test.action1"]


def test_staff_actions_are_in_the_log(world):
    # Given a staff action through a route (a notice to the contract)
    notice_body = {"audience": world.contract_id, "kind": "maintenance", "title": "T", "body": "B"}
    response = admin_call("POST", "/v1/admin/notices", key=world.staff_key, body=notice_body)
    assert response["statusCode"] == 201

    # When the log is listed
    (entry,) = audit_page(world)["items"]

    # Then the action is recorded with the staff member as actor
    assert entry["action"] == "notice.delivered"
    assert entry["actor"].startswith("staff:stf_")


@pytest.mark.parametrize("query", [{"limit": "0"}, {"limit": "201"}, {"limit": "ten"}, {"after_seq": "0"}])
def test_bad_paging_values_are_validation_errors(world, query):
    response = admin_call("GET", f"/v1/admin/contracts/{world.contract_id}/audit", key=world.staff_key, query=query)
    assert_error(response, 422, "validation_error")


@pytest.mark.parametrize("suffix", ["/audit", "/audit/verify"])
def test_an_unknown_contracts_log_is_not_found(world, suffix):
    response = admin_call("GET", f"/v1/admin/contracts/ctr_doesnotexist{suffix}", key=world.staff_key)
    assert_error(response, 404, "not_found")


@pytest.mark.parametrize("suffix", ["/audit", "/audit/verify"])
def test_the_log_needs_a_staff_key_and_an_operator_may_read_it(aws, world, suffix):
    # Given an operator key
    _, operator_key = create_staff_key("Op", "operator", utcnow())
    path = f"/v1/admin/contracts/{world.contract_id}{suffix}"

    # Then without a key the log is closed, and an operator may read it
    assert_error(admin_call("GET", path, key=None), 401, "unauthorized")
    assert admin_call("GET", path, key=operator_key)["statusCode"] == 200


# verification


def test_an_untouched_chain_is_intact(world):
    # Given entries
    write_entries(world.contract_id, 4)

    # When staff verify the chain
    report = verify(world)

    # Then it is intact, with every entry counted
    assert report == {
        "contract_id": world.contract_id,
        "entries": 4,
        "intact": True,
        "first_broken_seq": None,
        "problem": None,
    }


def test_an_empty_chain_is_intact(world):
    assert verify(world) == {
        "contract_id": world.contract_id,
        "entries": 0,
        "intact": True,
        "first_broken_seq": None,
        "problem": None,
    }


@pytest.mark.parametrize(
    ("expression", "values"),
    [
        ("SET details = :v", {":v": {"S": json.dumps({"n": 99, "note": "名前"})}}),
        ("SET actor = :v", {":v": {"S": "staff:stf_attacker"}}),
        ("SET customer_visible = :v", {":v": {"BOOL": False}}),
        ("SET #at = :v", {":v": {"S": "2020-01-01T00:00:00.000000+0000"}}),
        ("REMOVE subject", None),
    ],
    ids=["details", "actor", "hidden-from-customer", "time", "subject-removed"],
)
def test_an_entry_edited_in_the_table_is_the_first_broken_link(aws, world, expression, values):
    # Given a chain of 5 entries, and someone who edits the third one directly in DynamoDB
    write_entries(world.contract_id, 5)
    client, table = audit_table(aws)
    update: dict[str, Any] = {"TableName": table, "Key": key_of(world.contract_id, 3), "UpdateExpression": expression}
    if values:
        update["ExpressionAttributeValues"] = values
    if "#at" in expression:
        update["ExpressionAttributeNames"] = {"#at": "at"}
    client.update_item(**update)

    # When staff verify the chain
    report = verify(world)

    # Then the third entry is reported as altered
    assert report["intact"] is False
    assert report["first_broken_seq"] == 3
    assert "altered" in report["problem"]


def test_an_entry_rewritten_with_a_recomputed_hash_breaks_the_next_link(aws, world):
    # Given a chain of 4 entries, and an attacker who rewrites entry 2 and recomputes its hash consistently
    write_entries(world.contract_id, 4)
    client, table = audit_table(aws)
    item = client.get_item(TableName=table, Key=key_of(world.contract_id, 2))["Item"]
    forged = audit.entry_hash(
        world.contract_id,
        2,
        datetime.strptime(item["at"]["S"], "%Y-%m-%dT%H:%M:%S.%f%z"),
        item["actor"]["S"],
        "test.forged",
        item["subject"]["S"],
        json.loads(item["details"]["S"]),
        item["customer_visible"]["BOOL"],
        item["prev_hash"]["S"],
    )
    client.update_item(
        TableName=table,
        Key=key_of(world.contract_id, 2),
        UpdateExpression="SET #h = :h, #a = :a",
        ExpressionAttributeNames={"#h": "hash", "#a": "action"},
        ExpressionAttributeValues={":h": {"S": forged}, ":a": {"S": "test.forged"}},
    )

    # When staff verify the chain
    report = verify(world)

    # Then entry 2 holds together on its own, but entry 3 no longer links to it
    assert report["intact"] is False
    assert report["first_broken_seq"] == 3
    assert "prev_hash" in report["problem"]


def test_a_deleted_entry_is_reported_at_the_gap(aws, world):
    # Given a chain of 5 entries, and someone who deletes the second one
    write_entries(world.contract_id, 5)
    client, table = audit_table(aws)
    client.delete_item(TableName=table, Key=key_of(world.contract_id, 2))

    # When staff verify the chain
    report = verify(world)

    # Then the entry after the gap is the first broken link
    assert report["intact"] is False
    assert report["first_broken_seq"] == 3
    assert report["problem"] == "expected seq 2"


def test_deleting_the_newest_entry_is_detected(aws, world):
    # Given a chain of 3 entries, and someone who deletes the newest (e.g. to hide their own last action)
    write_entries(world.contract_id, 3)
    client, table = audit_table(aws)
    client.delete_item(TableName=table, Key=key_of(world.contract_id, 3))

    # When staff verify the chain
    report = verify(world)

    # Then the truncation should be reported
    assert report["intact"] is False


def test_the_system_chain_can_be_listed_and_verified(world):
    # Given entries on the system chain (incidents and notices to everyone go there)
    write_entries(None, 3)

    # When staff list and verify it under its name
    page = audit_page(world, contract_id=audit.SYSTEM)
    report = verify(world, contract_id=audit.SYSTEM)

    # Then they see its entries and that it is intact
    assert [e["seq"] for e in page["items"]][:3] == [report["entries"], report["entries"] - 1, report["entries"] - 2]
    assert report["intact"] is True
    assert report["contract_id"] == audit.SYSTEM
