"""The sweep: for a scenario, a clean run lists the AWS calls of its operation; then, for every call N (or a sample)
and every mode, a run with that fault, the retries, and the invariants checked against the clean run
(tests.faults.observe).

    python -m tests.faults.sweep [--scenario NAME ...] [--all | --distinct | --sample STRIDE] [--jobs J]

`--all` (the default) tries every call of every scenario in every mode; `--distinct` every call in every mode that
can end differently (`distinct`: a read in two modes, as its other three repeat runs already made; `make faults`);
`--sample STRIDE` every write call and every STRIDE-th call (see `sample`). It prints, per scenario, the calls,
the fault points tried and the violations found, with the first few, and ends with one line: "<P> fault points
tried, <V> violations"; it exits 1 when V > 0. J worker processes (default 2, one per core) share the fault
points, each with its own moto: each takes every J-th point of every scenario after its own clean run.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
import warnings
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import ExitStack, contextmanager, redirect_stdout
from dataclasses import dataclass, field
from multiprocessing import get_context
from typing import Any

from tests.faults.inject import INJECTOR, MODES, Call, Plan
from tests.faults.observe import RUN_FAILED, Observation, compare

# Calls that change nothing: a fault there is a failed read, whatever the mode (not ReceiveMessage: it hides the
# message and counts a receive).
READS = frozenset(
    {
        "GetItem",
        "BatchGetItem",
        "Query",
        "Scan",
        "TransactGetItems",
        "GetObject",
        "HeadObject",
        "GetObjectTagging",
        "ListObjectsV2",
        "ListObjectVersions",
        "ListParts",
        "GetQueueAttributes",
        "Decrypt",
    }
)
EXAMPLES = 5  # violations printed per scenario


@dataclass(frozen=True)
class Point:
    at: int
    call: Call
    mode: str


@dataclass(frozen=True)
class Violation:
    scenario: str
    at: int  # -1: the clean run itself
    call: str
    mode: str
    invariant: str
    what: str

    def __str__(self) -> str:
        where = "clean run" if self.at < 0 else f"call {self.at} {self.call} {self.mode}"
        return f"{self.scenario}: {where}: {self.invariant}: {self.what}"


@dataclass
class Clean:
    calls: list[Call]  # the operation's calls: the fault points
    seen: Observation
    violations: list[Violation]


@dataclass
class Report:
    scenario: str
    calls: int = 0
    tried: int = 0
    violations: list[Violation] = field(default_factory=list)
    seconds: float = 0.0

    def add(self, other: Report) -> None:
        self.calls = max(self.calls, other.calls)
        self.tried += other.tried
        self.violations += other.violations
        self.seconds += other.seconds


def is_write(call: Call) -> bool:
    return call.operation not in READS


def sample(calls: list[Call], stride: int) -> list[Point]:
    """Every write call, and every `stride`-th call of the operation (the first always), in all five modes.

    Writes are where the modes differ (applied or not, applied twice, the process dead after it); a read fails the
    same way in every mode, so a stride over the calls still reaches every stretch of the operation. Deterministic:
    the same calls give the same points.
    """
    chosen = [n for n, call in enumerate(calls) if is_write(call) or n % stride == 0]
    return [Point(n, calls[n], mode) for n in chosen for mode in MODES]


def thinned(calls: list[Call], writes: int) -> list[Point]:
    """The first call, and the write calls thinned evenly to at most `writes` (the first and last write always
    among them), in all five modes: a bounded sample for `make test`."""
    all_writes = [n for n, call in enumerate(calls) if is_write(call)]
    if len(all_writes) > writes:
        step = (len(all_writes) - 1) / (writes - 1) if writes > 1 else 0
        all_writes = sorted({all_writes[round(i * step)] for i in range(writes)})
    chosen = sorted({0, *all_writes})
    return [Point(n, calls[n], mode) for n in chosen for mode in MODES]


def every_point(calls: list[Call]) -> list[Point]:
    return [Point(n, call, mode) for n, call in enumerate(calls) for mode in MODES]


READ_MODES = ("err", "conn")


def distinct(calls: list[Call]) -> list[Point]:
    """Every call, in every mode that can end differently: a write in all five; a read in `err` and `conn` only;
    the first call in all five.

    A read changes nothing, so on a read `lost` is `conn` by another name (a BotoCoreError raised after the call
    instead of before it), `dup` is a second identical read, and `crash` leaves what a crash after the last write
    before it leaves (or, for the first call, what a crash before anything leaves): each of those runs repeats a
    run that is already in the sweep. `make faults` runs this; `--all` runs the plain product.
    """
    return [
        Point(n, call, mode)
        for n, call in enumerate(calls)
        for mode in (MODES if n == 0 or is_write(call) else READ_MODES)
    ]


def select(
    calls: list[Call], *, stride: int | None = None, thin_to: int | None = None, distinct_only: bool = False
) -> list[Point]:
    """Every point, or `distinct`, or `sample(stride)`, or `thinned(thin_to)`."""
    if thin_to is not None:
        return thinned(calls, thin_to)
    if stride is not None:
        return sample(calls, stride)
    if distinct_only:
        return distinct(calls)
    return every_point(calls)


# runs


def run(stack: Any, scenario: Any, plan: Plan) -> tuple[Observation, int]:
    """Seed (no fault), then the operation and what follows it with `plan` armed, then what it left; returns that
    and the number of calls the operation made."""
    stack.wipe()
    tenant = scenario.seed(stack)
    failure = None
    with INJECTOR.armed(plan):
        operated = 0
        try:
            scenario.operate(tenant)
            operated = len(plan.calls)
            scenario.recover(tenant)
        except Exception as exc:  # the harness answers for what the functions raise: this is the harness failing
            failure = f"{type(exc).__name__}: {exc}"
        with INJECTOR.paused():
            seen = scenario.observe(tenant)
    if failure:
        seen.problem(RUN_FAILED, failure)
    return seen, operated


def clean_run(stack: Any, scenario: Any) -> Clean:
    plan = Plan()
    seen, operated = run(stack, scenario, plan)
    found = [Violation(scenario.name, -1, "-", "-", invariant, what) for invariant, what in seen.problems]
    return Clean(plan.calls[:operated], seen, found)


def try_point(stack: Any, scenario: Any, clean: Clean, point: Point) -> list[Violation]:
    plan = Plan(point.mode, at=point.at)
    seen, _ = run(stack, scenario, plan)
    broken = compare(clean.seen, seen)
    if plan.fired != point.call:
        broken.append((RUN_FAILED, f"call {point.at} was {plan.fired or 'never made'}, not {point.call}"))
    return [Violation(scenario.name, point.at, str(point.call), point.mode, inv, what) for inv, what in broken]


def sweep_scenario(
    stack: Any,
    name: str,
    *,
    stride: int | None = None,
    thin_to: int | None = None,
    distinct_only: bool = False,
    part: int = 0,
    parts: int = 1,
) -> Report:
    """The scenario's clean run, then its fault points (`select`; every `parts`-th, from `part`); what broke."""
    from tests.faults.scenarios import scenario

    chosen = scenario(name)
    started = time.perf_counter()
    clean = clean_run(stack, chosen)
    mine = select(clean.calls, stride=stride, thin_to=thin_to, distinct_only=distinct_only)[part::parts]
    report = Report(name, calls=len(clean.calls), tried=len(mine), violations=clean.violations if part == 0 else [])
    for point in mine:
        report.violations += try_point(stack, chosen, clean, point)
    report.seconds = time.perf_counter() - started
    return report


