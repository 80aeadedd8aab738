"""AWS clients, created on first use (never at import) so tests can start moto before any client exists.

Every client, PynamoDB's included, comes from one botocore session: a client built on an already-loaded session
costs milliseconds instead of the ~100 ms of loading service models again, which matters on a cold start. The
clients are botocore's own: boto3 adds only its managed transfers (s3transfer) and resources, which cost a cold start
about 60 ms to import; the one managed transfer doti makes (doti.store.objects.upload_file) imports boto3 itself.
"""

from __future__ import annotations

import threading
from functools import cache
from typing import TYPE_CHECKING, Any

import botocore.session
from botocore.config import Config

if TYPE_CHECKING:
    import boto3

# SigV4 for presigned URLs (boto3 would otherwise sign S3 URLs with legacy SigV2); retries for throttling.
_S3_CONFIG = Config(signature_version="s3v4", retries={"max_attempts": 5, "mode": "standard"})
# One attempt only: botocore would resend a SendEmail whose answer was lost, and SES would send the mail twice.
_SEND_ONCE_CONFIG = Config(retries={"total_max_attempts": 1, "mode": "standard"})
# The clip function answers within its 30 s timeout (template.yaml); botocore's default 60 s read timeout covers it.
# A second attempt only after a throttle or a lost answer: the rerun writes the same staging key again.
_LAMBDA_CONFIG = Config(read_timeout=60, retries={"total_max_attempts": 2, "mode": "standard"})
# botocore sessions are not thread-safe while creating clients; the local stack serves handlers on threads.
CLIENT_LOCK = threading.Lock()


@cache
def botocore_session() -> botocore.session.Session:
    return botocore.session.get_session()


@cache
def boto3_session() -> boto3.Session:
    """A boto3 session over the shared botocore session, for tools and tests (provisioning); doti's own clients
    are made by botocore_session() directly."""
    import boto3

    return boto3.Session(botocore_session=botocore_session())


def _client(service: str, region: str, config: Config | None = None) -> Any:
    with CLIENT_LOCK:
        return botocore_session().create_client(service, region_name=region, config=config)


@cache
def s3_client(region: str) -> Any:
    return _client("s3", region, _S3_CONFIG)


@cache
def kms_client(region: str) -> Any:
    return _client("kms", region)


@cache
def ses_client(region: str) -> Any:
    return _client("ses", region)


@cache
def ses_client_sending_once(region: str) -> Any:
    """An SES client that botocore never resends a request of (doti.mail: a mail sent at most once per call)."""
    return _client("ses", region, _SEND_ONCE_CONFIG)


@cache
def sqs_client(region: str) -> Any:
    return _client("sqs", region)


@cache
def lambda_client(region: str) -> Any:
    return _client("lambda", region, _LAMBDA_CONFIG)


def reset_clients() -> None:
    """Forget cached clients (tests switch endpoints between moto sessions)."""
    s3_client.cache_clear()
    kms_client.cache_clear()
    ses_client.cache_clear()
    ses_client_sending_once.cache_clear()
    sqs_client.cache_clear()
    lambda_client.cache_clear()
