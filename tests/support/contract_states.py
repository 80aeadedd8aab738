"""Putting a contract straight into a state (suspended, terminated…), for tests of what each state allows, and
reading the state it is in."""

from __future__ import annotations

from datetime import timedelta

from doti.clock import utcnow
from doti.contracts import lifecycle
from doti.contracts.terms import add_months
from doti.oversight import audit
from doti.store.models import ContractModel

JOB = audit.job_actor("test-job")


def put_in_state(contract_id: str, state: str) -> None:
    """Given: the contract in `state`, reached by the lifecycle's own transitions where one leads there."""
    now = utcnow()
    if state == "pending":
        # No transition leads back to pending; a contract created with a future start is in it (test_lifecycle).
        ContractModel.get(contract_id).update(actions=[ContractModel.state.set("pending")])
    elif state == "suspended":
        lifecycle.transition(contract_id, "suspended", "art8-1-1", "given", None, JOB, now)
    elif state == "cancelling":
        lifecycle.transition(contract_id, "cancelling", "art13-1", "given", add_months(now, 3), JOB, now)
    elif state in {"terminated", "purged"}:
        lifecycle.transition(contract_id, "terminated", "art12-1-2", "given", None, JOB, now)
        if state == "purged":
            lifecycle.transition(contract_id, "purged", None, "given", None, JOB, now + timedelta(days=31))


def state_of(contract_id: str) -> str:
    """The contract's state as stored now (a consistent read)."""
    return ContractModel.get(contract_id, consistent_read=True).state
