"""Irrecoverable purge of a terminated contract (Art. 10-5; SPEC §3, §9) and its deletion certificate (消去証明).

A purge deletes every object under the contract's prefixes (the current ones by key, then every version and delete
marker left there, for a versioned bucket), every frame index item, and the contract's
registry: sessions, notice reads, users, devices, cameras, sites, suspensions, disclosures, notices addressed to it,
its pending scheduled work and, where their tables are given, notes, shares, exports, usage and deletion receipts.
Audit entries stay: they must outlive the purge. Then it writes the certificate (counts per kind, bytes, start and
end) on the contract's audit chain, e-mails it to the contract's address as a receipt, and shrinks the contract to
a minimal `purged` record (see `doti.store.purge.shrink_to_purged_record` for what it keeps).

Resumable: each phase deletes one batch at a time and finds "what is left" afresh, so a run stopped anywhere is
continued by the next; the counts of each batch are added to a tally kept in the schedule table, so the certificate
counts what every run deleted. The certificate and the receipt are recorded in the tally once done, so a rerun
neither writes a second certificate nor sends a second receipt (a crash in the instant between sending and
recording it can send the receipt twice, never zero times).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from doti import audit, lifecycle, schedule
from doti.clock import format_rfc3339
from doti.errors import Conflict, DotiError, NotFound
from doti.frames import Storage
from doti.mail import Mailer
from doti.store import keys
from doti.store import purge as store
from doti.store import retention as retention_store

BATCH = 1000
RESERVE_MS = 15_000  # stop this long before the Lambda timeout; the next run continues
CERTIFICATE_ACTION = "contract.purged"
TERMINATED, PURGED = lifecycle.TERMINATED, lifecycle.PURGED
# Scheduled work of the contract deleted with its data; "purge" items go last, with the tally, once all is done.
_WORK_KINDS = (
    schedule.SERVICE_START,
    schedule.SUSPENSION_START,
    schedule.SUSPENSION_END,
    schedule.SECURITY_CONTRACT_ENDED,
    schedule.IDLE_CHECK,
    schedule.CANCEL_EFFECTIVE,
    retention_store.CURSOR_KIND,  # the retention job's per-camera and per-notes-partition positions
    retention_store.NOTES_CURSOR_KIND,
)


class NotPurgeable(Conflict):
    """The contract is not (or no longer) one to purge: unknown, not terminated, or still in its grace period."""


@dataclass(frozen=True)
class OtherTables:
    """Tables the purge clears with the low-level client, by key (whatever model reads them elsewhere); a table
    left None is skipped (and reported)."""

    usage: str | None = None
    notes: str | None = None
    shares: str | None = None
    exports: str | None = None
    deletion_receipts: str | None = None
    remask_jobs: str | None = None

    def missing(self) -> list[str]:
        return [name for name, value in vars(self).items() if value is None]


@dataclass
class PurgeOutcome:
    contract_id: str
    status: str  # "purged" (this run finished it), "already_purged", "incomplete" (stopped or failed; rerun)
    counts: dict[str, int] = field(default_factory=dict)  # what this run deleted
    bytes_freed: int = 0  # by this run
    failed: int = 0  # objects S3 refused to delete in this run
    stopped_early: bool = False
    error: str | None = None  # the error code that stopped this run (the next run retries)
    certificate: dict[str, Any] | None = None
    skipped_tables: list[str] = field(default_factory=list)

    @property
    def done(self) -> bool:
        return self.status in ("purged", "already_purged")

    def add(self, counts: dict[str, int]) -> None:
        for name, value in counts.items():
            if name == "bytes":
                self.bytes_freed += value
            elif value:
                self.counts[name] = self.counts.get(name, 0) + value


@dataclass(frozen=True)
class _Batch:
    counts: dict[str, int]
    size: int  # items found by this batch's listing; fewer than the limit means the phase is done
    failed: int = 0


Phase = Callable[[int], _Batch]


def object_prefixes(contract_id: str) -> dict[str, str]:
    """Count name -> prefix of every place the contract's objects live (frames, thumbnails, evidence, exports)."""
    prefixes = [*keys.contract_prefixes(contract_id), f"evidence/{contract_id}/", f"exports/{contract_id}/"]
    return {f"{prefix.split('/', 1)[0]}_objects": prefix for prefix in dict.fromkeys(prefixes)}


