"""The audit anchor (issue 14 §4): the daily job writes a digest of every chain head into the Object Lock bucket, and
`python -m infra.verify_audit` checks every chain against the digests.

Entries are written as the service writes them (doti.oversight.audit.record, staff transitions, the termination job);
tampering is done the way an attacker with a function's PutItem (or an operator's console) would, with boto3 directly
against the table or the bucket. The anchor runs through its handler and its scheduled event.
"""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from doti import runtime
from doti.clock import utcnow
from doti.contracts import lifecycle, terms
from doti.oversight import anchor as anchoring
from doti.oversight import audit
from functions.anchor import app as anchor_app
from functions.ingest import app as ingest
from functions.termination import app as termination
from infra import verify_audit
from infra.provision import Provisioned
from infra.template import load_template, schedules
from tests.support import LambdaContext, World, frame_event, sample_event
from tests.support import now as real_now
from tests.support.images import jpeg

# Isolated (moto emptied before each test): the anchor reads the head of every contract's chain.
pytestmark = pytest.mark.isolated

REGION = "us-east-1"


def s3() -> Any:
    return boto3.client("s3", region_name=REGION)


def ddb() -> Any:
    return boto3.client("dynamodb", region_name=REGION)


def run_anchor() -> dict[str, Any]:
    return anchor_app.lambda_handler(sample_event("anchor/scheduled.json"), LambdaContext())


def write_entries(chain: str | None, count: int) -> None:
    start = utcnow()
    for i in range(count):
        audit.record(chain, actor="job:test", action=f"test.action{i + 1}", details={"n": i + 1}, now=start)


def digest(aws: Provisioned, number: int) -> dict[str, Any]:
    key = anchoring.digest_key(number)
    return json.loads(s3().get_object(Bucket=aws.refs["AuditAnchorBucket"], Key=key)["Body"].read())


