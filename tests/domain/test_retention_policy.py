"""doti.contracts.retention_policy: the one place that turns a contract's retention into expiries, cutoffs and classes.

Given the policy and template.yaml, the bucket's lifecycle rules expire each class's tag after the class's days;
given a contract, frames and notes expire, are accepted and are cut off by the same retention.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest

from doti import ids
from doti.contracts import retention_policy
from doti.entities import Contract
from doti.store.keys import RETENTION_TAG
from infra.template import load_template

NOW = datetime(2026, 12, 3, 9, 30, 15, 250_000, tzinfo=UTC)


def _contract(days: int = 7) -> Contract:
    return Contract(
        contract_id="ctr_policy",
        name="policy",
        state="active",
        contact_email="policy@example.com",
        security_contract_id=None,
        retention_days=days,
        signed_url_ttl=300,
        max_object_bytes=4 * 1024 * 1024,
        max_pixels=3840 * 2160,
        monthly_byte_quota=50 * 1024**3,
        service_start=NOW,
        created_at=NOW,
        updated_at=NOW,
    )


def _tagged_rules() -> dict[str, dict[str, Any]]:
    resources = load_template()["Resources"]
    rules = [
        rule
        for resource in resources.values()
        if resource["Type"] == "AWS::S3::Bucket"
        for rule in resource["Properties"].get("LifecycleConfiguration", {}).get("Rules", [])
    ]
    return {tag["Value"]: rule for rule in rules for tag in rule.get("TagFilters", []) if tag["Key"] == RETENTION_TAG}


@pytest.mark.parametrize("days", retention_policy.RETENTION_CLASSES, ids=retention_policy.retention_class)
def test_each_retention_class_expires_in_the_template_after_the_policys_days(days: int) -> None:
    rule = _tagged_rules()[retention_policy.retention_class(days)]

    assert rule["Status"] == "Enabled"
    assert rule["ExpirationInDays"] == days


def test_the_template_has_a_tagged_rule_for_no_class_the_policy_lacks() -> None:
    assert set(_tagged_rules()) == {retention_policy.retention_class(d) for d in retention_policy.RETENTION_CLASSES}


def test_a_period_that_is_no_class_is_refused() -> None:
    with pytest.raises(ValueError, match="retention_days"):
        retention_policy.retention_class(30)


def test_a_contracts_class_is_its_retention_days() -> None:
    assert retention_policy.contract_class(_contract(31)) == "d31"


def test_a_capture_expires_its_retention_later_rounded_up_to_the_second() -> None:
    expiry = retention_policy.expires_at(NOW, _contract(7))

    assert expiry == datetime(2026, 12, 10, 9, 30, 16, tzinfo=UTC)
    assert retention_policy.expires_at(NOW.replace(microsecond=0), _contract(7)) == NOW.replace(
        microsecond=0
    ) + timedelta(days=7)


def test_the_capture_window_runs_from_the_cutoff_to_the_future_tolerance() -> None:
    window = retention_policy.capture_window(_contract(1), NOW)

    assert window.earliest == retention_policy.cutoff(_contract(1), NOW) == NOW - timedelta(days=1)
    assert window.latest == NOW + retention_policy.FUTURE_TOLERANCE
    assert not window.too_old(window.earliest)
    assert window.too_old(window.earliest - timedelta(microseconds=1))
    assert not window.in_future(window.latest)
    assert window.in_future(window.latest + timedelta(microseconds=1))


def test_the_cutoff_position_sorts_below_every_frame_captured_at_or_after_the_cutoff() -> None:
    contract = _contract(14)
    position = retention_policy.cutoff_position(contract, NOW)
    at_cutoff = ids.frame_id(retention_policy.cutoff(contract, NOW), "dev_x", "1")
    before = ids.frame_id(retention_policy.cutoff(contract, NOW) - timedelta(milliseconds=1), "dev_x", "2")

    assert before < position <= at_cutoff


def test_the_day_of_a_frame_id_is_the_utc_midnight_of_its_capture() -> None:
    frame_id = ids.frame_id(NOW, "dev_x", "1")

    assert ids.id_time(frame_id) == NOW.replace(microsecond=250_000)
    assert retention_policy.day_of(frame_id) == datetime(2026, 12, 3, tzinfo=UTC)


def test_a_record_is_expired_from_its_expiry_on() -> None:
    record = SimpleNamespace(expires_at=NOW)  # a frame or note: only its expiry matters

    assert retention_policy.is_expired(record, NOW)  # type: ignore[arg-type]
    assert not retention_policy.is_expired(record, NOW - timedelta(microseconds=1))  # type: ignore[arg-type]
