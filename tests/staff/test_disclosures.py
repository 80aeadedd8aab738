"""Third-party disclosures (Art. 10-3, issue 3 §3): basis, recipient and scope recorded; an evidence package in S3
with the selected frames marked with the disclosure id, a manifest of the originals' SHA-256 and an expiring link;
audited on the contract's chain and shown to the customer as far as the basis allows.

Frames come in through the real ingest handler; staff and customers go through their handlers.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import secrets
import zipfile
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlparse

import boto3
import cv2
import numpy as np
import pytest

from doti import runtime
from doti.auth.staff import create_staff_key
from doti.clock import format_rfc3339, parse_rfc3339, utcnow
from doti.entities import StaffMember
from doti.oversight import access_log, disclosures, evidence
from functions.viewer import app as viewer
from tests.support import (
    LambdaContext,
    World,
    admin_call,
    assert_error,
    body_of,
    customer_event,
    images,
    sample_image,
)
from tests.support.disclosures import REASON, RECIPIENT, created, disclose, evidence_keys
from tests.support.video import clip
from tests.support.viewer import ingest_frame_id, owner_token

# helpers


def package(aws, contract_id: str, disclosure_id: str) -> zipfile.ZipFile:
    obj = boto3.client("s3", region_name="us-east-1").get_object(
        Bucket=aws.refs["FramesBucket"], Key=f"evidence/{contract_id}/{disclosure_id}.zip"
    )
    return zipfile.ZipFile(io.BytesIO(obj["Body"].read()))


def jpeg_comments(data: bytes) -> list[bytes]:
    """The payloads of a JPEG's COM segments before the image data, read without our code."""
    found, pos = [], 2
    while data[pos] == 0xFF and data[pos + 1] not in (0xDA, 0xD9):
        length = int.from_bytes(data[pos + 2 : pos + 4], "big")
        if data[pos + 1] == 0xFE:
            found.append(data[pos + 4 : pos + 2 + length])
        pos += 2 + length
    return found


def without_jpeg_comments(data: bytes) -> bytes:
    out, pos = bytearray(data[:2]), 2
    while data[pos] == 0xFF and data[pos + 1] not in (0xDA, 0xD9):
        length = int.from_bytes(data[pos + 2 : pos + 4], "big")
        if data[pos + 1] != 0xFE:
            out += data[pos : pos + 2 + length]
        pos += 2 + length
    return bytes(out + data[pos:])


def png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    chunks, pos = [], 8
    while pos < len(data):
        length = int.from_bytes(data[pos : pos + 4], "big")
        chunks.append((data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]))
        pos += 12 + length
    return chunks


def without_png_text(data: bytes) -> bytes:
    out, pos = bytearray(data[:8]), 8
    while pos < len(data):
        length = int.from_bytes(data[pos : pos + 4], "big")
        if data[pos + 4 : pos + 8] != b"tEXt":
            out += data[pos : pos + 12 + length]
        pos += 12 + length
    return bytes(out)


def customer_access_log(world: World) -> list[dict[str, Any]]:
    event = customer_event(
        "viewer/list_cameras.json", owner_token(world), path="/v1/access-log", resource="/v1/access-log", query={}
    )
    response = viewer.lambda_handler(event, LambdaContext())
    assert response["statusCode"] == 200, response["body"]
    return body_of(response)["items"]


def staff_audit(world: World) -> list[dict[str, Any]]:
    response = admin_call("GET", f"/v1/admin/contracts/{world.contract_id}/audit", key=world.staff_key)
    assert response["statusCode"] == 200, response["body"]
    return body_of(response)["items"]


@pytest.fixture
def base_time() -> datetime:
    return utcnow().replace(microsecond=0) - timedelta(hours=1)


# the evidence package