def purge_contract(
    contract_id: str,
    *,
    storage: Storage,
    mailer: Mailer,
    now: datetime,
    remaining_ms: Callable[[], float],
    actor: str = audit.job_actor("termination"),
    tables: OtherTables | None = None,
    batch: int = BATCH,
    reserve_ms: float = RESERVE_MS,
) -> PurgeOutcome:
    """Purge a terminated contract, or continue its purge; NotPurgeable for any other contract."""
    tables = tables or OtherTables()
    outcome = PurgeOutcome(contract_id, "incomplete", skipped_tables=tables.missing())
    try:
        target = store.purge_target(contract_id)
    except NotFound as exc:
        raise NotPurgeable("no such contract", contract_id=contract_id) from exc
    if target.state == PURGED:
        _finish(contract_id)  # a run that stopped after the transition
        outcome.status = "already_purged"
        return outcome
    if target.state != TERMINATED:
        raise NotPurgeable("only a terminated contract can be purged", current_state=target.state)
    if target.purge_due_at and target.purge_due_at > now:
        raise NotPurgeable("the contract's grace period is not over", purge_due_at=format_rfc3339(target.purge_due_at))
    try:
        if _delete_phases(contract_id, storage, tables, outcome, remaining_ms, batch, reserve_ms, now):
            _complete(contract_id, target.contact_email, outcome, mailer=mailer, actor=actor, now=now)
    except DotiError as exc:
        outcome.error = exc.code  # what this run deleted is in the tally and the outcome; the next run goes on
    return outcome


def _delete_phases(
    contract_id: str,
    storage: Storage,
    tables: OtherTables,
    outcome: PurgeOutcome,
    remaining_ms: Callable[[], float],
    batch: int,
    reserve_ms: float,
    now: datetime,
) -> bool:
    """Run the phases not yet finished, batch by batch; True once every phase has found nothing left."""
    tally = store.start_tally(contract_id, now)
    for name, phase in _phases(contract_id, storage, tables):
        if name in tally.phases_done:
            continue
        while True:
            if remaining_ms() < reserve_ms:
                outcome.stopped_early = True
                return False
            done = phase(batch)
            outcome.add(done.counts)
            outcome.failed += done.failed
            finished = not done.failed and done.size < batch
            store.add_to_tally(contract_id, done.counts, name if finished else None)
            if done.failed:
                outcome.error = "objects_left"
                return False  # never certify a purge that left something behind; the next run retries
            if finished:
                break
    return True


def _complete(
    contract_id: str, contact_email: str, outcome: PurgeOutcome, *, mailer: Mailer, actor: str, now: datetime
) -> None:
    outcome.certificate = _certify(contract_id, contact_email, mailer=mailer, actor=actor, now=now)
    reason = f"data purged (Art. 10-5); deletion certificate is audit entry #{outcome.certificate['audit_seq']}"
    lifecycle.transition(contract_id, PURGED, None, reason, None, actor, now)
    _finish(contract_id)
    outcome.status = "purged"


