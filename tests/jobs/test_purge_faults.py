"""The deletion certificate (消去証明) under any single AWS fault (issue 11, defects 1, 2 and 6).

A terminated contract past its grace period, with frames sent through the ingest handler, is purged while one AWS
call of the purge is broken in one of the injector's five ways (tests/faults/inject.py); then the purge runs again,
as the termination job's next runs would, until it is done. Whatever broke, wherever: the certificate on the audit
chain counts exactly what was stored, per kind and in bytes, and is written once; the receipt is e-mailed at most
once, and exactly once unless the sending itself was left unclear (then the outcome, the job's report and the
purged record say "unconfirmed"); and nothing of the contract is left.
"""

from __future__ import annotations

import json
import secrets
from collections import Counter
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto.core.responses import ActionResult
from moto.dynamodb.responses import DynamoHandler
from moto.ses.models import ses_backends

from doti import runtime
from doti.contracts import lifecycle
from doti.errors import DotiError
from doti.jobs.purge import CERTIFICATE_ACTION, PurgeOutcome, object_prefixes, purge_contract, receipt_subject
from doti.oversight import audit
from functions.ingest import app as ingest
from functions.termination import app as termination
from infra.provision import Provisioned
from tests.faults.inject import INJECTOR, MODES, Call, Crash, Plan
from tests.faults.points import full_sweep
from tests.faults.points import points as spread
from tests.support import LambdaContext, World, frame_event, sample_event
from tests.support.images import jpeg

pytestmark = (
    pytest.mark.isolated
)  # the purge job takes every due item, and the receipts are counted among every mail sent

PLENTY_MS = 900_000.0
BATCH = 2  # small, so that every phase with data takes several batches
RERUNS = 12  # the job's later runs, each an hour apart; a purge left incomplete must be done by then
MODELED = {  # tables the purge counts by kind -> the certificate's count name
    "FramesTable": "frame_items",
    "TimelineTable": "timeline_slots",
    "UsersTable": "users",
    "DevicesTable": "devices",
    "CamerasTable": "cameras",
    "SitesTable": "sites",
    "SessionsTable": "sessions",
}
SERVICE_TABLES = {  # the service's other tables -> the certificate's count name
    "UsageTable": "usage",
    "NotesTable": "notes",
    "SharesTable": "shares",
    "ExportsTable": "exports",
    "DeletionReceiptsTable": "deletion_receipts",
    "RemaskJobsTable": "remask_jobs",
}


def s3() -> Any:
    return boto3.client("s3", region_name="us-east-1")


def ddb() -> Any:
    return boto3.client("dynamodb", region_name="us-east-1")


@pytest.fixture
def aws_with_request_tokens(aws: Provisioned, monkeypatch: pytest.MonkeyPatch) -> Provisioned:
    """moto, with DynamoDB's idempotent TransactWriteItems: moto ignores ClientRequestToken, which botocore sets on
    every TransactWriteItems and keeps when it resends one, and DynamoDB answers a resend within ten minutes with
    success without applying it again. Without this, `dup` on an audit append is a fault AWS cannot produce."""
    applied: dict[str, str] = {}
    original = DynamoHandler.transact_write_items

    def transact_write_items(handler: DynamoHandler) -> Any:
        token, request = handler.body.get("ClientRequestToken"), json.dumps(handler.body["TransactItems"])
        if token in applied and applied[token] == request:
            return ActionResult({"ConsumedCapacity": [], "ItemCollectionMetrics": {}})
        result = original(handler)
        if token:
            applied[token] = request
        return result

    monkeypatch.setattr(DynamoHandler, "transact_write_items", transact_write_items)
    return aws


# a terminated contract and what it stores


@dataclass(frozen=True)
class Tenant:
    world: World
    due_at: datetime  # its purge is due from then on

    @property
    def contract_id(self) -> str:
        return self.world.contract_id


@dataclass(frozen=True)
class Stored:
    counts: dict[str, int]
    bytes: int


def terminated_tenant(world_factory: Callable[..., World], frames: int = 2) -> Tenant:
    """A contract with a site, camera, device, owner and `frames` frames, terminated with no grace period left."""
    world = world_factory()
    now = datetime.now(UTC)
    for n in range(frames):
        # 5 minutes apart: one timeline slot each (doti.store.timeline), so every tenant has as many slots as frames
        event = frame_event(world, jpeg(32, 18, label="fault"), captured_at=now - timedelta(minutes=5 * n + 1))
        assert ingest.lambda_handler(event, LambdaContext())["statusCode"] == 201
    lifecycle.transition(
        world.contract_id, "terminated", "art12-1-1", "fees unpaid", None, "staff:stf_test", now, purge_grace_days=0
    )
    return Tenant(world, now)


