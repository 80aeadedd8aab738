"""Staff routes for contracts (SPEC §7; Art. 3, 8-2): create with a service start, list, plan updates, planned
suspension windows. Every change is audited with the staff id."""

from __future__ import annotations

from typing import Any

import pytest

from doti import runtime
from doti.auth.staff import create_staff_key
from doti.clock import parse_rfc3339, utcnow
from doti.contracts.terms import add_months
from doti.jobs import schedule
from doti.jobs.suspension import run_suspension
from doti.oversight import audit
from doti.store.models import ContractModel
from tests.support import admin_call, assert_error, body_of, later, scan_table
from tests.support.mail import sent_mails

CONTRACT_BODY = {"name": "Kanda Bakery", "contact_email": "owner@kanda-bakery.example"}


@pytest.fixture
def key(aws) -> str:
    return create_staff_key("Otto Operator", "operator", utcnow())[1]


def new_contract(key: str, **fields: Any) -> dict[str, Any]:
    response = admin_call("POST", "/v1/admin/contracts", key, {**CONTRACT_BODY, **fields})
    assert response["statusCode"] == 201, response["body"]
    return body_of(response)


def entries(contract_id: str, action: str) -> list[audit.AuditEntry]:
    found, _ = audit.entries(contract_id, limit=100)
    return [e for e in found if e.action == action]


# create


def test_a_contract_with_a_future_service_start_is_pending_until_then(key):
    # Given a service start next week (Art. 3)
    start = later(days=7)

    # When the contract is created
    contract = new_contract(key, service_start=start)

    # Then it is pending, starts then, the suspension job has the start to carry out, and the creation is audited
    assert contract["state"] == "pending"
    assert contract["service_start"] == start
    due = schedule.due_work(schedule.SERVICE_START, parse_rfc3339(start, "start"), 10)
    assert [w.contract_id for w in due] == [contract["contract_id"]]
    created = entries(contract["contract_id"], "contract.created")
    assert len(created) == 1
    assert created[0].actor.startswith("staff:")
    assert created[0].details["state"] == "pending"


def test_a_contract_whose_service_start_has_passed_is_active(key):
    contract = new_contract(key, service_start=later(days=-2))
    assert contract["state"] == "active"
    assert not schedule.due_work(schedule.SERVICE_START, utcnow(), 10)


@pytest.mark.isolated  # reads the whole contracts table
def test_a_service_start_that_is_not_a_time_is_refused(aws, key):
    response = admin_call("POST", "/v1/admin/contracts", key, {**CONTRACT_BODY, "service_start": "next monday"})
    assert_error(response, 422, "validation_error")
    assert scan_table(aws.refs["ContractsTable"]) == []


# list


@pytest.mark.isolated  # lists every contract; counts every mail sent
def test_contracts_are_listed_page_by_page(key):
    # Given five contracts
    created = {new_contract(key, name=f"Shop {n}")["contract_id"] for n in range(5)}

    # When they are listed two at a time, following the cursor
    seen: list[str] = []
    cursor = None
    for _ in range(5):
        query = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        page = body_of(admin_call("GET", "/v1/admin/contracts", key, query=query))
        assert len(page["items"]) <= 2
        seen += [c["contract_id"] for c in page["items"]]
        cursor = page.get("cursor")
        if not cursor:
            break

    # Then every contract appears exactly once and the last page has no cursor
    assert sorted(seen) == sorted(created)
    assert cursor is None


@pytest.mark.isolated  # lists every contract; counts every mail sent
def test_contracts_are_listed_by_state(key):
    # Given three contracts of which one is suspended
    ids = [new_contract(key)["contract_id"] for _ in range(3)]
    moved = admin_call(
        "POST",
        f"/v1/admin/contracts/{ids[1]}/transitions",
        key,
        {"to": "suspended", "ground": "art8-1-1", "reason": "equipment check"},
    )
    assert moved["statusCode"] == 200, moved["body"]

    # When the suspended ones are listed
    page = body_of(admin_call("GET", "/v1/admin/contracts", key, query={"state": "suspended"}))

    # Then only that one is
    assert [c["contract_id"] for c in page["items"]] == [ids[1]]
    assert page["items"][0]["state"] == "suspended"


