"""What AWS deletes on its own and moto never does, done by the local stack: S3 lifecycle expiration and DynamoDB TTL.

moto stores a bucket's lifecycle rules and a table's TTL setting and returns them, but nothing ever expires (see
STACK-NOTES). In AWS these are the floor under the retention job: frames of a retention class go by their tag's
rule, `incoming/` leftovers after a day, evidence and exports by their prefixes, frame claims and sessions by TTL.
Without them the local stack keeps all of it, in memory, for as long as it runs. The rules are read from
template.yaml, the same ones provision() stores in moto, so they are never written twice.

Semantics kept from AWS:
- an object expires `ExpirationInDays` after it was written, rounded up to the next midnight UTC (S3's rule);
- a rule with TagFilters applies only to objects carrying every tag; a Prefix, only to keys under it;
- an item expires once its TTL attribute (epoch seconds, a number) is in the past, and goes some time later: AWS
  deletes it "within a few days", locally `ttl_delay` after. The local stack's delay is longer than the retention
  job's period, so that job removes a frame and its index item before TTL would, as it does in AWS (an index item
  gone first makes the frame's objects look like orphans, which the job holds for an hour). TTL ignores values more
  than five years in the past, and attributes that are not numbers.
The template's bucket is not versioned, so an expiration deletes the object; noncurrent versions cannot pile up.

One moto defect is compensated here: deleting an object leaves its tags behind in the S3 backend's tagging service
(moto 5.2), a few hundred bytes per frame object for ever; `forget_tags_of_deleted_objects` drops them.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

log = logging.getLogger("doti.local.expiry")
DELETE_BATCH = 1000  # DeleteObjects takes at most 1000 keys
WRITE_BATCH = 25  # BatchWriteItem takes at most 25 requests
TTL_HORIZON = timedelta(days=5 * 365)  # DynamoDB TTL does not delete items whose TTL is older than five years


@dataclass(frozen=True)
class ExpirationRule:
    """An enabled lifecycle rule with ExpirationInDays, and the objects it selects."""

    rule_id: str
    days: int
    prefix: str = ""
    tags: tuple[tuple[str, str], ...] = ()

    def selects(self, key: str, tags: Mapping[str, str]) -> bool:
        return key.startswith(self.prefix) and all(tags.get(name) == value for name, value in self.tags)

    def expires_at(self, written: datetime) -> datetime:
        """S3's expiry time: the write time plus the days, rounded up to the next midnight UTC."""
        due = written.astimezone(UTC) + timedelta(days=self.days)
        midnight = due.replace(hour=0, minute=0, second=0, microsecond=0)
        return midnight if midnight == due else midnight + timedelta(days=1)


def expiration_rules(template: Mapping[str, Any]) -> dict[str, list[ExpirationRule]]:
    """Each bucket's (by logical id) enabled expiration rules; rules without ExpirationInDays expire nothing.

    Buckets behind a Condition (the S3 access logs bucket) are left out: the local stack runs the template's
    defaults, under which they do not exist, and their rules may name parameters."""
    found: dict[str, list[ExpirationRule]] = {}
    for name, resource in template["Resources"].items():
        if resource["Type"] != "AWS::S3::Bucket" or "Condition" in resource:
            continue
        rules = resource.get("Properties", {}).get("LifecycleConfiguration", {}).get("Rules", [])
        found[name] = [
            ExpirationRule(
                rule_id=rule["Id"],
                days=int(rule["ExpirationInDays"]),
                prefix=rule.get("Prefix", ""),
                tags=tuple((tag["Key"], tag["Value"]) for tag in rule.get("TagFilters", [])),
            )
            for rule in rules
            if rule.get("Status") == "Enabled" and "ExpirationInDays" in rule
        ]
    return found


def ttl_attributes(template: Mapping[str, Any]) -> dict[str, str]:
    """Each table's (by logical id) TTL attribute, where TTL is enabled."""
    found = {}
    for name, resource in template["Resources"].items():
        ttl = resource.get("Properties", {}).get("TimeToLiveSpecification", {})
        if resource["Type"] == "AWS::DynamoDB::Table" and ttl.get("Enabled"):
            found[name] = ttl["AttributeName"]
    return found


@dataclass
class ExpiryReport:
    objects_listed: int = 0
    objects_expired: int = 0
    items_scanned: int = 0
    items_expired: int = 0
    tags_forgotten: int = 0
    expired_by_rule: dict[str, int] = field(default_factory=dict)


