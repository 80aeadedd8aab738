"""The irrecoverable purge (Art. 10-5, SPEC §3 and §9): nothing of the contract is left but its record and audit log.

Two tenants get frames through the ingest handler (in a versioned bucket, with overwritten and deleted objects),
users, sessions through the viewer handler, notices, a suspension window, a disclosure with its evidence package and
raw items in the service's other tables (usage, notes, shares, exports, receipts); then tenant A is purged and every
object version and every item of every table is checked.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto.ses.models import ses_backends

from doti import runtime
from doti.contracts import lifecycle, notices, suspensions
from doti.entities import StaffMember
from doti.jobs.purge import PurgeOutcome, purge_contract, receipt_subject
from doti.oversight import audit, disclosures
from doti.store import registry as registry_store
from doti.store import retention as retention_store
from functions.ingest import app as ingest
from functions.viewer import app as viewer
from infra.provision import Provisioned
from tests.support import LambdaContext, World, api_event, body_of, frame_event
from tests.support.images import jpeg
from tests.support.thumbnails import give_stored_thumbnail

pytestmark = (
    pytest.mark.isolated
)  # the purge job takes every due item, and the receipts are counted among every mail sent

PLENTY_MS = 900_000.0
STAFF = StaffMember(staff_id="stf_test", name="Test Operator", role="admin")
GRACE_DAYS = 30
SEEDED = {  # tables seeded with raw items: logical id -> the certificate's count name
    "UsageTable": "usage",
    "NotesTable": "notes",
    "SharesTable": "shares",
    "ExportsTable": "exports",
    "DeletionReceiptsTable": "deletion_receipts",
    "RemaskJobsTable": "remask_jobs",
    "SubjectRequestsTable": "subject_requests",
    "WebhooksTable": "webhooks",
}


def s3() -> Any:
    return boto3.client("s3", region_name="us-east-1")


def ddb() -> Any:
    return boto3.client("dynamodb", region_name="us-east-1")


@dataclass
class Tenant:
    world: World
    identifiers: set[str] = field(default_factory=set)  # every id that marks an item or object as this tenant's
    frames: list[dict[str, Any]] = field(default_factory=list)
    tokens: list[str] = field(default_factory=list)


@dataclass
class Tenants:
    a: Tenant
    b: Tenant
    terminated_at: datetime


# the two tenants


def ingested(world: World, captured_at: datetime, label: str) -> dict[str, Any]:
    response = ingest.lambda_handler(
        frame_event(world, jpeg(320, 180, label=label), captured_at=captured_at), LambdaContext()
    )
    assert response["statusCode"] == 201, response["body"]
    return body_of(response)


def logged_in(login_id: str, password: str) -> str:
    event = api_event("viewer/login.json", body=json.dumps({"login_id": login_id, "password": password}))
    response = viewer.lambda_handler(event, LambdaContext())
    assert response["statusCode"] == 200, response["body"]
    return body_of(response)["token"]


def _stamp(moment: datetime) -> str:
    """A time as PynamoDB's UTCDateTimeAttribute stores it."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f+0000")