def identifiers(world: World) -> set[str]:
    return {world.contract_id, world.site_id, world.camera_id, world.device_id, world.login_id}


def scan(aws: Provisioned, logical: str) -> list[dict[str, Any]]:
    pages = ddb().get_paginator("scan").paginate(TableName=aws.refs[logical])
    return [item for page in pages for item in page["Items"]]


def _mentions(item: dict[str, Any], ids: set[str]) -> bool:
    text = json.dumps(item, default=str)
    return any(identifier in text for identifier in ids)


def objects_of(aws: Provisioned, contract_id: str) -> list[dict[str, Any]]:
    """Every object version and delete marker under the contract's prefixes."""
    found: list[dict[str, Any]] = []
    client = s3()
    for prefix in object_prefixes(contract_id).values():
        pages = client.get_paginator("list_object_versions").paginate(Bucket=aws.refs["FramesBucket"], Prefix=prefix)
        for page in pages:
            found += [{"Key": v["Key"], "Size": v["Size"]} for v in page.get("Versions", [])]
            found += [{"Key": m["Key"], "Size": None} for m in page.get("DeleteMarkers", [])]
    return found


def stored(aws: Provisioned, tenant: Tenant) -> Stored:
    """What purging the tenant must delete and count, from what is stored now."""
    ids, cid = identifiers(tenant.world), tenant.contract_id
    counts: Counter[str] = Counter()
    total = 0
    for version in objects_of(aws, cid):
        if version["Size"] is not None:
            counts[f"{version['Key'].split('/', 1)[0]}_objects"] += 1
            total += version["Size"]
    for logical, kind in {**MODELED, **SERVICE_TABLES}.items():
        counts[kind] += sum(1 for item in scan(aws, logical) if _mentions(item, ids))
    counts["scheduled_work"] += sum(
        1
        for item in scan(aws, "ScheduleTable")
        if item.get("contract_id", {}).get("S") == cid and item["kind"]["S"] not in ("purge", "purge_tally")
    )
    return Stored({kind: n for kind, n in sorted(counts.items()) if n}, total)


def leftovers(aws: Provisioned, tenant: Tenant) -> list[Any]:
    """Whatever of the tenant is still stored but its audit chain and its (minimal) contract record."""
    ids, cid = identifiers(tenant.world), tenant.contract_id
    left: list[Any] = objects_of(aws, cid)
    for logical in sorted(name for name in aws.refs if name.endswith("Table")):
        if logical in ("AuditTable", "ContractsTable"):
            continue
        left += [(logical, item) for item in scan(aws, logical) if _mentions(item, ids)]
    return left


def certificates(contract_id: str) -> list[dict[str, Any]]:
    page, _ = audit.entries(contract_id, limit=1000)
    return [entry.details for entry in page if entry.action == CERTIFICATE_ACTION]


def receipts_to(contract_id: str) -> int:
    sent = ses_backends["123456789012"]["us-east-1"].sent_messages
    return sum(1 for message in sent if message.subject == receipt_subject(contract_id))


def purged_record(aws: Provisioned, contract_id: str) -> dict[str, Any]:
    return ddb().get_item(TableName=aws.refs["ContractsTable"], Key={"contract_id": {"S": contract_id}})["Item"]


def purge(aws: Provisioned, tenant: Tenant, at: datetime, mailer: Any = None) -> PurgeOutcome:
    return purge_contract(
        tenant.contract_id,
        storage=runtime.storage(),
        mailer=mailer or runtime.mailer(),
        now=at,
        remaining_ms=lambda: PLENTY_MS,
        batch=BATCH,
    )


def purged_after_faults(aws: Provisioned, tenant: Tenant, plan: Plan, mailer: Any = None) -> list[PurgeOutcome]:
    """The purge under the plan (whatever it raises), then the job's later runs until it is done."""
    outcomes: list[PurgeOutcome] = []
    start = tenant.due_at + timedelta(minutes=1)
    with INJECTOR.armed(plan), suppress(Crash, DotiError):  # the run died or failed; the next run picks up
        outcomes.append(purge(aws, tenant, start, mailer))
    for run in range(1, RERUNS + 1):
        outcomes.append(purge(aws, tenant, start + timedelta(hours=run), mailer))
        if outcomes[-1].done:
            break
    return outcomes


