"""DynamoDB conditional writes: telling a condition that did not hold from a storage failure."""

from __future__ import annotations

from pynamodb.exceptions import PynamoDBException


def is_condition_failure(exc: PynamoDBException) -> bool:
    """True when a PynamoDB write failed only because its condition did not hold (the item is not as expected)."""
    return getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException"
