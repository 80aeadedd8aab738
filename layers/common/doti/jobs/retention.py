"""The retention job (SPEC §5): delete what is past its contract's retention, camera by camera, and receipt it.

Each camera has a cursor (a frame-id position): everything below it is reconciled. A run takes the range from the
cursor to the contract's cutoff (now - the contract's *current* retention_days, so a shortened retention applies on
the next run) and walks it one UTC day at a time, in chunks. For each chunk it reads three key ranges that hold
only expired data: the camera's index items (a key-range query), and the day's `frames/` and `thumbs/` prefixes
listed from the chunk's first frame id on (keys under a day prefix sort by frame id). Then:

- what the chunk deletes is counted first (see _count_first), then index items are deleted (a customer never sees
  a frame whose image is gone), then their objects;
- an item whose object is not listed (an object removed out of band, or by its lifecycle rule) is deleted all the
  same and counted (`items_without_objects`): the check costs nothing extra, as the listing is made anyway;
- an object with no index item (an orphan left by a crash between the object write and the index write, or an item
  removed by TTL) is deleted when it is older than the grace period; a younger one could be an upload in flight, so
  the cursor stops before it and a later run takes it;
- items whose `retention_class` (the lifecycle tag their objects were written with) differs from the contract's
  current class are counted (`tag_mismatched`), not re-tagged: the job deletes them on time anyway, and re-tagging
  would cost a PutObjectTagging per surviving object, i.e. grow with what is stored.

Notes (text data, doti.ingest.notes) go by the same cutoff: each camera's and each site's key range of notes below it is
deleted in batches and counted in the receipt's `notes`, first, against the partition's own watermark (see
_expire_notes).

The cost of a run follows what expires: data younger than the cutoff is never queried or listed. Stored-but-young
data only costs nothing; an empty expired day costs three calls. Deletions are added to the contract's receipt of
the run's UTC day (atomic ADDs), each frame and note once. The job is idempotent (what is deleted is not listed
again, what is counted is not counted again) and resumable (it stops before the Lambda timeout or when its listing
budget is spent, saving each camera's cursor).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from doti import ids
from doti.contracts import contract_states, retention_policy
from doti.entities import Camera, Contract
from doti.store import frames as frames_store
from doti.store import keys, registry
from doti.store import notes as notes_store
from doti.store import retention as store
from doti.store.objects import Storage
from doti.viewing import deletions

BATCH = 500
RESERVE_MS = 15_000  # stop this long before the Lambda timeout; the next run continues
GRACE = timedelta(hours=1)  # an object without an index item younger than this may be an upload in flight
LIST_BUDGET = 50_000  # listed keys per run; the next run continues from the cursors
EMPTY_CHUNKS_PER_CHECK = 10  # empty days walked between remaining-time checks


@dataclass
class Reconciliation:
    """What the job found besides plain expired frames (kept apart from the report's stable fields)."""

    orphans_deleted: int = 0  # objects without an index item, deleted
    orphans_held: int = 0  # younger than the grace period: left for a later run
    items_without_objects: int = 0
    tag_mismatched: int = 0
    keys_listed: int = 0
    items_examined: int = 0


@dataclass
class RetentionReport:
    contracts: int = 0
    cameras: int = 0
    frames_deleted: int = 0
    bytes_freed: int = 0
    objects_failed: int = 0
    stopped_early: bool = False
    notes_deleted: int = 0

    def __post_init__(self) -> None:
        self.reconciled = Reconciliation()


@dataclass
class _Run:
    storage: Storage
    now: datetime
    remaining_ms: Callable[[], float]
    batch: int
    reserve_ms: float
    grace: timedelta
    budget: int
    report: RetentionReport = field(default_factory=RetentionReport)

    def out_of_time(self) -> bool:
        if self.remaining_ms() < self.reserve_ms or self.budget <= 0:
            self.report.stopped_early = True
            return True
        return False


def run_retention(
    *,
    storage: Storage,
    now: datetime,
    remaining_ms: Callable[[], float],
    batch: int = BATCH,
    reserve_ms: float = RESERVE_MS,
    grace: timedelta = GRACE,
    list_budget: int = LIST_BUDGET,
) -> RetentionReport:
    run = _Run(storage, now, remaining_ms, batch, reserve_ms, grace, list_budget)
    for contract in registry.iter_contracts():
        if contract_states.rules_of(contract).purged:
            continue
        run.report.contracts += 1
        cutoff = retention_policy.cutoff_position(contract, now)
        for camera in registry.cameras_of_contract(contract.contract_id):
            run.report.cameras += 1
            if not _expire_notes(run, contract, camera.camera_id, cutoff):
                return run.report
            if not _reconcile_camera(run, contract, camera, cutoff):
                return run.report
        # a site's own key range of notes: device events that name no camera (doti.ingest.notes)
        for site in registry.sites_of_contract(contract.contract_id):
            if not _expire_notes(run, contract, site.site_id, cutoff):
                return run.report
    return run.report


def _expire_notes(run: _Run, contract: Contract, partition: str, cutoff: str) -> bool:
    """Delete a camera's (or site's) notes below the cutoff, batch by batch; False when the run must stop.

    Notes have no objects, and a deleted note is not found again, so they need no position: every note below the
    cutoff has expired, and a run reads only those (one key-range query when there are none). They are counted as
    frames are (see _count_first): the batch's notes at or above the partition's watermark are added to the receipt
    in one transaction with the watermark moving past the batch's last note, then the batch is deleted. A rerun
    after a failed write deletes what is left below the watermark uncounted, and of two overlapping runs only one
    counts. A note cannot arrive below the watermark later (a lengthened retention aside, as for frames): it stays
    at or below the cutoff, and notes older than the retention are refused. The watermark is read only when
    something has expired.
    """
    watermark: _Watermark | None = None
    while True:
        note_ids = notes_store.note_ids_below(partition, cutoff, run.batch)
        if not note_ids:
            return True
        if run.out_of_time():
            return False
        if watermark is None:
            counted_to = store.get_cursor(partition, store.NOTES_CURSOR_KIND).counted_to
            watermark = _Watermark(contract.contract_id, store.NOTES_CURSOR_KIND, partition, counted_to)
        fresh = watermark.fresh(note_ids)
        # note_ids[-1] + "0": the smallest id after the batch's last (fixed-width ids, "0" the smallest character)
        if fresh and not watermark.count(run.now, note_ids[-1] + "0", notes=len(fresh)):
            run.report.stopped_early = True
            return False  # another run is at work on this partition
        notes_store.delete_notes(partition, note_ids)
        run.report.notes_deleted += len(fresh)
        if len(note_ids) < run.batch:
            return True


@dataclass
class _Watermark:
    """A key range's counted_to (store.Cursor): what lies below it is in the receipts already."""

    contract_id: str
    kind: str  # store.CURSOR_KIND (a camera's frames) or store.NOTES_CURSOR_KIND (a camera's or site's notes)
    ref: str  # the camera, or the notes partition
    counted_to: str | None

    def fresh(self, ids: Iterable[str]) -> set[str]:
        """The ids not counted yet."""
        return {i for i in ids if self.counted_to is None or i >= self.counted_to}

    def count(self, now: datetime, upto: str, *, frames: int = 0, notes: int = 0, bytes_: int = 0) -> bool:
        """Add to the receipt of now's day and move the watermark to `upto`, in one transaction; False, with
        nothing written, when another run moved the watermark meanwhile."""
        counted = store.count_deletions(
            self.contract_id,
            self.kind,
            self.ref,
            deletions.day_of(now),
            frames=frames,
            notes=notes,
            bytes_=bytes_,
            counted_from=self.counted_to,
            counted_to=upto,
            now=now,
        )
        if counted:
            self.counted_to = upto
        return counted


@dataclass
class _CameraRange:
    contract: Contract
    camera: Camera
    watermark: _Watermark  # the camera's frames below it are in the receipts already


def _reconcile_camera(run: _Run, contract: Contract, camera: Camera, cutoff: str) -> bool:
    """Reconcile the camera's range from its cursor up to the cutoff; False when the run must stop."""
    cursor = store.get_cursor(camera.camera_id)
    saved = cursor.position
    position = saved or _first_position(contract, camera)
    watermark = _Watermark(contract.contract_id, store.CURSOR_KIND, camera.camera_id, cursor.counted_to)
    counting = _CameraRange(contract, camera, watermark)
    finished, empty_chunks = True, 0
    while position < cutoff:
        if empty_chunks >= EMPTY_CHUNKS_PER_CHECK and run.out_of_time():
            finished = False
            break
        day_start = retention_policy.day_of(position)
        upper = min(cutoff, ids.frame_id_floor(day_start + timedelta(days=1)))
        step = _reconcile_chunk(run, counting, day_start, position, upper)
        if step.overtaken:
            return False  # another run is at work on this camera; it saves the cursor
        position = step.position
        empty_chunks = empty_chunks + 1 if step.empty else 0
        if step.stopped:
            finished = False
            break
        if step.held:
            break
    if saved is None or position > saved:
        # not saved if another run counted further meanwhile: that run saves its own cursor
        store.put_cursor(camera.camera_id, contract.contract_id, position, run.now, watermark.counted_to)
    return finished


def _first_position(contract: Contract, camera: Camera) -> str:
    """Where a camera's reconciliation starts: nothing of it can be older than its registration less the retention
    (ingest refuses frames captured before now - retention), or than its oldest indexed frame.

    From then on the cursor never passes a frame that can still arrive: a frame accepted at time t was captured at
    or after t - retention, and the cursor stays at or below the cutoff of an earlier run. (Only a lengthened
    retention lets a frame arrive below it; its objects' lifecycle tag still removes them.)
    """
    start = retention_policy.capture_window(contract, camera.created_at).earliest
    oldest = store.oldest_frame_id(camera.camera_id)
    if oldest is not None:
        start = min(start, retention_policy.day_of(oldest))
    return ids.frame_id_floor(datetime(start.year, start.month, start.day, tzinfo=UTC))


@dataclass(frozen=True)
class _Step:
    position: str  # where the camera's next chunk starts
    held: bool = False  # something at `position` must wait for a later run
    stopped: bool = False  # out of time or budget before deleting anything of this chunk
    empty: bool = False  # the chunk's range held nothing
    overtaken: bool = False  # another run counted this chunk first: this run leaves the camera to it


def _reconcile_chunk(run: _Run, counting: _CameraRange, day: datetime, lower: str, upper: str) -> _Step:
    """Delete one chunk of [lower, upper), one UTC day at most."""
    contract, camera = counting.contract, counting.camera
    frame_prefix, thumb_prefix = _day_prefixes(contract.contract_id, camera.camera_id, day)
    s3, bucket, size = run.storage.s3, run.storage.bucket, run.batch
    items = store.indexed_frames(camera.camera_id, lower, upper, size)
    listed = [store.list_day(s3, bucket, prefix, lower, upper, size) for prefix in (frame_prefix, thumb_prefix)]
    # A source that filled its page may hold more: the chunk ends at the smallest last id among those.
    sources = [[i.frame_id for i in items], *[[o.frame_id for o in objects] for objects in listed]]
    full_ends = [source[-1] for source in sources if len(source) == size]
    end = min(full_ends) if full_ends else None
    objects = [o for source in listed for o in source if end is None or o.frame_id <= end]
    items = [i for i in items if end is None or i.frame_id <= end]
    following = end + "0" if end is not None else upper  # the smallest position after `end`
    if not items and not objects:
        return _Step(following, empty=True)
    # The time check comes where there is work: an empty day costs three reads, and such days are checked in tens.
    if run.out_of_time():
        return _Step(lower, stopped=True)
    run.budget -= sum(len(objects) for objects in listed)

    indexed = {i.frame_id for i in items}
    young = [o.frame_id for o in objects if o.frame_id not in indexed and o.last_modified > run.now - run.grace]
    held = bool(young)
    if young:
        following = min(young)
        run.report.reconciled.orphans_held += len(set(young))
        items = [i for i in items if i.frame_id < following]
        objects = [o for o in objects if o.frame_id < following]
        indexed = {i.frame_id for i in items}

    keys_present = {o.key for o in objects}
    current_class = retention_policy.contract_class(contract)
    found = run.report.reconciled
    found.keys_listed += sum(len(x) for x in listed)
    found.items_examined += len(items)
    found.items_without_objects += sum(1 for i in items if i.object_key not in keys_present)
    found.tag_mismatched += sum(1 for i in items if i.retention_class != current_class)
    orphans = {o.frame_id for o in objects} - indexed
    found.orphans_deleted += len(orphans)

    if not _count_first(run, counting, indexed | orphans, objects, following):
        run.report.stopped_early = True
        return _Step(lower, stopped=True, overtaken=True)
    if items:
        store.delete_items(camera.camera_id, sorted(indexed))
    # The items' own keys too: should an object ever sit outside its day prefix, the item still takes it along. A
    # frame whose thumbnail is rendered when viewed has no thumb_key, and nothing under thumbs/ to list.
    own = {key for i in items for key in (i.object_key, i.thumb_key) if key}
    doomed = sorted({o.key for o in objects} | own)
    failed = set(frames_store.delete_objects(s3, bucket, doomed)) if doomed else set()
    if failed:  # their items are gone: the next run finds them as orphans, from here on, and does not count them
        held = True
        following = min([following, *[key.rsplit("/", 1)[-1].split(".", 1)[0] for key in failed]])
    run.report.objects_failed += len(failed)
    return _Step(following, held=held)


def _count_first(
    run: _Run, counting: _CameraRange, frame_ids: set[str], objects: list[store.ListedObject], upto: str
) -> bool:
    """Add the chunk's frames (all of them below `upto`) to the receipt before deleting any; False if another run
    counted them meanwhile.

    Counted after the deletes, a count is lost when the receipt write fails (what is deleted is not found again),
    and a frame whose objects failed to delete is counted twice (now, and as an orphan next run). So the receipt ADD
    goes first, in one transaction with the camera's counted_to watermark moving to `upto`; frames below the
    watermark are deleted without being counted again. A rerun after any failure (the receipt write, the index
    batch write, an object S3 reported failed, a timeout) finds what is left of the chunk below the watermark and
    deletes it uncounted: each frame is counted once, with its listed bytes, just before its index item (or, with
    none, its objects) is deleted. The condition on the old watermark keeps two overlapping runs from both counting
    a chunk.
    """
    fresh = counting.watermark.fresh(frame_ids)
    if not fresh:
        return True
    freed = sum(o.size for o in objects if o.frame_id in fresh)
    counted = counting.watermark.count(run.now, upto, frames=len(fresh), bytes_=freed)
    if counted:
        run.report.frames_deleted += len(fresh)
        run.report.bytes_freed += freed
    return counted


def _day_prefixes(contract_id: str, camera_id: str, day: datetime) -> tuple[str, str]:
    """The day's prefixes under frames/ and thumbs/ (clips' posters, and stills stored before thumbnails were rendered
    when viewed), from the one module that lays out keys."""
    frame = keys.frame_key(contract_id, camera_id, day, ids.FRAME_ID_MIN, "image/jpeg")
    thumb = keys.thumb_key(contract_id, camera_id, day, ids.FRAME_ID_MIN)
    return frame.rsplit("/", 1)[0] + "/", thumb.rsplit("/", 1)[0] + "/"
