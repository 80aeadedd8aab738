"""Disclosures under a single fault at any AWS call, and asked for again (issue 11): a disclosure and its
"disclosure.created" entry commit in one transaction, so no fault leaves a disclosure and evidence package that the
audit log does not show; and staff asking again for the same disclosure soon after get the one they made.

The fault test, in each mode in turn, learns a clean run's calls, then breaks each of a sample of them (its first call
and up to three writes: tests.faults.points.fault_points), and then makes the retry staff make: they look at the
contract's audit log and ask again when it does not show the disclosure.
"""

from __future__ import annotations

import hashlib
import itertools
from datetime import timedelta
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from doti import runtime
from doti.clock import utcnow
from doti.entities import StaffMember
from doti.oversight import audit, disclosures
from doti.store.models import DisclosureModel
from tests.faults.inject import MODES, Plan
from tests.faults.points import sweep
from tests.support import World, body_of, sample_image
from tests.support.disclosures import created, disclose, evidence_keys
from tests.support.viewer import ingest_frame_id

STAFF = StaffMember(staff_id="stf_repeat", name="Repeat", role="admin")


def entries(contract_id: str, action: str) -> list[str | None]:
    found, _ = audit.entries(contract_id, limit=500)
    return [e.subject for e in reversed(found) if e.action == action]


def recorded(contract_id: str) -> list[DisclosureModel]:
    return list(DisclosureModel.scan(DisclosureModel.contract_id == contract_id, consistent_read=True))


def stored_package(aws: Any, key: str) -> bytes | None:
    try:
        return (
            boto3.client("s3", region_name="us-east-1")
            .get_object(Bucket=aws.refs["FramesBucket"], Key=key)["Body"]
            .read()
        )
    except ClientError:
        return None


def assert_chain_intact(contract_id: str) -> None:
    report = audit.verify_chain(contract_id)
    assert report.intact, report


def test_a_disclosure_made_under_any_single_fault_is_recorded_and_audited_once(aws, world: World):
    # Given frames of the camera; each broken request is for another reason (another disclosure)
    base_time = utcnow().replace(microsecond=0) - timedelta(hours=1)
    frame_ids = [
        ingest_frame_id(world, body=sample_image(), captured_at=base_time + timedelta(seconds=s)) for s in (0, 5)
    ]
    reasons = (f"burglary, inquiry {n}" for n in itertools.count(1))

    def ask(reason: str) -> dict[str, Any]:
        return disclose(world, frame_ids=frame_ids, basis="art10-3-2", reason=reason)

    def check(reason: str, plan: Plan, outcome: Any) -> None:
        # When staff, answered with an error or not at all, find no such disclosure in the audit log and ask again
        of_reason = [d for d in recorded(world.contract_id) if d.reason == reason]
        shown = set(entries(world.contract_id, "disclosure.created")) & {d.disclosure_id for d in of_reason}
        if (not isinstance(outcome, dict) or outcome["statusCode"] != 201) and not shown:
            created(ask(reason))
        # Then there is one disclosure for the reason, with one entry, and its package as recorded
        (disclosure,) = [d for d in recorded(world.contract_id) if d.reason == reason]
        assert entries(world.contract_id, "disclosure.created").count(disclosure.disclosure_id) == 1, plan
        package = stored_package(aws, disclosure.package_key)
        assert package is not None, plan
        assert hashlib.sha256(package).hexdigest() == disclosure.scope["package"]["sha256"], plan
        # and every disclosure of the contract is in the audit log
        assert {d.disclosure_id for d in recorded(world.contract_id)} <= set(
            entries(world.contract_id, "disclosure.created")
        ), plan
        assert_chain_intact(world.contract_id)

    for mode in MODES:
        sweep(mode, lambda: next(reasons), ask, check)


@pytest.mark.isolated  # lists every evidence copy in the bucket
def test_the_same_request_asked_again_gets_the_disclosure_it_made_with_a_new_link(aws, world: World):
    # Given a disclosure staff made
    base_time = utcnow().replace(microsecond=0) - timedelta(hours=1)
    frame_id = ingest_frame_id(world, body=sample_image(), captured_at=base_time)
    first = created(disclose(world, frame_ids=[frame_id], basis="art10-3-2"))

    # When they send the same request again (they got no answer)
    again = disclose(world, frame_ids=[frame_id], basis="art10-3-2")

    # Then it is the same disclosure, with a link to the same package, recorded and packed once
    assert again["statusCode"] == 201, again["body"]
    repeated = body_of(again)
    for key in ("disclosure_id", "basis", "recipient", "reason", "scope", "frames", "package_sha256"):
        assert repeated[key] == first[key]
    assert evidence_keys(aws) == [f"evidence/{world.contract_id}/{first['disclosure_id']}.zip"]
    assert entries(world.contract_id, "disclosure.created") == [first["disclosure_id"]]
    # and handing out the second link is audited as a link issued
    assert entries(world.contract_id, "disclosure.link_issued") == [first["disclosure_id"]]

    # When the request differs (another reason), it is another disclosure
    other = created(disclose(world, frame_ids=[frame_id], basis="art10-3-2", reason="another inquiry"))
    assert other["disclosure_id"] != first["disclosure_id"]


def test_the_same_request_after_the_repeat_window_is_a_new_disclosure(aws, world: World):
    # Given a disclosure made by a staff member
    base_time = utcnow().replace(microsecond=0) - timedelta(hours=1)
    frame_id = ingest_frame_id(world, body=sample_image(), captured_at=base_time)
    request = disclosures.DisclosureRequest(
        contract_id=world.contract_id,
        basis="art10-3-1",
        recipient="Police",
        reason="warrant 12",
        camera_id=world.camera_id,
        frame_ids=(frame_id,),
    )
    made_at = utcnow()
    first, _ = disclosures.create_disclosure(request, staff=STAFF, storage=runtime.storage(), now=made_at)

    # When the same request comes just before REPEAT_WINDOW has passed, then when it has
    soon, _ = disclosures.create_disclosure(
        request, staff=STAFF, storage=runtime.storage(), now=made_at + disclosures.REPEAT_WINDOW - timedelta(seconds=1)
    )
    later, _ = disclosures.create_disclosure(
        request, staff=STAFF, storage=runtime.storage(), now=made_at + disclosures.REPEAT_WINDOW
    )

    # Then the first is the disclosure made, the second a new one (the frames handed over once more)
    assert soon.disclosure_id == first.disclosure_id
    assert later.disclosure_id != first.disclosure_id
    assert entries(world.contract_id, "disclosure.created") == [first.disclosure_id, later.disclosure_id]
