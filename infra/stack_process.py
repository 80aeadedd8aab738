"""The local stack (`python -m infra.local`) as a child process: what the local-stack and browser tests and the
browser benchmark start, each on free ports with a state file of its own, over real HTTP only."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def default_python_path() -> str:
    """The repo root and the shared layer, as on Lambda."""
    return os.pathsep.join(str(entry) for entry in (ROOT, ROOT / "layers" / "common"))


class LocalStack:
    """Starts at once; `wait_ready` gives the state file's contents (api_url, staff key, demo contract…) when the
    stack has written it; `stop` sends Ctrl-C, as a user would."""

    def __init__(self, state_file: Path, *extra: str, python_path: str | None = None):
        self.state_file = state_file
        self.log_path = state_file.with_suffix(".log")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "POWERTOOLS_"))}
        env["PYTHONPATH"] = python_path or default_python_path()
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
