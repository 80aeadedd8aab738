"""The shared moto's wipe: what one isolated test leaves behind is gone before the next, settings included."""

from __future__ import annotations

import boto3
import pytest

from tests.support.moto import wipe_backends


@pytest.mark.isolated
def test_the_wipe_gives_the_next_test_the_buckets_as_the_template_made_them(aws):
    # Given a test that turned on versioning and stored an object in the frames bucket
    s3 = boto3.client("s3", region_name="us-east-1")
    bucket = aws.refs["FramesBucket"]
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_object(Bucket=bucket, Key="frames/x.jpg", Body=b"x")

    # When moto is wiped for the next test
    wipe_backends()

    # Then the bucket is empty and unversioned, as template.yaml makes it (a purge then deletes by key for good)
    assert s3.list_object_versions(Bucket=bucket).get("Versions", []) == []
    assert "Status" not in s3.get_bucket_versioning(Bucket=bucket)