def verify(aws: Provisioned, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    """The verify command as an operator runs it against a deployed stack: exit code and output lines."""
    capsys.readouterr()  # what the handlers logged before
    code = verify_audit.main(
        [
            "--audit-table",
            aws.refs["AuditTable"],
            "--contracts-table",
            aws.refs["ContractsTable"],
            "--anchor-bucket",
            aws.refs["AuditAnchorBucket"],
            "--region",
            REGION,
        ]
    )
    return code, capsys.readouterr().out.splitlines()


def stored_entry(aws: Provisioned, chain: str, seq: int) -> dict[str, Any]:
    key = {"contract_id": {"S": chain}, "seq": {"N": str(seq)}}
    return ddb().get_item(TableName=aws.refs["AuditTable"], Key=key, ConsistentRead=True)["Item"]


def rewrite(aws: Provisioned, chain: str, seq: int, details: dict[str, Any]) -> None:
    """What a role with PutItem can do that the chain alone cannot see: rewrite entry `seq`, then recompute every
    later hash and the head with raw PutItems, so that every link holds again."""
    entries = [e for e in audit.store.chain(chain) if e.seq >= seq]
    prev = entries[0].prev_hash
    for entry in entries:
        changed = details if entry.seq == seq else entry.details
        fields = (entry.at, entry.actor, entry.action, entry.subject, changed, entry.customer_visible, prev)
        new_hash = audit.entry_hash(chain, entry.seq, *fields)
        item = stored_entry(aws, chain, entry.seq)
        item.update(details={"S": json.dumps(changed)}, prev_hash={"S": prev}, hash={"S": new_hash})
        ddb().put_item(TableName=aws.refs["AuditTable"], Item=item)
        prev = new_hash
    head = stored_entry(aws, chain, 0)
    head["head_hash"] = {"S": prev}
    ddb().put_item(TableName=aws.refs["AuditTable"], Item=head)


# the daily job


def test_the_anchor_is_a_daily_schedule_the_local_stack_fires():
    assert ("AnchorFunction", "rate(1 day)") in {(s.function, s.expression) for s in schedules(load_template())}


def test_the_daily_run_anchors_the_head_of_every_chain_and_verify_passes(aws, world_factory, capsys):
    # Given two contracts with entries, and an entry on the system chain
    a, b = world_factory(), world_factory()
    write_entries(a.contract_id, 3)
    write_entries(b.contract_id, 2)
    write_entries(None, 1)

    # When the scheduled event fires the anchor
    run = run_anchor()

    # Then digest 1 names every chain's head as the head items say, and its own SHA-256 holds
    assert run["number"] == 1
    written = digest(aws, 1)
    heads = {c["chain"]: (c["seq"], c["hash"]) for c in written["chains"]}
    for chain in (a.contract_id, b.contract_id, audit.SYSTEM):
        assert heads[chain] == audit.store.head(chain)
    assert written["previous_sha256"] is None
    assert anchoring.decode(json.dumps(written).encode()).sha256 == written["sha256"] == run["sha256"]
    # and the digest is locked in COMPLIANCE mode
    head = s3().head_object(Bucket=aws.refs["AuditAnchorBucket"], Key=anchoring.digest_key(1))
    assert head["ObjectLockMode"] == "COMPLIANCE"
    # and verify passes
    code, out = verify(aws, capsys)
    assert code == 0, out
    assert json.loads(out[-1])["digests"] == 1


def test_entries_after_an_anchor_still_verify_and_the_next_digest_names_the_one_before(aws, world, capsys):
    # Given an anchored chain
    write_entries(world.contract_id, 2)
    first = run_anchor()

    # When more entries are written / Then the chain still verifies against the older digest
    write_entries(world.contract_id, 2)
    assert verify(aws, capsys)[0] == 0

    # When the anchor runs again / Then digest 2 names the new head and chains to digest 1
    second = run_anchor()
    assert second["number"] == 2
    written = digest(aws, 2)
    assert written["previous_sha256"] == first["sha256"]
    assert {c["chain"]: c["seq"] for c in written["chains"]}[world.contract_id] == 4
    assert verify(aws, capsys)[0] == 0


# tampering with the table


def test_an_entry_rewritten_with_every_later_hash_recomputed_is_found_only_by_its_digest(aws, world, capsys):
    # Given a chain of 4 anchored entries
    write_entries(world.contract_id, 4)
    run_anchor()

    # When someone overwrites entry 2 with a raw PutItem and recomputes the later hashes and the head
    rewrite(aws, world.contract_id, 2, {"n": 99})

    # Then the chain alone still links (what IAM's PutItem leaves open) ...
    assert audit.verify_chain(world.contract_id).intact
    # ... but verify fails, naming the chain and the anchored seq that no longer holds
    code, out = verify(aws, capsys)
    assert code == 1
    assert out[0].startswith(f"MISMATCH chain {world.contract_id} seq 4: the entry is not the one its digest anchored")
    assert json.loads(out[-1])["ok"] is False


def test_an_entry_edited_without_recomputing_its_hash_fails_verify_at_its_seq(aws, world, capsys):
    write_entries(world.contract_id, 3)
    run_anchor()
    item = stored_entry(aws, world.contract_id, 2)
    item["actor"] = {"S": "staff:someone_else"}
    ddb().put_item(TableName=aws.refs["AuditTable"], Item=item)

    code, out = verify(aws, capsys)

    assert code == 1
    assert out[0] == f"MISMATCH chain {world.contract_id} seq 2: the entry was altered after it was written"


def test_a_deleted_entry_fails_verify_at_the_gap(aws, world, capsys):
    write_entries(world.contract_id, 3)
    run_anchor()
    ddb().delete_item(
        TableName=aws.refs["AuditTable"], Key={"contract_id": {"S": world.contract_id}, "seq": {"N": "2"}}
    )

    code, out = verify(aws, capsys)

    assert code == 1
    assert out[0] == f"MISMATCH chain {world.contract_id} seq 3: expected seq 2"


def test_a_chain_deleted_whole_with_its_head_fails_verify_by_its_digest(aws, world, capsys):
    # Given an anchored chain of 2, then every item of it deleted, head included (nothing left to link)
    write_entries(world.contract_id, 2)
    run_anchor()
    for seq in (0, 1, 2):
        key = {"contract_id": {"S": world.contract_id}, "seq": {"N": str(seq)}}
        ddb().delete_item(TableName=aws.refs["AuditTable"], Key=key)

    code, out = verify(aws, capsys)

    assert code == 1
    assert out[0] == (f"MISMATCH chain {world.contract_id} seq 2: a digest anchored seq 2 but the chain ends at seq 0")


# tampering with the digests


def test_a_locked_digest_cannot_be_deleted_and_an_overwrite_or_delete_marker_fails_verify(aws, world, capsys):
    # Given an anchored chain
    write_entries(world.contract_id, 1)
    run_anchor()
    bucket, key = aws.refs["AuditAnchorBucket"], anchoring.digest_key(1)
    (original,) = s3().list_object_versions(Bucket=bucket, Prefix=key)["Versions"]

    # When someone deletes the locked version / Then Object Lock refuses (moto enforces COMPLIANCE retention)
    with pytest.raises(ClientError) as refused:
        s3().delete_object(Bucket=bucket, Key=key, VersionId=original["VersionId"])
    assert refused.value.response["Error"]["Code"] == "AccessDenied"

    # When someone puts a forged digest at the same key, and hides it under a delete marker
    forged = anchoring.encode(1, utcnow(), None, {world.contract_id: (1, "f" * 64)})
    s3().put_object(Bucket=bucket, Key=key, Body=forged, ChecksumAlgorithm="SHA256")
    s3().delete_object(Bucket=bucket, Key=key)

    # Then the original version is still there and verify reports both, and passes on nothing
    code, out = verify(aws, capsys)
    assert code == 1
    assert f"MISMATCH digest {key}: deleted (a delete marker hides it; the locked version remains)" in out
    assert f"MISMATCH digest {key}: overwritten (2 versions; the first is checked)" in out
    # and the next anchor still chains to the original, under the next number
    assert run_anchor()["number"] == 2
    assert (
        digest(aws, 2)["previous_sha256"]
        == anchoring.decode(
            s3().get_object(Bucket=bucket, Key=key, VersionId=original["VersionId"])["Body"].read()
        ).sha256
    )


def test_a_digest_number_already_written_is_never_written_again(aws):
    store = runtime.digest_store()
    body = anchoring.encode(1, utcnow(), None, {})

    assert store.put_new(anchoring.digest_key(1), body) is True
    assert store.put_new(anchoring.digest_key(1), body) is False


# the purge (Art. 18 keeps Art. 10 and 11): the chain and the deletion certificate outlive the contract's data


def test_after_purge_the_chain_its_head_and_the_deletion_certificate_remain_anchored_and_verify(
    aws, world: World, capsys
):
    # Given a terminated contract with a frame, past a grace period of 0 days, purged by the hourly job
    frame = frame_event(world, jpeg(320, 180, label="x"), captured_at=real_now())
    assert ingest.lambda_handler(frame, LambdaContext())["statusCode"] == 201
    lifecycle.transition(
        world.contract_id,
        "terminated",
        "art12-1-1",
        "fees unpaid",
        None,
        "staff:stf_test",
        real_now(),
        purge_grace_days=0,
    )
    report = termination.lambda_handler(sample_event("termination/scheduled.json"), LambdaContext())
    assert report["purged"] == 1

    # When the anchor runs after the purge
    run_anchor()

    # Then the chain and its head are there, and the digest anchors that head
    chain = list(audit.store.chain(world.contract_id))
    head = audit.store.head(world.contract_id)
    assert head == (chain[-1].seq, chain[-1].hash)
    assert {c["chain"]: (c["seq"], c["hash"]) for c in digest(aws, 1)["chains"]}[world.contract_id] == head
    # and the deletion certificate is an entry of it, and the purged record still names it
    (certificate,) = [e for e in chain if e.action == "contract.purged"]
    assert terms.get_contract(world.contract_id).state == "purged"
    record = ddb().get_item(TableName=aws.refs["ContractsTable"], Key={"contract_id": {"S": world.contract_id}})
    summary = json.loads(record["Item"]["deletion_certificate"]["S"])
    assert (summary["audit_seq"], summary["audit_hash"]) == (certificate.seq, certificate.hash)
    # and verify passes, now and after the job runs again later
    assert verify(aws, capsys)[0] == 0
    termination.lambda_handler(sample_event("termination/scheduled.json"), LambdaContext())
    run_anchor()
    assert verify(aws, capsys)[0] == 0


# the verify command against a deployed stack


def test_verify_reads_the_names_from_a_deployed_stacks_outputs(aws, world, capsys):
    # Given a stack whose outputs name the tables and the bucket (as template.yaml's do), and an anchored chain
    outputs = {
        "AuditTableName": aws.refs["AuditTable"],
        "ContractsTableName": aws.refs["ContractsTable"],
        "AuditAnchorBucketName": aws.refs["AuditAnchorBucket"],
    }
    body = {
        "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {name: {"Value": value} for name, value in outputs.items()},
    }
    boto3.client("cloudformation", region_name=REGION).create_stack(
        StackName="doti-test", TemplateBody=json.dumps(body)
    )
    write_entries(world.contract_id, 2)
    run_anchor()
    capsys.readouterr()

    # When verify is given only the stack's name / Then it finds and checks them
    assert verify_audit.main(["--stack", "doti-test", "--region", REGION]) == 0
    assert json.loads(capsys.readouterr().out.splitlines()[-1]) == {
        "digests": 1,
        "chains": 2,
        "entries": 2,
        "problems": 0,
        "ok": True,
    }