def test_a_disclosure_packs_the_selected_frames_marked_with_its_id(aws, world, base_time):
    # Given a JPEG and a PNG frame of the camera, and a third frame that is not selected
    jpeg, png = sample_image(), images.png(160, 120, label="PNG frame")
    jpeg_id = ingest_frame_id(world, body=jpeg, captured_at=base_time)
    png_id = ingest_frame_id(world, body=png, captured_at=base_time + timedelta(seconds=5), content_type="image/png")
    other_id = ingest_frame_id(
        world,
        body=images.png(160, 120, label="other"),
        captured_at=base_time + timedelta(seconds=9),
        content_type="image/png",
    )

    # When staff disclose the first two
    result = created(disclose(world, frame_ids=[png_id, jpeg_id], legal_reference="CCP Art. 197-2, No. 123"))

    # Then the response names the disclosure, the frame count and a link
    disclosure_id = result["disclosure_id"]
    assert disclosure_id.startswith("dsc_")
    assert result["frames"] == 2
    assert result["package_url"]
    # and the package holds the two frames, a manifest and the disclosure record, and says what it is
    archive = package(aws, world.contract_id, disclosure_id)
    names = archive.namelist()
    image_names = sorted(n for n in names if n not in {"manifest.csv", "disclosure.json"})
    assert sorted(names) == sorted([*image_names, "manifest.csv", "disclosure.json"])
    assert len(image_names) == 2
    assert all(disclosure_id in name for name in image_names)
    assert not any(other_id in name for name in names)
    assert disclosure_id.encode() in archive.comment
    assert archive.testzip() is None

    # and the manifest lists each original's SHA-256, which is that of the bytes the device sent
    rows = {row["frame_id"]: row for row in csv.DictReader(io.StringIO(archive.read("manifest.csv").decode()))}
    assert set(rows) == {jpeg_id, png_id}
    sent = {jpeg_id: jpeg, png_id: png}
    for frame_id, row in rows.items():
        assert list(row) == list(evidence.MANIFEST_COLUMNS)
        assert row["original_sha256"] == hashlib.sha256(sent[frame_id]).hexdigest()
        assert row["camera_id"] == world.camera_id
        marked = archive.read(row["file_name"])
        assert row["marked_sha256"] == hashlib.sha256(marked).hexdigest()
        assert marked != sent[frame_id]
    assert parse_rfc3339(rows[jpeg_id]["captured_at"], "captured_at") == base_time

    # and the JPEG carries the id in a COM segment; without it, it is the original byte for byte, and decodes alike
    marked_jpeg = archive.read(rows[jpeg_id]["file_name"])
    comments = jpeg_comments(marked_jpeg)
    assert len(comments) == 1
    assert comments[0].startswith(b"doti-disclosure:" + disclosure_id.encode())
    assert without_jpeg_comments(marked_jpeg) == jpeg
    decoded = cv2.imdecode(np.frombuffer(marked_jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert np.array_equal(decoded, cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR))
    assert marked_jpeg[2:4] == b"\xff\xe0"  # JFIF's APP0 still follows SOI

    # and the PNG carries it in a tEXt chunk right after IHDR, with the original recoverable the same way
    marked_png = archive.read(rows[png_id]["file_name"])
    chunks = png_chunks(marked_png)
    assert chunks[0][0] == b"IHDR"
    assert chunks[1][0] == b"tEXt"
    assert chunks[1][1].startswith(b"Comment\x00doti-disclosure:" + disclosure_id.encode())
    assert rows[png_id]["original_sha256"].encode() in chunks[1][1]
    assert without_png_text(marked_png) == png
    assert cv2.imdecode(np.frombuffer(marked_png, np.uint8), cv2.IMREAD_UNCHANGED) is not None

    # and disclosure.json records who disclosed what to whom on which basis
    record = json.loads(archive.read("disclosure.json"))
    assert record["disclosure_id"] == disclosure_id
    assert record["basis"] == "art10-3-1"
    assert record["recipient"] == RECIPIENT
    assert record["reason"] == REASON
    assert record["legal_reference"] == "CCP Art. 197-2, No. 123"
    assert record["staff_id"].startswith("stf_")
    assert parse_rfc3339(record["created_at"], "created_at") <= utcnow()


def test_the_link_downloads_the_package_as_an_attachment_for_24_hours(aws, world, base_time):
    # Given a frame
    frame_id = ingest_frame_id(world, body=sample_image(), captured_at=base_time)

    # When it is disclosed
    before = utcnow()
    result = created(disclose(world, frame_ids=[frame_id]))

    # Then the link is a SigV4 presigned GET of the package that expires in 24 hours and downloads as a file
    url = urlparse(result["package_url"])
    query = {k: v[0] for k, v in parse_qs(url.query).items()}
    assert url.path.endswith(f"/evidence/{world.contract_id}/{result['disclosure_id']}.zip")
    assert query["X-Amz-Algorithm"] == "AWS4-HMAC-SHA256"
    assert query["X-Amz-Expires"] == str(24 * 3600)
    assert query["response-content-disposition"] == f'attachment; filename="{result["disclosure_id"]}.zip"'
    assert query["response-content-type"] == "application/zip"
    expires_at = parse_rfc3339(result["expires_at"], "expires_at")
    assert before + timedelta(hours=24) <= expires_at <= utcnow() + timedelta(hours=24)
    # and the stored object says the same, with the package's digest
    head = boto3.client("s3", region_name="us-east-1").head_object(
        Bucket=aws.refs["FramesBucket"], Key=f"evidence/{world.contract_id}/{result['disclosure_id']}.zip"
    )
    assert head["ContentType"] == "application/zip"
    assert head["Metadata"]["sha256"] == result["package_sha256"]


def test_a_window_selects_the_frames_captured_in_it(aws, world, base_time):
    # Given frames at 0, 60, 120 and 180 seconds
    ids = [
        ingest_frame_id(world, body=sample_image(), captured_at=base_time + timedelta(seconds=60 * i)) for i in range(4)
    ]

    # When the window [60 s, 180 s) is disclosed
    window = {
        "from": format_rfc3339(base_time + timedelta(seconds=60)),
        "to": format_rfc3339(base_time + timedelta(seconds=180)),
    }
    result = created(disclose(world, **window))

    # Then exactly the frames at 60 and 120 seconds are in the package
    assert result["frames"] == 2
    assert result["scope"]["frame_ids"] == ids[1:3]
    assert result["scope"]["from"] == window["from"]
    archive = package(aws, world.contract_id, result["disclosure_id"])
    rows = list(csv.DictReader(io.StringIO(archive.read("manifest.csv").decode())))
    assert [row["frame_id"] for row in rows] == ids[1:3]


def test_the_disclosure_is_recorded_and_a_fresh_link_is_issued_on_request(aws, world, base_time):
    # Given a disclosure
    frame_id = ingest_frame_id(world, body=sample_image(), captured_at=base_time)
    first = created(disclose(world, frame_ids=[frame_id], basis="art10-3-2"))

    # When staff read it back
    response = admin_call("GET", f"/v1/admin/disclosures/{first['disclosure_id']}", key=world.staff_key)

    # Then the record is the one created, with a link to the same package
    assert response["statusCode"] == 200, response["body"]
    again = body_of(response)
    for key in ("disclosure_id", "contract_id", "basis", "recipient", "reason", "scope", "frames", "package_sha256"):
        assert again[key] == first[key]
    assert urlparse(again["package_url"]).path == urlparse(first["package_url"]).path
    assert parse_rfc3339(again["expires_at"], "expires_at") >= parse_rfc3339(first["expires_at"], "expires_at")
    # and handing out the link is itself audited
    actions = [entry["action"] for entry in staff_audit(world)]
    assert actions[:2] == ["disclosure.link_issued", "disclosure.created"]


def test_a_package_past_its_retention_has_no_link(aws, world, base_time):
    # Given a disclosure, and a reader 31 days later (the evidence/ lifecycle rule has deleted the package)
    frame_id = ingest_frame_id(world, body=sample_image(), captured_at=base_time)
    disclosure_id = created(disclose(world, frame_ids=[frame_id]))["disclosure_id"]
    member = StaffMember(staff_id="stf_reader", name="Reader", role="admin")
    later = utcnow() + disclosures.EVIDENCE_RETENTION + timedelta(days=1)

    # When the record is read then
    record, link = disclosures.get_disclosure(disclosure_id, staff=member, storage=runtime.storage(), now=later)

    # Then it is still there, but no link is offered
    assert record.disclosure_id == disclosure_id
    assert link.url is None
    assert link.expires_at is None


def test_a_link_never_outlives_the_package(aws, world, base_time):
    # Given a disclosure whose package has 2 hours left
    frame_id = ingest_frame_id(world, body=sample_image(), captured_at=base_time)
    disclosure_id = created(disclose(world, frame_ids=[frame_id]))["disclosure_id"]
    member = StaffMember(staff_id="stf_reader", name="Reader", role="admin")
    record, _ = disclosures.get_disclosure(disclosure_id, staff=member, storage=runtime.storage(), now=utcnow())
    late = record.created_at + disclosures.EVIDENCE_RETENTION - timedelta(hours=2)

    # When a fresh link is asked for
    _, link = disclosures.get_disclosure(disclosure_id, staff=member, storage=runtime.storage(), now=late)

    # Then it expires with the package, not 24 hours later
    assert link.expires_at == record.created_at + disclosures.EVIDENCE_RETENTION
    assert parse_qs(urlparse(link.url).query)["X-Amz-Expires"] == [str(2 * 3600)]


def test_the_evidence_retention_matches_the_buckets_lifecycle_rule(template):
    # Given the bucket's lifecycle rules in template.yaml
    rules = template["Resources"]["FramesBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]

    # When the rule for evidence/ is found
    (rule,) = [r for r in rules if r.get("Prefix") == "evidence/"]

    # Then it deletes packages after the retention the code promises, and the link is shorter than that
    assert rule["Status"] == "Enabled"
    assert timedelta(days=rule["ExpirationInDays"]) == disclosures.EVIDENCE_RETENTION
    assert disclosures.LINK_TTL < disclosures.EVIDENCE_RETENTION


# audit and the customer's view


def test_a_disclosure_is_audited_on_the_contracts_chain_without_image_data(aws, world, base_time):
    # Given a frame
    frame_id = ingest_frame_id(world, body=sample_image(), captured_at=base_time)

    # When it is disclosed
    result = created(disclose(world, frame_ids=[frame_id], basis="art10-3-2"))

    # Then the contract's chain has the entry with basis, recipient, scope and number of frames
    entry = staff_audit(world)[0]
    assert entry["action"] == "disclosure.created"
    assert entry["subject"] == result["disclosure_id"]
    assert entry["actor"].startswith("staff:stf_")
    details = entry["details"]
    assert details["basis"] == "art10-3-2"
    assert details["recipient"] == RECIPIENT
    assert details["frames"] == 1
    assert details["scope"]["camera_id"] == world.camera_id
    assert details["scope"]["frame_ids"] == [frame_id]
    assert details["package_sha256"] == result["package_sha256"]
    # and no image data
    assert len(json.dumps(entry)) < 4096
    assert "/9j/" not in json.dumps(entry)  # the start of a base64 JPEG
    # and the chain still verifies
    verify = body_of(admin_call("GET", f"/v1/admin/contracts/{world.contract_id}/audit/verify", key=world.staff_key))
    assert verify["intact"] is True


@pytest.mark.parametrize("basis", ["art10-3-2", "art10-3-3", "art10-3-5"])
def test_the_customer_sees_the_recipient_of_a_disclosure_when_the_basis_allows(world, base_time, basis):
    # Given a disclosure on a basis that does not forbid telling the customer
    frame_id = ingest_frame_id(world, body=sample_image(), captured_at=base_time)
    result = created(disclose(world, frame_ids=[frame_id], basis=basis))

    # When the customer reads their access log
    (entry,) = [e for e in customer_access_log(world) if e["action"] == "disclosure.created"]

    # Then they see who received what, on which basis, and that staff did it (without the staff id)
    assert entry["subject"] == result["disclosure_id"]
    assert entry["actor"] == "staff"
    assert "actor_id" not in entry
    assert entry["details"]["basis"] == basis
    assert entry["details"]["recipient"] == RECIPIENT
    assert entry["details"]["reason"] == REASON
    assert entry["details"]["frames"] == 1
    assert "withheld" not in entry
    assert "stf_" not in json.dumps(entry)


def test_a_disclosure_is_by_the_security_company_on_the_named_camera_for_every_basis_shown(world, base_time):
    # Given disclosures under Art. 10-3 ① (recipient withheld) and ② (shown in full) by a named staff member
    frame_id = ingest_frame_id(world, body=sample_image(), captured_at=base_time)
    for basis in ("art10-3-1", "art10-3-2"):
        created(disclose(world, frame_ids=[frame_id], basis=basis))

    # When the customer reads their access log
    entries = [e for e in customer_access_log(world) if e["action"] == "disclosure.created"]

    # Then each is by the security company, never a person, and names the camera its scope is about
    assert [(e["actor_name"], e["camera_name"]) for e in entries] == [(access_log.STAFF_NAME, "Entrance")] * 2
    assert "stf_" not in json.dumps(entries)


def test_a_disclosure_required_by_law_is_shown_without_recipient_or_reason(world, base_time):
    # Given a disclosure under Art. 10-3 ① (e.g. an inquiry from investigators)
    frame_id = ingest_frame_id(world, body=sample_image(), captured_at=base_time)
    created(disclose(world, frame_ids=[frame_id], basis="art10-3-1", legal_reference="Case 2026-77"))

    # When the customer reads their access log
    (entry,) = [e for e in customer_access_log(world) if e["action"] == "disclosure.created"]

    # Then the fact, the basis and the scope are there, and the recipient, reason and reference are withheld
    assert entry["details"]["basis"] == "art10-3-1"
    assert entry["details"]["frames"] == 1
    assert entry["details"]["scope"]["frame_ids"] == [frame_id]
    assert sorted(entry["withheld"]) == ["legal_reference", "reason", "recipient"]
    text = json.dumps(entry)
    assert RECIPIENT not in text
    assert REASON not in text
    assert "Case 2026-77" not in text
    # while staff still see everything
    assert staff_audit(world)[0]["details"]["recipient"] == RECIPIENT


def test_a_disclosure_to_assist_a_public_bodys_duty_is_not_shown_to_the_customer(world, base_time):
    # Given a disclosure under Art. 10-3 ④ (telling the customer would hinder the duty), and its link re-issued
    frame_id = ingest_frame_id(world, body=sample_image(), captured_at=base_time)
    result = created(disclose(world, frame_ids=[frame_id], basis="art10-3-4"))
    admin_call("GET", f"/v1/admin/disclosures/{result['disclosure_id']}", key=world.staff_key)

    # When the customer reads their access log
    log = customer_access_log(world)

    # Then neither the disclosure nor the link appears
    assert not [e for e in log if e["action"].startswith("disclosure.")]
    assert result["disclosure_id"] not in json.dumps(log)
    # while staff see both entries
    assert [e["action"] for e in staff_audit(world)][:2] == ["disclosure.link_issued", "disclosure.created"]


# failure paths


@pytest.mark.isolated  # lists every evidence copy in the bucket
def test_another_contracts_camera_is_not_found_and_nothing_is_packed(aws, world_factory, base_time):
    # Given two tenants, and a frame of the other one
    world, other = world_factory(), world_factory()
    frame_id = ingest_frame_id(other, body=sample_image(), captured_at=base_time)

    # When staff name the other tenant's camera and frame under this contract
    response = disclose(world, camera_id=other.camera_id, frame_ids=[frame_id])

    # Then it is not found, and no package or record exists
    assert_error(response, 404, "not_found")
    assert evidence_keys(aws) == []
    assert not [e for e in staff_audit(world) if e["action"].startswith("disclosure.")]


@pytest.mark.isolated  # lists every evidence copy in the bucket
@pytest.mark.parametrize("frame_id", ["01ARZ3NDEKTSV4RRFFQ69G5FAV", "not-a-frame-id"], ids=["unknown", "malformed"])
def test_a_frame_that_does_not_exist_is_not_found(aws, world, base_time, frame_id):
    # Given one real frame and one id that is not a frame of the camera
    real = ingest_frame_id(world, body=sample_image(), captured_at=base_time)

    # When both are asked for
    response = disclose(world, frame_ids=[real, frame_id])

    # Then the request is not found, naming the missing frame, and nothing is packed
    error = assert_error(response, 404, "not_found")
    assert error["details"]["frame_id"] == frame_id
    assert evidence_keys(aws) == []


@pytest.mark.isolated  # lists every evidence copy in the bucket
def test_an_unknown_contract_is_not_found(aws, world):
    # When a disclosure is asked for under a contract that does not exist
    response = disclose(world, contract_id="ctr_doesnotexist", frame_ids=["01ARZ3NDEKTSV4RRFFQ69G5FAV"])

    # Then it is not found
    assert_error(response, 404, "not_found")
    assert evidence_keys(aws) == []


def test_an_unknown_disclosure_is_not_found(world):
    response = admin_call("GET", "/v1/admin/disclosures/dsc_doesnotexist", key=world.staff_key)
    assert_error(response, 404, "not_found")


@pytest.mark.isolated  # lists every evidence copy in the bucket
@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({}, "frame_ids"),
        ({"frame_ids": ["X"], "from": "2026-01-01T00:00:00Z", "to": "2026-01-02T00:00:00Z"}, "frame_ids"),
        ({"from": "2026-01-02T00:00:00Z", "to": "2026-01-01T00:00:00Z"}, "from"),
        ({"from": "2026-01-02T00:00:00Z"}, "from"),
        ({"from": "yesterday", "to": "2026-01-01T00:00:00Z"}, "from"),
        ({"frame_ids": []}, "frame_ids"),
        ({"frame_ids": ["X"], "basis": "art10-3-6"}, "basis"),
        ({"frame_ids": ["X"], "recipient": ""}, "recipient"),
        ({"frame_ids": ["X"], "reason": "  "}, "reason"),
        ({"frame_ids": ["X"], "scope": "everything"}, "scope"),
        ({"frame_ids": [f"F{i}" for i in range(disclosures.MAX_PACKAGE_FRAMES + 1)]}, "frame_ids"),
    ],
    ids=[
        "no-scope",
        "ids-and-window",
        "window-backwards",
        "open-window",
        "not-a-time",
        "empty-ids",
        "unknown-basis",
        "no-recipient",
        "blank-reason",
        "unknown-field",
        "too-many-ids",
    ],
)
def test_an_invalid_disclosure_is_a_validation_error(aws, world, fields, field):
    # When a disclosure request is invalid
    response = disclose(world, **fields)

    # Then it is 422 naming the field, and nothing is packed
    error = assert_error(response, 422, "validation_error")
    named = [error["details"].get("field")] + [p["field"] for p in error["details"].get("problems", [])]
    assert any(field in (name or "") for name in named), error
    assert evidence_keys(aws) == []