def _phases(contract_id: str, storage: Storage, tables: OtherTables) -> list[tuple[str, Phase]]:
    """The named phases, in order. What a phase needs to find its items (cameras, users) is deleted after it, and
    sessions go after users: once those are gone, no login racing the purge can leave a session behind."""
    prefixes = object_prefixes(contract_id).items()
    phases = [(f"objects:{n}", _objects_phase(storage, n, p, versions=False)) for n, p in prefixes]
    phases += [(f"versions:{n}", _objects_phase(storage, n, p, versions=True)) for n, p in prefixes]
    phases += [(f"camera:{c}", _camera_phase(c, tables.notes)) for c in store.camera_ids(contract_id)]
    if notes := tables.notes:  # device events about a whole site live under the site's id (doti.notes)
        phases += [(f"site_notes:{s}", _notes_phase(notes, s)) for s in store.site_ids(contract_id)]
    phases += _other_table_phases(contract_id, tables)
    phases += [(f"notice_reads:{login}", _notice_reads_phase(login)) for login in store.login_ids(contract_id)]
    phases += [(kind, _by_contract_phase(kind, contract_id)) for kind in store.BY_CONTRACT_KINDS]
    phases.append(_named("notice_deliveries", lambda _: store.forget_notice_deliveries(contract_id)))
    phases.append(_named("scheduled_work", lambda n: store.delete_scheduled_work(contract_id, _WORK_KINDS, n)))
    return phases


def _other_table_phases(contract_id: str, tables: OtherTables) -> list[tuple[str, Phase]]:
    phases: list[tuple[str, Phase]] = []
    by_hash = store.delete_raw_by_hash
    if shares := tables.shares:
        by_index = store.delete_raw_by_index
        phases.append(_named("shares", lambda n: by_index(shares, "by_contract", contract_id, ("token_hash",), n)))
    if exports := tables.exports:
        # the exports table is keyed by export id alone: a filtered scan of that small, TTL'd table
        phases.append(_named("exports", lambda n: store.delete_raw_by_filter(exports, contract_id, ("export_id",), n)))
    if remask_jobs := tables.remask_jobs:
        # keyed by job id alone, one item per staff re-mask: a filtered scan of that small, TTL'd table
        phases.append(
            _named("remask_jobs", lambda n: store.delete_raw_by_filter(remask_jobs, contract_id, ("job_id",), n))
        )
    if usage := tables.usage:
        usage_key = ("contract_id", "period")
        phases.append(_named("usage", lambda n: by_hash(usage, "contract_id", contract_id, usage_key, n)))
    if receipts := tables.deletion_receipts:
        day_key = ("contract_id", "day")
        phases.append(_named("deletion_receipts", lambda n: by_hash(receipts, "contract_id", contract_id, day_key, n)))
    return phases


def _named(count: str, delete: Callable[[int], int]) -> tuple[str, Phase]:
    return count, _raw_phase(count, delete)


def _objects_phase(storage: Storage, count: str, prefix: str, *, versions: bool) -> Phase:
    """Current objects by key (cheap to list), or afterwards every version and delete marker left under the prefix
    (a versioned bucket keeps noncurrent versions, and deleting by key there only adds a marker). Each object version
    holding data is counted once, when it is gone for good; delete markers hold none and are not counted."""
    listing = store.object_versions if versions else store.current_objects

    def step(limit: int) -> _Batch:
        found = listing(storage.s3, storage.bucket, prefix, limit)
        result = store.delete_object_versions(storage.s3, storage.bucket, found)
        kept = set(result.failed) | set(result.marked)  # marked: the versions phase deletes (and counts) their data
        deleted = [v for v in found if v not in kept and not v.delete_marker]
        return _Batch({count: len(deleted), "bytes": sum(v.size for v in deleted)}, len(found), len(result.failed))

    return step


def _camera_phase(camera_id: str, notes_table: str | None) -> Phase:
    def step(limit: int) -> _Batch:
        frames = store.delete_frame_items(camera_id, limit)
        notes = 0
        if notes_table:
            notes = store.delete_raw_by_hash(notes_table, "camera_id", camera_id, ("camera_id", "note_id"), limit)
        return _Batch({"frame_items": frames, "notes": notes}, max(frames, notes))

    return step


