"""The local stack (`python -m infra.local`), started once per test session in a child process.

Tests here talk to it over real HTTP only: the API through Chalice's gateway, S3 through presigned URLs.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from infra.stack_process import ROOT
from infra.stack_process import LocalStack as _LocalStack
from tests.support.processes import python_path

__all__ = ["ROOT", "LocalStack"]


class LocalStack(_LocalStack):
    """infra.stack_process's, with the test run's Python path: a shifted clock (make test-shifted) reaches the stack."""

    def __init__(self, state_file: Path, *extra: str):
        super().__init__(state_file, *extra, python_path=python_path())


@pytest.fixture(scope="session")
def local_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The running stack's `.doti/local.json` contents (api_url, aws_endpoint, demo credentials…)."""
    stack = LocalStack(tmp_path_factory.mktemp("local-stack") / "local.json", "--camera-interval", "1")
    try:
        yield stack.wait_ready()
    finally:
        stack.stop()
