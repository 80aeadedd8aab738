"""`make run` as a user meets it: it starts from empty state, says what to open, and Ctrl-C stops it cleanly."""

from __future__ import annotations

import socket
from urllib.parse import urlparse

import pytest

from tests.local_stack.conftest import LocalStack

pytestmark = pytest.mark.local_stack


def _port_is_free(url: str) -> bool:
    parsed = urlparse(url)
    with socket.socket() as sock:
        return sock.connect_ex((parsed.hostname, parsed.port)) != 0


def test_ctrl_c_stops_everything_cleanly(tmp_path):
    # Given a freshly started stack without the simulated camera
    stack = LocalStack(tmp_path / "local.json", "--no-camera")
    state = stack.wait_ready()

    # When the user presses Ctrl-C (it has a minute: a loaded 2-core CI machine took over 20 s to stop the threads)
    returncode = stack.stop(timeout=60)

    # Then it exits with 0 after printing what to open, and both servers are gone
    output = stack.output()
    assert returncode == 0, output[-2000:]
    assert state["login_id"] in output
    assert state["api_url"] in output
    assert "stopped." in output
    assert _port_is_free(state["api_url"])
    assert _port_is_free(state["aws_endpoint"])
