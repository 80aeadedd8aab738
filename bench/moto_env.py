"""What the cases that run handlers against moto in-process share: the environment and an AWS call counter."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

# As tests/conftest.py sets it: fake credentials, moto in-process (no endpoint), no X-Ray.
BENCH_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_METRICS_NAMESPACE": "doti",
    "POWERTOOLS_SERVICE_NAME": "bench",
}


@contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    """Set variables for the block and restore the whole environment after it."""
    saved = dict(os.environ)
    os.environ.pop("AWS_ENDPOINT_URL", None)
    os.environ.update(values)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


class CallCounter:
    """A botocore `before-call` handler that counts AWS API calls (boto3 and PynamoDB share one session)."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, **_: Any) -> None:
        self.count += 1
