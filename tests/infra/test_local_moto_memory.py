"""infra.moto_memory: the local moto keeps only what its backends hold; a transaction copies only its items."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.dynamodb.models.dynamo_type import Item
from moto.dynamodb.models.table import Table
from moto.s3.models import FakeKey

from infra.moto_memory import lean_transactions, untracked_instances

REGION = "us-east-1"
TABLE = "doti-test-claims"

pytestmark = pytest.mark.usefixtures("own_moto")  # each test starts a moto of its own, empty


@pytest.fixture
def dynamodb() -> Iterator[object]:
    """moto in-process, as the local stack runs it, with a table of 200 items."""
    with untracked_instances(), lean_transactions(), mock_aws():
        client = boto3.client("dynamodb", region_name=REGION)
        client.create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        for index in range(200):
            client.put_item(TableName=TABLE, Item={"id": {"S": f"item-{index}"}, "n": {"N": "0"}})
        yield client


def _live(kind: type) -> int:
    gc.collect()
    return sum(1 for obj in gc.get_objects() if type(obj) is kind)


def _put(key: str) -> dict:
    return {"Put": {"TableName": TABLE, "Item": {"id": {"S": key}, "n": {"N": "1"}}}}


def test_transactions_keep_no_copies_of_their_tables(dynamodb):
    # Given a table of 200 items and the objects moto holds
    tables, items = _live(Table), _live(Item)

    # When 20 transactions each write one item
    for index in range(20):
        dynamodb.transact_write_items(TransactItems=[_put(f"new-{index}")])

    # Then moto holds the 20 new items and no copy of the table or its items (moto itself keeps one full copy of
    # the table per transaction, for ever)
    assert _live(Table) == tables
    assert _live(Item) == items + 20
    assert Table.instances_tracked == []


def test_a_cancelled_transaction_leaves_every_item_as_it_was(dynamodb):
    # Given a transaction that writes a new item, deletes one, increments a third, then fails a condition check
    operations = [
        _put("brand-new"),
        {"Delete": {"TableName": TABLE, "Key": {"id": {"S": "item-1"}}}},
        {
            "Update": {
                "TableName": TABLE,
                "Key": {"id": {"S": "item-2"}},
                "UpdateExpression": "ADD n :one",
                "ExpressionAttributeValues": {":one": {"N": "1"}},
            }
        },
        {
            "ConditionCheck": {
                "TableName": TABLE,
                "Key": {"id": {"S": "item-3"}},
                "ConditionExpression": "attribute_not_exists(id)",
            }
        },
    ]

    # When it runs
    with pytest.raises(ClientError) as refused:
        dynamodb.transact_write_items(TransactItems=operations)

    # Then it is cancelled and nothing it wrote remains: the new item is absent, the deleted one back, the
    # incremented one unchanged, as moto's own rollback leaves them
    assert refused.value.response["Error"]["Code"] == "TransactionCanceledException"
    assert "Item" not in dynamodb.get_item(TableName=TABLE, Key={"id": {"S": "brand-new"}})
    assert dynamodb.get_item(TableName=TABLE, Key={"id": {"S": "item-1"}})["Item"]["n"] == {"N": "0"}
    assert dynamodb.get_item(TableName=TABLE, Key={"id": {"S": "item-2"}})["Item"]["n"] == {"N": "0"}
    assert dynamodb.scan(TableName=TABLE, Select="COUNT")["Count"] == 200


def test_a_deleted_object_is_freed():
    # Given moto as the local stack runs it, and an object in a bucket
    with untracked_instances(), mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket="doti-test-frames")
        s3.put_object(Bucket="doti-test-frames", Key="frames/one.jpg", Body=b"x" * 100_000)
        stored = weakref.ref(next(obj for obj in gc.get_objects() if type(obj) is FakeKey))

        # When it is deleted
        s3.delete_object(Bucket="doti-test-frames", Key="frames/one.jpg")
        gc.collect()

        # Then moto no longer holds it
        assert stored() is None
