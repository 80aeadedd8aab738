"""No test depends on the calendar date (issue 9).

The samples in events/ keep fixed dates (they are documentation and `sam local invoke -e` input); the tests move
every date in them to "now" when they load them. A small set of date-sensitive tests also runs under a wall clock
shifted by tests/clock_shift (+400 and -30 days), so a test that reads a fixed date against the real clock fails in
`make test` on any day, not only on the day the calendar walks past it. `make test-shifted SHIFT=+400d` runs the
whole suite that way.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from doti.clock import parse_rfc3339
from tests.support import EVENTS, SAMPLE_NOW, api_event, sample_event, shift_sample_times
from tests.support.processes import python_path

ROOT = Path(__file__).resolve().parents[1]

# Tests that store something "now" and then read it through a sample's window, a capture time or an expiry.
DATE_SENSITIVE = (
    "tests/customer/test_web.py::test_given_no_session_when_the_page_is_requested_then_it_is_html_under_a_strict_policy",
    "tests/device/test_smoke_path.py",
    "tests/test_dates.py::test_a_sample_window_holds_what_was_stored_now",
)


def test_a_sample_written_for_its_moment_is_moved_to_now_in_its_own_format():
    # Given a text with the sample's moment, a time before it with milliseconds, and one inside a JSON string
    body = json.dumps({"to": "2026-11-26T00:00:00Z"})
    text = json.dumps({"at": "2026-11-25T12:00:00Z", "ms": "2026-11-25T11:59:58.000Z", "body": body})
    now = datetime(2031, 2, 3, 4, 5, 6, 789_000, tzinfo=UTC)

    # When it is shifted to that now
    shifted = json.loads(shift_sample_times(text, now))

    # Then each time moved by the same amount and kept its precision
    assert shifted["at"] == "2031-02-03T04:05:06Z"
    assert shifted["ms"] == "2031-02-03T04:05:04.789Z"
    assert json.loads(shifted["body"])["to"] == "2031-02-03T16:05:06Z"


@pytest.mark.parametrize("name", sorted(str(p.relative_to(EVENTS)) for p in EVENTS.rglob("*.json")))
def test_every_sample_keeps_its_times_around_its_moment_and_is_moved_with_them(name):
    # Given a sample as the file holds it: every time in it lies within a day of the moment it was written for
    written = (EVENTS / name).read_text(encoding="utf-8")
    json.loads(written)  # still a valid event for `sam local invoke -e`
    now = datetime.now(UTC)

    # When the tests load it
    loaded = json.dumps(sample_event(name))

    # Then no time of the file is left, and every time sits where it sat relative to the sample's moment
    for stamp in _times(written):
        assert stamp not in loaded
        assert abs(parse_rfc3339(stamp, "t") - SAMPLE_NOW) <= timedelta(days=1)
    for stamp in _times(loaded):
        assert abs(parse_rfc3339(stamp, "t") - now) <= timedelta(days=1, minutes=1)


def _times(text: str) -> list[str]:
    return re.findall(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z", text)


def test_a_sample_window_holds_what_was_stored_now():
    # Given the listing sample's from/to, as a test would send them today
    query = api_event("viewer/list_frames.json")["queryStringParameters"]

    # Then "now" lies inside [from, to): a frame captured now is listed by the sample on any date
    now = datetime.now(UTC)
    assert parse_rfc3339(query["from"], "from") <= now < parse_rfc3339(query["to"], "to")


@pytest.mark.parametrize("shift", ["+400d", "-30d"])
def test_date_sensitive_tests_pass_under_a_shifted_clock(shift):
    # Given the run's environment with the wall clock moved by `shift` (tests/clock_shift/sitecustomize.py)
    env = {**os.environ, "DOTI_CLOCK_SHIFT": shift}
    env["PYTHONPATH"] = python_path(env)
    env.pop("PYTEST_XDIST_WORKER", None)

    # When the date-sensitive tests run in a process of their own under it
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist", *DATE_SENSITIVE]
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)

    # Then they pass
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "passed" in result.stdout
    # And that environment does move a process's clock by the shift, measured against one without it (when the
    # whole suite runs shifted, this process's clock is moved too), and leaves its monotonic clock alone
    probe = [sys.executable, "-c", "import time; print(time.time(), time.monotonic())"]
    unshifted = {name: value for name, value in env.items() if name != "DOTI_CLOCK_SHIFT"}
    unshifted["PYTHONPATH"] = python_path(unshifted)
    real_wall, real_monotonic = _probe(probe, unshifted)
    seen_wall, seen_monotonic = _probe(probe, env)
    days = int(shift[:-1])
    assert abs(seen_wall - real_wall - days * 86_400) < 120
    assert 0 <= seen_monotonic - real_monotonic < 120


def _probe(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    output = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60, check=True).stdout
    wall, monotonic = output.split()
    return float(wall), float(monotonic)
