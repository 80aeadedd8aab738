"""Contract states (SPEC §3) as one table: what each state lets through, and the moves between states.

    pending ─> active ⇄ suspended
    active | suspended ─> cancelling ─> terminated ─> purged
    active | suspended | cancelling ─> terminated        (at once, on the grounds of Art. 12, Art. 13-2)

Every rule that depends on a contract's state reads STATES (what a state allows, and the error that refuses the
rest) or TRANSITIONS (the moves, with the grounds each may cite); doti.contracts enforces the first and
doti.contracts.lifecycle makes the moves. A new state is a row in each table here, and its tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from doti.entities import Contract
from doti.errors import ContractNotStarted, ContractSuspended, ContractTerminated, DotiError


class ContractState(StrEnum):
    PENDING = "pending"
    ACTIVE = "active"
    SUSPENDED = "suspended"
    CANCELLING = "cancelling"
    TERMINATED = "terminated"
    PURGED = "purged"


class Capability(StrEnum):
    """What a request or job needs the contract's state to allow."""

    SERVING = "serving"  # ingest accepted; the customer's viewer API (frames, notes, users, deletions, …)
    ACCOUNT = "account"  # the customer's own account: login, /v1/me, notices
    SHARE_PAGES = "share_pages"  # a share link's page shows footage; an invitation's page can be taken up
    EXPORT = "export"  # backup exports are requested and built


# How a share or invitation page names a contract that does not serve (doti.viewing.shares, doti.accounts.invitations).
PAGE_SUSPENDED, PAGE_ENDED = "suspended", "ended"


@dataclass(frozen=True)
class StateRules:
    allows: frozenset[Capability]
    refusal: type[DotiError]  # what a request the state does not allow raises (SPEC §3, §10)
    refusal_message: str
    page_refusal: str  # what a share or invitation page says instead
    ended: bool  # the contract is over: no new registry entries, no login
    purged: bool  # its data is gone: jobs pass it by, notices no longer reach it
    suspension_schedulable: bool  # a suspension window (Art. 8-2) may be planned for it


_SERVING = frozenset(Capability)
# A suspended customer still sees their account and the notices that explain the suspension (Art. 8, Art. 12).
_ACCOUNT_ONLY = frozenset({Capability.ACCOUNT})
_NOTHING: frozenset[Capability] = frozenset()
_NOT_STARTED = (ContractNotStarted, "the contract's service has not started", PAGE_SUSPENDED)
_SUSPENDED = (ContractSuspended, "the contract is suspended", PAGE_SUSPENDED)
_ENDED = (ContractTerminated, "the contract has ended", PAGE_ENDED)

STATES: dict[ContractState, StateRules] = {
    ContractState.PENDING: StateRules(_NOTHING, *_NOT_STARTED, ended=False, purged=False, suspension_schedulable=True),
    # a state that allows everything never raises its refusal; it is set all the same so every row is complete
    ContractState.ACTIVE: StateRules(_SERVING, *_ENDED, ended=False, purged=False, suspension_schedulable=True),
    ContractState.SUSPENDED: StateRules(
        _ACCOUNT_ONLY, *_SUSPENDED, ended=False, purged=False, suspension_schedulable=True
    ),
    ContractState.CANCELLING: StateRules(_SERVING, *_ENDED, ended=False, purged=False, suspension_schedulable=False),
    ContractState.TERMINATED: StateRules(_NOTHING, *_ENDED, ended=True, purged=False, suspension_schedulable=False),
    ContractState.PURGED: StateRules(_NOTHING, *_ENDED, ended=True, purged=True, suspension_schedulable=False),
}


def rules_of(contract: Contract) -> StateRules:
    """The rules of the contract's stored state."""
    return STATES[ContractState(contract.state)]


def states_where(predicate: str) -> frozenset[ContractState]:
    """The states whose rules have `predicate` (a boolean field of StateRules) set."""
    return frozenset(state for state, rules in STATES.items() if getattr(rules, predicate))


def states_allowing(capability: Capability) -> frozenset[ContractState]:
    return frozenset(state for state, rules in STATES.items() if capability in rules.allows)


