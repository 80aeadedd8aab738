"""Disclosures to authorities (Art. 10-3) through the staff API, and the evidence copies they keep."""

from __future__ import annotations

from typing import Any

import boto3

from tests.support import (
    World,
    admin_call,
    created,  # noqa: F401 - re-exported for the disclosure tests
)

RECIPIENT = "Metropolitan Police Department, Shibuya Station"


REASON = "Inquiry about a burglary on the premises"


def disclose(world: World, key: str | None = None, contract_id: str | None = None, **fields: Any) -> dict[str, Any]:
    body = {"basis": "art10-3-1", "recipient": RECIPIENT, "reason": REASON, "camera_id": world.camera_id, **fields}
    path = f"/v1/admin/contracts/{contract_id or world.contract_id}/disclosures"
    return admin_call("POST", path, key=key if key is not None else world.staff_key, body=body)


def evidence_keys(aws) -> list[str]:
    listing = boto3.client("s3", region_name="us-east-1").list_objects_v2(
        Bucket=aws.refs["FramesBucket"], Prefix="evidence/"
    )
    return [item["Key"] for item in listing.get("Contents", [])]