def clean_calls(aws: Provisioned, world_factory: Callable[..., World], mailer: Any = None) -> list[Call]:
    """The AWS calls of a purge that nothing breaks, on a tenant like the ones broken below."""
    tenant = terminated_tenant(world_factory)
    plan = Plan()
    with INJECTOR.armed(plan):
        assert purge(aws, tenant, tenant.due_at + timedelta(minutes=1), mailer).status == "purged"
    return plan.calls


def first_after(calls: list[Call], before: str, call: str) -> int:
    start = [str(c) for c in calls].index(before)
    return next(n for n, c in enumerate(calls) if n > start and str(c) == call)


# each defect on its own


@pytest.mark.parametrize("mode", ["err", "dup"])
def test_a_broken_tally_write_after_objects_were_deleted_neither_loses_nor_doubles_their_count(
    aws_with_request_tokens, world_factory, mode
):
    # Given a terminated contract with frames, and the first tally write after the purge deleted objects
    aws = aws_with_request_tokens
    at = first_after(clean_calls(aws, world_factory), "s3.DeleteObjects", "dynamodb.UpdateItem")
    tenant = terminated_tenant(world_factory)
    expected = stored(aws, tenant)

    # When that write is throttled (defect 1), or applied and resent by botocore (defect 2), and the job reruns
    outcomes = purged_after_faults(aws, tenant, Plan(mode, at=at))

    # Then the one certificate counts what was stored, no more and no less, and nothing is left
    assert outcomes[-1].done
    (certificate,) = certificates(tenant.contract_id)
    assert (certificate["counts"], certificate["bytes_deleted"]) == (expected.counts, expected.bytes)
    assert leftovers(aws, tenant) == []


@pytest.mark.parametrize("mode", ["lost", "dup"])
def test_a_receipt_whose_answer_is_lost_is_not_sent_again_and_the_job_says_it_is_unconfirmed(
    aws_with_request_tokens, world_factory, mode
):
    # Given a contract past its grace period, and where the termination job's run sends the receipt
    aws = aws_with_request_tokens
    twin = terminated_tenant(world_factory)
    plan = Plan()
    with INJECTOR.armed(plan):
        termination.lambda_handler(sample_event("termination/scheduled.json"), LambdaContext())
    assert receipts_to(twin.contract_id) == 1
    at = [str(call) for call in plan.calls].index("ses.SendEmail")
    tenant = terminated_tenant(world_factory)

    # When SES takes the mail but its answer is lost (or botocore would resend it), and the job runs again
    reports = []
    with INJECTOR.armed(Plan(mode, at=at)) as broken:
        reports.append(termination.lambda_handler(sample_event("termination/scheduled.json"), LambdaContext()))
    assert broken.fired == Call("ses", "SendEmail")
    reports.append(termination.lambda_handler(sample_event("termination/scheduled.json"), LambdaContext()))

    # Then the receipt went once, the contract is purged, and the job and the purged record say it is unconfirmed
    assert receipts_to(tenant.contract_id) == 1
    assert purged_record(aws, tenant.contract_id)["state"] == {"S": "purged"}
    assert sum(report["receipts_unconfirmed"] for report in reports) == 1
    assert purged_record(aws, tenant.contract_id)["deletion_receipt"] == {"S": "unconfirmed"}
    assert len(certificates(tenant.contract_id)) == 1


def test_a_purge_a_fault_leaves_unfinished_is_reported_by_the_job_and_finished_by_its_next_run(
    aws_with_request_tokens, world_factory
):
    # Given a contract past its grace period, and where the termination job's run first deletes objects
    aws = aws_with_request_tokens
    twin = terminated_tenant(world_factory)
    plan = Plan()
    with INJECTOR.armed(plan):
        termination.lambda_handler(sample_event("termination/scheduled.json"), LambdaContext())
    at = [str(call) for call in plan.calls].index("s3.DeleteObjects")
    tenant = terminated_tenant(world_factory)
    expected = stored(aws, tenant)
    assert purged_record(aws, twin.contract_id)["deletion_receipt"] == {"S": "sent"}

    # When S3 is throttled there
    with INJECTOR.armed(Plan("err", at=at)):
        failed = termination.lambda_handler(sample_event("termination/scheduled.json"), LambdaContext())

    # Then the run says the purge is unfinished, and why, not that it succeeded
    assert (failed["purged"], failed["purges_incomplete"], failed["failed"]) == (0, 1, 1)
    assert failed["failures"] == [{"kind": "purge", "contract_id": tenant.contract_id, "code": "storage_unavailable"}]

    # When the job runs again / Then it finishes the purge, with the certificate of what was stored
    again = termination.lambda_handler(sample_event("termination/scheduled.json"), LambdaContext())
    assert (again["purged"], again["purges_incomplete"], again["failed"]) == (1, 0, 0)
    (certificate,) = certificates(tenant.contract_id)
    assert (certificate["counts"], certificate["bytes_deleted"]) == (expected.counts, expected.bytes)