@pytest.mark.isolated  # lists every evidence copy in the bucket
def test_an_empty_window_is_a_validation_error(aws, world, base_time):
    # Given a frame outside the window
    ingest_frame_id(world, body=sample_image(), captured_at=base_time)

    # When a window without frames is disclosed
    window = {
        "from": format_rfc3339(base_time + timedelta(minutes=1)),
        "to": format_rfc3339(base_time + timedelta(minutes=2)),
    }
    response = disclose(world, **window)

    # Then there is nothing to disclose
    assert_error(response, 422, "validation_error")
    assert evidence_keys(aws) == []


@pytest.mark.isolated  # lists every evidence copy in the bucket
def test_a_stored_frame_that_no_longer_matches_its_digest_is_never_handed_over(aws, world, base_time):
    # Given a frame whose stored object was replaced behind the index's back
    frame_id = ingest_frame_id(world, body=sample_image(), captured_at=base_time)
    s3 = boto3.client("s3", region_name="us-east-1")
    bucket = aws.refs["FramesBucket"]
    (key,) = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="frames/")["Contents"] if frame_id in o["Key"]]
    s3.put_object(Bucket=bucket, Key=key, Body=sample_image()[:-2] + b"\x00\xff\xd9")

    # When it is disclosed
    response = disclose(world, frame_ids=[frame_id])

    # Then it is refused as a conflict naming the frame, and no package exists
    error = assert_error(response, 409, "conflict")
    assert error["details"]["frame_id"] == frame_id
    assert evidence_keys(aws) == []


