"""A botocore hook on every AWS call of the process, for a test that watches or breaks calls."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from doti import runtime
from doti.store.aws import botocore_session


@contextmanager
def botocore_hook(event: str, handler: Callable[..., Any], name: str) -> Iterator[None]:
    """`handler` on `event` (e.g. "before-parameter-build", "before-call") of every call made through the shared
    botocore session, boto3 and PynamoDB alike. Clients copy the session's handlers when they are made, so they are
    made again when the hook is added and when it is taken away."""
    session = botocore_session()
    session.register(event, handler, unique_id=name)
    runtime.reset()
    runtime.init()
    try:
        yield
    finally:
        session.unregister(event, unique_id=name)
        runtime.reset()
        runtime.init()
