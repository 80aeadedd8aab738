"""Irrecoverable purge of a terminated contract (Art. 10-5; SPEC §3, §9) and its deletion certificate (消去証明).

A purge deletes every object under the contract's prefixes (the current ones by key, then every version and delete
marker left there, for a versioned bucket), every frame index item, and the contract's
notes, shares, exports, requests from people filmed, re-mask jobs, usage counts and deletion receipts, and its
registry: sessions, notice reads,
users, devices, cameras, sites, suspensions, disclosures, notices addressed to it and its pending scheduled work.
Audit entries stay: they must outlive the purge. Then it writes the certificate (counts per kind, bytes, start and
end) on the contract's audit chain, e-mails it to the contract's address as a receipt, and shrinks the contract to
a minimal `purged` record (see `doti.store.purge.shrink_to_purged_record` for what it keeps).

The certificate counts exactly what was stored, whatever AWS call fails or is repeated, and wherever a run stops.
Each phase deletes one batch at a time, and a batch is counted by intent, not after the fact:

1. list: find the next batch by key (the exact keys and versions, with their sizes);
2. record it as the tally's `pending` batch (a fresh token, its keys compressed) unless another is pending;
3. delete exactly those keys: deleting an object version or an item already gone is a success, so this can be
   repeated;
4. commit: one conditional update adds the batch's counts to the totals, drops `pending` and marks the phase done
   if it was its last batch, only while `pending` is still this token. A commit that botocore resends, or whose
   answer is lost, is found applied by reading the tally, and is never added twice.

A run that finds a pending batch first deletes its keys again and commits it. Nothing is counted before it is gone
(an object S3 refused to delete is left out of the commit, listed again by the next run, and the purge is not
certified while anything is left), and nothing gone is left uncounted (it was recorded before it went).

The certificate and the receipt are recorded in the tally once done, so a rerun writes neither twice; a certificate
written to the audit chain by a run that stopped before recording it is found there. SES has no idempotency key, so
the receipt is sent at most once, never resent when it may have gone: the run records its attempt before sending,
with a mailer that botocore never resends (`doti.runtime.receipt_mailer`), and its result after. A send refused by
SES or that never reached it (service error, connection refused or timed out) was not sent: the attempt is dropped
and the next run sends it. A send whose answer was lost (read timeout), or a run that stopped after recording its
attempt, may have sent it: the receipt is recorded "unconfirmed", in the outcome, the termination job's report and
metrics and the purged record, for operators to check with the customer; the certificate itself is on the audit
chain either way.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any

from doti.clock import format_rfc3339
from doti.contracts import lifecycle
from doti.errors import Conflict, DotiError, NotFound
from doti.jobs import schedule
from doti.mail import Mailer, MailUnconfirmed
from doti.oversight import audit
from doti.store import keys
from doti.store import purge as store
from doti.store import retention as retention_store
from doti.store.objects import Storage

BATCH = 1000
RESERVE_MS = 15_000  # stop this long before the Lambda timeout; the next run continues
CERTIFICATE_ACTION = "contract.purged"
_CERTIFICATE_SEARCH = 50  # newest audit entries searched for a certificate written by a run that stopped
# How sending the receipt went: sent, may have been sent (never resent), or the contract had no address.
RECEIPT_SENT, RECEIPT_UNCONFIRMED, RECEIPT_NO_ADDRESS = "sent", "unconfirmed", "no_address"
TERMINATED, PURGED = lifecycle.TERMINATED, lifecycle.PURGED
# Scheduled work of the contract deleted with its data; "purge" items go last, with the tally, once all is done.
_WORK_KINDS = (
    schedule.SERVICE_START,
    schedule.SUSPENSION_START,
    schedule.SUSPENSION_END,
    schedule.SECURITY_CONTRACT_ENDED,
    schedule.IDLE_CHECK,
    schedule.CANCEL_EFFECTIVE,
    schedule.REQUEST_OVERDUE,
    schedule.REQUEST_DELETE,
    retention_store.CURSOR_KIND,  # the retention job's per-camera and per-notes-partition positions
    retention_store.NOTES_CURSOR_KIND,
)


class NotPurgeable(Conflict):
    """The contract is not (or no longer) one to purge: unknown, not terminated, or still in its grace period."""


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
    receipt: str | None = None  # RECEIPT_SENT, RECEIPT_UNCONFIRMED or RECEIPT_NO_ADDRESS, once known
    left: list[str] = field(default_factory=list)  # what this run did not finish: phases, "certificate", "receipt"

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
class _Objects:
    count: str  # the count name of the prefix ("frames_objects", ...)
    prefix: str
    versions: tuple[store.ObjectVersion, ...]


@dataclass(frozen=True)
class _Batch:
    """One batch of a phase, found by key before anything of it is deleted: what the tally records as pending."""

    last: bool  # the listing found fewer than it asked for: once these are gone, the phase is done
    objects: _Objects | None = None
    items: tuple[tuple[str, store.Items], ...] = ()  # (count name, items), deleted in this order
    claims: tuple[str, ...] = ()  # device claims naming the batch's frames: deleted first, not counted
    deliveries: tuple[str, ...] = ()  # notices to all customers whose delivery records name the contract

    @property
    def empty(self) -> bool:
        no_objects = self.objects is None or not self.objects.versions
        return no_objects and not any(items.keys for _, items in self.items) and not self.claims and not self.deliveries

    def targets(self) -> dict[str, Any]:
        """As JSON, object keys relative to their prefix (the tally stores them compressed)."""
        targets: dict[str, Any] = {}
        if self.objects is not None:
            o = self.objects
            versions = [[v.key.removeprefix(o.prefix), v.version_id, v.size, v.delete_marker] for v in o.versions]
            targets["objects"] = {"count": o.count, "prefix": o.prefix, "versions": versions}
        if self.items:
            targets["items"] = [[count, items.table, items.keys] for count, items in self.items]
        if self.claims:
            targets["claims"] = list(self.claims)
        if self.deliveries:
            targets["deliveries"] = list(self.deliveries)
        return targets

    def first(self, n: int) -> _Batch:
        """The first n of each kind (claims go with their frames, in the same order); not the last if any is cut."""
        objects = self.objects
        if objects is not None:
            objects = _Objects(objects.count, objects.prefix, objects.versions[:n])
        items = tuple((count, store.Items(found.table, found.keys[:n])) for count, found in self.items)
        sizes = [len(self.claims), len(self.deliveries), *(len(found) for _, found in self.items)]
        if self.objects is not None:
            sizes.append(len(self.objects.versions))
        cut = any(size > n for size in sizes)
        return _Batch(self.last and not cut, objects, items, self.claims[:n], self.deliveries[:n])

    @classmethod
    def recorded(cls, pending: store.PendingBatch) -> _Batch:
        targets = pending.targets
        objects = None
        if found := targets.get("objects"):
            prefix = found["prefix"]
            versions = tuple(store.ObjectVersion(prefix + k, v, s, m) for k, v, s, m in found["versions"])
            objects = _Objects(found["count"], prefix, versions)
        return cls(
            last=pending.last,
            objects=objects,
            items=tuple((count, store.Items(table, keys)) for count, table, keys in targets.get("items", [])),
            claims=tuple(targets.get("claims", [])),
            deliveries=tuple(targets.get("deliveries", [])),
        )


Phase = Callable[[int], _Batch]  # finds the next batch of at most this many of each kind


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
    batch: int = BATCH,
    reserve_ms: float = RESERVE_MS,
) -> PurgeOutcome:
    """Purge a terminated contract, or continue its purge; NotPurgeable for any other contract.

    `mailer` sends the receipt; it should be one that botocore never resends (`doti.runtime.receipt_mailer`), and
    raise MailUnconfirmed when it cannot tell whether the mail went (any other error: it did not).
    """
    outcome = PurgeOutcome(contract_id, "incomplete")
    try:
        target = store.purge_target(contract_id)
    except NotFound as exc:
        raise NotPurgeable("no such contract", contract_id=contract_id) from exc
    if target.state == PURGED:
        outcome.receipt = _finish(contract_id)  # a run that stopped after the transition
        outcome.status = "already_purged"
        return outcome
    if target.state != TERMINATED:
        raise NotPurgeable("only a terminated contract can be purged", current_state=target.state)
    if target.purge_due_at and target.purge_due_at > now:
        raise NotPurgeable("the contract's grace period is not over", purge_due_at=format_rfc3339(target.purge_due_at))
    run = _Run(contract_id, storage, outcome, remaining_ms, batch, reserve_ms)
    try:
        if _delete_phases(run, now):
            _complete(contract_id, target.contact_email, outcome, mailer=mailer, actor=actor, now=now)
    except DotiError as exc:
        outcome.error = exc.code  # what this run deleted is in the tally and the outcome; the next run goes on
    return outcome


@dataclass
class _Run:
    contract_id: str
    storage: Storage
    outcome: PurgeOutcome
    remaining_ms: Callable[[], float]
    batch: int
    reserve_ms: float
    empty: list[str] = field(default_factory=list)  # phases found empty, not yet recorded as done


def _delete_phases(run: _Run, now: datetime) -> bool:
    """Finish a batch a stopped run left pending, then run the phases not yet finished, batch by batch; True once
    every phase has found nothing left. Phases found empty are recorded as done with the next commit (or, if none
    follows, in one write when the run stops or the phases end), so every run makes progress, at no extra write."""
    tally = store.start_tally(run.contract_id, now)
    done = set(tally.phases_done)
    if tally.pending is not None:
        if not _settle(run, tally.pending):
            return False
        if tally.pending.last:
            done.add(tally.pending.phase)
    phases = [(name, phase) for name, phase in _phases(run.contract_id, run.storage) if name not in done]
    run.outcome.left = [name for name, _ in phases]
    for name, phase in phases:
        while True:
            if run.remaining_ms() < run.reserve_ms:
                run.outcome.stopped_early = True
                _record_empty(run)
                return False
            found = _fitting(phase, run.batch)
            if found.empty:
                run.empty.append(name)
                break
            pending = store.PendingBatch(uuid.uuid4().hex, name, found.last, found.targets())
            store.begin_batch(run.contract_id, pending)
            if not _settle(run, pending):
                return False
            if found.last:
                break
        run.outcome.left.remove(name)
    _record_empty(run)
    return True


def _record_empty(run: _Run) -> None:
    if run.empty:
        store.finish_phases(run.contract_id, run.empty)
        run.empty.clear()


def _fitting(phase: Phase, limit: int) -> _Batch:
    """The phase's next batch, cut until the tally can record it (1,000 long object keys: rare); the rest is left
    to the next batches."""
    found = phase(limit)
    while limit > 1 and not store.fits_in_tally(found.targets()):
        limit //= 2
        found = found.first(limit)
    return found


def _settle(run: _Run, pending: store.PendingBatch) -> bool:
    """Delete a recorded batch (again, if a run stopped after deleting it) and commit it; False if S3 left some of
    its objects (they are not counted; the next run lists them again)."""
    counts, failed = _delete(run.contract_id, run.storage, _Batch.recorded(pending))
    finished = [*run.empty, *([pending.phase] if pending.last and not failed else [])]
    store.commit_batch(run.contract_id, pending.token, counts, finished)
    run.empty.clear()
    run.outcome.add(counts)
    if failed:
        run.outcome.failed += failed
        run.outcome.error = "objects_left"  # never certify a purge that left something behind; the next run retries
        return False
    return True


def _delete(contract_id: str, storage: Storage, batch: _Batch) -> tuple[dict[str, int], int]:
    """Delete a batch; returns the counts of what is gone and how many objects S3 refused to delete."""
    counts: Counter[str] = Counter()
    failed = 0
    if batch.claims:
        store.delete_claims(list(batch.claims))
    for count, items in batch.items:
        store.delete_items(items)
        counts[count] += len(items)
    if batch.objects is not None and batch.objects.versions:
        versions = list(batch.objects.versions)
        result = store.delete_object_versions(storage.s3, storage.bucket, versions)
        # marked: deleted by key in a versioned bucket, the data kept under a delete marker; the versions phase
        # deletes (and counts) it. Each object version holding data is counted once, when it is gone for good.
        kept = set(result.failed) | set(result.marked)
        deleted = [v for v in versions if v not in kept and not v.delete_marker]
        counts[batch.objects.count] += len(deleted)
        counts["bytes"] += sum(v.size for v in deleted)
        failed = len(result.failed)
    if batch.deliveries:
        store.forget_notice_deliveries(contract_id, batch.deliveries)
        counts["notice_deliveries"] += len(batch.deliveries)
    return dict(counts), failed


def _complete(
    contract_id: str, contact_email: str, outcome: PurgeOutcome, *, mailer: Mailer, actor: str, now: datetime
) -> None:
    outcome.left = ["certificate", "receipt"]
    tally = store.read_tally(contract_id)
    certificate = tally.certificate or _certificate(contract_id, tally, actor=actor, now=now)
    outcome.certificate = certificate
    outcome.left.remove("certificate")
    outcome.receipt = tally.receipt or _receipt(contract_id, contact_email, certificate, tally, mailer, now)
    outcome.left.remove("receipt")
    reason = f"data purged (Art. 10-5); deletion certificate is audit entry #{certificate['audit_seq']}"
    lifecycle.transition(contract_id, PURGED, None, reason, None, actor, now)
    _finish(contract_id)
    outcome.status = "purged"


def _phases(contract_id: str, storage: Storage) -> list[tuple[str, Phase]]:
    """The named phases, in order. What a phase needs to find its items (cameras, users) is deleted after it, and
    sessions go after users: once those are gone, no login racing the purge can leave a session behind."""
    prefixes = object_prefixes(contract_id).items()
    phases = [(f"objects:{n}", _objects_phase(storage, n, p, versions=False)) for n, p in prefixes]
    phases += [(f"versions:{n}", _objects_phase(storage, n, p, versions=True)) for n, p in prefixes]
    phases += [(f"camera:{c}", _camera_phase(c)) for c in store.camera_ids(contract_id)]
    # device events about a whole site live under the site's id (doti.ingest.notes)
    phases += [
        (f"site_notes:{s}", _items_phase("notes", partial(store.find_notes, s))) for s in store.site_ids(contract_id)
    ]
    phases += [(kind, _by_contract_phase(kind, contract_id)) for kind in store.SERVICE_KINDS]
    # webhook endpoints and their delivery logs (doti.webhooks), one partition each
    phases += [
        (f"webhook:{w}", _items_phase("webhooks", partial(store.find_webhook_items, w)))
        for w in store.webhook_ids(contract_id)
    ]
    phases += [(f"notice_reads:{login}", _notice_reads_phase(login)) for login in store.login_ids(contract_id)]
    phases += [(kind, _by_contract_phase(kind, contract_id)) for kind in store.REGISTRY_KINDS]
    phases.append(("notice_deliveries", _deliveries_phase(contract_id)))
    phases.append(_named("scheduled_work", lambda n: store.find_scheduled_work(contract_id, _WORK_KINDS, n)))
    return phases


def _named(count: str, find: Callable[[int], store.Items]) -> tuple[str, Phase]:
    return count, _items_phase(count, find)


def _objects_phase(storage: Storage, count: str, prefix: str, *, versions: bool) -> Phase:
    """Current objects by key (cheap to list), or afterwards every version and delete marker left under the prefix
    (a versioned bucket keeps noncurrent versions, and deleting by key there only adds a marker)."""
    listing = store.object_versions if versions else store.current_objects

    def find(limit: int) -> _Batch:
        limit = min(limit, store.S3_DELETE_BATCH)
        found = listing(storage.s3, storage.bucket, prefix, limit)
        return _Batch(len(found) < limit, objects=_Objects(count, prefix, tuple(found)))

    return find


def _camera_phase(camera_id: str) -> Phase:
    def find(limit: int) -> _Batch:
        frames, claim_ids = store.find_frame_items(camera_id, limit)
        items = [
            ("frame_items", frames),
            ("notes", store.find_notes(camera_id, limit)),
            ("timeline_slots", store.find_timeline_slots(camera_id, limit)),
        ]
        last = all(len(found) < limit for _, found in items)
        return _Batch(last, items=tuple(items), claims=tuple(claim_ids))

    return find


def _items_phase(count: str, find: Callable[[int], store.Items]) -> Phase:
    def step(limit: int) -> _Batch:
        items = find(limit)
        return _Batch(len(items) < limit, items=((count, items),))

    return step


def _by_contract_phase(kind: str, contract_id: str) -> Phase:
    return _items_phase(kind, lambda limit: store.find_by_contract(kind, contract_id, limit))


def _notice_reads_phase(login_id: str) -> Phase:
    return _items_phase("notice_reads", lambda limit: store.find_notice_reads(login_id, limit))


def _deliveries_phase(contract_id: str) -> Phase:
    def find(limit: int) -> _Batch:
        notice_ids = store.find_notice_deliveries(contract_id, limit)
        return _Batch(len(notice_ids) < limit, deliveries=tuple(notice_ids))

    return find


def _certificate(contract_id: str, tally: store.Tally, *, actor: str, now: datetime) -> dict[str, Any]:
    """Write the certificate on the audit chain, unless a run that stopped before recording it wrote it; record it."""
    certificate = _written_certificate(contract_id)
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
    store.record_certificate(contract_id, certificate)
    return certificate


def _written_certificate(contract_id: str) -> dict[str, Any] | None:
    """The certificate entry among the newest of the chain, if a run wrote it but stopped before recording it (a
    contract is purged once: any certificate on its chain is this purge's)."""
    newest, _ = audit.entries(contract_id, limit=_CERTIFICATE_SEARCH)
    for entry in newest:
        if entry.action == CERTIFICATE_ACTION:
            return {**entry.details, "audit_seq": entry.seq, "audit_hash": entry.hash}
    return None


def _receipt(
    contract_id: str, contact_email: str, certificate: dict[str, Any], tally: store.Tally, mailer: Mailer, now: datetime
) -> str:
    """Send the receipt at most once; returns how it went (recorded in the tally)."""
    if not contact_email:
        return _record_receipt(contract_id, RECEIPT_NO_ADDRESS, now)
    if tally.receipt_attempt is not None:
        # A run recorded that it was sending and stopped before recording how it went: the mail may have gone.
        return _record_receipt(contract_id, RECEIPT_UNCONFIRMED, now)
    attempt = uuid.uuid4().hex
    store.begin_receipt(contract_id, attempt)
    try:
        mailer.send(contact_email, receipt_subject(contract_id), receipt_body(contract_id, certificate), now)
    except MailUnconfirmed:
        return _record_receipt(contract_id, RECEIPT_UNCONFIRMED, now)
    except DotiError:
        store.abandon_receipt(contract_id, attempt)  # not sent: the next run sends it
        raise
    try:
        return _record_receipt(contract_id, RECEIPT_SENT, now)
    except DotiError:
        # Only this run knows the mail went: one more try before the next run would have to call it unconfirmed.
        return _record_receipt(contract_id, RECEIPT_SENT, now)


def _record_receipt(contract_id: str, status: str, now: datetime) -> str:
    return store.record_receipt(contract_id, status, now)


def _finish(contract_id: str) -> str | None:
    """After the transition to purged: drop the contact details, then the purge's work items and tally, last.
    Returns how sending the receipt went, if the tally was still there to say."""
    tally = store.find_tally(contract_id)
    if tally is not None and tally.certificate is not None:
        store.shrink_to_purged_record(contract_id, tally.certificate, tally.receipt)
    while store.delete_scheduled_work(contract_id, (schedule.PURGE,), 25):
        pass
    store.delete_tally(contract_id)
    return tally.receipt if tally is not None else None


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