@pytest.mark.isolated  # lists every evidence copy in the bucket
def test_disclosures_need_an_admin_key(aws, world, base_time):
    # Given an operator key and a frame
    _, operator_key = create_staff_key("Op", "operator", utcnow())
    frame_id = ingest_frame_id(world, body=sample_image(), captured_at=base_time)

    # When an operator or a caller without a key asks for a disclosure
    as_operator = disclose(world, key=operator_key, frame_ids=[frame_id])
    anonymous = admin_call(
        "POST",
        f"/v1/admin/contracts/{world.contract_id}/disclosures",
        key=None,
        body={"basis": "art10-3-1", "recipient": "x", "reason": "y", "camera_id": world.camera_id},
    )

    # Then the operator is forbidden, the anonymous caller unauthorized, and nothing is packed
    assert_error(as_operator, 403, "forbidden")
    assert_error(anonymous, 401, "unauthorized")
    assert evidence_keys(aws) == []
    assert_error(admin_call("GET", "/v1/admin/disclosures/dsc_x", key=operator_key), 403, "forbidden")


@pytest.mark.isolated  # lists every evidence copy in the bucket
def test_each_disclosure_gets_its_own_package(aws, world, base_time):
    # Given a frame disclosed twice, to two recipients
    frame_id = ingest_frame_id(world, body=sample_image(), captured_at=base_time)
    first = created(disclose(world, frame_ids=[frame_id], recipient="Recipient A"))
    second = created(disclose(world, frame_ids=[frame_id], recipient=f"Recipient {secrets.token_hex(2)}"))

    # Then each has its own id, package and mark
    assert first["disclosure_id"] != second["disclosure_id"]
    assert sorted(evidence_keys(aws)) == sorted(
        f"evidence/{world.contract_id}/{d['disclosure_id']}.zip" for d in (first, second)
    )
    for result in (first, second):
        archive = package(aws, world.contract_id, result["disclosure_id"])
        (image,) = [n for n in archive.namelist() if n.endswith(".jpg")]
        assert jpeg_comments(archive.read(image))[0].startswith(b"doti-disclosure:" + result["disclosure_id"].encode())


def test_a_clip_is_marked_with_a_free_box_that_players_skip_and_that_cuts_off_cleanly(tmp_path):
    # Given a stored MP4 clip
    original = clip(seconds=1.0, fps=10)
    text = b"DISCLOSED COPY dsc_test"

    # When it is marked for a disclosure
    marked = evidence.mark_image(original, "video/mp4", text)

    # Then the mark is a trailing top-level free box carrying the text, and cutting it off gives the original back
    box_size = int.from_bytes(marked[len(original) : len(original) + 4], "big")
    assert marked[: len(original)] == original
    assert marked[len(original) + 4 : len(original) + 8] == b"free"
    assert len(marked) == len(original) + box_size
    assert text in marked[len(original) :]
    # and the marked clip still plays: every frame decodes
    path = tmp_path / "marked.mp4"
    path.write_bytes(marked)
    capture = cv2.VideoCapture(str(path))
    decoded = 0
    while capture.read()[0]:
        decoded += 1
    capture.release()
    assert decoded == 10
    # and bytes that are not an MP4 are refused rather than marked blindly
    with pytest.raises(disclosures.ValidationError):
        evidence.mark_image(b"\x00" * 32, "video/mp4", text)
