"""Fixtures of the customer API's tests."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from doti.clock import utcnow


@pytest.fixture
def base_time() -> datetime:
    """A whole second an hour ago: frames captured around it are inside retention and not in the future."""
    return utcnow().replace(microsecond=0) - timedelta(hours=1)