def seed_service_tables(aws: Provisioned, tenant: Tenant, now: datetime) -> None:
    """One raw item per table, shaped by its key schema alone and carrying the tenant's ids."""
    w = tenant.world
    values = {
        "UsageTable": {"contract_id": w.contract_id, "period": "2026-11", "bytes": "1"},
        "NotesTable": {"camera_id": w.camera_id, "note_id": f"note-{w.contract_id}", "contract_id": w.contract_id},
        "SharesTable": {"token_hash": f"share-{w.contract_id}", "contract_id": w.contract_id},
        # an export carries its by_contract index keys (contract_id, created_at), as every export does
        "ExportsTable": {"export_id": f"exp-{w.contract_id}", "contract_id": w.contract_id, "created_at": _stamp(now)},
        "DeletionReceiptsTable": {"contract_id": w.contract_id, "day": now.date().isoformat()},
        # a request from a person filmed carries its by_contract index keys, as every request does
        "SubjectRequestsTable": {
            "request_id": f"dsr-{w.contract_id}",
            "contract_id": w.contract_id,
            "created_at": _stamp(now),
        },
    }
    for logical, item in values.items():
        ddb().put_item(TableName=aws.refs[logical], Item={k: {"S": v} for k, v in item.items()})
    # a webhook endpoint (with its by_contract index keys) and one attempt of its delivery log, in its partition
    for sort_key in ("endpoint", f"attempt#{_stamp(now)}#evt_1#1"):
        item = {"webhook_id": f"whk-{w.contract_id}", "sort_key": sort_key}
        if sort_key == "endpoint":
            item["contract_id"] = w.contract_id
        ddb().put_item(TableName=aws.refs["WebhooksTable"], Item={k: {"S": v} for k, v in item.items()})
    s3().put_object(Bucket=aws.refs["FramesBucket"], Key=f"exports/{w.contract_id}/exp.zip", Body=b"PK export")
    # a masked clip the clip function staged for a processor that crashed before reading it (doti.ingest.clips)
    staged = f"staging/{w.contract_id}/clips/left-by-a-crash.mp4"
    s3().put_object(Bucket=aws.refs["FramesBucket"], Key=staged, Body=b"\x00\x00\x00\x18ftypisom masked")


def populated(aws: Provisioned, world: World, index: int, now: datetime) -> Tenant:
    tenant = Tenant(world)
    w = world
    bucket = aws.refs["FramesBucket"]
    # the newest fresh enough to bring the camera online, which arms its camera_health item (doti.jobs.health)
    tenant.frames = [ingested(w, now - timedelta(seconds=s), f"{index}-{s}") for s in (10, 120, 180)]
    health_items = [i for i in scan("ScheduleTable", aws) if i["kind"]["S"] == "camera_health"]
    assert [i["ref"]["S"] for i in health_items if i["contract_id"]["S"] == w.contract_id] == [w.camera_id]
    # a second version of one original, and a deleted thumbnail (a delete marker over its version) of a frame stored
    # with one (before thumbnails were rendered when viewed)
    give_stored_thumbnail(w.camera_id, tenant.frames[0]["frame_id"])
    first = registry_store_frame(w.camera_id, tenant.frames[0]["frame_id"])
    s3().put_object(Bucket=bucket, Key=first[0], Body=jpeg(320, 180, label=f"{index}-again"))
    s3().delete_object(Bucket=bucket, Key=first[1])
    second_login = f"viewer-{w.contract_id[-8:]}"
    user = registry_register_user(w, second_login, now)
    tenant.tokens = [logged_in(w.login_id, w.password), logged_in(second_login, "viewer-password-1")]
    notice = notices.publish(
        audience=w.contract_id, kind="maintenance", title="t", body="b", actor="staff:stf_test",
        mailer=runtime.mailer(), events=runtime.events(), now=now,
    )  # fmt: skip
    notices.mark_read(user, notice.notice_id, now)
    window = suspensions.schedule_suspension(
        w.contract_id, starts_at=now + timedelta(days=2), ends_at=now + timedelta(days=3), ground="art8-2",
        reason="maintenance", actor="staff:stf_test", now=now, mailer=runtime.mailer(),
        events=runtime.events(),
    )  # fmt: skip
    request = disclosures.DisclosureRequest(
        contract_id=w.contract_id, basis="art10-3-2", recipient="Police", reason="burglary", camera_id=w.camera_id,
        frame_ids=(tenant.frames[1]["frame_id"],),
    )  # fmt: skip
    disclosure, _ = disclosures.create_disclosure(request, staff=STAFF, storage=runtime.storage(), now=now)
    seed_service_tables(aws, tenant, now)
    session_hashes = {
        item["token_hash"]["S"] for item in scan("SessionsTable", aws) if _mentions(item, {w.contract_id})
    }
    tenant.identifiers = {
        w.contract_id, w.site_id, w.camera_id, w.device_id, w.login_id, second_login, user.user_id,
        registry_store.get_user(w.login_id).user_id, notice.notice_id, window.suspension_id,
        disclosure.disclosure_id, *session_hashes, *(f["frame_id"] for f in tenant.frames),
    }  # fmt: skip
    return tenant


