"""Verify every audit chain against the digests anchored in the Object Lock bucket (doti.oversight.anchor).

    python -m infra.verify_audit --local [--state-file .doti/local.json]   # the stack of `make run`
    python -m infra.verify_audit --stack doti-prod [--region ap-northeast-1] # a deployed stack, by its outputs
    python -m infra.verify_audit --audit-table T --contracts-table C --anchor-bucket B [--region R]

Checks that the digests are intact, written once, never deleted and chained; that every chain links from seq 1 to
its head; and that every (seq, hash) a digest anchored is still that entry. Prints one line per problem, naming the
digest or the chain and seq, then a JSON summary; exits 1 when anything does not hold, 2 when it cannot read.
AWS credentials and region as usual (read-only: GetItem/Query/Scan on the two tables, ListBucketVersions and
GetObjectVersion on the bucket).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import asdict
from pathlib import Path

import boto3

from doti.errors import StorageError
from doti.oversight.anchor import verify
from doti.store import bind_tables
from doti.store.anchors import DigestStore
from doti.store.aws import s3_client

ROOT = Path(__file__).resolve().parent.parent
# Each name: its key in the local state file (infra.local) and its stack output (template.yaml).
_STATE = {"audit_table": "audit_table", "contracts_table": "contracts_table", "anchor_bucket": "audit_anchor_bucket"}
_OUTPUTS = {
    "audit_table": "AuditTableName",
    "contracts_table": "ContractsTableName",
    "anchor_bucket": "AuditAnchorBucketName",
}


def _names(args: argparse.Namespace) -> dict[str, str]:
    """The audit table, the contracts table and the bucket: from the local state file, the stack's outputs or
    the arguments (an argument wins)."""
    found: dict[str, str] = {}
    if args.local:
        state = json.loads(args.state_file.read_text(encoding="utf-8"))
        os.environ.update(
            AWS_ENDPOINT_URL=state["aws_endpoint"],
            AWS_ACCESS_KEY_ID=os.environ.get("AWS_ACCESS_KEY_ID", "local"),
            AWS_SECRET_ACCESS_KEY=os.environ.get("AWS_SECRET_ACCESS_KEY", "local"),
        )
        found = {key: state[name] for key, name in _STATE.items()}
    elif args.stack:
        stack = boto3.client("cloudformation", region_name=args.region).describe_stacks(StackName=args.stack)
        outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Stacks"][0].get("Outputs", [])}
        found = {key: outputs[output] for key, output in _OUTPUTS.items() if output in outputs}
    found |= {key: value for key in _OUTPUTS if (value := getattr(args, key))}
    missing = [f"--{key.replace('_', '-')}" for key in _OUTPUTS if key not in found]
    if missing:
        raise SystemExit(f"verify_audit: name {', '.join(missing)} (or use --local / --stack)")
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.verify_audit", description=__doc__.split("\n")[0])
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--local", action="store_true", help="the local stack (make run), by its state file")
    where.add_argument("--stack", help="a deployed stack's name; the names are read from its outputs")
    parser.add_argument("--state-file", type=Path, default=ROOT / ".doti" / "local.json")
    parser.add_argument("--audit-table")
    parser.add_argument("--contracts-table")
    parser.add_argument("--anchor-bucket")
    parser.add_argument("--region", default=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION"))
    args = parser.parse_args(argv)
    if args.local and not args.region:
        args.region = "us-east-1"
    if not args.region:
        raise SystemExit("verify_audit: --region (or AWS_REGION) is needed")
    names = _names(args)
    bind_tables({"audit_table": names["audit_table"], "contracts_table": names["contracts_table"]}, args.region)
    try:
        result = verify(DigestStore(s3_client(args.region), names["anchor_bucket"]))
    except StorageError as exc:
        print(f"verify_audit: could not read the audit log or its digests: {exc}", file=sys.stderr)
        return 2
    for problem in result.problems:
        print(f"MISMATCH {problem}")
    summary = {key: value for key, value in asdict(result).items() if key != "problems"}
    print(json.dumps({**summary, "problems": len(result.problems), "ok": result.ok}))
    return 0 if result.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
