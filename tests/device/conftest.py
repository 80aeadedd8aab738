"""Fixtures of the device API's tests."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.support import World
from tests.support.ingest import QUOTA


@pytest.fixture
def small_world(world_factory: Callable[..., World]) -> World:
    """A tenant whose objects may be 20 kB at most and whose month holds QUOTA bytes."""
    return world_factory(max_object_bytes=20_000, monthly_byte_quota=QUOTA)