def registry_store_frame(camera_id: str, frame_id: str) -> tuple[str, str]:
    from doti.store.frames import get_frame

    frame = get_frame(camera_id, frame_id)
    return frame.object_key, frame.thumb_key


def registry_register_user(world: World, login_id: str, now: datetime) -> Any:
    from doti.contracts import registry

    return registry.create_user(
        world.contract_id, login_id=login_id, name="Viewer", role="viewer", password="viewer-password-1",
        site_ids=None, now=now,
    )  # fmt: skip


@pytest.fixture
def tenants(aws: Provisioned, world_factory: Callable[..., World]) -> Tenants:
    """Tenants A and B with data everywhere; A is terminated (by staff, Art. 12) and B stays active."""
    s3().put_bucket_versioning(Bucket=aws.refs["FramesBucket"], VersioningConfiguration={"Status": "Enabled"})
    now = datetime.now(UTC)
    a = populated(aws, world_factory(), 1, now)
    b = populated(aws, world_factory(), 2, now)
    notices.publish(
        audience="all", kind="terms_change", title="Terms", body="New terms", actor="staff:stf_test",
        mailer=runtime.mailer(), events=runtime.events(), now=now,
    )  # fmt: skip
    lifecycle.transition(
        a.world.contract_id, "terminated", "art12-1-1", "fees unpaid", None, "staff:stf_test", now,
        purge_grace_days=GRACE_DAYS,
    )  # fmt: skip
    return Tenants(a, b, now)


# what is stored


def scan(logical: str, aws: Provisioned) -> list[dict[str, Any]]:
    pages = ddb().get_paginator("scan").paginate(TableName=aws.refs[logical])
    return [item for page in pages for item in page["Items"]]


def tables_of(aws: Provisioned) -> list[str]:
    return sorted(name for name in aws.refs if name.endswith("Table"))


def as_text(item: Any) -> str:
    """An item as canonical JSON (binary values as hex)."""
    if isinstance(item, str):
        return item
    return json.dumps(item, sort_keys=True, default=lambda v: v.hex() if isinstance(v, bytes) else str(v))


def snapshot(aws: Provisioned) -> dict[str, list[str]]:
    """Every item of every table as canonical JSON, by table."""
    return {name: sorted(as_text(item) for item in scan(name, aws)) for name in tables_of(aws)}


def object_versions(aws: Provisioned) -> list[dict[str, Any]]:
    """Every version and delete marker in the bucket."""
    found: list[dict[str, Any]] = []
    pages = s3().get_paginator("list_object_versions").paginate(Bucket=aws.refs["FramesBucket"])
    for page in pages:
        found += [{"Key": v["Key"], "VersionId": v["VersionId"], "Size": v["Size"]} for v in page.get("Versions", [])]
        found += [{"Key": m["Key"], "VersionId": m["VersionId"], "Size": None} for m in page.get("DeleteMarkers", [])]
    return found


def _mentions(item: Any, identifiers: set[str]) -> bool:
    text = as_text(item)
    return any(identifier in text for identifier in identifiers)


