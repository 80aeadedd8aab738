"""A fault sweep: learn a scenario's AWS calls on a clean run, then break each of them in turn.

A scenario is run once under an unbroken plan, to count its calls (`plan.calls`); then, for each mode and each call
number, on fresh data, under a plan that breaks that one call. `attempt` runs one step under a plan the way the
process would have lived it: a `Crash` (the process died) or any exception (the request or the run failed) is
returned, not raised, so the test goes on to the retries the system really makes.
"""

from __future__ import annotations

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


def fault_points(calls: list[Call], mode: str, reads: int) -> list[int]:
    """Where to break a run: every write, where a fault can leave half a change, in every mode; and `reads` of the
    reads, spread over the run, in `err` and `crash` only. A read changes nothing, so a lost or duplicated read is
    the same failure as an erroneous one to its caller, and a connection error the same as a service error."""
    write_at = [n for n, call in enumerate(calls) if not call.operation.startswith(_READS)]
    read_at = [n for n, call in enumerate(calls) if call.operation.startswith(_READS)]
    sampled = [read_at[i] for i in points(len(read_at), reads)] if mode in ("err", "crash") else []
    return sorted({*write_at, *sampled})


def sweep(
    mode: str,
    given: Callable[[], Any],
    step: Callable[[Any], Any],
    check: Callable[[Any, Plan, Any], None],
    *,
    reads: int = 4,
) -> int:
    """Break each of a clean run's calls of `step` in `mode` (fault_points), each time on what `given` makes afresh;
    `check` gets what `given` made, the plan, and what the broken step returned or the exception it ended with.
    Returns how many faults were injected.

    The calls are learned from a second clean run: the first fills what the process keeps between requests (a
    decrypted secret, the last use it recorded), as a warm Lambda has, so every later run makes the same calls."""
    for _ in range(2):
        clean = Plan()
        _, failure = attempt(clean, partial(step, given()))
        assert failure is None, f"the clean run failed: {failure!r}"
    broken = fault_points(clean.calls, mode, reads)
    for at in broken:
        subject = given()
        plan = Plan(mode, at=at)
        result, failure = attempt(plan, partial(step, subject))
        assert plan.fired is not None, f"call {at} of the clean run's {clean.calls} was not made"
        check(subject, plan, failure if failure is not None else result)
    return len(broken)
