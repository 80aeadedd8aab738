"""The injector itself: each mode does to one call what it says, and only to that call."""

from __future__ import annotations

import io

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError
from moto import mock_aws

from tests.faults.inject import INJECTOR, Call, Crash, Plan


@pytest.fixture
def s3():
    # The package's fault stack may already hold moto open (a nested mock_aws shares its backends): empty the
    # bucket each test uses, so no test sees another's objects.
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket="fault-bucket")
        for found in client.list_objects_v2(Bucket="fault-bucket").get("Contents", []):
            client.delete_object(Bucket="fault-bucket", Key=found["Key"])
        yield client


def _keys(s3) -> list[str]:
    return [o["Key"] for o in s3.list_objects_v2(Bucket="fault-bucket").get("Contents", [])]


def _put_two(s3) -> None:
    s3.put_object(Bucket="fault-bucket", Key="one", Body=b"1")
    s3.put_object(Bucket="fault-bucket", Key="two", Body=b"2")


@pytest.mark.parametrize(
    ("mode", "raised", "stored"),
    [
        ("err", ClientError, ["one"]),
        ("conn", EndpointConnectionError, ["one"]),
        ("lost", ReadTimeoutError, ["one", "two"]),
        ("crash", Crash, ["one", "two"]),
    ],
)
def test_a_fault_hits_call_n_and_is_applied_or_not_as_its_mode_says(s3, mode, raised, stored):
    # Given a plan to break the second call
    plan = Plan(mode, at=1)

    # When two objects are written under it
    with INJECTOR.armed(plan), pytest.raises(raised):
        _put_two(s3)

    # Then the first call went through, the second was broken at the point the mode names
    assert plan.calls == [Call("s3", "PutObject"), Call("s3", "PutObject")]
    assert plan.fired == Call("s3", "PutObject")
    assert _keys(s3) == stored


def test_dup_sends_an_applied_call_again_and_the_caller_sees_the_second_answer(s3):
    # Given a conditional create, and a plan to duplicate it
    plan = Plan("dup", at=0)

    # When it is sent once
    with INJECTOR.armed(plan), pytest.raises(ClientError) as raised:
        s3.put_object(Bucket="fault-bucket", Key="k", Body=b"x", IfNoneMatch="*")

    # Then it was applied, and the caller sees the retry failing its own condition
    assert raised.value.response["Error"]["Code"] == "PreconditionFailed"
    assert _keys(s3) == ["k"]


def test_dup_on_a_client_that_never_resends_is_a_lost_response(s3):
    # Given a client whose retries are off
    once = boto3.client("s3", region_name="us-east-1", config=Config(retries={"total_max_attempts": 1}))

    # When its call is duplicated
    with INJECTOR.armed(Plan("dup", at=0)), pytest.raises(ReadTimeoutError):
        once.put_object(Bucket="fault-bucket", Key="k", Body=b"x")

    # Then it was applied once and the caller saw a timeout
    assert _keys(s3) == ["k"]


def test_calls_outside_an_armed_plan_are_not_counted_or_broken(s3):
    plan = Plan("err", at=0)
    with INJECTOR.armed(plan):
        pass
    _put_two(s3)

    assert plan.calls == []
    assert plan.fired is None
    assert _keys(s3) == ["one", "two"]


def test_calls_made_while_paused_are_neither_counted_nor_broken(s3):
    # Given a plan to break the first call
    plan = Plan("err", at=0)

    # When the harness makes its own call, paused, before the code's two calls
    with INJECTOR.armed(plan):
        with INJECTOR.paused():
            s3.put_object(Bucket="fault-bucket", Key="harness", Body=b"h")
        with pytest.raises(ClientError):
            _put_two(s3)

    # Then the paused call went through uncounted, and the code's first call is call 0
    assert plan.calls == [Call("s3", "PutObject")]
    assert _keys(s3) == ["harness"]


@pytest.mark.parametrize("body", [b"evidence", io.BytesIO(b"evidence")], ids=["bytes", "file"])
def test_dup_sends_the_same_body_again(s3, body):
    # Given an upload whose body the first send reads to its end (botocore makes bytes a stream too)
    # When the call is duplicated
    with INJECTOR.armed(Plan("dup", at=0)):
        s3.put_object(Bucket="fault-bucket", Key="k", Body=body)

    # Then the second send carried the same bytes, as botocore's own retry would
    assert s3.get_object(Bucket="fault-bucket", Key="k")["Body"].read() == b"evidence"