def of_tenant(tenant: Tenant, versions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [v for v in versions if tenant.world.contract_id in v["Key"]]


def expected_counts(aws: Provisioned, tenant: Tenant) -> tuple[dict[str, int], int]:
    """What purging the tenant must delete, counted from what is stored now: (counts per kind, bytes)."""
    cid = tenant.world.contract_id
    versions = of_tenant(tenant, object_versions(aws))
    counts: dict[str, int] = {}
    for v in versions:
        if v["Size"] is not None:  # delete markers hold no data and are not counted
            kind = f"{v['Key'].split('/', 1)[0]}_objects"
            counts[kind] = counts.get(kind, 0) + 1
    per_table = {
        "FramesTable": "frame_items", "SessionsTable": "sessions", "UsersTable": "users", "DevicesTable": "devices",
        "CamerasTable": "cameras", "SitesTable": "sites", "DisclosuresTable": "disclosures",
        "SuspensionsTable": "suspensions", "NoticeReadsTable": "notice_reads", "TimelineTable": "timeline_slots",
    }  # fmt: skip
    per_table |= SEEDED
    for logical, kind in per_table.items():
        counts[kind] = sum(1 for item in scan(logical, aws) if _mentions(item, tenant.identifiers))
    counts["notices"] = sum(1 for i in scan("NoticesTable", aws) if i["audience"]["S"] == cid)
    counts["notice_deliveries"] = sum(1 for i in scan("NoticesTable", aws) if i["audience"]["S"] == "all")
    counts["scheduled_work"] = sum(
        1 for i in scan("ScheduleTable", aws) if i["contract_id"]["S"] == cid and i["kind"]["S"] != "purge"
    )
    return {k: v for k, v in counts.items() if v}, sum(v["Size"] or 0 for v in versions)


def receipts_to(contract_id: str) -> list[Any]:
    sent = ses_backends["123456789012"]["us-east-1"].sent_messages
    return [m for m in sent if m.subject == receipt_subject(contract_id)]


def audit_of(contract_id: str) -> list[audit.AuditEntry]:
    page, _ = audit.entries(contract_id, limit=1000)
    return page


def purge(
    tenants: Tenants, at: datetime, remaining_ms: Callable[[], float] = lambda: PLENTY_MS, **options: Any
) -> PurgeOutcome:
    return purge_contract(
        tenants.a.world.contract_id,
        storage=runtime.storage(),
        mailer=runtime.mailer(),
        now=at,
        remaining_ms=remaining_ms,
        **options,
    )


def assert_only_the_record_and_audit_of_a_remain(aws: Provisioned, tenants: Tenants) -> None:
    a_ids, cid = tenants.a.identifiers, tenants.a.world.contract_id
    assert of_tenant(tenants.a, object_versions(aws)) == []
    for logical in tables_of(aws):
        for item in scan(logical, aws):
            if logical == "AuditTable" and item["contract_id"]["S"] == cid:
                continue  # audit entries outlive the purge
            if logical == "ContractsTable" and item["contract_id"]["S"] == cid:
                continue  # the minimal purged record, checked below
            assert not _mentions(item, a_ids), (logical, item)
    record = ddb().get_item(TableName=aws.refs["ContractsTable"], Key={"contract_id": {"S": cid}})["Item"]
    assert record["state"] == {"S": "purged"}
    assert record["name"] == {"S": ""}
    assert record["contact_email"] == {"S": ""}
    assert "security_contract_id" not in record
    assert "purged_at" in record
    assert "terminated_at" in record
    assert json.loads(record["deletion_certificate"]["S"])["bytes_deleted"] > 0


# the purge


def test_purge_leaves_nothing_of_the_contract_but_its_record_and_audit_log_and_spares_the_other(aws, tenants):
    # Given tenant A terminated with data in every table and several object versions, and tenant B active
    expected, expected_bytes = expected_counts(aws, tenants.a)
    b_versions = of_tenant(tenants.b, object_versions(aws))
    before = snapshot(aws)
    a_audit_before = audit_of(tenants.a.world.contract_id)

    # When A is purged after its grace period
    at = tenants.terminated_at + timedelta(days=GRACE_DAYS, hours=1)
    outcome = purge(tenants, at)

    # Then nothing of A is left in S3 or DynamoDB but its minimal record and its audit entries
    assert outcome.status == "purged"
    assert_only_the_record_and_audit_of_a_remain(aws, tenants)
    # and every object version and every item of B is still there, unchanged
    assert of_tenant(tenants.b, object_versions(aws)) == b_versions
    after = snapshot(aws)
    b_ids = tenants.b.identifiers
    for logical in tables_of(aws):
        kept = [item for item in before[logical] if _mentions(item, b_ids) and '"all"' not in item]
        assert [item for item in after[logical] if item in kept] == kept, logical
    global_notice = [json.loads(i) for i in after["NoticesTable"] if '"all"' in i]
    assert tenants.b.world.contract_id in global_notice[0]["email_delivered"]["S"]
    # and the audit chain of A kept every entry and gained the certificate, then the transition to purged
    chain = audit_of(tenants.a.world.contract_id)
    assert {e.seq for e in a_audit_before} <= {e.seq for e in chain}
    assert [e.action for e in chain[:2]] == ["contract.transition", "contract.purged"]
    assert chain[0].details["to"] == "purged"
    assert audit.verify_chain(tenants.a.world.contract_id).intact
    certificate = chain[1].details
    assert certificate["counts"] == expected
    assert certificate["bytes_deleted"] == expected_bytes == outcome.bytes_freed
    assert certificate["objects"] == sum(v for k, v in expected.items() if k.endswith("_objects"))
    assert certificate["started_at"] == certificate["finished_at"]
    assert outcome.certificate == {**certificate, "audit_seq": chain[1].seq, "audit_hash": chain[1].hash}
    # and the receipt went to A's address, once
    (receipt,) = receipts_to(tenants.a.world.contract_id)
    assert receipt.destinations["ToAddresses"] == ["owner@test-shop.example"]
    assert str(expected_bytes) in receipt.body
    assert chain[1].hash in receipt.body
    assert receipts_to(tenants.b.world.contract_id) == []


def test_a_rerun_changes_nothing(aws, tenants):
    # Given A purged
    at = tenants.terminated_at + timedelta(days=GRACE_DAYS, hours=1)
    assert purge(tenants, at).status == "purged"
    stored, versions = snapshot(aws), object_versions(aws)
    mails = len(ses_backends["123456789012"]["us-east-1"].sent_messages)

    # When the purge runs again
    again = purge(tenants, at + timedelta(hours=1))

    # Then it finds nothing to do: no deletion, no second certificate, no second receipt
    assert (again.status, again.counts, again.bytes_freed, again.certificate) == ("already_purged", {}, 0, None)
    assert snapshot(aws) == stored
    assert object_versions(aws) == versions
    assert len(ses_backends["123456789012"]["us-east-1"].sent_messages) == mails


def test_a_purge_stopped_half_way_is_finished_by_later_runs_with_the_right_counts(aws, tenants):
    # Given A's expected counts, and runs that may do only two batches of two items each
    expected, expected_bytes = expected_counts(aws, tenants.a)
    at = tenants.terminated_at + timedelta(days=GRACE_DAYS, hours=1)

    # When the purge runs again and again until it is done
    outcomes: list[PurgeOutcome] = []
    for run in range(100):
        outcome = purge(tenants, at + timedelta(minutes=run), remaining_ms=budget(batches=2), batch=2)
        outcomes.append(outcome)
        if outcome.done:
            break

    # Then it took many runs, each stopped cleanly, and the end state is that of a purge in one go
    assert len(outcomes) > 5
    assert all(o.stopped_early for o in outcomes[:-1])
    assert outcomes[-1].status == "purged"
    assert_only_the_record_and_audit_of_a_remain(aws, tenants)
    # and the certificate counts what all the runs deleted, from the first run's start to the last run's end
    (certificate,) = [e.details for e in audit_of(tenants.a.world.contract_id) if e.action == "contract.purged"]
    assert certificate["counts"] == expected
    assert certificate["bytes_deleted"] == expected_bytes == sum(o.bytes_freed for o in outcomes)
    assert certificate["started_at"] == at.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    assert certificate["finished_at"] > certificate["started_at"]
    assert len(receipts_to(tenants.a.world.contract_id)) == 1


def budget(batches: int) -> Callable[[], float]:
    """A remaining-time clock with room for `batches` checks, then below any reserve."""
    readings: Iterator[float] = iter([PLENTY_MS] * batches)
    return lambda: next(readings, 0.0)


def test_a_contract_that_is_not_terminated_or_still_in_grace_is_not_purged(aws, tenants):
    # Given A terminated just now and B active
    from doti.jobs.purge import NotPurgeable

    stored = snapshot(aws)

    # When either is purged before A's grace period is over / Then both are refused and nothing is deleted
    with pytest.raises(NotPurgeable):
        purge(tenants, tenants.terminated_at + timedelta(days=GRACE_DAYS - 1))
    with pytest.raises(NotPurgeable):
        purge_contract(
            tenants.b.world.contract_id,
            storage=runtime.storage(),
            mailer=runtime.mailer(),
            now=tenants.terminated_at + timedelta(days=GRACE_DAYS + 1),
            remaining_ms=lambda: PLENTY_MS,
        )
    assert snapshot(aws) == stored


def test_purge_finds_data_by_key_never_scans_and_deletes_in_batches(aws, tenants, aws_calls):
    # Given tenant A with frames on its camera
    aws_calls.clear()

    # When it is purged
    purge(tenants, tenants.terminated_at + timedelta(days=GRACE_DAYS, hours=1))

    # Then no table was scanned but the small re-mask job table, which has no key for a contract (exports are found
    # through their by_contract index)
    operations = [op for op, _ in aws_calls]
    assert "ListObjectVersions" in operations
    assert "Query" in operations
    scanned = {params.get("TableName") for op, params in aws_calls if op == "Scan"}
    assert scanned <= {aws.refs["RemaskJobsTable"]}
    exports_table = aws.refs["ExportsTable"]
    assert any(op == "Query" and params.get("TableName") == exports_table for op, params in aws_calls)
    # and every deletion was batched within the services' limits, the versions left behind deleted by version id
    deletes = [params["Delete"]["Objects"] for op, params in aws_calls if op == "DeleteObjects"]
    assert all(0 < len(objects) <= 1000 for objects in deletes)
    assert any("VersionId" in entry for objects in deletes for entry in objects)
    writes = [params["RequestItems"] for op, params in aws_calls if op == "BatchWriteItem"]
    assert writes
    assert all(len(requests) <= 25 for items in writes for requests in items.values())


def test_purge_forgets_the_retention_jobs_positions_in_the_contracts_cameras(aws, tenants):
    # Given the retention job's cursors on both tenants' cameras, for frames and for notes
    at = tenants.terminated_at + timedelta(days=GRACE_DAYS, hours=1)
    for tenant in (tenants.a, tenants.b):
        w = tenant.world
        assert retention_store.put_cursor(w.camera_id, w.contract_id, "0" * 26, at)
        assert retention_store.count_deletions(
            w.contract_id,
            retention_store.NOTES_CURSOR_KIND,
            w.camera_id,
            "2026-01-01",
            notes=1,
            counted_from=None,
            counted_to="1" * 26,
            now=at,
        )

    # When A is purged
    assert purge(tenants, at).status == "purged"

    # Then A's positions are gone and B's are kept
    a, b = tenants.a.world.camera_id, tenants.b.world.camera_id
    for kind in (retention_store.CURSOR_KIND, retention_store.NOTES_CURSOR_KIND):
        assert retention_store.get_cursor(a, kind) == retention_store.Cursor(None, None)
        assert retention_store.get_cursor(b, kind) != retention_store.Cursor(None, None)
