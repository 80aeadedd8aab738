"""The suspension job's cost follows due work, not the number of contracts (SPEC §9).

Same process, moto in-process with the template's resources: a run with 10 due items among 1,000 contracts against
a run with the same 10 due items among 10 contracts. Each repetition gets 10 fresh contracts whose security-service
contract ended a minute ago (the heaviest item: a transition, its audit entry and a notice); the 990 others are
active contracts with their idle checks months ahead, written directly (batch writes) and removed again so the runs
alternate. Setup is not measured. AWS calls are counted by a `before-call` hook on the shared botocore session.

The calls row is the engine-independent measure (it should be exactly 1.0). The time ratio sits a little above 1
because moto answers a key-range query by filtering the whole partition in Python, so the 990 idle checks due months
later are looked at there; DynamoDB reads only the keys in the range.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from bench.harness import Row, case, row, sized
from bench.moto_env import BENCH_ENV, CallCounter
from bench.moto_env import environment as bench_environment

DUE = 10
CONTRACTS = 1_000
REPS = 7


def _contract(contract_id: str, now: datetime, ended_at: datetime | None) -> Any:
    from doti.store.models import ContractModel

    return ContractModel(
        contract_id=contract_id,
        name="Bench shop",
        state="active",
        contact_email="owner@bench.example",
        retention_days=31,
        signed_url_ttl=300,
        max_object_bytes=4 * 1024 * 1024,
        max_pixels=3840 * 2160,
        monthly_byte_quota=50 * 1024**3,
        service_start=now - timedelta(days=30),
        created_at=now - timedelta(days=30),
        updated_at=now - timedelta(days=30),
        security_contract_ended_at=ended_at,
    )


def _write(contract_ids: list[str], now: datetime, *, due: bool) -> None:
    """Contracts and their work, as create_contract would leave them (idle checks months ahead)."""
    from doti.contracts.terms import add_months
    from doti.jobs import schedule
    from doti.store.models import ContractModel, ScheduledWorkModel

    ended_at = now - timedelta(minutes=1) if due else None
    idle_at = add_months(now, 2)
    with ContractModel.batch_write() as contracts, ScheduledWorkModel.batch_write() as work:
        for contract_id in contract_ids:
            contracts.save(_contract(contract_id, now, ended_at))
            items = [(schedule.IDLE_CHECK, idle_at)] + ([(schedule.SECURITY_CONTRACT_ENDED, ended_at)] if due else [])
            for kind, at in items:
                key = schedule.due_key(at, contract_id)
                work.save(ScheduledWorkModel(kind, key, contract_id=contract_id, due_at=at))


def _remove(contract_ids: list[str], now: datetime) -> None:
    from doti.contracts.terms import add_months
    from doti.jobs import schedule
    from doti.store.models import ContractModel, ScheduledWorkModel

    with ContractModel.batch_write() as contracts, ScheduledWorkModel.batch_write() as work:
        for contract_id in contract_ids:
            contracts.delete(ContractModel(contract_id))
            work.delete(ScheduledWorkModel(schedule.IDLE_CHECK, schedule.due_key(add_months(now, 2), contract_id)))


def _timed_run(rep: int, background: int, counter: CallCounter, due: int = DUE) -> tuple[float, int, int]:
    """(ms, AWS calls, items examined) of one job run over `due` fresh due contracts and `background` others."""
    from doti import runtime
    from doti.clock import utcnow
    from doti.jobs.suspension import run_suspension

    now = utcnow()
    due_ids = [f"ctr_bench{rep:03d}{background:04d}due{n:03d}" for n in range(due)]
    other_ids = [f"ctr_bench{rep:03d}other{n:04d}" for n in range(background)]
    _write(due_ids, now, due=True)
    _write(other_ids, now, due=False)
    counter.count = 0
    started = time.perf_counter()
    report = run_suspension(now=now, mailer=runtime.mailer(), events=runtime.events(), remaining_ms=lambda: 900_000.0)
    elapsed_ms = (time.perf_counter() - started) * 1000
    calls = counter.count
    if report.changed != due or report.failed:
        raise RuntimeError(f"the bench run did not do its due work: {report}")
    _remove(other_ids, now)
    return elapsed_ms, calls, report.examined


@case("jobs.suspension")
def suspension_job_scale() -> Iterator[Row]:
    from moto import mock_aws

    from doti import runtime
    from doti.store.aws import boto3_session, botocore_session
    from infra.provision import provision
    from infra.template import load_template

    counter = CallCounter()
    with bench_environment(BENCH_ENV), mock_aws():
        runtime.reset()
        provisioned = provision(load_template(), session=boto3_session())
        environment = {k: v for k, v in provisioned.environment().items() if k != "POWERTOOLS_SERVICE_NAME"}
        botocore_session().register("before-call", counter, unique_id="bench-suspension-calls")
        try:
            with bench_environment(environment):
                runtime.reset()
                runtime.init()  # binds the models; clients made from here on carry the hook
                due = sized(DUE, 2)  # a tiny run still does each kind of work (transition, audit entry, notice)
                _timed_run(0, 0, counter, due)  # warm-up: first client creation, imports
                contracts, reps = sized(CONTRACTS, due + 10), sized(REPS, 1)
                big: list[tuple[float, int, int]] = []
                small: list[tuple[float, int, int]] = []
                for rep in range(1, reps + 1):  # alternate, so drift hits both alike
                    small.append(_timed_run(rep, 0, counter, due))
                    big.append(_timed_run(rep, contracts - due, counter, due))
        finally:
            botocore_session().unregister("before-call", unique_id="bench-suspension-calls")
            runtime.reset()
    ms_big, ms_small = (statistics.median(r[0] for r in runs) for runs in (big, small))
    calls_big, calls_small = (statistics.median(r[1] for r in runs) for runs in (big, small))
    examined = {r[2] for r in big + small}
    baseline_note = f"baseline: {due} contracts, {due} due; examined {sorted(examined)} per run; median of {reps}"
    yield row("jobs.suspension", f"run ms, {contracts:,} contracts, {due} due", ms_big, ms_small, note=baseline_note)
    yield row(
        "jobs.suspension", f"AWS calls, {contracts:,} contracts, {due} due", calls_big, calls_small, note=baseline_note
    )