# processes


@contextmanager
def quiet() -> Iterator[None]:
    """The handlers log and print their metrics (EMF, on stdout) on every call; a sweep makes tens of thousands.
    Everything is as it was afterwards (a pytest worker goes on to other tests)."""
    settings = {"POWERTOOLS_METRICS_DISABLED": "true", "POWERTOOLS_LOG_LEVEL": "CRITICAL"}
    saved = {name: os.environ.get(name) for name in settings}
    os.environ.update(settings)
    logging.disable(logging.CRITICAL)
    try:
        with warnings.catch_warnings(), open(os.devnull, "w") as devnull, redirect_stdout(devnull):
            warnings.filterwarnings("ignore", "No application metrics to publish")
            yield
    finally:
        logging.disable(logging.NOTSET)
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


_WORKER = ExitStack()  # a worker process's stack, for the process's life


def _worker_start() -> None:
    from tests.faults.harness import fault_stack

    _WORKER.enter_context(quiet())
    _WORKER.stack = _WORKER.enter_context(fault_stack())  # type: ignore[attr-defined]


def _worker_sweep(name: str, stride: int | None, distinct_only: bool, part: int, parts: int) -> Report:
    stack = _WORKER.stack  # type: ignore[attr-defined]
    return sweep_scenario(stack, name, stride=stride, distinct_only=distinct_only, part=part, parts=parts)


def sweep(names: list[str], *, stride: int | None, jobs: int, distinct_only: bool = False) -> list[Report]:
    reports = {name: Report(name) for name in names}
    if jobs <= 1:
        from tests.faults.harness import fault_stack

        with fault_stack() as stack:
            for name in names:
                reports[name].add(sweep_scenario(stack, name, stride=stride, distinct_only=distinct_only))
        return list(reports.values())
    with ProcessPoolExecutor(max_workers=jobs, mp_context=get_context("spawn"), initializer=_worker_start) as pool:
        futures = [
            pool.submit(_worker_sweep, name, stride, distinct_only, part, jobs)
            for name in names
            for part in range(jobs)
        ]
        for future in futures:
            part = future.result()
            reports[part.scenario].add(part)
    return list(reports.values())


def main(argv: list[str] | None = None) -> int:
    from tests.faults.scenarios import SCENARIOS

    parser = argparse.ArgumentParser(prog="python -m tests.faults.sweep", description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", action="append", choices=sorted(SCENARIOS), help="default: every scenario")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--all", action="store_true", help="every call in every mode (the default)")
    which.add_argument(
        "--distinct", action="store_true", help="every call in every mode that can end differently (see `distinct`)"
    )
    which.add_argument("--sample", type=int, metavar="STRIDE", help="every write call and every STRIDE-th call")
    parser.add_argument("--jobs", type=int, default=2, help="worker processes (default 2)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    with quiet():
        reports = sweep(
            args.scenario or list(SCENARIOS), stride=args.sample, jobs=args.jobs, distinct_only=args.distinct
        )
    for report in reports:
        print(
            f"{report.scenario}: {report.calls} calls, {report.tried} fault points, "
            f"{len(report.violations)} violations ({report.seconds:.0f} s of work)"
        )
        for violation in report.violations[: int(os.environ.get("FAULT_EXAMPLES", EXAMPLES))]:
            print(f"  {violation}")
    tried = sum(r.tried for r in reports)
    violations = sum(len(r.violations) for r in reports)
    print(f"elapsed {time.perf_counter() - started:.0f} s with {args.jobs} job(s)")
    print(f"{tried} fault points tried, {violations} violations")
    return 1 if violations else 0


if __name__ == "__main__":
    sys.exit(main())
