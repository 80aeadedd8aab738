"""The fault suite's stack: one moto with the template's resources for the tests of this package in a process."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.faults.harness import Stack, fault_stack
from tests.faults.sweep import quiet
from tests.support.moto import SHARED_MOTO


@pytest.fixture(scope="package")
def stack() -> Iterator[Stack]:
    SHARED_MOTO.release()  # the fault stack is a moto of its own, with the injector and the clock installed
    with quiet(), fault_stack() as made:
        yield made
