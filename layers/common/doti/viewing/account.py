"""The signed-in customer's own account (`GET /v1/me`, SPEC §12): who they are, their role and their contract.

It stays open while the contract is suspended (SPEC §3), so a suspended customer still learns who they are and why
everything else is closed; it is closed before the service starts and once the contract has ended.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from doti.contracts import terms
from doti.entities import Contract, User


@dataclass(frozen=True)
class Account:
    user: User
    contract: Contract


def account_of(user: User, *, now: datetime) -> Account:
    """The user with their contract, or the SPEC §3 error of a contract whose state closes the account."""
    contract = terms.get_contract(user.contract_id)
    terms.require_account_open(contract, now)
    return Account(user, contract)