def effective_state(contract: Contract, now: datetime | None = None) -> ContractState:
    """The contract's state as requests see it: given `now`, a cancellation past its effective date counts as
    terminated even before the hourly termination job has moved it."""
    state = ContractState(contract.state)
    if (
        now is not None
        and state is ContractState.CANCELLING
        and contract.cancel_effective_at is not None
        and contract.cancel_effective_at <= now
    ):
        return ContractState.TERMINATED
    return state


def refusal(contract: Contract, capability: Capability, now: datetime | None = None) -> StateRules | None:
    """The rules of the contract's state when they refuse `capability`; None when it is allowed."""
    rules = STATES[effective_state(contract, now)]
    return None if capability in rules.allows else rules


def require(contract: Contract, capability: Capability, now: datetime | None = None) -> None:
    """Raise the SPEC §3 error of the contract's state unless it allows `capability`."""
    refused = refusal(contract, capability, now)
    if refused is not None:
        raise refused.refusal(refused.refusal_message)


# the moves, and the grounds each may cite (article, paragraph, item)

EMERGENCY = ("art8-1-1", "art8-1-2", "art8-1-3", "art8-1-4")  # Art. 8-1 (1)-(4): no prior notice
PLANNED = "art8-2"  # Art. 8-2: with prior notice
ART12_1 = tuple(f"art12-1-{n}" for n in range(1, 13))  # Art. 12-1 (1)-(12)
ANTISOCIAL = "art12-2"  # Art. 12-2: ends the contract
CUSTOMER_NOTICE = "art13-1"  # Art. 13-1: the customer's cancellation, two months ahead
CUSTOMER_IMMEDIATE = "art13-2"  # Art. 13-2: the customer ends it at once; overrides the two months
SECURITY_CONTRACT_ENDED = "security_contract_ended"  # Art. 12-1, preamble
GROUNDS = (*EMERGENCY, PLANNED, *ART12_1, ANTISOCIAL, CUSTOMER_NOTICE, CUSTOMER_IMMEDIATE, SECURITY_CONTRACT_ENDED)

SUSPENSION_GROUNDS = frozenset({*EMERGENCY, PLANNED, *ART12_1, SECURITY_CONTRACT_ENDED})
CANCELLATION_GROUNDS = frozenset({CUSTOMER_NOTICE, CUSTOMER_IMMEDIATE})
TERMINATION_GROUNDS = frozenset({*ART12_1, ANTISOCIAL, CUSTOMER_IMMEDIATE, SECURITY_CONTRACT_ENDED})

_NONE: frozenset[str | None] = frozenset({None})
_S = ContractState
# (from, to) -> the grounds it may cite; None in a set means "no ground" is accepted. No other move exists: in
# particular a cancellation is not withdrawn (Art. 13 gives nothing to take it back).
TRANSITIONS: dict[tuple[ContractState, ContractState], frozenset[str | None]] = {
    (_S.PENDING, _S.ACTIVE): _NONE,
    (_S.ACTIVE, _S.SUSPENDED): SUSPENSION_GROUNDS,
    (_S.SUSPENDED, _S.ACTIVE): _NONE | SUSPENSION_GROUNDS,  # lifting; the ground, if any, is the one lifted
    (_S.ACTIVE, _S.CANCELLING): CANCELLATION_GROUNDS,
    (_S.SUSPENDED, _S.CANCELLING): CANCELLATION_GROUNDS,
    (_S.ACTIVE, _S.TERMINATED): TERMINATION_GROUNDS,
    (_S.SUSPENDED, _S.TERMINATED): TERMINATION_GROUNDS,
    # art13-1 here is the cancellation taking effect, on or after its date (the termination job)
    (_S.CANCELLING, _S.TERMINATED): frozenset({*TERMINATION_GROUNDS, CUSTOMER_NOTICE}),
    (_S.TERMINATED, _S.PURGED): _NONE,
}
# Reached only by the termination job, once the data is gone; staff never request it.
JOB_ONLY_TARGETS = frozenset({ContractState.PURGED})
# What staff may ask a contract to move to (the admin API's `to`), in the states' order.
STAFF_TARGETS = tuple(
    state for state in ContractState if state not in JOB_ONLY_TARGETS and any(to is state for _, to in TRANSITIONS)
)
