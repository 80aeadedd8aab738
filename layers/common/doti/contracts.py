"""Contracts: plan limits and what each state allows (SPEC §3).

The full state machine with transitions arrives with the contract-operations issue; here a contract is created
active and every route family asks this module whether the state lets it through.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from doti import ids
from doti.entities import Contract
from doti.errors import ContractNotStarted, ContractSuspended, ContractTerminated, ValidationError
from doti.store import registry
from doti.store.keys import RETENTION_CLASSES

PENDING, ACTIVE, SUSPENDED, CANCELLING, TERMINATED, PURGED = (
    "pending",
    "active",
    "suspended",
    "cancelling",
    "terminated",
    "purged",
)
SERVING_STATES = frozenset({ACTIVE, CANCELLING})
# A suspended customer still sees their account and the notices that explain the suspension (Art. 8, Art. 12).
ACCOUNT_STATES = SERVING_STATES | {SUSPENDED}

MIN_SIGNED_URL_TTL, MAX_SIGNED_URL_TTL = 30, 3600
# A direct frame upload travels base64-encoded inside a Lambda event (6 MB cap): ~4.4 MB of image at most.
DIRECT_UPLOAD_MAX_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class Plan:
    retention_days: int = 31
    signed_url_ttl: int = 300
    max_object_bytes: int = DIRECT_UPLOAD_MAX_BYTES
    max_pixels: int = 3840 * 2160
    monthly_byte_quota: int = 50 * 1024**3

    def validate(self) -> None:
        if self.retention_days not in RETENTION_CLASSES:
            raise ValidationError("retention_days must be one of the retention classes", allowed=RETENTION_CLASSES)
        if not MIN_SIGNED_URL_TTL <= self.signed_url_ttl <= MAX_SIGNED_URL_TTL:
            raise ValidationError(
                "signed_url_ttl is out of range", minimum=MIN_SIGNED_URL_TTL, maximum=MAX_SIGNED_URL_TTL
            )
        if not 1024 <= self.max_object_bytes <= DIRECT_UPLOAD_MAX_BYTES:
            raise ValidationError("max_object_bytes is out of range", minimum=1024, maximum=DIRECT_UPLOAD_MAX_BYTES)
        if not 64 * 64 <= self.max_pixels <= 100_000_000:
            raise ValidationError("max_pixels is out of range", minimum=64 * 64, maximum=100_000_000)
        if self.monthly_byte_quota < self.max_object_bytes:
            raise ValidationError("monthly_byte_quota must be at least max_object_bytes")


def create_contract(
    *, name: str, contact_email: str, plan: Plan, security_contract_id: str | None, now: datetime
) -> Contract:
    plan.validate()
    contract = Contract(
        contract_id=ids.new_id("ctr"),
        name=name,
        state=ACTIVE,
        contact_email=contact_email,
        security_contract_id=security_contract_id,
        retention_days=plan.retention_days,
        signed_url_ttl=plan.signed_url_ttl,
        max_object_bytes=plan.max_object_bytes,
        max_pixels=plan.max_pixels,
        monthly_byte_quota=plan.monthly_byte_quota,
        service_start=now,
        created_at=now,
        updated_at=now,
    )
    registry.put_contract(contract)
    return contract


def get_contract(contract_id: str) -> Contract:
    return registry.get_contract(contract_id)


def require_serving(contract: Contract) -> None:
    """Raise the SPEC §3 error for a contract whose state stops ingest and viewing."""
    if contract.state in SERVING_STATES:
        return
    if contract.state == PENDING:
        raise ContractNotStarted("the contract's service has not started")
    if contract.state == SUSPENDED:
        raise ContractSuspended("the contract is suspended")
    raise ContractTerminated("the contract has ended")


def require_account_open(contract: Contract) -> None:
    """Raise the SPEC §3 error for a contract whose state closes even the customer's own account view."""
    if contract.state not in ACCOUNT_STATES:
        require_serving(contract)