# a batch as large as S3 allows


def test_a_batch_of_a_thousand_long_keys_is_recorded_within_the_item_limit_and_counted_exactly(
    aws_with_request_tokens, world_factory
):
    # Given a terminated contract with 1,000 objects under its frames prefix, each key 1,000 bytes long
    aws = aws_with_request_tokens
    tenant = terminated_tenant(world_factory, frames=0)
    prefix, client = object_prefixes(tenant.contract_id)["frames_objects"], s3()
    for n in range(1000):
        key = f"{prefix}{n:04d}-{secrets.token_urlsafe(750)}"[:1000]
        client.put_object(Bucket=aws.refs["FramesBucket"], Key=key, Body=b"x" * (n % 7))
    expected = stored(aws, tenant)

    # When it is purged in batches of up to 1,000 (the keys of one take some 1 MB, 750 KB compressed): a first run
    # with time for one batch, a second that dies right after its DeleteObjects, and a third that finishes
    at = tenant.due_at + timedelta(minutes=1)
    with INJECTOR.armed(Plan()) as first:
        assert purge_once(aws, tenant, at, remaining_ms=countdown(1)).stopped_early
    with INJECTOR.armed(Plan("crash", at=first.calls.index(Call("s3", "DeleteObjects")))) as second, suppress(Crash):
        purge_once(aws, tenant, at + timedelta(hours=1))
    assert second.fired == Call("s3", "DeleteObjects")
    outcome = purge_once(aws, tenant, at + timedelta(hours=2))

    # Then every batch was recorded (DynamoDB took each pending batch), and the certificate counts all of them
    assert outcome.status == "purged", outcome
    (certificate,) = certificates(tenant.contract_id)
    assert certificate["counts"]["frames_objects"] == 1000
    assert (certificate["counts"], certificate["bytes_deleted"]) == (expected.counts, expected.bytes)
    assert leftovers(aws, tenant) == []


def purge_once(
    aws: Provisioned, tenant: Tenant, at: datetime, remaining_ms: Callable[[], float] = lambda: PLENTY_MS
) -> PurgeOutcome:
    """A purge in batches of the default size, as the job runs it."""
    return purge_contract(
        tenant.contract_id,
        storage=runtime.storage(),
        mailer=runtime.receipt_mailer(),
        now=at,
        remaining_ms=remaining_ms,
    )


def countdown(checks: int) -> Callable[[], float]:
    """Plenty of time for `checks` checks of the clock, then none."""
    readings = iter([PLENTY_MS] * checks)
    return lambda: next(readings, 0.0)


# every single fault

# Every call of the purge broken in every way is some 550 runs of the purge and its reruns, a quarter of an hour:
# DOTI_FAULT_SWEEP=full runs them all. By default, a deterministic sample of 20: the receipt's attempt and its
# SendEmail, where the modes differ most, in all five; and STEPS steps of the protocol, spread evenly over the run
# (the first and the last among them), each in one mode, the modes taken in turn. A step is a write whose neighbours
# (the calls before and after it) were not seen around an earlier write (the first list-record-delete-commit of
# objects and of items, the certificate's append and record, the transition, the purged record, ...), or the first
# read of a kind (a broken read changes nothing stored: its run fails before it writes). There are some 24 steps;
# each costs a tenant with frames, a purge and its reruns (2 s), and the purge's pinned defects have tests of their
# own above, so STEPS = 10 keeps this test near 45 s within the fault tests' 3 minutes in `make test`.
READS = {"GetItem", "Query", "Scan", "ListObjectsV2", "ListObjectVersions"}
SEND = Call("ses", "SendEmail")
STEPS = 10


