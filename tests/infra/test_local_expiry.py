"""infra.expiry: the local stack expires objects and items as S3 lifecycle rules and DynamoDB TTL would in AWS.

Each run is given its `now`; the objects and items are written at the real time, so a run "days later" is a run
with a later `now`, never a faked clock.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import boto3
import pytest

from infra.expiry import (
    ExpirationRule,
    LocalExpiry,
    expiration_rules,
    forget_tags_of_deleted_objects,
    ttl_attributes,
)

# Isolated (moto emptied before each test): it lists the whole frames bucket.
pytestmark = pytest.mark.isolated

REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's


def expiry_with_delay(aws, template, ttl_delay: timedelta) -> LocalExpiry:
    """The expiry of the template's buckets and tables, as the local stack builds it."""
    rules = expiration_rules(template)
    return LocalExpiry(
        boto3.client("s3", region_name=REGION),
        boto3.client("dynamodb", region_name=REGION),
        buckets={aws.refs[name]: bucket_rules for name, bucket_rules in rules.items()},
        tables={aws.refs[name]: attribute for name, attribute in ttl_attributes(template).items()},
        ttl_delay=ttl_delay,
    )


@pytest.fixture
def expiry(aws, template) -> LocalExpiry:
    return expiry_with_delay(aws, template, timedelta(0))


def _put(aws, key: str, tag: str | None = None) -> None:
    extra = {"Tagging": f"doti-retention={tag}"} if tag else {}
    boto3.client("s3", region_name=REGION).put_object(Bucket=aws.refs["FramesBucket"], Key=key, Body=b"x", **extra)


def _keys(aws) -> set[str]:
    listing = boto3.client("s3", region_name=REGION).list_objects_v2(Bucket=aws.refs["FramesBucket"])
    return {entry["Key"] for entry in listing.get("Contents", [])}


def test_the_rules_are_the_templates_expirations(template):
    # Given the template's frames bucket
    # When its rules are read
    rules = {rule.rule_id: rule for rule in expiration_rules(template)["FramesBucket"]}

    # Then each retention class expires its tag after its days, and the prefixes theirs; the multipart rule, which
    # expires no object, is not among them
    assert rules["retention-d1"] == ExpirationRule("retention-d1", 1, "", (("doti-retention", "d1"),))
    assert rules["retention-d366"].days == 366
    assert (rules["incoming-expiry"].prefix, rules["incoming-expiry"].days) == ("incoming/", 1)
    assert (rules["exports-expiry"].prefix, rules["exports-expiry"].days) == ("exports/", 7)
    assert "abort-stale-multipart-uploads" not in rules
    assert ttl_attributes(template)["IdempotencyTable"] == "expires_at"


@pytest.mark.parametrize(
    ("written", "expires"),
    [
        (datetime(2026, 3, 1, 10, 30, tzinfo=UTC), datetime(2026, 3, 3, tzinfo=UTC)),
        (datetime(2026, 3, 1, 0, 0, tzinfo=UTC), datetime(2026, 3, 2, tzinfo=UTC)),
        (datetime(2026, 2, 28, 23, 59, 59, tzinfo=UTC), datetime(2026, 3, 2, tzinfo=UTC)),
    ],
)
def test_an_object_expires_at_the_midnight_after_its_days(written, expires):
    # Given a one-day rule
    rule = ExpirationRule("one-day", 1)

    # When an object written at `written` is considered
    # Then it expires at the next midnight UTC after a day has passed, as S3 rounds
    assert rule.expires_at(written) == expires


def test_objects_go_by_their_prefix_or_tag_rule(aws, expiry):
    # Given frames of the one-day and seven-day classes, an incoming leftover, an export and an untagged frame key
    for key, tag in [("frames/d1", "d1"), ("thumbs/d1", "d1"), ("frames/d7", "d7"), ("frames/untagged", None)]:
        _put(aws, key, tag)
    _put(aws, "incoming/leftover")
    _put(aws, "exports/package.zip")
    now = datetime.now(UTC)

    # When expiry runs now, two days later, and eight days later
    today = expiry.run(now)
    kept_today = _keys(aws)
    two_days = expiry.run(now + timedelta(days=2))
    kept_two_days = _keys(aws)
    expiry.run(now + timedelta(days=8))

    # Then nothing is young enough to go today; after two days the one-day class and the incoming leftover go;
    # after eight days the seven-day class and the export too; an object no rule selects stays
    assert today.objects_expired == 0
    assert kept_today == {
        "frames/d1",
        "thumbs/d1",
        "frames/d7",
        "frames/untagged",
        "incoming/leftover",
        "exports/package.zip",
    }
    assert two_days.expired_by_rule == {"retention-d1": 2, "incoming-expiry": 1}
    assert kept_two_days == {"frames/d7", "frames/untagged", "exports/package.zip"}
    assert _keys(aws) == {"frames/untagged"}


def test_items_go_once_their_ttl_has_passed(aws, template, expiry):
    # Given frame claims whose TTL is past, future, more than five years past, and not a number
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    table = aws.refs["IdempotencyTable"]
    now = datetime.now(UTC)
    ttls = {
        "past": {"N": str(int((now - timedelta(minutes=1)).timestamp()))},
        "future": {"N": str(int((now + timedelta(days=1)).timestamp()))},
        "ancient": {"N": str(int((now - timedelta(days=6 * 365)).timestamp()))},
        "text": {"S": "yesterday"},
    }
    for item_id, ttl in ttls.items():
        dynamodb.put_item(TableName=table, Item={"id": {"S": item_id}, "expires_at": ttl})

    # When expiry runs with a delay of an hour, then with none
    delayed = expiry_with_delay(aws, template, timedelta(hours=1)).run(now)
    report = expiry.run(now)

    # Then the delayed run keeps the item expired a minute ago, and the other deletes it: only it
    remaining = {item["id"]["S"] for item in dynamodb.scan(TableName=table)["Items"]}
    assert delayed.items_expired == 0
    assert remaining == {"future", "ancient", "text"}
    assert report.items_expired == 1


def test_tags_of_deleted_objects_are_forgotten(aws):
    # Given tagged objects, some deleted one by one or in a batch (moto keeps the deleted ones' tags)
    s3 = boto3.client("s3", region_name=REGION)
    bucket = aws.refs["FramesBucket"]
    for index in range(5):
        _put(aws, f"frames/{index}", "d1")
    s3.delete_object(Bucket=bucket, Key="frames/0")
    s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "frames/1"}, {"Key": "frames/2"}]})

    # When the deleted objects' tags are forgotten
    forgotten = forget_tags_of_deleted_objects(ACCOUNT)

    # Then the three deleted objects' tags are gone, the live objects keep theirs, and a new object under a deleted
    # key starts without tags
    assert forgotten == 3
    assert s3.get_object_tagging(Bucket=bucket, Key="frames/3")["TagSet"] == [{"Key": "doti-retention", "Value": "d1"}]
    _put(aws, "frames/0")
    assert s3.get_object_tagging(Bucket=bucket, Key="frames/0")["TagSet"] == []
    assert forget_tags_of_deleted_objects(ACCOUNT) == 0
