"""The fault-injection suite in `make test` (issue 11, acceptance 1 and 5): each scenario of tests.faults.scenarios
under a deterministic sample of its fault points; `make faults` runs the exhaustive sweep.

The sample (tests.faults.sweep.thinned): the scenario's write calls, thinned evenly to at most WRITES of them (the
first and the last always among them), plus its first call (a read), each in all five modes: at most 5 * (WRITES + 1)
runs per scenario. Writes are where the modes differ; the first call is where every operation can fail before
anything happened. The same calls always give the same points, so a failure here is reproducible with
`python -m tests.faults.sweep --scenario NAME`.

Scenarios known to break an invariant on this branch are marked xfail(strict=True) naming the defect: when its fix
merges, the test passes, strict xfail fails, and the mark is to be removed.
"""

from __future__ import annotations

import pytest

from tests.faults.harness import Stack
from tests.faults.scenarios import SCENARIOS
from tests.faults.sweep import sweep_scenario

WRITES = 2

# One audit defect shows in most scenarios: audit.record (doti/audit.py:166) takes the TransactionCanceledException
# of botocore's resend of its own applied TransactWriteItems for another writer, and appends the entry again.
_AUDIT_RESENT = "audit.py:166 appends an entry twice when botocore resends its applied TransactWriteItems"

# scenario -> the defects its sample finds on this branch; when their fixes merge, strict xfail fails: remove the mark.
KNOWN_DEFECTS: dict[str, str] = {
    "purge": (
        "purge.py:169: a phase's deletions reach the tally in a second, non-idempotent write (under- and "
        "double-counted certificate; fix under way: purge.py, store/purge.py); jobs/termination.py:205-208: "
        "contract.access_revoked is written only after all three revocations, by the run that changed something, "
        "so a failure midway loses it"
    ),
    "remask": (
        f"jobs/remask.py:174: camera.remask_finished is written after the job is marked completed, so a failed "
        f"write is never retried (the redelivered slice finds the job finished); {_AUDIT_RESENT}"
    ),
    "transition": (
        "lifecycle.py:134-154: a failure after the versioned contract update loses contract.transition, and "
        "botocore's resend of that update is a 409 to staff; lifecycle.py:271 swallows a failed emergency notice "
        "for good; the SES client resends SendEmail (two e-mails) (fix under way: lifecycle.py, audit.py)"
    ),
}


def _params() -> list[object]:
    return [
        pytest.param(name, marks=pytest.mark.xfail(strict=True, reason=KNOWN_DEFECTS[name]))
        if name in KNOWN_DEFECTS
        else name
        for name in SCENARIOS
    ]


@pytest.mark.parametrize("name", _params())
def test_no_sampled_fault_breaks_an_invariant(stack: Stack, name: str) -> None:
    # Given the scenario's clean run / When each sampled call fails in each mode, with the real system's retries
    report = sweep_scenario(stack, name, thin_to=WRITES)

    # Then every invariant holds after the retries
    assert report.tried > 0
    if report.violations:
        pytest.fail(f"{len(report.violations)} violations:\n" + "\n".join(map(str, report.violations)), pytrace=False)