@pytest.mark.parametrize("query", [{"limit": "0"}, {"limit": "201"}, {"state": "asleep"}, {"cursor": "%%%"}])
def test_an_invalid_listing_is_refused(key, query):
    assert_error(admin_call("GET", "/v1/admin/contracts", key, query=query), 422, "validation_error")


def test_listing_needs_a_staff_key(aws):
    assert_error(admin_call("GET", "/v1/admin/contracts", None, query={}), 401, "unauthorized")


# update


def test_a_plan_update_is_stored_and_audited_with_old_and_new_values(key):
    # Given an active contract with the default plan
    contract = new_contract(key)
    path = f"/v1/admin/contracts/{contract['contract_id']}"

    # When staff shorten its retention and change its address
    response = admin_call("PATCH", path, key, {"retention_days": 7, "contact_email": "it@kanda-bakery.example"})

    # Then the contract has the new values and the audit entry lists both changes
    assert response["statusCode"] == 200, response["body"]
    updated = body_of(admin_call("GET", path, key))
    assert (updated["retention_days"], updated["contact_email"]) == (7, "it@kanda-bakery.example")
    assert updated["signed_url_ttl"] == contract["signed_url_ttl"]
    entry = entries(contract["contract_id"], "contract.updated")[0]
    assert entry.details == {
        "retention_days": {"from": 31, "to": 7},
        "contact_email": {"from": CONTRACT_BODY["contact_email"], "to": "it@kanda-bakery.example"},
    }
    assert entry.actor.startswith("staff:")


@pytest.mark.parametrize(
    "change",
    [
        {"retention_days": 30},  # not a retention class
        {"signed_url_ttl": 4000},
        {"signed_url_ttl": 10},
        {"max_object_bytes": 100},
        {"monthly_byte_quota": 2048},  # below max_object_bytes
        {"contact_email": "nobody"},
        {"retention_days": None},  # a plan value cannot be cleared
        {"state": "active"},  # the state moves only by transitions
        {},
        {"security_contract_ended_at": "yesterday"},
    ],
    ids=[
        "retention-not-a-class",
        "ttl-too-long",
        "ttl-too-short",
        "object-too-small",
        "quota-below-object",
        "bad-email",
        "clear-retention",
        "state",
        "nothing",
        "bad-time",
    ],
)
def test_an_invalid_plan_update_is_refused_and_changes_nothing(key, change):
    # Given a contract
    contract = new_contract(key)
    path = f"/v1/admin/contracts/{contract['contract_id']}"

    # When an invalid change is asked for
    response = admin_call("PATCH", path, key, change)

    # Then it is 422, nothing changed and nothing was audited
    assert_error(response, 422, "validation_error")
    after = body_of(admin_call("GET", path, key))
    assert {k: after[k] for k in contract if k != "updated_at"} == {
        k: contract[k] for k in contract if k != "updated_at"
    }
    assert entries(contract["contract_id"], "contract.updated") == []


def test_the_security_contract_end_is_recorded_and_scheduled(key):
    # Given an active contract
    contract = new_contract(key, security_contract_id="SEC-1001")
    ended_at = later(days=10)

    # When staff record that its security-service contract ends in ten days
    response = admin_call(
        "PATCH", f"/v1/admin/contracts/{contract['contract_id']}", key, {"security_contract_ended_at": ended_at}
    )

    # Then the date is stored and the suspension job will find it due then (test_suspension_job carries it out)
    assert body_of(response)["security_contract_ended_at"] == ended_at
    due = schedule.due_work(schedule.SECURITY_CONTRACT_ENDED, parse_rfc3339(ended_at, "t"), 10)
    assert [w.contract_id for w in due] == [contract["contract_id"]]


