"""AWS clients, created on first use (never at import) so tests can start moto before any client exists.

Every client, PynamoDB's included, comes from one botocore session: a client built on an already-loaded session
costs milliseconds instead of the ~100 ms of loading service models again, which matters on a cold start.
"""

from __future__ import annotations

import threading
from functools import cache
from typing import Any

import boto3
import botocore.session
from botocore.config import Config

# SigV4 for presigned URLs (boto3 would otherwise sign S3 URLs with legacy SigV2); retries for throttling.
_S3_CONFIG = Config(signature_version="s3v4", retries={"max_attempts": 5, "mode": "standard"})
# One attempt only: botocore would resend a SendEmail whose answer was lost, and SES would send the mail twice.
_SEND_ONCE_CONFIG = Config(retries={"total_max_attempts": 1, "mode": "standard"})
# botocore sessions are not thread-safe while creating clients; the local stack serves handlers on threads.
CLIENT_LOCK = threading.Lock()


@cache
def botocore_session() -> botocore.session.Session:
    return botocore.session.get_session()


@cache
def boto3_session() -> boto3.Session:
    """The one boto3 session over the shared botocore session (a second one would re-inject S3 methods)."""
    return boto3.Session(botocore_session=botocore_session())


@cache
def s3_client(region: str) -> Any:
    with CLIENT_LOCK:
        return boto3_session().client("s3", region_name=region, config=_S3_CONFIG)


@cache
def kms_client(region: str) -> Any:
    with CLIENT_LOCK:
        return boto3_session().client("kms", region_name=region)


@cache
def ses_client(region: str) -> Any:
    with CLIENT_LOCK:
        return boto3_session().client("ses", region_name=region)


@cache
def ses_client_sending_once(region: str) -> Any:
    """An SES client that botocore never resends a request of (doti.mail: a mail sent at most once per call)."""
    with CLIENT_LOCK:
        return boto3_session().client("ses", region_name=region, config=_SEND_ONCE_CONFIG)


@cache
def sqs_client(region: str) -> Any:
    with CLIENT_LOCK:
        return boto3_session().client("sqs", region_name=region)


def reset_clients() -> None:
    """Forget cached clients (tests switch endpoints between moto sessions)."""
    s3_client.cache_clear()
    kms_client.cache_clear()
    ses_client.cache_clear()
    ses_client_sending_once.cache_clear()
    sqs_client.cache_clear()
