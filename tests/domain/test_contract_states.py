"""doti.contracts.contract_states: one table of what each contract state allows, one table of the moves between states.

Given the tables, when they are walked, then every state has a complete row, every move joins known states, and
what the domain enforces (doti.contracts, the share and invitation pages, the admin API) follows from them.
"""

from __future__ import annotations

import dataclasses
import typing
from datetime import UTC, datetime, timedelta

import pytest

from admin_routes import contracts as contract_routes
from doti.accounts import invitations
from doti.contracts import contract_states, terms
from doti.contracts.contract_states import STATES, TRANSITIONS, Capability, ContractState, StateRules
from doti.entities import Contract
from doti.errors import DotiError
from doti.viewing import shares

NOW = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)


def _contract(state: str, *, cancel_effective_at: datetime | None = None) -> Contract:
    return Contract(
        contract_id="ctr_states",
        name="states",
        state=state,
        contact_email="states@example.com",
        security_contract_id=None,
        retention_days=7,
        signed_url_ttl=300,
        max_object_bytes=4 * 1024 * 1024,
        max_pixels=3840 * 2160,
        monthly_byte_quota=50 * 1024**3,
        service_start=NOW,
        created_at=NOW,
        updated_at=NOW,
        cancel_effective_at=cancel_effective_at,
    )


def test_every_state_has_a_row_and_every_row_a_state() -> None:
    assert set(STATES) == set(ContractState)


@pytest.mark.parametrize("state", list(ContractState))
def test_every_row_defines_every_rule(state: ContractState) -> None:
    rules = STATES[state]

    for field in dataclasses.fields(StateRules):
        assert getattr(rules, field.name) is not None, field.name
    assert rules.allows <= set(Capability)
    assert issubclass(rules.refusal, DotiError)
    assert rules.refusal.status == 403
    assert rules.refusal_message.strip()
    assert shares.REFUSAL_STATUS[rules.page_refusal] == 403
    assert invitations.REFUSAL_STATUS[rules.page_refusal] == 403


@pytest.mark.parametrize("state", list(ContractState))
@pytest.mark.parametrize("capability", list(Capability))
def test_a_capability_is_allowed_or_refused_with_the_rows_error(state: ContractState, capability: Capability) -> None:
    contract = _contract(state)
    rules = STATES[state]

    if capability in rules.allows:
        contract_states.require(contract, capability, NOW)
    else:
        with pytest.raises(rules.refusal, match=rules.refusal_message):
            contract_states.require(contract, capability, NOW)


def test_whatever_serves_also_opens_the_account_and_an_ended_contract_allows_nothing() -> None:
    for state, rules in STATES.items():
        if Capability.SERVING in rules.allows:
            assert Capability.ACCOUNT in rules.allows, state
        if rules.ended:
            assert rules.allows == frozenset(), state
        if rules.purged:
            assert rules.ended, state


def test_a_cancellation_past_its_date_counts_as_terminated() -> None:
    due = _contract("cancelling", cancel_effective_at=NOW)
    ahead = _contract("cancelling", cancel_effective_at=NOW + timedelta(seconds=1))

    assert contract_states.effective_state(due, NOW) is ContractState.TERMINATED
    assert contract_states.effective_state(due) is ContractState.CANCELLING  # without a clock: as stored
    assert contract_states.effective_state(ahead, NOW) is ContractState.CANCELLING
    with pytest.raises(STATES[ContractState.TERMINATED].refusal):
        terms.require_serving(due, NOW)


def test_moves_join_known_states_and_never_leave_purged() -> None:
    for (start, target), grounds in TRANSITIONS.items():
        assert start in STATES
        assert target in STATES
        assert start is not target
        assert grounds, (start, target)
        assert all(g is None or g in contract_states.GROUNDS for g in grounds)
    assert not any(start is ContractState.PURGED for start, _ in TRANSITIONS)


def test_every_state_is_reached_from_a_new_contracts_state() -> None:
    reached, frontier = set(), [ContractState.PENDING, ContractState.ACTIVE]  # what create_contract stores
    while frontier:
        state = frontier.pop()
        reached.add(state)
        frontier += [to for start, to in TRANSITIONS if start is state and to not in reached]
    assert reached == set(ContractState)


def test_the_domain_and_the_admin_api_name_the_states_of_the_table() -> None:
    assert tuple(ContractState) == terms.STATES
    assert contract_states.states_allowing(Capability.SERVING) == terms.SERVING_STATES
    assert {ContractState.TERMINATED, ContractState.PURGED} == terms.ENDED_STATES
    assert typing.get_args(contract_routes._STATES) == tuple(s.value for s in ContractState)
    assert typing.get_args(contract_routes._TARGETS) == ("active", "suspended", "cancelling", "terminated")
    assert ContractState.PURGED not in contract_states.STAFF_TARGETS
