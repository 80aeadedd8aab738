"""The local stack (`python -m infra.local`), started once per test session in a child process.

Tests here talk to it over real HTTP only: the API through Chalice's gateway, S3 through presigned URLs.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.processes import python_path

ROOT = Path(__file__).resolve().parents[2]


class LocalStack:
    def __init__(self, state_file: Path, *extra: str):
        self.state_file = state_file
        self.log_path = state_file.with_suffix(".log")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "POWERTOOLS_"))}
        env["PYTHONPATH"] = python_path(env)
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "infra.local",
                "--port",
                "0",
                "--aws-port",
                "0",
                "--state-file",
                str(state_file),
                *extra,
            ],
            cwd=ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def wait_ready(self, timeout: float = 90) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"local stack exited early:\n{self.output()[-4000:]}")
            if self.state_file.exists():
                return json.loads(self.state_file.read_text(encoding="utf-8"))
            time.sleep(0.2)
        raise TimeoutError(f"local stack not ready after {timeout}s:\n{self.output()[-4000:]}")

    def stop(self, timeout: float = 20) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()
        return self.process.returncode

    def output(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(encoding="utf-8", errors="replace")


@pytest.fixture(scope="session")
def local_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The running stack's `.doti/local.json` contents (api_url, aws_endpoint, demo credentials…)."""
    stack = LocalStack(tmp_path_factory.mktemp("local-stack") / "local.json", "--camera-interval", "1")
    try:
        yield stack.wait_ready()
    finally:
        stack.stop()
