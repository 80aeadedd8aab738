"""A customer's notice under a single fault at any AWS call (issue 11): an emergency suspension's notice commits with
the move, and its e-mail goes at most once, with one "notice.delivered" entry, whether the request sends it or, when
the request could not, the suspension job's next run. An e-mail whose fate is unknown is never sent again: its entry
says "unconfirmed", and so does the job's report when the job found it so.

Each sweep, in each mode in turn, breaks the first call and up to three writes of a clean run (tests.faults.points) on a
fresh contract with its own address, then makes the retries the system makes: the staff member asks again while the
contract is not suspended, and the suspension job runs five minutes later.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

import pytest
from moto.ses.models import ses_backends

from doti import runtime
from doti.auth.staff import create_staff_key
from doti.clock import utcnow
from doti.contracts import lifecycle, notices, terms
from doti.jobs.suspension import SuspensionReport, run_suspension
from doti.oversight import audit
from doti.store.models import NoticeModel
from tests.faults.inject import MODES, Call, Plan
from tests.faults.points import attempt, sweep
from tests.support import admin_call

# Isolated (moto emptied before each test): a notice to all goes to every contract; mails are counted among all.
pytestmark = pytest.mark.isolated

STAFF = "staff:stf_notices"
NEXT_RUN = timedelta(minutes=5)  # the suspension job's schedule


def new_contract() -> str:
    """An active contract with an address of its own, so its mails can be told apart."""
    contract = terms.create_contract(
        name="Notice Shop",
        contact_email=f"owner-{secrets.token_hex(4)}@notice-shop.example",
        plan=terms.Plan(),
        security_contract_id=None,
        now=utcnow(),
    )
    return contract.contract_id


def mails_to(contract_id: str) -> int:
    address = terms.get_contract(contract_id).contact_email
    messages = ses_backends["123456789012"]["us-east-1"].sent_messages
    return sum(1 for m in messages if m.destinations["ToAddresses"] == [address])


def deliveries(contract_id: str) -> list[audit.AuditEntry]:
    entries, _ = audit.entries(contract_id, limit=100)
    return [e for e in entries if e.action == "notice.delivered"]


def job_run(at: datetime) -> SuspensionReport:
    return run_suspension(now=at, mailer=runtime.mailer(), events=runtime.events(), remaining_ms=lambda: 900_000.0)


def assert_notified_once(contract_id: str, report: SuspensionReport, plan: Plan) -> None:
    """One notice on the site, one entry for its e-mail, and one mail, unless the entry says its fate is unknown
    (then at most one, never resent)."""
    (notice,) = NoticeModel.query(contract_id, consistent_read=True)
    (entry,) = deliveries(contract_id)
    assert entry.subject == notice.notice_id, plan
    if entry.details.get("email") == notices.UNCONFIRMED:
        assert mails_to(contract_id) <= 1, plan
        assert notice.email_delivered == {}, plan
    else:
        assert mails_to(contract_id) == 1, plan
        assert notice.email_delivered == {contract_id: entry.details["email_sent_at"]}, plan
    assert report.failed == 0, (plan, report)
    assert audit.verify_chain(contract_id).intact, plan


def test_an_emergency_suspension_notice_under_any_single_fault_is_mailed_at_most_once_and_audited_once(aws):
    _, key = create_staff_key("Sam Staff", "operator", utcnow())
    body = {"to": "suspended", "ground": "art8-1-2", "reason": "relay station fire"}

    def suspend(contract_id: str) -> dict[str, Any]:
        return admin_call("POST", f"/v1/admin/contracts/{contract_id}/transitions", key, body)

    def check(contract_id: str, plan: Plan, outcome: Any) -> None:
        # When the staff member asks again while the contract is not suspended, and the job runs five minutes later
        if terms.get_contract(contract_id).state != "suspended":
            assert suspend(contract_id)["statusCode"] == 200
        report = job_run(utcnow() + NEXT_RUN)
        # Then the contract is suspended and its customer notified once
        assert terms.get_contract(contract_id).state == "suspended", plan
        assert_notified_once(contract_id, report, plan)

    for mode in MODES:
        sweep(mode, new_contract, suspend, check, reads=6)


def test_a_notice_whose_request_stopped_before_sending_is_reported_unconfirmed_by_the_job(aws):
    # Given a contract suspended in an emergency by a request that died right after claiming the notice's e-mail
    contract_id = new_contract()
    plan = Plan("crash", at=claim_call())
    _, failure = attempt(plan, lambda: suspend_now(contract_id))
    assert plan.fired == Call("dynamodb", "UpdateItem")
    assert failure is not None
    assert terms.get_contract(contract_id).state == "suspended"

    # When the suspension job runs next
    report = job_run(utcnow() + NEXT_RUN)

    # Then it does not send the mail (it may have gone), records the delivery unconfirmed and reports it
    (entry,) = deliveries(contract_id)
    assert entry.details["email"] == notices.UNCONFIRMED
    assert entry.actor == audit.job_actor("suspension")
    assert mails_to(contract_id) == 0
    assert (report.notices_unconfirmed, report.failed) == (1, 0)
    # and the next run finds nothing left to do
    assert job_run(utcnow() + 2 * NEXT_RUN).examined == 0


def suspend_now(contract_id: str) -> None:
    lifecycle.transition(
        contract_id,
        "suspended",
        "art8-1-1",
        "relay",
        None,
        STAFF,
        utcnow(),
        mailer=runtime.mailer(),
        events=runtime.events(),
    )


def claim_call() -> int:
    """The call number of the e-mail's claim in a suspension: the first UpdateItem after the move's transaction
    (learned on contracts of their own: the first run fills what the process keeps between requests)."""
    for contract_id in (new_contract(), new_contract()):
        clean = Plan()
        _, failure = attempt(clean, lambda: suspend_now(contract_id))  # noqa: B023 - called at once
        assert failure is None
    moved = clean.calls.index(Call("dynamodb", "TransactWriteItems"))
    return clean.calls.index(Call("dynamodb", "UpdateItem"), moved)


def test_a_notice_to_one_contract_that_could_not_be_mailed_is_mailed_by_the_job(aws):
    # Given a notice published to one contract while SES refuses the mail
    contract_id = new_contract()
    publish = lambda: notices.publish(  # noqa: E731
        audience=contract_id,
        kind="maintenance",
        title="Maintenance",
        body="Details.",
        actor=STAFF,
        mailer=runtime.mailer(),
        events=runtime.events(),
        now=utcnow(),
    )
    clean = Plan()
    attempt(clean, publish)
    plan = Plan("err", at=clean.calls.index(Call("ses", "SendEmail")))
    published, failure = attempt(plan, publish)

    # Then the notice is published, its e-mail not yet
    assert failure is None
    assert published.email_delivered == {}
    assert mails_to(contract_id) == 1  # the clean run's

    # When the suspension job runs next, Then it sends it, once, with its entry
    report = job_run(utcnow() + NEXT_RUN)
    assert (report.changed, report.failed, report.notices_unconfirmed) == (1, 0, 0)
    assert mails_to(contract_id) == 2
    assert [e.subject for e in deliveries(contract_id)].count(published.notice_id) == 1
    assert job_run(utcnow() + 2 * NEXT_RUN).examined == 0
