"""PynamoDB models. Only doti.store and the domain modules' data-access functions touch them.

Expiries are TTLAttribute and times UTCDateTimeAttribute, so items read as entities without conversions
(doti.store.mapping). Table names are bound at cold start from Settings (see `bind_models`); key schemas mirror
template.yaml, and a test checks that they agree.
"""

from __future__ import annotations

from pynamodb.attributes import (
    BinaryAttribute,
    BooleanAttribute,
    JSONAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
    UTCDateTimeAttribute,
    VersionAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model

UNBOUND = "unbound-call-doti.runtime.init"


class _ByContract(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_contract"
        projection = AllProjection()

    contract_id = UnicodeAttribute(hash_key=True)


class ContractModel(Model):
    class Meta:
        table_name = UNBOUND

    contract_id = UnicodeAttribute(hash_key=True)
    name = UnicodeAttribute()
    state = UnicodeAttribute()
    contact_email = UnicodeAttribute()
    security_contract_id = UnicodeAttribute(null=True)
    retention_days = NumberAttribute()
    signed_url_ttl = NumberAttribute()
    max_object_bytes = NumberAttribute()
    max_pixels = NumberAttribute()
    monthly_byte_quota = NumberAttribute()
    service_start = UTCDateTimeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    # lifecycle (SPEC §3): when a cancellation takes effect, when it ended, when its data goes, when it went
    cancel_effective_at = UTCDateTimeAttribute(null=True)
    terminated_at = UTCDateTimeAttribute(null=True)
    purge_due_at = UTCDateTimeAttribute(null=True)
    purged_at = UTCDateTimeAttribute(null=True)
    security_contract_ended_at = UTCDateTimeAttribute(null=True)
    # Art. 12-11: last use of the service (written at most hourly) and when the idle notice went out
    last_used_at = UTCDateTimeAttribute(null=True)
    idle_notified_at = UTCDateTimeAttribute(null=True)
    # when the termination job recorded closing an ended contract's access ("contract.access_revoked", once)
    access_revoked_at = UTCDateTimeAttribute(null=True)
    # Art. 2-4 (issue 15): who operates the cameras and whom people filmed contact, as the public notice names them
    operator_name = UnicodeAttribute(null=True)
    inquiry_contact = UnicodeAttribute(null=True)
    request_due_days = NumberAttribute(null=True)
    request_keep_days = NumberAttribute(null=True)
    version = VersionAttribute()


class _ByPublicId(GlobalSecondaryIndex):
    """A site by the public id of its notice page (/p/{public_id}); sites without one are not in it."""

    class Meta:
        index_name = "by_public_id"
        projection = KeysOnlyProjection()

    public_id = UnicodeAttribute(hash_key=True)


class SiteModel(Model):
    class Meta:
        table_name = UNBOUND

    site_id = UnicodeAttribute(hash_key=True)
    contract_id = UnicodeAttribute()
    name = UnicodeAttribute()
    address = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    # the site's public notice page /p/{public_id} (issue 15): random, reveals neither contract nor site id
    public_id = UnicodeAttribute(null=True)
    by_contract = _ByContract()
    by_public_id = _ByPublicId()


class CameraModel(Model):
    class Meta:
        table_name = UNBOUND

    camera_id = UnicodeAttribute(hash_key=True)
    contract_id = UnicodeAttribute()
    site_id = UnicodeAttribute()
    name = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    last_frame_id = UnicodeAttribute(null=True)
    # Art. 2-1..3: who consented to the camera (building manager, security-contract holder, camera owner)
    consents = JSONAttribute(null=True)
    # Art. 2-4 privacy mask (doti.ingest.masks), the activity threshold, and the signature of last_frame_id
    # (doti.ingest.activity)
    privacy_mask = JSONAttribute(null=True)
    mask_version = UnicodeAttribute(null=True)
    activity_threshold = NumberAttribute(null=True)
    last_signature = BinaryAttribute(null=True, legacy_encoding=False)
    # how often the camera is expected to send a frame (doti.viewing.cameras status); None: the default
    expected_interval_seconds = NumberAttribute(null=True)
    # Art. 2-4 purpose registry (doti.contracts.purposes): why the camera records, what it covers, whether it films
    # people; None until registered
    purposes = UnicodeSetAttribute(null=True)
    purpose_other_text = UnicodeAttribute(null=True)
    coverage = UnicodeAttribute(null=True)
    people_filmed = BooleanAttribute(null=True)
    purposes_updated_at = UTCDateTimeAttribute(null=True)
    # Camera health (doti.jobs.health, doti.ingest.camera_events): online | offline | paused, None until its first
    # frame; since when it is offline; the due time of its one live "camera_health" schedule item; the capture time
    # of the frame its last frame.activity event was about, and the debounce between two such events
    health = UnicodeAttribute(null=True)
    offline_since = UTCDateTimeAttribute(null=True)
    health_due_at = UTCDateTimeAttribute(null=True)
    activity_event_at = UTCDateTimeAttribute(null=True)
    activity_event_minutes = NumberAttribute(null=True)
    by_contract = _ByContract()


class DeviceModel(Model):
    class Meta:
        table_name = UNBOUND

    device_id = UnicodeAttribute(hash_key=True)
    contract_id = UnicodeAttribute()
    site_id = UnicodeAttribute()
    name = UnicodeAttribute()
    status = UnicodeAttribute()  # active | revoked
    secret_ciphertext = BinaryAttribute(legacy_encoding=False)
    created_at = UTCDateTimeAttribute()
    rotated_at = UTCDateTimeAttribute(null=True)
    revoked_at = UTCDateTimeAttribute(null=True)
    by_contract = _ByContract()


class UserModel(Model):
    """One item per person; the login id is the key, so it is unique across the whole system (Art. 7-11)."""

    class Meta:
        table_name = UNBOUND

    login_id = UnicodeAttribute(hash_key=True)
    user_id = UnicodeAttribute()
    contract_id = UnicodeAttribute()
    name = UnicodeAttribute()
    role = UnicodeAttribute()  # owner | manager | viewer
    site_ids = UnicodeSetAttribute(null=True)
    password_hash = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    locked_by_staff = BooleanAttribute(default=False)
    must_change_password = BooleanAttribute(default=False)
    sessions_valid_from = UTCDateTimeAttribute(null=True)  # sessions created earlier are revoked
    mail_alerts = UnicodeSetAttribute(null=True)  # event types the owner receives by e-mail (doti.webhooks.alerts)
    by_contract = _ByContract()


class _SessionsByLogin(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_login"
        projection = KeysOnlyProjection()

    login_id = UnicodeAttribute(hash_key=True)


class _SessionsByContract(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_contract"
        projection = KeysOnlyProjection()

    contract_id = UnicodeAttribute(hash_key=True)


class SessionModel(Model):
    class Meta:
        table_name = UNBOUND

    token_hash = UnicodeAttribute(hash_key=True)
    login_id = UnicodeAttribute()
    user_id = UnicodeAttribute()
    contract_id = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    expires_at = TTLAttribute()  # the table's TTL attribute (epoch seconds stored, a UTC datetime read)
    by_login = _SessionsByLogin()
    by_contract = _SessionsByContract()


class LoginThrottleModel(Model):
    """The login attempts on one login id, real or not: the same item, read and written the same way on both, so the
    lockout (423) does not tell which ids exist. Kept in the sessions table under "login:" + SHA-256 of the id (never
    a token hash, which has no prefix), and only until its window ends: people do type passwords into the login id
    field."""

    class Meta:
        table_name = UNBOUND

    throttle_key = UnicodeAttribute(hash_key=True, attr_name="token_hash")
    failed_logins = NumberAttribute(default=0)  # attempts counted in the window, each before its password is verified
    window_ends_at = UTCDateTimeAttribute(null=True)  # the counted attempts lapse then (and a lock, if they locked)
    expires_at = TTLAttribute()  # the sessions table's TTL removes the record when it is moot


class _InvitationsByContract(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_contract"
        projection = KeysOnlyProjection()

    contract_id = UnicodeAttribute(hash_key=True)


class InvitationModel(Model):
    """An owner's pending invitation (doti.accounts.invitations), kept in the sessions table under "invitation:" +
    SHA-256 of its token, beside the login attempts: like a session, it is a hashed bearer token with a TTL, listed per
    contract, and it goes when the contract's sessions go (termination, purge). Session keys have no prefix and the
    login attempts' is another, so no other item can meet an invitation's key. It has no login_id attribute, so the
    sessions' by_login index never lists it."""

    class Meta:
        table_name = UNBOUND

    invitation_key = UnicodeAttribute(hash_key=True, attr_name="token_hash")
    invitation_id = UnicodeAttribute()
    contract_id = UnicodeAttribute()
    name = UnicodeAttribute()  # of the person invited, as the owner wrote it
    role = UnicodeAttribute()
    site_ids = UnicodeSetAttribute(null=True)
    created_by = UnicodeAttribute()  # user id of the inviting owner
    created_at = UTCDateTimeAttribute()
    taken_answers = NumberAttribute(default=0)  # "login id not available" answers given on its page so far
    expires_at = TTLAttribute()  # the table's TTL attribute (epoch seconds stored, a UTC datetime read)
    by_contract = _InvitationsByContract()


class StaffKeyModel(Model):
    class Meta:
        table_name = UNBOUND

    key_hash = UnicodeAttribute(hash_key=True)
    staff_id = UnicodeAttribute()
    name = UnicodeAttribute()
    role = UnicodeAttribute()  # operator | admin
    created_at = UTCDateTimeAttribute()
    revoked_at = UTCDateTimeAttribute(null=True)


class FrameModel(Model):
    """The frame index: one key range per camera, sorted by capture time through the frame id."""

    class Meta:
        table_name = UNBOUND

    camera_id = UnicodeAttribute(hash_key=True)
    frame_id = UnicodeAttribute(range_key=True)
    contract_id = UnicodeAttribute()
    site_id = UnicodeAttribute()
    device_id = UnicodeAttribute()
    device_frame_id = UnicodeAttribute()
    captured_at = UTCDateTimeAttribute()
    received_at = UTCDateTimeAttribute()
    content_type = UnicodeAttribute()
    size = NumberAttribute()
    width = NumberAttribute()
    height = NumberAttribute()
    sha256 = UnicodeAttribute()
    object_key = UnicodeAttribute()
    thumb_key = UnicodeAttribute(null=True)  # absent: the thumbnail is rendered when viewed (doti.viewing.renders)
    thumb_size = NumberAttribute()
    thumb_width = NumberAttribute()
    thumb_height = NumberAttribute()
    retention_class = UnicodeAttribute()
    expires_at = TTLAttribute()  # the table's TTL attribute (epoch seconds stored, a UTC datetime read)
    activity_score = NumberAttribute(null=True)
    mask_version = UnicodeAttribute(null=True)
    duration_ms = NumberAttribute(null=True)  # clips only
    frame_count = NumberAttribute(null=True)  # clips only
    claim_token = UnicodeAttribute(null=True)  # the request that indexed it (doti.store.indexing)


class TimelineSlotModel(Model):
    """A camera's frames in one 5-minute UTC slot, counted at ingest (doti.store.timeline): the day timeline reads
    at most 300 of these instead of every index item of the day."""

    class Meta:
        table_name = UNBOUND

    camera_id = UnicodeAttribute(hash_key=True)
    slot = UnicodeAttribute(range_key=True)  # the slot's UTC start, "2026-12-03T01:15:00Z"
    frames = NumberAttribute(default=0)  # how many of the camera's frames the slot holds
    max_activity = NumberAttribute(null=True)  # the highest activity score among the slot's frames
    first_frame_id = UnicodeAttribute(null=True)  # the smallest (earliest) frame id of the slot
    expires_at = TTLAttribute()  # goes with the slot's frames (an upper bound of their expiries)


class AuditEntryModel(Model):
    """One audit entry; a contract's entries form a hash chain in `seq` order ("_system" for entries of no contract)."""

    class Meta:
        table_name = UNBOUND

    contract_id = UnicodeAttribute(hash_key=True)
    seq = NumberAttribute(range_key=True)
    at = UTCDateTimeAttribute()
    actor = UnicodeAttribute()  # "staff:<id>", "user:<id>", "device:<id>", "job:<name>", "share:<id>"
    action = UnicodeAttribute()
    subject = UnicodeAttribute(null=True)
    details = JSONAttribute(null=True)
    customer_visible = BooleanAttribute(default=True)
    prev_hash = UnicodeAttribute()
    hash = UnicodeAttribute()


class AuditHeadModel(Model):
    """The head of a contract's chain (seq 0 in the same partition): the last seq and hash, written in the same
    transaction as each entry, so a chain cut at its newest end no longer verifies."""

    class Meta:
        table_name = UNBOUND

    contract_id = UnicodeAttribute(hash_key=True)
    seq = NumberAttribute(range_key=True, default=0)
    head_seq = NumberAttribute()
    head_hash = UnicodeAttribute()


class NoticeModel(Model):
    class Meta:
        table_name = UNBOUND

    audience = UnicodeAttribute(hash_key=True)  # "all" or a contract id
    notice_id = UnicodeAttribute(range_key=True)  # time-sorted
    kind = UnicodeAttribute()
    title = UnicodeAttribute()
    body = UnicodeAttribute()
    published_at = UTCDateTimeAttribute()
    effective_at = UTCDateTimeAttribute(null=True)
    published_by = UnicodeAttribute()
    # Art. 5-3: when each channel counts as delivered, per contract for e-mail ({contract_id: iso time})
    site_delivered_at = UTCDateTimeAttribute()
    email_delivered = JSONAttribute(null=True)


class NoticeReadModel(Model):
    class Meta:
        table_name = UNBOUND

    login_id = UnicodeAttribute(hash_key=True)
    notice_id = UnicodeAttribute(range_key=True)
    read_at = UTCDateTimeAttribute()


class SuspensionModel(Model):
    """A planned suspension window (Art. 8-2), applied and lifted by the suspension job."""

    class Meta:
        table_name = UNBOUND

    contract_id = UnicodeAttribute(hash_key=True)
    suspension_id = UnicodeAttribute(range_key=True)
    starts_at = UTCDateTimeAttribute()
    ends_at = UTCDateTimeAttribute()
    ground = UnicodeAttribute()
    reason = UnicodeAttribute()
    status = UnicodeAttribute()  # scheduled | applied | lifted | cancelled
    created_by = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()


class ScheduledWorkModel(Model):
    """Work due at a time, keyed so a job queries only what is due: due_key = "<iso time>#<contract>#<ref>"."""

    class Meta:
        table_name = UNBOUND

    kind = UnicodeAttribute(hash_key=True)
    due_key = UnicodeAttribute(range_key=True)
    contract_id = UnicodeAttribute()
    ref = UnicodeAttribute(null=True)
    due_at = UTCDateTimeAttribute()
    # Retention cursors only (doti.jobs.retention): the frame-id position below which deletions are in the receipts.
    counted_to = UnicodeAttribute(null=True)
    # Work done at most once (a notice's e-mail): who took it on; a later taker finds the work may have been done.
    claimed_by = UnicodeAttribute(null=True)


class DisclosureModel(Model):
    class Meta:
        table_name = UNBOUND

    disclosure_id = UnicodeAttribute(hash_key=True)
    contract_id = UnicodeAttribute()
    basis = UnicodeAttribute()
    recipient = UnicodeAttribute()
    scope = JSONAttribute()
    reason = UnicodeAttribute()
    package_key = UnicodeAttribute(null=True)
    created_by = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    by_contract = _ByContract()


class FrameClaimModel(Model):
    """A device's claim on one of its frame ids (idempotency): the first request to write it owns the frame; retries
    with the same body get the first result, a different body is a Conflict. Expires with the frame's retention."""

    class Meta:
        table_name = UNBOUND

    id = UnicodeAttribute(hash_key=True)  # "<device_id>#<device frame id>"
    status = UnicodeAttribute()  # in_progress (stored once its index item exists) | completed
    body_sha256 = UnicodeAttribute()
    camera_id = UnicodeAttribute()
    frame_id = UnicodeAttribute(null=True)
    captured_at = UTCDateTimeAttribute(null=True)
    claimed_at = UTCDateTimeAttribute()
    token = UnicodeAttribute(null=True)  # the request holding it, so a request knows its own claim
    expires_at = TTLAttribute()  # the table's TTL attribute (epoch seconds stored, a UTC datetime read)


class UsageModel(Model):
    """Bytes stored per contract and calendar month (UTC), counted with atomic ADDs only for what was stored."""

    class Meta:
        table_name = UNBOUND

    contract_id = UnicodeAttribute(hash_key=True)
    period = UnicodeAttribute(range_key=True)  # "2026-11"
    bytes_stored = NumberAttribute(default=0)
    objects_stored = NumberAttribute(default=0)


class DeletionReceiptModel(Model):
    """What retention and takedowns deleted for a contract on one UTC day (customers read it at /v1/deletions)."""

    class Meta:
        table_name = UNBOUND

    contract_id = UnicodeAttribute(hash_key=True)
    day = UnicodeAttribute(range_key=True)  # "2026-11-25"
    frames = NumberAttribute(default=0)
    notes = NumberAttribute(default=0)
    bytes = NumberAttribute(default=0)
    # The same counts per source, added in the same UpdateItem as the totals above. A day stored before they existed
    # has none of them (and a day begun before has totals they do not add up to): its split is unknown.
    retention_frames = NumberAttribute(null=True)
    retention_notes = NumberAttribute(null=True)
    retention_bytes = NumberAttribute(null=True)
    takedown_frames = NumberAttribute(null=True)
    takedown_notes = NumberAttribute(null=True)
    takedown_bytes = NumberAttribute(null=True)


class NoteModel(Model):
    """Text data: one key range per camera, sorted by the time the text is about through the time-sorted note id.

    The hash key holds the camera id, or for a device event about the whole site the site id (ids never collide:
    `cam_` and `sit_` prefixes), so a camera's notes and its site's events are two key ranges, and purge and
    retention reach both by key.
    """

    class Meta:
        table_name = UNBOUND

    partition = UnicodeAttribute(hash_key=True, attr_name="camera_id")
    note_id = UnicodeAttribute(range_key=True)
    kind = UnicodeAttribute()  # event | note
    contract_id = UnicodeAttribute()
    site_id = UnicodeAttribute()
    at = UTCDateTimeAttribute()
    text = UnicodeAttribute()
    author_type = UnicodeAttribute()  # device | user
    author_id = UnicodeAttribute()
    author_name = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    event_id = UnicodeAttribute(null=True)
    expires_at = TTLAttribute()  # the table's TTL attribute (epoch seconds stored, a UTC datetime read)


class ShareModel(Model):
    """A share link (SPEC §6): keyed by the SHA-256 of its token, which is never stored; listed per contract."""

    class Meta:
        table_name = UNBOUND

    token_hash = UnicodeAttribute(hash_key=True)
    share_id = UnicodeAttribute()
    contract_id = UnicodeAttribute()
    site_id = UnicodeAttribute()
    camera_id = UnicodeAttribute()
    frame_id = UnicodeAttribute(null=True)  # a one-frame share; otherwise the window below
    window_start = UTCDateTimeAttribute(null=True)
    window_end = UTCDateTimeAttribute(null=True)
    purpose = UnicodeAttribute()  # a code (doti.viewing.share_purposes); free text on links made before the codes
    purpose_note = UnicodeAttribute(null=True)
    one_time = BooleanAttribute(default=False)
    created_by = UnicodeAttribute()  # user id
    created_at = UTCDateTimeAttribute()
    consumed_at = UTCDateTimeAttribute(null=True)  # a one-time share's view
    revoked_at = UTCDateTimeAttribute(null=True)
    revoked_by = UnicodeAttribute(null=True)
    expires_at = TTLAttribute()  # the table's TTL attribute (epoch seconds stored, a UTC datetime read)
    by_contract = _ByContract()


class _ExportsByContract(GlobalSecondaryIndex):
    """A contract's exports by the time they were asked for (GET /v1/exports; the purge)."""

    class Meta:
        index_name = "by_contract"
        projection = AllProjection()

    contract_id = UnicodeAttribute(hash_key=True)
    created_at = UTCDateTimeAttribute(range_key=True)


class ExportModel(Model):
    """A backup export (Art. 10-4): a ZIP of one camera's frames in a window, built by the exporter function."""

    class Meta:
        table_name = UNBOUND

    export_id = UnicodeAttribute(hash_key=True)
    contract_id = UnicodeAttribute()
    site_id = UnicodeAttribute()
    camera_id = UnicodeAttribute()
    window_start = UTCDateTimeAttribute()
    window_end = UTCDateTimeAttribute()
    status = UnicodeAttribute()  # queued | building | ready | failed
    requested_by = UnicodeAttribute()  # user id
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    object_key = UnicodeAttribute(null=True)
    size = NumberAttribute(null=True)
    frames = NumberAttribute(null=True)
    sha256 = UnicodeAttribute(null=True)
    error_code = UnicodeAttribute(null=True)
    error_message = UnicodeAttribute(null=True)
    claim_token = UnicodeAttribute(null=True)  # the run building it (status building), so it knows its own claim
    expires_at = TTLAttribute()  # the table's TTL attribute (epoch seconds stored, a UTC datetime read)
    by_contract = _ExportsByContract()


class _SubjectRequestsByContract(GlobalSecondaryIndex):
    """A contract's requests from people filmed, newest first (GET /v1/requests; the purge)."""

    class Meta:
        index_name = "by_contract"
        projection = AllProjection()

    contract_id = UnicodeAttribute(hash_key=True)
    created_at = UTCDateTimeAttribute(range_key=True)


class SubjectRequestModel(Model):
    """A request from a person filmed (doti.subjects.requests), kept until expires_at (the contract's keep period)."""

    class Meta:
        table_name = UNBOUND

    request_id = UnicodeAttribute(hash_key=True)
    contract_id = UnicodeAttribute()
    site_id = UnicodeAttribute()
    camera_id = UnicodeAttribute(null=True)
    kind = UnicodeAttribute()
    window_start = UTCDateTimeAttribute(null=True)
    window_end = UTCDateTimeAttribute(null=True)
    text = UnicodeAttribute()
    contact_ciphertext = BinaryAttribute(legacy_encoding=False)  # KMS, encryption context = the request id
    secret_hash = UnicodeAttribute()  # SHA-256 of the status link's secret
    status = UnicodeAttribute()  # open | deleting | answered
    answers = JSONAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    due_at = UTCDateTimeAttribute()
    overdue_notified_at = UTCDateTimeAttribute(null=True)
    frames_deleted = NumberAttribute(null=True)
    revision = NumberAttribute(default=0)  # +1 on every change: each change is conditional on the one it read
    expires_at = TTLAttribute()  # the table's TTL attribute (epoch seconds stored, a UTC datetime read)
    by_contract = _SubjectRequestsByContract()


class RateCounterModel(Model):
    """Submissions counted in a fixed window (the public request form's per-ip and per-site limits), kept in the
    sessions table under "rate:" + a digest, only until the window ends."""

    class Meta:
        table_name = UNBOUND

    counter_key = UnicodeAttribute(hash_key=True, attr_name="token_hash")
    count = NumberAttribute(default=0)
    expires_at = TTLAttribute()


class AnsweredRequestModel(Model):
    """The record that last answered a request (an export, a disclosure), by the request's identity, so that whoever
    asks again after an error or no answer gets that record back rather than a second one (doti.store.requests)."""

    class Meta:
        table_name = UNBOUND

    id = UnicodeAttribute(hash_key=True)  # "<kind>#<SHA-256 of what makes two requests the same request>"
    nonce = UnicodeAttribute()  # random; the record's id derives from it and the key (no id of the contract here)
    expires_at = TTLAttribute()  # the table's TTL attribute (epoch seconds stored, a UTC datetime read)


class RemaskJobModel(Model):
    """A re-mask of a camera's stored frames (doti.jobs.remask): the mask it applies, its progress and its lease."""

    class Meta:
        table_name = UNBOUND

    job_id = UnicodeAttribute(hash_key=True)
    contract_id = UnicodeAttribute()
    camera_id = UnicodeAttribute()
    mask_version = UnicodeAttribute()
    polygons = JSONAttribute()  # the mask as it was when the job started
    upper_id = UnicodeAttribute()  # frames with ids from here on were stored under the mask already
    status = UnicodeAttribute()  # queued | running | completed | superseded
    cursor = UnicodeAttribute(null=True)  # the last frame id handled, in frame-id order
    frames_masked = NumberAttribute(default=0)
    frames_skipped = NumberAttribute(default=0)
    frames_failed = NumberAttribute(default=0)
    failed_frame_ids = JSONAttribute(null=True)
    slices = NumberAttribute(default=0)  # messages that did work
    lease_token = UnicodeAttribute(null=True)  # the slice working on the job, until lease_until
    lease_until = UTCDateTimeAttribute(null=True)
    reason = UnicodeAttribute()
    created_by = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    finished_at = UTCDateTimeAttribute(null=True)
    expires_at = TTLAttribute()  # the table's TTL attribute (epoch seconds stored, a UTC datetime read)


# model -> the Settings field that names its table
class _WebhooksByContract(GlobalSecondaryIndex):
    """A contract's endpoints (the fan-out, the listing, the purge); attempts carry no contract_id, so never here."""

    class Meta:
        index_name = "by_contract"
        projection = AllProjection()

    contract_id = UnicodeAttribute(hash_key=True)
    webhook_id = UnicodeAttribute(range_key=True)


ENDPOINT_SORT_KEY = "endpoint"


class WebhookModel(Model):
    """A webhook endpoint: the item `sort_key` = "endpoint" of its partition (doti.store.webhooks)."""

    class Meta:
        table_name = UNBOUND

    webhook_id = UnicodeAttribute(hash_key=True)
    sort_key = UnicodeAttribute(range_key=True, default=ENDPOINT_SORT_KEY)
    contract_id = UnicodeAttribute()
    url = UnicodeAttribute()
    events = UnicodeSetAttribute()
    include_image_links = BooleanAttribute()
    status = UnicodeAttribute()
    secret_ciphertext = BinaryAttribute(legacy_encoding=False)
    created_at = UTCDateTimeAttribute()
    created_by = UnicodeAttribute()
    updated_at = UTCDateTimeAttribute()
    previous_secret_ciphertext = BinaryAttribute(null=True, legacy_encoding=False)
    previous_secret_until = UTCDateTimeAttribute(null=True)
    consecutive_failures = NumberAttribute(default=0)
    failing_since = UTCDateTimeAttribute(null=True)
    last_success_at = UTCDateTimeAttribute(null=True)
    disabled_at = UTCDateTimeAttribute(null=True)
    disabled_reason = UnicodeAttribute(null=True)
    by_contract = _WebhooksByContract()


class WebhookAttemptModel(Model):
    """One delivery attempt, in its endpoint's partition under "attempt#<time>#<event>#<n>" (newest last)."""

    class Meta:
        table_name = UNBOUND

    webhook_id = UnicodeAttribute(hash_key=True)
    sort_key = UnicodeAttribute(range_key=True)
    attempted_at = UTCDateTimeAttribute()
    event_id = UnicodeAttribute()
    event_type = UnicodeAttribute()
    attempt = NumberAttribute()
    ok = BooleanAttribute()
    latency_ms = NumberAttribute()
    status = NumberAttribute(null=True)
    error = UnicodeAttribute(null=True)
    expires_at = TTLAttribute()


MODEL_TABLES: dict[type[Model], str] = {
    RemaskJobModel: "remask_jobs_table",
    ContractModel: "contracts_table",
    SiteModel: "sites_table",
    CameraModel: "cameras_table",
    DeviceModel: "devices_table",
    UserModel: "users_table",
    SessionModel: "sessions_table",
    LoginThrottleModel: "sessions_table",
    InvitationModel: "sessions_table",
    StaffKeyModel: "staff_keys_table",
    FrameModel: "frames_table",
    TimelineSlotModel: "timeline_table",
    AuditEntryModel: "audit_table",
    AuditHeadModel: "audit_table",
    NoticeModel: "notices_table",
    NoticeReadModel: "notice_reads_table",
    SuspensionModel: "suspensions_table",
    ScheduledWorkModel: "schedule_table",
    DisclosureModel: "disclosures_table",
    FrameClaimModel: "idempotency_table",
    AnsweredRequestModel: "idempotency_table",
    UsageModel: "usage_table",
    DeletionReceiptModel: "deletion_receipts_table",
    NoteModel: "notes_table",
    ShareModel: "shares_table",
    ExportModel: "exports_table",
    SubjectRequestModel: "subject_requests_table",
    RateCounterModel: "sessions_table",
    WebhookModel: "webhooks_table",
    WebhookAttemptModel: "webhooks_table",
}