class LocalExpiry:
    """Expires objects and items as S3 lifecycle and DynamoDB TTL would; `run` is one pass, `start` repeats it."""

    def __init__(
        self,
        s3: Any,
        dynamodb: Any,
        *,
        buckets: Mapping[str, Iterable[ExpirationRule]],
        tables: Mapping[str, str],
        after_run: Any = None,
        ttl_delay: timedelta = timedelta(0),
    ):
        self._s3 = s3
        self._dynamodb = dynamodb
        self._buckets = {name: list(rules) for name, rules in buckets.items() if rules}  # bucket name -> rules
        self._tables = dict(tables)  # table name -> TTL attribute
        self._after_run = after_run  # called with the report: the moto tag clean-up, where moto runs in-process
        self._ttl_delay = ttl_delay
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run(self, now: datetime) -> ExpiryReport:
        report = ExpiryReport()
        for bucket, rules in self._buckets.items():
            self._expire_objects(bucket, rules, now, report)
        for table, attribute in self._tables.items():
            self._expire_items(table, attribute, now, report)
        if self._after_run is not None:
            self._after_run(report)
        return report

    def _expire_objects(self, bucket: str, rules: list[ExpirationRule], now: datetime, report: ExpiryReport) -> None:
        expired: list[str] = []
        for page in self._s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            for entry in page.get("Contents", []):
                report.objects_listed += 1
                rule = self._expiring_rule(bucket, entry["Key"], entry["LastModified"], rules, now)
                if rule is not None:
                    expired.append(entry["Key"])
                    report.expired_by_rule[rule.rule_id] = report.expired_by_rule.get(rule.rule_id, 0) + 1
        for start in range(0, len(expired), DELETE_BATCH):
            batch = [{"Key": key} for key in expired[start : start + DELETE_BATCH]]
            self._s3.delete_objects(Bucket=bucket, Delete={"Objects": batch, "Quiet": True})
        report.objects_expired += len(expired)

    def _expiring_rule(
        self, bucket: str, key: str, written: datetime, rules: list[ExpirationRule], now: datetime
    ) -> ExpirationRule | None:
        """The first rule under which the object has expired. Tags are read only for an object old enough for a
        tag rule that its key matches: one call per such object, and none for the young ones."""
        due = [rule for rule in rules if key.startswith(rule.prefix) and rule.expires_at(written) <= now]
        if not due:
            return None
        tags: dict[str, str] = {}
        if any(rule.tags for rule in due):
            tag_set = self._s3.get_object_tagging(Bucket=bucket, Key=key)["TagSet"]
            tags = {tag["Key"]: tag["Value"] for tag in tag_set}
        return next((rule for rule in due if rule.selects(key, tags)), None)

    def _expire_items(self, table: str, attribute: str, now: datetime, report: ExpiryReport) -> None:
        key_names = [k["AttributeName"] for k in self._dynamodb.describe_table(TableName=table)["Table"]["KeySchema"]]
        scan = {
            "TableName": table,
            # The type test first: TTL ignores attributes that are not numbers (and moto cannot compare them).
            "FilterExpression": "attribute_type(#ttl, :number) AND #ttl < :now AND #ttl >= :horizon",
            "ExpressionAttributeNames": {"#ttl": attribute, **{f"#k{i}": k for i, k in enumerate(key_names)}},
            "ExpressionAttributeValues": {
                ":number": {"S": "N"},
                ":now": {"N": str(int((now - self._ttl_delay).timestamp()))},
                ":horizon": {"N": str(int((now - TTL_HORIZON).timestamp()))},
            },
            "ProjectionExpression": ", ".join(f"#k{i}" for i in range(len(key_names))),
        }
        expired: list[dict[str, Any]] = []
        for page in self._dynamodb.get_paginator("scan").paginate(**scan):
            report.items_scanned += page.get("ScannedCount", 0)
            expired.extend(page.get("Items", []))
        for start in range(0, len(expired), WRITE_BATCH):
            requests = [{"DeleteRequest": {"Key": key}} for key in expired[start : start + WRITE_BATCH]]
            unprocessed: dict[str, Any] = {table: requests}
            while unprocessed:  # moto processes every request; AWS may hand some back
                unprocessed = self._dynamodb.batch_write_item(RequestItems=unprocessed).get("UnprocessedItems") or {}
        report.items_expired += len(expired)

    def _loop(self, interval: float) -> None:
        while not self._stop.wait(interval):
            try:
                report = self.run(datetime.now(UTC))
            except Exception:  # the embedded AWS hiccupped: log it and try on the next tick, as the jobs do
                log.exception("local expiry run failed")
                continue
            log.info("expiry ran: %s", report)

    def start(self, interval: float) -> None:
        self._thread = threading.Thread(target=self._loop, args=(interval,), name="local-expiry", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)


def forget_tags_of_deleted_objects(account_id: str) -> int:
    """Drop the tags moto's S3 backend keeps for objects that no longer exist; returns how many objects' tags.

    moto's DeleteObject(s) removes the key but not its entry in the backend's tagging service (keyed by
    `arn:aws:s3:::<bucket>/<key>/<version>`), so every deleted tagged object leaks its tags. Only possible where the
    moto server runs in this process, as the local stack's does.
    """
    from moto.s3.models import s3_backends  # moto internals: imported only where the workaround runs

    backend = s3_backends[account_id]["aws"]
    # Tags first, live keys second: moto writes a new object's key before its tags, so a tag read here belongs to a
    # key that is in the live set below unless the key was deleted.
    tagged = [arn for arn in list(backend.tagger.tags) if arn.startswith("arn:aws:s3:::") and arn.count("/") >= 2]
    live = {
        getattr(version, "arn", None)
        for bucket in list(backend.buckets.values())
        for _name, versions in bucket.keys.lists()  # moto iterates over a copy: safe while requests write
        for version in versions
    }
    forgotten = [arn for arn in tagged if arn not in live]
    for arn in forgotten:
        backend.tagger.tags.pop(arn, None)
    return len(forgotten)
