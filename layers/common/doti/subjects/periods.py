"""How long a contract's customer has to answer a request from a person filmed, and how long requests are kept: set
per contract by staff (`request_due_days`, `request_keep_days`; None is the default)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from doti.entities import Contract
from doti.errors import ValidationError

DEFAULT_DUE_DAYS, MIN_DUE_DAYS, MAX_DUE_DAYS = 14, 1, 30
DEFAULT_KEEP_DAYS, MIN_KEEP_DAYS, MAX_KEEP_DAYS = 365, 30, 1825
LIMITS = {"request_due_days": (MIN_DUE_DAYS, MAX_DUE_DAYS), "request_keep_days": (MIN_KEEP_DAYS, MAX_KEEP_DAYS)}


def due_days(contract: Contract) -> int:
    return contract.request_due_days or DEFAULT_DUE_DAYS


def keep_days(contract: Contract) -> int:
    return contract.request_keep_days or DEFAULT_KEEP_DAYS


def check_request_periods(changes: Mapping[str, Any]) -> None:
    """The periods among a contract's changes (None: back to the default)."""
    for name, (low, high) in LIMITS.items():
        value = changes.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high):
            raise ValidationError(f"{name} must be {low} to {high} days", field=name, minimum=low, maximum=high)