def _notes_phase(notes_table: str, partition: str) -> Phase:
    key = ("camera_id", "note_id")
    return _raw_phase("notes", lambda limit: store.delete_raw_by_hash(notes_table, "camera_id", partition, key, limit))


def _raw_phase(count: str, delete: Callable[[int], int]) -> Phase:
    def step(limit: int) -> _Batch:
        deleted = delete(limit)
        return _Batch({count: deleted}, deleted)

    return step


def _by_contract_phase(kind: str, contract_id: str) -> Phase:
    return _raw_phase(kind, lambda limit: store.delete_by_contract(kind, contract_id, limit))


def _notice_reads_phase(login_id: str) -> Phase:
    return _raw_phase("notice_reads", lambda limit: store.delete_notice_reads(login_id, limit))


def _certify(contract_id: str, contact_email: str, *, mailer: Mailer, actor: str, now: datetime) -> dict[str, Any]:
    """Write the certificate once and send the receipt once (the tally remembers both)."""
    tally = store.read_tally(contract_id)
    certificate = tally.certificate or _written_certificate(contract_id)
    if certificate is None:
        counts = {name: value for name, value in sorted(tally.counts.items()) if name != "bytes" and value}
        details = {
            "counts": counts,
            "objects": sum(value for name, value in counts.items() if name.endswith("_objects")),
            "bytes_deleted": tally.counts.get("bytes", 0),
            "started_at": tally.started_at,
            "finished_at": format_rfc3339(now),
        }
        entry = audit.record(
            contract_id, actor=actor, action=CERTIFICATE_ACTION, subject=contract_id, details=details, now=now
        )
        certificate = {**details, "audit_seq": entry.seq, "audit_hash": entry.hash}
    if tally.certificate is None:
        store.record_certificate(contract_id, certificate)
    if tally.receipt_sent_at is None and contact_email:
        mailer.send(contact_email, receipt_subject(contract_id), receipt_body(contract_id, certificate), now)
        store.record_receipt_sent(contract_id, now)
    return certificate


def _written_certificate(contract_id: str) -> dict[str, Any] | None:
    """The certificate entry at the head of the chain, if a run wrote it but stopped before recording it."""
    newest, _ = audit.entries(contract_id, limit=1)
    if newest and newest[0].action == CERTIFICATE_ACTION:
        return {**newest[0].details, "audit_seq": newest[0].seq, "audit_hash": newest[0].hash}
    return None


def _finish(contract_id: str) -> None:
    """After the transition to purged: drop the contact details, then the purge's work items and tally, last."""
    tally = store.find_tally(contract_id)
    if tally is not None and tally.certificate is not None:
        store.shrink_to_purged_record(contract_id, tally.certificate)
    while store.delete_scheduled_work(contract_id, (schedule.PURGE,), 25):
        pass
    store.delete_tally(contract_id)


def receipt_subject(contract_id: str) -> str:
    return f"[doti] 消去証明 / Deletion certificate ({contract_id})"


def receipt_body(contract_id: str, certificate: dict[str, Any]) -> str:
    """The deletion receipt: what was deleted, when, and the audit entry that records it."""
    lines = [
        "ご契約のデータを復元できない方法で消去しました。利用規約第10条第5項に基づく消去証明です。",
        "All data of your contract has been deleted irrecoverably (terms, Art. 10-5).",
        "",
        f"契約 / Contract: {contract_id}",
        f"開始 / Started: {certificate['started_at']}",
        f"終了 / Finished: {certificate['finished_at']}",
        f"消去したバイト数 / Bytes deleted: {certificate['bytes_deleted']}",
        f"消去したオブジェクト数 / Objects deleted: {certificate['objects']}",
        "",
        "内訳 / Counts:",
        *(f"  {name}: {value}" for name, value in certificate["counts"].items()),
        "",
        f"監査記録 / Audit entry: #{certificate['audit_seq']} sha256 {certificate['audit_hash']}",
    ]
    return "\n".join(lines) + "\n"
