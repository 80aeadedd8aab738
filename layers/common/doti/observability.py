"""The one Logger, Metrics and Tracer of a function; service name and namespace come from POWERTOOLS_* variables."""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.shared.functions import strtobool
from aws_lambda_powertools.tracing.base import BaseProvider, BaseSegment


def tracing_disabled() -> bool:
    """Powertools' own rule (Tracer._is_tracer_disabled): off when POWERTOOLS_TRACE_DISABLED says so, and outside
    Lambda or under `sam local` and chalice, where no X-Ray daemon listens."""
    if strtobool(os.environ.get("POWERTOOLS_TRACE_DISABLED", "false")):
        return True
    return not os.environ.get("LAMBDA_TASK_ROOT") or bool(
        os.environ.get("AWS_SAM_LOCAL") or os.environ.get("AWS_CHALICE_CLI_MODE")
    )


class _Untraced(BaseSegment):
    """The segment of a tracer that is off: it records nothing."""

    def close(self, end_time: int | None = None) -> None:
        pass

    def add_subsegment(self, subsegment: Any) -> None:
        pass

    def remove_subsegment(self, subsegment: Any) -> None:
        pass

    def put_annotation(self, key: str, value: Any) -> None:
        pass

    def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None:
        pass

    def add_exception(self, exception: BaseException, stack: Any, remote: bool = False) -> None:
        pass


class UntracedProvider(BaseProvider):
    """The provider of a tracer that is off. Powertools' default provider is the X-Ray SDK's recorder even then, and
    importing the SDK builds a botocore X-Ray client (about 90 ms, a quarter of an API function's import): tests, the
    local stack and `sam local` never need it."""

    @contextmanager
    def in_subsegment(self, name: str | None = None, **kwargs: Any) -> Iterator[BaseSegment]:
        del name, kwargs  # the interface's: nothing is recorded
        yield _Untraced()

    @asynccontextmanager
    async def in_subsegment_async(self, name: str | None = None, **kwargs: Any) -> AsyncIterator[BaseSegment]:
        del name, kwargs
        yield _Untraced()

    def put_annotation(self, key: str, value: Any) -> None:
        pass

    def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None:
        pass

    def patch(self, modules: Sequence[str]) -> None:
        pass

    def patch_all(self) -> None:
        pass


logger = Logger()
metrics = Metrics()
# Traced (Tracing: Active on Lambda), the tracer is Powertools' default: X-Ray, with botocore and the rest patched.
tracer = Tracer(disabled=True, provider=UntracedProvider()) if tracing_disabled() else Tracer()

# At DEBUG, PynamoDB and botocore log whole requests, password hashes and session token hashes included: whatever
# level the function runs at, they speak only of problems.
for _name in ("pynamodb", "botocore", "boto3", "urllib3"):
    logging.getLogger(_name).setLevel(logging.WARNING)
