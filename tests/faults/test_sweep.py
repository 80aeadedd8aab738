"""The fault-injection suite in `make test` (issue 11, acceptance 1 and 5): each scenario of tests.faults.scenarios
under a deterministic sample of its fault points; `make faults` runs the exhaustive sweep.

The sample (tests.faults.sweep.thinned): the scenario's write calls, thinned evenly to at most WRITES of them (the
first and the last always among them), plus its first call (a read), each in all five modes: at most 5 * (WRITES + 1)
runs per scenario. Writes are where the modes differ; the first call is where every operation can fail before
anything happened. The same calls always give the same points, so a failure here is reproducible with
`python -m tests.faults.sweep --scenario NAME`.
"""

from __future__ import annotations

import pytest

from tests.faults.harness import Stack
from tests.faults.scenarios import SCENARIOS
from tests.faults.sweep import sweep_scenario

WRITES = 2


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_no_sampled_fault_breaks_an_invariant(stack: Stack, name: str) -> None:
    # Given the scenario's clean run / When each sampled call fails in each mode, with the real system's retries
    report = sweep_scenario(stack, name, thin_to=WRITES)

    # Then every invariant holds after the retries
    assert report.tried > 0
    if report.violations:
        pytest.fail(f"{len(report.violations)} violations:\n" + "\n".join(map(str, report.violations)), pytrace=False)
