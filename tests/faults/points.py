"""A fault sweep: learn a scenario's AWS calls on a clean run, then break them in turn.

A scenario is run once under an unbroken plan, to count its calls (`plan.calls`); then, for each mode and each call
number of a sample of them (`fault_points`), on fresh data, under a plan that breaks that one call. `attempt` runs one
step under a plan the way the process would have lived it: a `Crash` (the process died) or any exception (the request
or the run failed) is returned, not raised, so the test goes on to the retries the system really makes.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import partial
from typing import Any

from tests.faults.inject import INJECTOR, Call, Crash, Plan

_READS = ("Get", "Query", "Scan", "List", "Head", "Describe", "BatchGet", "Receive")


def attempt(plan: Plan, step: Callable[[], Any]) -> tuple[Any, BaseException | None]:
    """Run `step` under `plan`; its result, or the exception (a Crash included) it ended with."""
    with INJECTOR.armed(plan):
        try:
            return step(), None
        except (Crash, Exception) as exc:  # the process died, or the call failed: what the caller would have seen
            return None, exc


def points(calls: int, limit: int) -> list[int]:
    """Every call number when there are at most `limit`, else `limit` of them spread evenly, first and last
    included: a deterministic sample, the same on every run."""
    if calls <= limit:
        return list(range(calls))
    step = (calls - 1) / (limit - 1)
    return sorted({round(i * step) for i in range(limit)})


# In `make test`, a run is broken at its first call and at its first, middle and last write (at most WRITES writes,
# spread evenly), in all five modes: at most 5 * (WRITES + 1) runs per sweep, plus the calls a test names (`keep`).
# The first call is where a run fails before it changed anything; the first and last writes are where it has begun
# and ended its changes, the middle one where it is halfway. Three writes cover what the sweeps' longer runs repeat
# (a slice's second upload, a job's second deletion) without their cost: the unit sweeps had to fit, with the
# scenario sample, in the three minutes issue 11 gives the fault tests in `make test`. DOTI_FAULT_SWEEP=full breaks
# every write in every mode and `reads` reads in `err` and `crash`, as before; `make faults` breaks every call.
WRITES = 3


def full_sweep() -> bool:
    return os.environ.get("DOTI_FAULT_SWEEP") == "full"


def fault_points(calls: list[Call], mode: str, reads: int, keep: tuple[Call, ...] = ()) -> list[int]:
    """Where to break a run: its first call, and WRITES of its writes spread evenly (the first and last always
    among them), in every mode; and the first call of each kind in `keep`, a point a test pins because a defect was
    there. A deterministic sample: the same calls give the same points.

    Under DOTI_FAULT_SWEEP=full: every write, where a fault can leave half a change, in every mode; and `reads` of
    the reads, spread over the run, in `err` and `crash` only. A read changes nothing, so a lost or duplicated read
    is the same failure as an erroneous one to its caller, and a connection error the same as a service error."""
    write_at = [n for n, call in enumerate(calls) if not call.operation.startswith(_READS)]
    pinned = [calls.index(call) for call in keep]  # ValueError when the run no longer makes the pinned call
    if full_sweep():
        read_at = [n for n, call in enumerate(calls) if call.operation.startswith(_READS)]
        sampled = [read_at[i] for i in points(len(read_at), reads)] if mode in ("err", "crash") else []
        return sorted({*write_at, *sampled, *pinned})
    return sorted({0, *(write_at[i] for i in points(len(write_at), WRITES)), *pinned})


def sweep(
    mode: str,
    given: Callable[[], Any],
    step: Callable[[Any], Any],
    check: Callable[[Any, Plan, Any], None],
    *,
    reads: int = 4,
    keep: tuple[Call, ...] = (),
) -> int:
    """Break a clean run's calls of `step` in `mode` (fault_points), each in turn on what `given` makes afresh;
    `check` gets what `given` made, the plan, and what the broken step returned or the exception it ended with.
    Returns how many faults were injected.

    The calls are learned from a second clean run: the first fills what the process keeps between requests (a
    decrypted secret, the last use it recorded), as a warm Lambda has, so every later run makes the same calls."""
    for _ in range(2):
        clean = Plan()
        _, failure = attempt(clean, partial(step, given()))
        assert failure is None, f"the clean run failed: {failure!r}"
    broken = fault_points(clean.calls, mode, reads, keep)
    for at in broken:
        subject = given()
        plan = Plan(mode, at=at)
        result, failure = attempt(plan, partial(step, subject))
        assert plan.fired is not None, f"call {at} of the clean run's {clean.calls} was not made"
        check(subject, plan, failure if failure is not None else result)
    return len(broken)