def sweep_points(calls: list[Call]) -> list[tuple[int, str]]:
    if full_sweep():
        return [(n, mode) for n in range(len(calls)) for mode in MODES]
    send = calls.index(SEND)
    receipt = [(n, mode) for n in (send - 1, send) for mode in MODES]
    steps: list[int] = []
    seen: set[tuple[str, ...]] = set()
    for n, call in enumerate(calls):
        before = calls[n - 1].operation if n else ""
        after = calls[n + 1].operation if n + 1 < len(calls) else ""
        context = (call.operation,) if call.operation in READS else (before, call.operation, after)
        if context not in seen and n not in (send - 1, send):
            steps.append(n)
        seen.add(context)
    sampled = [steps[i] for i in spread(len(steps), STEPS)]
    return sorted(receipt + [(n, MODES[k % len(MODES)]) for k, n in enumerate(sampled)])


def test_every_single_fault_leaves_an_exact_certificate_at_most_one_receipt_and_nothing_behind(
    aws_with_request_tokens, world_factory
):
    # Given a versioned bucket (deleting by key leaves a delete marker; the data goes by version id, in a later phase)
    # and the calls of a purge that nothing breaks, with the job's mailer, on a contract like those broken below
    aws, mailer = aws_with_request_tokens, runtime.receipt_mailer()
    s3().put_bucket_versioning(Bucket=aws.refs["FramesBucket"], VersioningConfiguration={"Status": "Enabled"})
    model = terminated_tenant(world_factory)
    expected = stored(aws, model)
    plan = Plan()
    with INJECTOR.armed(plan):
        assert purge(aws, model, model.due_at + timedelta(minutes=1), mailer).status == "purged"
    calls = plan.calls
    points = sweep_points(calls)

    # When each sampled call is broken in its way, on a contract of its own, and the job's next runs follow
    problems: list[str] = []
    tenants = [model]
    for n, mode in points:
        tenant = terminated_tenant(world_factory)
        assert sum(o["Size"] or 0 for o in objects_of(aws, tenant.contract_id)) == expected.bytes  # stored alike
        broken = Plan(mode, at=n)
        outcomes = purged_after_faults(aws, tenant, broken, mailer)
        assert (broken.calls[:n], broken.fired) == (calls[:n], calls[n])
        found = problems_after(aws, tenant, expected, outcomes, receipt_expected(calls, n, mode))
        problems += [f"{mode} at #{n} {calls[n]}: {problem}" for problem in found]
        tenants.append(tenant)

    # Then every one ends purged, with one certificate of what was stored and its receipt as expected
    assert problems == []
    # and nothing of any of them is left but their audit chains and purged records
    assert leftovers_of(aws, tenants) == []


def receipt_expected(calls: list[Call], n: int, mode: str) -> tuple[int, str]:
    """(receipts sent, how the purge says it went) after a fault at call n: the receipt is never resent when it may
    have gone, i.e. when SES's answer was lost or the run died after recording that it was sending."""
    send = calls.index(SEND)
    if n == send and mode in ("lost", "crash", "dup"):
        return 1, "unconfirmed"
    if n == send - 1 and mode == "crash":
        return 0, "unconfirmed"
    return 1, "sent"


def problems_after(
    aws: Provisioned, tenant: Tenant, expected: Stored, outcomes: list[PurgeOutcome], receipt: tuple[int, str]
) -> list[str]:
    cid = tenant.contract_id
    if not outcomes[-1].done:
        return [f"not purged after {len(outcomes)} runs: {outcomes[-1]}"]
    problems: list[str] = []
    written = certificates(cid)
    if len(written) != 1:
        problems.append(f"{len(written)} certificates")
    for certificate in written:
        if (certificate["counts"], certificate["bytes_deleted"]) != (expected.counts, expected.bytes):
            problems.append(f"certificate {certificate['counts']} {certificate['bytes_deleted']} != {expected}")
    told = purged_record(aws, cid).get("deletion_receipt", {}).get("S")
    if (receipts_to(cid), told) != receipt:
        problems.append(f"receipts sent, and as told: {(receipts_to(cid), told)} != {receipt}")
    if told == "unconfirmed" and not any(outcome.receipt == "unconfirmed" for outcome in outcomes):
        problems.append("no outcome says the receipt is unconfirmed")
    return problems


def leftovers_of(aws: Provisioned, tenants: list[Tenant]) -> list[Any]:
    """Whatever of these tenants is still stored but their audit chains and (minimal) contract records."""
    ids = set().union(*(identifiers(tenant.world) for tenant in tenants))
    left: list[Any] = [o for tenant in tenants for o in objects_of(aws, tenant.contract_id)]
    for logical in sorted(name for name in aws.refs if name.endswith("Table")):
        if logical not in ("AuditTable", "ContractsTable"):
            left += [(logical, item) for item in scan(aws, logical) if _mentions(item, ids)]
    return left