def test_the_service_start_moves_only_while_pending(key):
    # Given a pending and an active contract
    pending = new_contract(key, service_start=later(days=7))
    active = new_contract(key)
    new_start = later(days=14)

    # When staff move both service starts
    moved = admin_call("PATCH", f"/v1/admin/contracts/{pending['contract_id']}", key, {"service_start": new_start})
    refused = admin_call("PATCH", f"/v1/admin/contracts/{active['contract_id']}", key, {"service_start": new_start})

    # Then the pending one starts later (its old start is no longer scheduled); the active one is a conflict
    assert body_of(moved)["service_start"] == new_start
    due = schedule.due_work(schedule.SERVICE_START, parse_rfc3339(new_start, "t"), 10)
    assert [w.due_at for w in due] == [parse_rfc3339(new_start, "t")]
    assert assert_error(refused, 409, "conflict")["details"]["current_state"] == "active"


def test_a_purged_contract_cannot_be_changed(key):
    # Given a purged contract (state written directly: purging is the termination job's)
    contract = new_contract(key)
    ContractModel.get(contract["contract_id"]).update(actions=[ContractModel.state.set("purged")])

    # When staff change its plan
    response = admin_call("PATCH", f"/v1/admin/contracts/{contract['contract_id']}", key, {"retention_days": 7})

    # Then it is a conflict naming the state
    assert assert_error(response, 409, "conflict")["details"]["current_state"] == "purged"


def test_updating_an_unknown_contract_is_not_found(key):
    response = admin_call("PATCH", "/v1/admin/contracts/ctr_doesnotexist00000000", key, {"retention_days": 7})
    assert_error(response, 404, "not_found")


# planned suspensions (Art. 8-2)


def window_body(**fields: Any) -> dict[str, Any]:
    return {
        "starts_at": later(days=3),
        "ends_at": later(days=3, hours=2),
        "ground": "art8-2",
        "reason": "relay equipment replacement",
        **fields,
    }


@pytest.mark.isolated  # lists every contract; counts every mail sent
def test_a_planned_suspension_is_scheduled_announced_and_audited(key):
    # Given an active contract
    contract_id = new_contract(key)["contract_id"]
    mails_before = len(sent_mails())
    body = window_body()

    # When staff plan a suspension window under Art. 8-2
    response = admin_call("POST", f"/v1/admin/contracts/{contract_id}/suspensions", key, body)

    # Then it is 201 and scheduled; the job has its start and end; the customer got prior notice; it is audited
    assert response["statusCode"] == 201, response["body"]
    window = body_of(response)
    assert window["status"] == "scheduled"
    assert (window["starts_at"], window["ends_at"], window["ground"]) == (body["starts_at"], body["ends_at"], "art8-2")
    ends = parse_rfc3339(body["ends_at"], "t")
    for kind in (schedule.SUSPENSION_START, schedule.SUSPENSION_END):
        assert [w.ref for w in schedule.due_work(kind, ends, 10)] == [window["suspension_id"]]
    new_mail = sent_mails()[mails_before:]
    assert len(new_mail) == 1
    assert new_mail[0].destinations["ToAddresses"] == [CONTRACT_BODY["contact_email"]]
    assert body["starts_at"] in new_mail[0].body
    assert entries(contract_id, "suspension.scheduled")[0].subject == window["suspension_id"]
    listed = body_of(admin_call("GET", f"/v1/admin/contracts/{contract_id}/suspensions", key))
    assert [w["suspension_id"] for w in listed["items"]] == [window["suspension_id"]]


@pytest.mark.isolated  # lists every contract; counts every mail sent
def test_an_emergency_window_is_scheduled_without_a_notice(key):
    contract_id = new_contract(key)["contract_id"]
    mails_before = len(sent_mails())
    body = window_body(ground="art8-1-1", starts_at=later(minutes=30), ends_at=later(hours=1))
    response = admin_call("POST", f"/v1/admin/contracts/{contract_id}/suspensions", key, body)
    assert response["statusCode"] == 201, response["body"]
    assert len(sent_mails()) == mails_before


