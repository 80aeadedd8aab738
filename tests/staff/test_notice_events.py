"""A published notice is told as `notice.published` (issue 16 §2) to each contract it addresses: staff's notices to
one contract or to all, a suspension's notice, and a notice staged by a job (e-mailed, and told, by the suspension
job). A queue that refuses the event never fails the publishing."""

from __future__ import annotations

from datetime import timedelta

from doti import runtime
from doti.clock import format_rfc3339, utcnow
from doti.contracts import notices
from doti.jobs.suspension import run_suspension
from doti.store.transactions import commit
from doti.webhooks.events import event_id
from infra.provision import Provisioned
from tests.support import World, admin_call, body_of
from tests.support.events import events_queue_down, told, told_all

NEXT_RUN = timedelta(minutes=5)  # the suspension job's schedule


def publish(world: World, audience: str, **fields: str) -> dict:
    body = {"audience": audience, "kind": "maintenance", "title": "Maintenance / 保守", "body": "Tonight.", **fields}
    response = admin_call("POST", "/v1/admin/notices", world.staff_key, body)
    assert response["statusCode"] == 201, response["body"]
    return body_of(response)


def test_a_notice_to_one_contract_is_told_once_to_that_contract(aws: Provisioned, world_factory) -> None:
    # Given two contracts
    world, other = world_factory(), world_factory()

    # When staff publish a notice to the first
    notice = publish(world, world.contract_id, effective_at=format_rfc3339(utcnow() + timedelta(days=1)))

    # Then exactly one notice.published is queued, to that contract alone: id, kind, title, audience, effective time
    (event,) = told(aws, world.contract_id)
    assert event == {
        "type": "notice.published",
        "id": event_id("notice.published", world.contract_id, notice["notice_id"]),
        "time": notice["published_at"],
        "contract_id": world.contract_id,
        "site_id": None,
        "camera_id": None,
        "data": {
            "notice_id": notice["notice_id"],
            "kind": "maintenance",
            "title": "Maintenance / 保守",
            "audience": "contract",
            "effective_at": notice["effective_at"],
        },
    }
    assert told(aws, other.contract_id) == []


def test_a_notice_to_all_is_told_to_each_contract_under_its_own_id(aws: Provisioned, world_factory) -> None:
    # Given two contracts
    first, second = world_factory(), world_factory()

    # When an admin publishes a notice to every customer
    notice = publish(first, "all", kind="terms_change", title="New terms")

    # Then each contract is told once, each event with an id of its own
    everyone = told_all(aws)
    events = [e for world in (first, second) for e in everyone if e["contract_id"] == world.contract_id]
    assert [(e["contract_id"], e["data"]["notice_id"], e["data"]["audience"]) for e in events] == [
        (first.contract_id, notice["notice_id"], "all"),
        (second.contract_id, notice["notice_id"], "all"),
    ]
    assert events[0]["id"] != events[1]["id"]


def test_an_emergency_suspensions_notice_is_told(aws: Provisioned, world: World) -> None:
    # When staff suspend the contract in an emergency (Art. 8-1), which publishes a notice with the move
    body = {"to": "suspended", "ground": "art8-1-2", "reason": "relay station fire"}
    response = admin_call("POST", f"/v1/admin/contracts/{world.contract_id}/transitions", world.staff_key, body)
    assert response["statusCode"] == 200, response["body"]

    # Then its notice is told
    (event,) = told(aws, world.contract_id)
    assert (event["type"], event["data"]["kind"]) == ("notice.published", "suspension")


def test_a_notice_staged_by_a_job_is_told_when_the_suspension_job_mails_it_and_only_then(
    aws: Provisioned, world: World
) -> None:
    # Given a notice staged for its e-mail, as a job stages one with its own state (doti.subjects.overdue)
    draft = notices.draft(
        audience=world.contract_id, kind="request_overdue", title="t", body="b", actor="job:test", now=utcnow()
    )
    commit(lambda transaction: notices.stage(transaction, draft))
    assert told(aws, world.contract_id) == []

    # When the suspension job runs next, and once more
    def job_run(at_: timedelta) -> None:
        run_suspension(
            now=utcnow() + at_, mailer=runtime.mailer(), events=runtime.events(), remaining_ms=lambda: 900_000.0
        )

    job_run(NEXT_RUN)
    (event,) = told(aws, world.contract_id)
    job_run(2 * NEXT_RUN)

    # Then the notice was told once, by the run that mailed it
    assert (event["type"], event["data"]["notice_id"]) == ("notice.published", draft.notice_id)
    assert told(aws, world.contract_id) == []


def test_a_notice_whose_event_the_queue_refuses_is_published_all_the_same(aws: Provisioned, world: World) -> None:
    # When staff publish a notice while the events queue is unreachable
    with events_queue_down() as refused:
        notice = publish(world, world.contract_id)

    # Then it is published (and e-mailed); its event was tried and is lost
    assert refused
    assert notice["email_delivered"] != {}
    assert told(aws, world.contract_id) == []
