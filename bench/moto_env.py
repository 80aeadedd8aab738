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


def frame_item(
    contract_id: str, camera: Any, frame_id: str, captured_at: Any, key: str, thumb: str, size: int, retention_days: int
) -> Any:
    """An index item for a seeded frame (seeding writes items in bulk; only the job under test is measured)."""
    from datetime import timedelta

    from doti.store.models import FrameModel

    return FrameModel(
        camera_id=camera.camera_id,
        frame_id=frame_id,
        contract_id=contract_id,
        site_id=camera.site_id,
        device_id="dev_bench",
        device_frame_id=frame_id,
        captured_at=captured_at,
        received_at=captured_at,
        content_type="image/jpeg",
        size=size,
        width=1280,
        height=720,
        sha256="0" * 64,
        object_key=key,
        thumb_key=thumb,
        thumb_size=size,
        thumb_width=320,
        thumb_height=180,
        retention_class=f"d{retention_days}",
        expires_at=int((captured_at + timedelta(days=retention_days)).timestamp()),
    )