@pytest.mark.parametrize(
    "fields",
    [
        {"starts_at": "2020-01-01T00:00:00Z"},  # in the past
        {"ends_at": "2020-01-01T00:00:00Z"},  # before the start
        {"ground": "art12-1-2"},  # not a ground for a planned window
        {"ground": "art8-3"},
        {"reason": ""},
        {"starts_at": "soon"},
    ],
    ids=["start-in-past", "end-before-start", "art12-ground", "unknown-ground", "no-reason", "not-a-time"],
)
def test_an_invalid_window_is_refused(key, fields):
    contract_id = new_contract(key)["contract_id"]
    response = admin_call("POST", f"/v1/admin/contracts/{contract_id}/suspensions", key, window_body(**fields))
    assert_error(response, 422, "validation_error")
    assert body_of(admin_call("GET", f"/v1/admin/contracts/{contract_id}/suspensions", key))["items"] == []


def test_windows_of_one_contract_do_not_overlap(key):
    # Given a planned window
    contract_id = new_contract(key)["contract_id"]
    first = body_of(admin_call("POST", f"/v1/admin/contracts/{contract_id}/suspensions", key, window_body()))

    # When another is planned across its end
    overlapping = window_body(starts_at=later(days=3, hours=1), ends_at=later(days=3, hours=4))
    response = admin_call("POST", f"/v1/admin/contracts/{contract_id}/suspensions", key, overlapping)

    # Then it is a conflict naming the first
    assert assert_error(response, 409, "conflict")["details"]["suspension_id"] == first["suspension_id"]


def test_an_ended_contract_cannot_be_scheduled_for_suspension(key):
    contract_id = new_contract(key)["contract_id"]
    ContractModel.get(contract_id).update(actions=[ContractModel.state.set("terminated")])
    response = admin_call("POST", f"/v1/admin/contracts/{contract_id}/suspensions", key, window_body())
    assert assert_error(response, 409, "conflict")["details"]["current_state"] == "terminated"


@pytest.mark.isolated  # lists every contract; counts every mail sent
def test_a_scheduled_window_is_cancelled_and_its_work_removed(key):
    # Given a planned window
    contract_id = new_contract(key)["contract_id"]
    window = body_of(admin_call("POST", f"/v1/admin/contracts/{contract_id}/suspensions", key, window_body()))
    path = f"/v1/admin/contracts/{contract_id}/suspensions/{window['suspension_id']}"

    # When staff cancel it (twice)
    first = admin_call("DELETE", path, key)
    again = admin_call("DELETE", path, key)

    # Then it is 204 both times, cancelled, its work gone, audited once and the customer told it is off
    assert (first["statusCode"], again["statusCode"]) == (204, 204)
    listed = body_of(admin_call("GET", f"/v1/admin/contracts/{contract_id}/suspensions", key))["items"]
    assert [w["status"] for w in listed] == ["cancelled"]
    far = add_months(utcnow(), 1)
    assert not schedule.due_work(schedule.SUSPENSION_START, far, 10)
    assert not schedule.due_work(schedule.SUSPENSION_END, far, 10)
    assert len(entries(contract_id, "suspension.cancelled")) == 1
    assert "will not take place" in sent_mails()[-1].body


def test_an_applied_window_cannot_be_cancelled(key):
    # Given a window the suspension job has applied
    contract_id = new_contract(key)["contract_id"]
    window = body_of(admin_call("POST", f"/v1/admin/contracts/{contract_id}/suspensions", key, window_body()))
    starts = parse_rfc3339(window["starts_at"], "t")
    run_suspension(now=starts, mailer=runtime.mailer(), events=runtime.events(), remaining_ms=lambda: 900_000.0)

    # When staff try to cancel it
    response = admin_call("DELETE", f"/v1/admin/contracts/{contract_id}/suspensions/{window['suspension_id']}", key)

    # Then it is a conflict: lifting an applied suspension is a transition
    assert assert_error(response, 409, "conflict")["details"]["status"] == "applied"


def test_an_unknown_window_or_contract_is_not_found(key):
    contract_id = new_contract(key)["contract_id"]
    missing_window = admin_call("DELETE", f"/v1/admin/contracts/{contract_id}/suspensions/sus_nothing", key)
    missing_contract = admin_call("GET", "/v1/admin/contracts/ctr_doesnotexist00000000/suspensions", key)
    assert_error(missing_window, 404, "not_found")
    assert_error(missing_contract, 404, "not_found")
