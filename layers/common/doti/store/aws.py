"""boto3 clients, created on first use (never at import) so tests can start moto before any client exists."""

from __future__ import annotations

from functools import cache
from typing import Any

import boto3
from botocore.config import Config

# SigV4 for presigned URLs (boto3 would otherwise sign S3 URLs with legacy SigV2); retries for throttling.
_S3_CONFIG = Config(signature_version="s3v4", retries={"max_attempts": 5, "mode": "standard"})


@cache
def s3_client(region: str) -> Any:
    return boto3.client("s3", region_name=region, config=_S3_CONFIG)


@cache
def kms_client(region: str) -> Any:
    return boto3.client("kms", region_name=region)


def reset_clients() -> None:
    """Forget cached clients (tests switch endpoints between moto sessions)."""
    s3_client.cache_clear()
    kms_client.cache_clear()
