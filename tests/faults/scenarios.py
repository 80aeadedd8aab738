"""One scenario per operation of issue 11: its seed, the operation through the real public surface with the retries
the real system runs around it, and what it left behind (tests.faults.observe).

- seed: a fresh tenant (tests.support.make_world) and what the operation needs, with no fault armed;
- operate: API Gateway events into the function handlers, SQS events built from the messages in moto's queues,
  scheduled events into the jobs, each with its retry (tests.faults.harness); every AWS call made here is a fault
  point;
- observe: the tenant's visible results, usage, audit chain, e-mails and what each scenario certifies.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from botocore.exceptions import ClientError

from doti.auth.device import signed_headers
from doti.clock import format_rfc3339
from doti.contracts import lifecycle, registry
from doti.jobs import purge
from doti.settings import get_settings
from doti.store import models, timeline
from doti.store.aws import s3_client, sqs_client
from doti.store.models import (
    ContractModel,
    DeletionReceiptModel,
    DisclosureModel,
    ExportModel,
    NoteModel,
    NoticeModel,
    RemaskJobModel,
    ShareModel,
)
from doti.subjects.requests import JST
from tests.faults import observe
from tests.faults.harness import DEVICE_ATTEMPTS, DEVICE_BACKOFF_CAP, REGION, Answer, Stack
from tests.faults.inject import INJECTOR
from tests.faults.observe import AUDIT_ONCE, EXACTLY_ONE, NO_ORPHAN, RECEIPTS, Names, Observation
from tests.support import api_event, customer_event, make_world, sample_event
from tests.support import frame_event as signed_frame_event
from tests.support.batches import batch_event, batch_frame
from tests.support.images import jpeg

INGEST, VIEWER, ADMIN = "IngestFunction", "ViewerFunction", "AdminFunction"
RETENTION, TERMINATION, SUSPENSION = "RetentionFunction", "TerminationFunction", "SuspensionFunction"
HEALTH = "HealthFunction"
RERUNS = 2  # a job's next scheduled runs after the faulted one: one finishes its work, the second finds none


@dataclass
class Tenant:
    """A seeded world and the labels that make its ids run-independent."""

    world: Any  # tests.support.World
    stack: Stack
    labels: dict[str, str] = field(default_factory=dict)
    token: str | None = None  # the owner's session, when the scenario needs one
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def contract_id(self) -> str:
        return self.world.contract_id

    def names(self) -> Names:
        return Names(self.labels)


class Scenario:
    name = ""
    what = ""

    def seed(self, stack: Stack) -> Tenant:
        raise NotImplementedError

    def operate(self, tenant: Tenant) -> None:
        """The operation and the retries inside it (a device's, a person's, the queue's): its calls are the fault
        points."""
        raise NotImplementedError

    def recover(self, tenant: Tenant) -> None:
        """What the real system does next without being asked (a scheduled job's next runs); its calls are made
        with the plan still armed but are not fault points: one fault per run, in the operation."""

    def observe(self, tenant: Tenant) -> Observation:
        names = tenant.names()
        seen = Observation(
            usage=observe.usage(tenant.contract_id),
            audit=observe.audit_multiset(tenant.contract_id, names),
            mail=observe.mail(names),
        )
        self.look(tenant, seen)
        return seen

    def look(self, tenant: Tenant, seen: Observation) -> None:
        """The scenario's own results and problems."""
        raise NotImplementedError


# seeding helpers (run with no fault armed)


def new_tenant(stack: Stack, **plan: Any) -> Tenant:
    world = make_world(**plan)
    labels = {
        world.contract_id: "contract",
        world.site_id: "site",
        world.camera_id: "camera",
        world.device_id: "device",
    }
    return Tenant(world, stack, labels)


def frame_event(stack: Stack, tenant: Tenant, image: bytes, frame_id: str, captured_at: datetime) -> dict[str, Any]:
    return signed_frame_event(
        tenant.world, image, captured_at=captured_at, frame_id=frame_id, signed_at=stack.clock.now()
    )


def ingested(stack: Stack, tenant: Tenant, label: str, captured_at: datetime) -> dict[str, Any]:
    """A frame stored through the ingest handler; its id joins the tenant's labels."""
    answer = stack.api(INGEST, frame_event(stack, tenant, jpeg(320, 180, label=label), f"seed-{label}", captured_at))
    assert answer.status == 201, answer
    frame = answer.body
    tenant.labels[frame["frame_id"]] = label
    return frame


def device_event_request(stack: Stack, tenant: Tenant, payload: dict[str, Any]) -> dict[str, Any]:
    body = json.dumps(payload).encode()
    world = tenant.world
    auth = signed_headers(world.device_id, world.device_secret, "POST", "/v1/device/events", body, stack.clock.now())
    headers = {**auth, "Content-Type": "application/json"}
    return api_event("ingest/post_event.json", headers=headers, replace_headers=True, body=body.decode(), binary=False)


def logged_in(stack: Stack, tenant: Tenant) -> str:
    body = json.dumps({"login_id": tenant.world.login_id, "password": tenant.world.password})
    answer = stack.api(VIEWER, api_event("viewer/login.json", body=body))
    assert answer.status == 200, answer
    return answer.body["token"]


def customer_post(tenant: Tenant, sample: str, path: str, body: Any) -> dict[str, Any]:
    assert tenant.token is not None
    return customer_event(sample, tenant.token, path=path, resource=path, method="POST", body=json.dumps(body))


def staff_request(tenant: Tenant, path: str, body: Any) -> dict[str, Any]:
    """A staff POST as tests.support.admin_call builds it, with the tenant's admin key."""

    return api_event(
        "admin/create_contract.json",
        method="POST",
        path=path,
        resource=path,
        headers={"Content-Type": "application/json", "X-Api-Key": tenant.world.staff_key},
        replace_headers=True,
        body=json.dumps(body),
        query={},
    )


def scheduled_event(name: str) -> dict[str, Any]:
    return sample_event(name)


def _ok(answer: Answer) -> bool:
    return 200 <= answer.status < 300


def first_answer_is_no_self_conflict(seen: Observation, answers: list[Answer], what: str) -> None:
    """The device sends this request alone: a 409 on its first attempt is the request conflicting with itself
    (botocore resent an applied call). Later 409s are right while an earlier attempt's claim is held."""
    first = answers[0]
    if first.status == 409:
        message = (first.body or {}).get("error", {}).get("message")
        seen.problem(EXACTLY_ONE, f"the device's first and only request for {what} was answered 409: {message}")


# 1. ingest of a frame


class IngestFrame(Scenario):
    name = "ingest"
    what = "a device posts a frame (POST /v1/device/frames), resending it until it gets an answer"

    def seed(self, stack: Stack) -> Tenant:
        tenant = new_tenant(stack)
        tenant.data["captured_at"] = stack.clock.now() - timedelta(seconds=30)
        return tenant

    def operate(self, tenant: Tenant) -> None:
        stack = tenant.stack
        event = frame_event(stack, tenant, jpeg(640, 360, label="ingest"), "panel-0001", tenant.data["captured_at"])
        tenant.data["answers"] = stack.device(INGEST, event)

    def look(self, tenant: Tenant, seen: Observation) -> None:
        answers: list[Answer] = tenant.data["answers"]
        items = observe.frame_items(tenant.contract_id)
        seen.results["frames indexed"] = len(items)
        seen.results["device has its frame"] = _ok(answers[-1])
        first_answer_is_no_self_conflict(seen, answers, "this frame")
        if _ok(answers[-1]) and items and answers[-1].body["frame_id"] != items[0].frame_id:
            seen.problem(
                EXACTLY_ONE, f"the device was answered frame {answers[-1].body['frame_id']}, not the one stored"
            )
        observe.frame_orphans(tenant.contract_id, seen)


class IngestBatch(Scenario):
    name = "ingest_batch"
    what = (
        "a gateway posts three frames of a camera in one batch (POST /v1/device/frames/batch), sending again the "
        "frames not yet answered (a 5xx for the request or for the frame, or a 409 in progress) until each is"
    )

    def seed(self, stack: Stack) -> Tenant:
        tenant = new_tenant(stack)
        # within one timeline slot whatever the clock says, so every run makes the same calls
        tenant.data["captured_at"] = timeline.slot_start(stack.clock.now() - timedelta(minutes=6))
        return tenant

    def operate(self, tenant: Tenant) -> None:
        stack, at = tenant.stack, tenant.data["captured_at"]
        pending = [
            batch_frame(tenant.world, jpeg(640, 360, label=f"batch-{n}"), f"panel-b{n}", at + timedelta(seconds=10 * n))
            for n in range(3)
        ]
        answered: dict[str, dict[str, Any]] = {}
        first: list[dict[str, Any]] | None = None
        pause = timedelta(seconds=1)
        for attempt in range(1, DEVICE_ATTEMPTS + 1):
            answer = stack.api(INGEST, batch_event(tenant.world, pending, signed_at=stack.clock.now()))
            items = answer.body["items"] if answer.status == 200 else []
            if attempt == 1:
                first = items  # the request alone: a 409 in it is the request conflicting with itself
            for item in items:
                if not _batch_retry(item):
                    answered[item["frame_id"]] = item
            pending = [frame for frame in pending if frame["frame_id"] not in answered]
            if not pending or (answer.status != 200 and not answer.retryable):
                break
            stack.log.append(f"device attempt {attempt}: {answer.status}, {len(pending)} frames to send again")
            if attempt < DEVICE_ATTEMPTS:
                stack.clock.advance(pause)
                pause = min(pause * 2, DEVICE_BACKOFF_CAP)
        tenant.data["answered"], tenant.data["first"] = answered, first or []

    def look(self, tenant: Tenant, seen: Observation) -> None:
        answered: dict[str, dict[str, Any]] = tenant.data["answered"]
        items = observe.frame_items(tenant.contract_id)
        seen.results["frames indexed"] = len(items)
        seen.results["frames the device has"] = sorted(k for k, v in answered.items() if v["status"] in (200, 201))
        for item in tenant.data["first"]:
            if item["status"] == 409:
                seen.problem(EXACTLY_ONE, f"the first batch's {item['frame_id']} was answered 409: {item['error']}")
        stored = {item.device_frame_id: item.frame_id for item in items}
        for frame_id, item in answered.items():
            if item["status"] in (200, 201) and stored.get(frame_id) != item["frame"]["frame_id"]:
                seen.problem(EXACTLY_ONE, f"the device was answered another frame for {frame_id} than the one stored")
        observe.frame_orphans(tenant.contract_id, seen)
        observe.frame_digests(tenant.contract_id, seen)


def _batch_retry(item: dict[str, Any]) -> bool:
    """Whether a gateway sends this frame of a batch again: a failure, or another request still storing it."""
    error = item.get("error") or {}
    return item["status"] >= 500 or (item["status"] == 409 and error.get("details", {}).get("in_progress") is True)


# 2. a device event


class DeviceEvent(Scenario):
    name = "device_event"
    what = "a device posts event text (POST /v1/device/events), resending the same signed request until answered"

    def seed(self, stack: Stack) -> Tenant:
        return new_tenant(stack)

    def operate(self, tenant: Tenant) -> None:
        stack = tenant.stack
        at = format_rfc3339(stack.clock.now() - timedelta(minutes=1))
        payload = {"camera_id": tenant.world.camera_id, "occurred_at": at, "text": "Alarm: zone 3 opened"}
        tenant.data["answers"] = stack.device(INGEST, device_event_request(stack, tenant, payload))

    def look(self, tenant: Tenant, seen: Observation) -> None:
        answers: list[Answer] = tenant.data["answers"]
        notes = list(NoteModel.scan(NoteModel.contract_id == tenant.contract_id))
        seen.results["notes stored"] = len(notes)
        seen.results["device has its event"] = _ok(answers[-1])
        first_answer_is_no_self_conflict(seen, answers, "this event")
        if _ok(answers[-1]) and notes and answers[-1].body["note_id"] != notes[0].note_id:
            seen.problem(EXACTLY_ONE, "the device was answered another note than the one stored")


# 3. a large upload through the processor


class LargeUpload(Scenario):
    name = "upload"
    what = (
        "a device asks for an upload grant (POST /v1/device/uploads), uploads into incoming/, and the processor "
        "stores the frame from IncomingQueue (redelivered up to its maxReceiveCount)"
    )

    def seed(self, stack: Stack) -> Tenant:
        return new_tenant(stack)

    def operate(self, tenant: Tenant) -> None:
        stack = tenant.stack
        image = jpeg(1280, 720, label="upload")
        world = tenant.world
        request = {
            "camera_id": world.camera_id,
            "content_type": "image/jpeg",
            "size": len(image),
            "captured_at": format_rfc3339(stack.clock.now() - timedelta(seconds=5)),
            "frame_id": "upload-0001",
        }
        body = json.dumps(request)
        auth = signed_headers(
            world.device_id, world.device_secret, "POST", "/v1/device/uploads", body.encode(), stack.clock.now()
        )
        event = api_event(
            "ingest/post_upload.json",
            headers={**auth, "Content-Type": "application/json"},
            replace_headers=True,
            body=body,
            binary=False,
        )
        answers = stack.device(INGEST, event)
        tenant.data["answers"] = answers
        if answers[-1].status != 201:
            return
        fields = answers[-1].body["fields"]
        with INJECTOR.paused():  # the device's POST to S3, as S3 stores it (moto checks no POST policy)
            _put_as_posted(fields, image)
        stack.drain("IncomingQueue")

    def look(self, tenant: Tenant, seen: Observation) -> None:
        stack = tenant.stack
        seen.results["frames indexed"] = len(observe.frame_items(tenant.contract_id))
        seen.results["messages dead-lettered"] = len(stack.dead_letters("IncomingQueue"))
        observe.frame_orphans(tenant.contract_id, seen)
        observe.frame_digests(tenant.contract_id, seen)


def _put_as_posted(fields: dict[str, str], data: bytes) -> None:
    metadata = {k.removeprefix("x-amz-meta-"): v for k, v in fields.items() if k.startswith("x-amz-meta-")}
    s3_client(REGION).put_object(
        Bucket=get_settings().frames_bucket,
        Key=fields["key"],
        Body=data,
        ContentType=fields["Content-Type"],
        Metadata=metadata,
    )


# 4. an export


class Export(Scenario):
    name = "export"
    what = "a customer requests a backup export (POST /v1/exports); the exporter builds it from ExportQueue"

    def seed(self, stack: Stack) -> Tenant:
        tenant = new_tenant(stack)
        now = stack.clock.now()
        for label, minutes in (("f1", 10), ("f2", 5)):
            ingested(stack, tenant, label, now - timedelta(minutes=minutes))
        tenant.token = logged_in(stack, tenant)
        return tenant

    def operate(self, tenant: Tenant) -> None:
        stack = tenant.stack
        now = stack.clock.now()
        body = {"camera_id": tenant.world.camera_id, "from": format_rfc3339(now - timedelta(hours=1))}
        body["to"] = format_rfc3339(now)
        event = customer_post(tenant, "viewer/request_export.json", "/v1/exports", body)
        # A customer lists no exports (only the id answered leads to one): after an error they can only ask again.
        tenant.data["answer"] = stack.person(VIEWER, lambda: event, lambda: False)
        stack.drain("ExportQueue")

    def look(self, tenant: Tenant, seen: Observation) -> None:
        stack = tenant.stack
        exports = _exports(tenant)
        answer: Answer = tenant.data["answer"]
        given = answer.body["export_id"] if answer.status == 202 else None
        seen.results["the customer's export"] = [
            (e.status, int(e.frames or 0)) for e in exports if e.export_id == given
        ]
        seen.results["archives built"] = sum(1 for e in exports if e.status == "ready")
        seen.results["messages dead-lettered"] = len(stack.dead_letters("ExportQueue"))
        for export in exports:
            if export.status != "ready":
                continue
            stored = _object(export.object_key)
            if stored is None:
                seen.problem(NO_ORPHAN, f"ready export {export.export_id} has no archive at {export.object_key}")
            elif (len(stored), hashlib.sha256(stored).hexdigest()) != (int(export.size), export.sha256):
                seen.problem(RECEIPTS, f"export {export.export_id}: size and SHA-256 recorded differ from the ZIP")


def _exports(tenant: Tenant) -> list[Any]:
    return list(ExportModel.scan(ExportModel.contract_id == tenant.contract_id, consistent_read=True))


def _object(key: str | None) -> bytes | None:
    if not key:
        return None
    try:
        return s3_client(REGION).get_object(Bucket=get_settings().frames_bucket, Key=key)["Body"].read()
    except ClientError:
        return None


# 5. retention


class Retention(Scenario):
    name = "retention"
    what = "the hourly retention job deletes a 7-day contract's expired frames and note, two days on, and runs again"

    def seed(self, stack: Stack) -> Tenant:
        tenant = new_tenant(stack, retention_days=7)
        now = stack.clock.now()
        for label, age in (("old1", timedelta(days=6, hours=2)), ("old2", timedelta(days=6, hours=1))):
            ingested(stack, tenant, label, now - age)
        ingested(stack, tenant, "young", now - timedelta(hours=1))
        payload = {"occurred_at": format_rfc3339(now - timedelta(days=6)), "text": "Alarm: zone 1"}
        answer = stack.api(INGEST, device_event_request(stack, tenant, payload))
        assert answer.status == 201, answer
        expired = {"old1", "old2"}
        sizes = observe.objects(f"frames/{tenant.contract_id}/") | observe.objects(f"thumbs/{tenant.contract_id}/")
        labels = {frame_id: label for frame_id, label in tenant.labels.items() if label in expired}
        tenant.data["expired bytes"] = sum(size for key, size in sizes.items() if _frame_of(key) in labels)
        tenant.data["expired ids"] = set(labels)
        return tenant

    def operate(self, tenant: Tenant) -> None:
        stack = tenant.stack
        stack.clock.advance(timedelta(days=2))
        stack.job(RETENTION, scheduled_event("retention/scheduled.json"))

    def recover(self, tenant: Tenant) -> None:
        stack = tenant.stack
        for _ in range(RERUNS):
            stack.next_run(RETENTION)
            stack.job(RETENTION, scheduled_event("retention/scheduled.json"))

    def look(self, tenant: Tenant, seen: Observation) -> None:
        names = tenant.names()
        seen.results["frames left"] = sorted(names(i.frame_id) for i in observe.frame_items(tenant.contract_id))
        seen.results["notes left"] = len(list(NoteModel.scan(NoteModel.contract_id == tenant.contract_id)))
        stored = observe.objects(f"frames/{tenant.contract_id}/") | observe.objects(f"thumbs/{tenant.contract_id}/")
        seen.results["objects of expired frames left"] = sorted(
            k for k in stored if _frame_of(k) in tenant.data["expired ids"]
        )
        receipts = list(DeletionReceiptModel.query(tenant.contract_id, consistent_read=True))
        receipted = (
            sum(int(r.frames) for r in receipts),
            sum(int(r.notes) for r in receipts),
            sum(int(r.bytes) for r in receipts),
        )
        expected = (2, 1, tenant.data["expired bytes"])
        if receipted != expected:
            seen.problem(RECEIPTS, f"deletion receipts say (frames, notes, bytes) {receipted}, deleted {expected}")
        # the retention job's own counts, written in the same UpdateItem as the totals, say the same
        by_retention = (
            sum(int(r.retention_frames or 0) for r in receipts),
            sum(int(r.retention_notes or 0) for r in receipts),
            sum(int(r.retention_bytes or 0) for r in receipts),
        )
        if by_retention != receipted:
            seen.problem(RECEIPTS, f"the receipts' retention counts say {by_retention}, their totals {receipted}")
        observe.frame_orphans(tenant.contract_id, seen)


def _frame_of(key: str) -> str:
    return key.rsplit("/", 1)[-1].split(".", 1)[0]


# 6. purge


class Purge(Scenario):
    name = "purge"
    what = (
        "the hourly termination job purges a contract terminated past its grace period (frames, a note, a share, "
        "sessions) and certifies it, then runs again"
    )

    def seed(self, stack: Stack) -> Tenant:
        tenant = new_tenant(stack)
        now = stack.clock.now()
        first = ingested(stack, tenant, "f1", now - timedelta(minutes=10))
        ingested(stack, tenant, "f2", now - timedelta(minutes=5))

        payload = {"camera_id": tenant.world.camera_id, "occurred_at": format_rfc3339(now), "text": "Alarm"}
        assert stack.api(INGEST, device_event_request(stack, tenant, payload)).status == 201
        tenant.token = logged_in(stack, tenant)
        share = {"camera_id": tenant.world.camera_id, "frame_id": first["frame_id"], "purpose": "ground:art10-3-2"}
        created = stack.api(
            VIEWER, customer_post(tenant, "viewer/create_share.json", "/v1/shares", share | {"expires_in": 3600})
        )
        assert created.status == 201, created
        stored = observe.objects(f"frames/{tenant.contract_id}/") | observe.objects(f"thumbs/{tenant.contract_id}/")
        tenant.data["stored"] = {"objects": len(stored), "bytes_deleted": sum(stored.values()), "frame_items": 2}
        grace = get_settings().purge_grace_days
        lifecycle.transition(
            tenant.contract_id, "terminated", "art12-1-1", "fault suite", None, "staff:stf_fault", now,
            purge_grace_days=grace,
        )  # fmt: skip
        tenant.data["grace"] = timedelta(days=grace)
        return tenant

    def operate(self, tenant: Tenant) -> None:
        stack = tenant.stack
        stack.clock.advance(tenant.data["grace"] + timedelta(hours=1))
        stack.job(TERMINATION, scheduled_event("termination/scheduled.json"))

    def recover(self, tenant: Tenant) -> None:
        stack = tenant.stack
        for _ in range(RERUNS):
            stack.next_run(TERMINATION)
            stack.job(TERMINATION, scheduled_event("termination/scheduled.json"))

    def look(self, tenant: Tenant, seen: Observation) -> None:
        names = tenant.names()
        cid = tenant.contract_id
        seen.results["contract state"] = ContractModel.get(cid, consistent_read=True).state
        seen.results["left of the tenant"] = _left_of(tenant)
        certificates = [e for e in observe.audit_entries(cid) if e.action == purge.CERTIFICATE_ACTION]
        if not certificates:
            return
        certificate = dict(certificates[-1].details)
        counts = dict(certificate.get("counts") or {})
        # Sessions and share links are the access the job revokes before the purge: whichever deletes them counts.
        for revoked in ("sessions", "shares"):
            if counts.pop(revoked, 0) > 1:
                seen.problem(RECEIPTS, f"the certificate counts more than the one {revoked[:-1]} stored")
        seen.certified["certificate counts"] = counts
        stored = tenant.data["stored"]
        for name in ("objects", "bytes_deleted"):
            if certificate.get(name) != stored[name]:
                seen.problem(
                    RECEIPTS, f"the certificate says {name} {certificate.get(name)}, stored were {stored[name]}"
                )
        if counts.get("frame_items") != stored["frame_items"]:
            seen.problem(RECEIPTS, f"the certificate counts {counts.get('frame_items')} frame items, stored were 2")
        receipts = [
            body for subject, body in observe.mail_bodies(names) if subject == names(purge.receipt_subject(cid))
        ]
        if not receipts and _receipt_told(cid) != purge.RECEIPT_UNCONFIRMED:
            # A receipt the purge says is unconfirmed is one it may have sent and never resends (issue 11): a run
            # that died after recording its attempt and one that died right after SendEmail leave the same state,
            # so no run after them can tell; the purged record, the job's report and its metrics say so.
            seen.problem(RECEIPTS, "no deletion receipt was e-mailed")
        for body in receipts:
            for line in (
                f"Objects deleted: {certificate.get('objects')}",
                f"Bytes deleted: {certificate.get('bytes_deleted')}",
            ):
                if line not in body:
                    seen.problem(RECEIPTS, f"the e-mailed receipt does not say {line!r} as the certificate does")


def _receipt_told(contract_id: str) -> str | None:
    """How the purged record says sending the receipt went (doti.store.purge.shrink_to_purged_record)."""
    record = ContractModel._get_connection().get_item(contract_id, consistent_read=True).get("Item", {})
    return record.get("deletion_receipt", {}).get("S")


def _left_of(tenant: Tenant) -> dict[str, int]:
    """What is left of a purged tenant, by kind (the contract record and its audit chain stay)."""

    cid = tenant.contract_id
    left = {
        "objects": len(observe.objects(f"frames/{cid}/") | observe.objects(f"thumbs/{cid}/")),
        "frame items": len(observe.frame_items(cid)),
        "notes": len(list(models.NoteModel.scan(models.NoteModel.contract_id == cid))),
        "shares": len(list(models.ShareModel.scan(models.ShareModel.contract_id == cid))),
        "sessions": len(list(models.SessionModel.scan(models.SessionModel.contract_id == cid))),
        "users": len(list(models.UserModel.scan(models.UserModel.contract_id == cid))),
        "cameras": len(list(models.CameraModel.scan(models.CameraModel.contract_id == cid))),
        "devices": len(list(models.DeviceModel.scan(models.DeviceModel.contract_id == cid))),
        "sites": len(list(models.SiteModel.scan(models.SiteModel.contract_id == cid))),
        "usage": len(observe.usage(cid)),
    }
    return {kind: count for kind, count in left.items() if count}


# 7. re-mask


POLYGONS = [[[0.25, 0.25], [0.75, 0.25], [0.75, 0.75], [0.25, 0.75]]]
STARTED = "camera.remask_started"


class Remask(Scenario):
    name = "remask"
    what = "staff start a re-mask of a camera's stored frames (POST /v1/admin/cameras/{id}/remask); RemaskQueue runs it"

    def seed(self, stack: Stack) -> Tenant:
        tenant = new_tenant(stack)
        now = stack.clock.now()
        for label, minutes in (("f1", 10), ("f2", 5)):
            ingested(stack, tenant, label, now - timedelta(minutes=minutes))
        registry.set_privacy_mask(tenant.world.camera_id, POLYGONS, reason="neighbour", actor="staff:stf_x", now=now)
        return tenant

    def operate(self, tenant: Tenant) -> None:
        stack = tenant.stack
        path = f"/v1/admin/cameras/{tenant.world.camera_id}/remask"
        event = staff_request(tenant, path, {"reason": "neighbour's window"})
        # Staff list no re-mask jobs; the contract's audit log shows the ones started.
        stack.person(ADMIN, lambda: event, lambda: _audited(tenant, STARTED))
        stack.drain("RemaskQueue")

    def look(self, tenant: Tenant, seen: Observation) -> None:
        stack = tenant.stack
        jobs = _jobs(tenant)
        started = {e.details.get("job_id") for e in observe.audit_entries(tenant.contract_id) if e.action == STARTED}
        seen.results["jobs completed"] = sum(1 for job in jobs if job.status == "completed")
        # a job staff can see (its start is in the audit log) that never finishes
        seen.results["started jobs never finished"] = sorted(
            job.status for job in jobs if job.job_id in started and job.status not in ("completed", "superseded")
        )
        seen.results["messages dead-lettered"] = len(stack.dead_letters("RemaskQueue"))
        versions = {job.mask_version for job in jobs}
        items = observe.frame_items(tenant.contract_id)
        seen.results["frames under the job's mask"] = sum(1 for item in items if item.mask_version in versions)
        observe.frame_digests(tenant.contract_id, seen)
        observe.frame_orphans(tenant.contract_id, seen)


def _audited(tenant: Tenant, action: str) -> bool:
    return any(entry.action == action for entry in observe.audit_entries(tenant.contract_id))


def _jobs(tenant: Tenant) -> list[Any]:
    return list(RemaskJobModel.scan(RemaskJobModel.contract_id == tenant.contract_id, consistent_read=True))


# 8. a share creation and view


class Share(Scenario):
    name = "share"
    what = "a customer creates a link to a frame (POST /v1/shares) and its holder opens it (GET /s/{token})"
    views = 3  # a holder reloads a page that failed

    def seed(self, stack: Stack) -> Tenant:
        tenant = new_tenant(stack)
        frame = ingested(stack, tenant, "f1", stack.clock.now() - timedelta(minutes=5))
        tenant.data["frame_id"] = frame["frame_id"]
        tenant.token = logged_in(stack, tenant)
        return tenant

    def operate(self, tenant: Tenant) -> None:
        stack = tenant.stack
        body = {"camera_id": tenant.world.camera_id, "frame_id": tenant.data["frame_id"], "purpose": "ground:art10-3-2"}
        event = customer_post(tenant, "viewer/create_share.json", "/v1/shares", body | {"expires_in": 3600})
        created = stack.person(VIEWER, lambda: event, lambda: bool(_shares(tenant)))
        tenant.data["views"], tenant.data["shown"] = 0, 0
        if created.status != 201:
            return
        token = created.body["url"].rsplit("/s/", 1)[1]
        page = api_event(
            "viewer/share_page.json",
            path=f"/s/{token}",
            resource="/s/{token}",
            path_parameters={"token": token},
            query={},
        )
        for _ in range(self.views):
            tenant.data["views"] += 1
            if stack.api(VIEWER, page).status == 200:
                tenant.data["shown"] += 1
                return
            stack.clock.advance(timedelta(seconds=10))

    def look(self, tenant: Tenant, seen: Observation) -> None:
        seen.results["shares"] = len(_shares(tenant))
        # each view is audited before the page is made: a reload after a failed view may be a second entry
        seen.per_attempt["share.viewed"] = (tenant.data["shown"], tenant.data["views"])


def _shares(tenant: Tenant) -> list[Any]:
    return list(ShareModel.scan(ShareModel.contract_id == tenant.contract_id, consistent_read=True))


# 9. a contract transition


class Transition(Scenario):
    name = "transition"
    what = (
        "staff suspend a contract on an emergency ground (POST /v1/admin/contracts/{id}/transitions), notifying it; "
        "the suspension job, every five minutes, e-mails a notice the request could not"
    )

    def seed(self, stack: Stack) -> Tenant:
        return new_tenant(stack)

    def operate(self, tenant: Tenant) -> None:
        stack = tenant.stack
        path = f"/v1/admin/contracts/{tenant.contract_id}/transitions"
        body = {"to": "suspended", "ground": "art8-1-1", "reason": "emergency maintenance of the relay"}
        event = staff_request(tenant, path, body)
        stack.person(ADMIN, lambda: event, lambda: _state(tenant) == "suspended")

    def recover(self, tenant: Tenant) -> None:
        stack = tenant.stack
        for _ in range(RERUNS):
            stack.next_run(SUSPENSION)
            stack.job(SUSPENSION, scheduled_event("suspension/scheduled.json"))

    def look(self, tenant: Tenant, seen: Observation) -> None:
        seen.results["contract state"] = _state(tenant)
        seen.results["notices"] = len(list(NoticeModel.query(tenant.contract_id, consistent_read=True)))


def _state(tenant: Tenant) -> str:
    return ContractModel.get(tenant.contract_id, consistent_read=True).state


# 10. a disclosure package


class Disclosure(Scenario):
    name = "disclosure"
    what = "staff record a third-party disclosure (POST /v1/admin/contracts/{id}/disclosures) with its evidence package"

    def seed(self, stack: Stack) -> Tenant:
        tenant = new_tenant(stack)
        now = stack.clock.now()
        tenant.data["frame_ids"] = [
            ingested(stack, tenant, label, now - timedelta(minutes=minutes))["frame_id"]
            for label, minutes in (("f1", 10), ("f2", 5))
        ]
        return tenant

    def operate(self, tenant: Tenant) -> None:
        stack = tenant.stack
        path = f"/v1/admin/contracts/{tenant.contract_id}/disclosures"
        body = {
            "basis": "art10-3-2",
            "recipient": "Police",
            "reason": "burglary on the night of the 3rd",
            "camera_id": tenant.world.camera_id,
            "frame_ids": tenant.data["frame_ids"],
        }
        event = staff_request(tenant, path, body)
        # Staff list no disclosures; the contract's audit log shows the ones made.
        stack.person(ADMIN, lambda: event, lambda: _audited(tenant, "disclosure.created"))

    def look(self, tenant: Tenant, seen: Observation) -> None:
        disclosures = _disclosures(tenant)
        seen.results["disclosures"] = len(disclosures)
        for disclosure in disclosures:
            package = (disclosure.scope or {}).get("package", {})
            stored = _object(disclosure.package_key)
            if stored is None:
                seen.problem(NO_ORPHAN, f"disclosure {disclosure.disclosure_id} has no evidence package")
            elif (hashlib.sha256(stored).hexdigest(), len(stored)) != (package.get("sha256"), package.get("bytes")):
                seen.problem(RECEIPTS, f"disclosure {disclosure.disclosure_id}: the recorded package digest differs")


def _disclosures(tenant: Tenant) -> list[Any]:
    return list(DisclosureModel.scan(DisclosureModel.contract_id == tenant.contract_id, consistent_read=True))


# 11. a camera's purpose registry (issue 15)


class Purposes(Scenario):
    name = "purposes"
    what = "an owner registers a camera's purposes (PUT /v1/cameras/{id}/purposes), with its camera.purposes_set entry"
    body = {"purposes": ["safety", "crime_prevention"], "coverage": "the shop entrance", "people_filmed": True}

    def seed(self, stack: Stack) -> Tenant:
        tenant = new_tenant(stack)
        tenant.token = logged_in(stack, tenant)
        return tenant

    def operate(self, tenant: Tenant) -> None:
        assert tenant.token is not None
        path = f"/v1/cameras/{tenant.world.camera_id}/purposes"
        event = customer_event(
            "viewer/list_cameras.json",
            tenant.token,
            path=path,
            resource="/v1/cameras/{camera_id}/purposes",
            path_parameters={"camera_id": tenant.world.camera_id},
            method="PUT",
            body=json.dumps(self.body),
        )
        # the owner looks at the camera: its purposes show once registered
        tenant.stack.person(VIEWER, lambda: event, lambda: _registered_purposes(tenant) is not None)

    def look(self, tenant: Tenant, seen: Observation) -> None:
        registered = _registered_purposes(tenant)
        seen.results["registered purposes"] = registered
        audited = _audited(tenant, "camera.purposes_set")
        if (registered is not None) != audited:
            what = "registered without its audit entry" if registered else "audited but not registered"
            seen.problem(AUDIT_ONCE, f"the camera's purposes were {what}")


def _registered_purposes(tenant: Tenant) -> list[str] | None:
    camera = models.CameraModel.get(tenant.world.camera_id, consistent_read=True)
    return sorted(camera.purposes) if camera.purposes else None


# 12. requests from people filmed


def _request_form_event(tenant: Tenant, fields: dict[str, str]) -> dict[str, Any]:
    """The notice page's form as the person's browser posts it: its token in the form and in the page's cookie."""
    public_id = models.SiteModel.get(tenant.world.site_id).public_id
    return api_event(
        "viewer/make_request.json",
        path=f"/p/{public_id}/requests",
        path_parameters={"public_id": public_id},
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": f"__Host-doti_form={fields['form_token']}",
        },
        body=urlencode(fields),
        binary=False,
    )


def _form_fields(stack: Stack, tenant: Tenant, kind: str) -> dict[str, str]:
    now = stack.clock.now().astimezone(JST)
    camera = hashlib.sha256(
        f"{models.SiteModel.get(tenant.world.site_id).public_id}\n{tenant.world.camera_id}".encode()
    ).hexdigest()[:16]
    return {
        "form_token": f"fault-form-{tenant.contract_id}",
        "kind": kind,
        "camera_id": camera,
        "from": (now - timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M"),
        "to": now.strftime("%Y-%m-%dT%H:%M"),
        "contact": "hanako@example.jp",
        "text": "The footage of me at the entrance, please.",
        "website": "",
    }


def _subject_requests(tenant: Tenant) -> list[Any]:
    return list(models.SubjectRequestModel.by_contract.query(tenant.contract_id))


def _status_of(tenant: Tenant, token: str) -> int:
    """The status link as the person opens it: reloaded after an error."""
    page = api_event("viewer/request_status.json", path=f"/r/{token}", path_parameters={"token": token}, query={})
    return tenant.stack.person(VIEWER, lambda: page, lambda: False).status


class SubjectRequestForm(Scenario):
    name = "subject_request"
    what = (
        "a person filmed sends the notice page's request form (POST /p/{public_id}/requests), resending it after an "
        "error, and opens the status link it is sent to"
    )

    def seed(self, stack: Stack) -> Tenant:
        tenant = new_tenant(stack)
        tenant.data["form"] = _request_form_event(tenant, _form_fields(stack, tenant, "disclosure"))
        return tenant

    def operate(self, tenant: Tenant) -> None:
        # a person cannot look: after an error they send the same form again, until it is answered
        answer = tenant.stack.person(VIEWER, lambda: tenant.data["form"], lambda: False)
        tenant.data["answer"] = answer.status
        location = (answer.headers or {}).get("Location", "") if answer.status == 303 else ""
        tenant.data["status page"] = _status_of(tenant, location.rsplit("/r/", 1)[1]) if location else None

    def look(self, tenant: Tenant, seen: Observation) -> None:
        stored = _subject_requests(tenant)
        seen.results["requests"] = len(stored)
        seen.results["answer"] = tenant.data["answer"]
        seen.results["status page"] = tenant.data["status page"]
        if len(stored) > 1:
            seen.problem(EXACTLY_ONE, f"one form made {len(stored)} requests")
        due = list(
            models.ScheduledWorkModel.query(
                "request_overdue", filter_condition=models.ScheduledWorkModel.contract_id == tenant.contract_id
            )
        )
        if len(due) != len(stored):
            seen.problem(NO_ORPHAN, f"{len(stored)} requests but {len(due)} overdue checks scheduled")


class SubjectRequestDeletion(Scenario):
    name = "request_deletion"
    what = (
        "an owner answers a person's request by deleting the footage of its window (POST /v1/requests/{id}/answer), "
        "and the hourly retention job deletes it through the takedown path"
    )

    def seed(self, stack: Stack) -> Tenant:
        tenant = new_tenant(stack)
        now = stack.clock.now()
        for label, age in (("in1", 20), ("in2", 10), ("out", 120)):
            ingested(stack, tenant, label, now - timedelta(minutes=age))
        answer = stack.api(VIEWER, _request_form_event(tenant, _form_fields(stack, tenant, "delete")))
        assert answer.status == 303, answer
        (request,) = _subject_requests(tenant)
        tenant.data["request_id"] = request.request_id
        tenant.labels[request.request_id] = "request"
        tenant.token = logged_in(stack, tenant)
        return tenant

    def operate(self, tenant: Tenant) -> None:
        request_id = tenant.data["request_id"]
        path = f"/v1/requests/{request_id}/answer"
        event = customer_event(
            "viewer/list_cameras.json",
            tenant.token or "",
            path=path,
            resource="/v1/requests/{request_id}/answer",
            path_parameters={"request_id": request_id},
            method="POST",
            body=json.dumps({"action": "delete"}),
        )
        answered = lambda: models.SubjectRequestModel.get(request_id).status != "open"  # noqa: E731
        tenant.stack.person(VIEWER, lambda: event, answered)
        tenant.stack.job(RETENTION, scheduled_event("retention/scheduled.json"))

    def recover(self, tenant: Tenant) -> None:
        for _ in range(RERUNS):
            tenant.stack.next_run(RETENTION)
            tenant.stack.job(RETENTION, scheduled_event("retention/scheduled.json"))

    def look(self, tenant: Tenant, seen: Observation) -> None:
        names = tenant.names()
        seen.results["frames left"] = sorted(names(i.frame_id) for i in observe.frame_items(tenant.contract_id))
        request = models.SubjectRequestModel.get(tenant.data["request_id"])
        seen.results["request"] = (request.status, [a["action"] for a in request.answers or []])
        seen.results["frames deleted"] = request.frames_deleted
        receipts = list(DeletionReceiptModel.query(tenant.contract_id, consistent_read=True))
        taken = sum(int(r.takedown_frames or 0) for r in receipts)
        if taken != 2:
            seen.problem(RECEIPTS, f"the receipts' takedown counts say {taken} frames, deleted 2")
        observe.frame_orphans(tenant.contract_id, seen)


# 15. a webhook endpoint: registered, then disabled when an event fails its last attempt


class WebhookDisabled(Scenario):
    name = "webhook"
    what = (
        "an owner registers a webhook (POST /v1/webhooks, its webhook.created entry); later an event fails its last "
        "attempt (the webhooks function on DeliveriesQueue): kept in the dead-letter queue, the endpoint disabled "
        "with a notice and its webhook.disabled entry"
    )

    def seed(self, stack: Stack) -> Tenant:
        tenant = new_tenant(stack)
        tenant.token = logged_in(stack, tenant)
        return tenant

    def operate(self, tenant: Tenant) -> None:
        from doti.webhooks import dispatch
        from doti.webhooks.events import new_event

        stack = tenant.stack
        # .invalid never resolves (RFC 6761): every attempt fails without a network, the same in every run
        body = {"url": "https://hooks.example.invalid/doti", "events": ["device.event"]}
        stack.person(
            VIEWER,
            lambda: customer_post(tenant, "viewer/invite_user.json", "/v1/webhooks", body),
            lambda: bool(_hooks(tenant)),
        )
        with INJECTOR.paused():
            hooks = _hooks(tenant)
        if len(hooks) != 1:
            return
        tenant.labels[hooks[0].webhook_id] = "webhook"
        event = new_event("device.event", "fact", time=stack.clock.now(), contract_id=tenant.contract_id)
        message = {"webhook_id": hooks[0].webhook_id, "event": event.to_message(), "attempt": dispatch.MAX_ATTEMPTS}
        with INJECTOR.paused():
            sqs_client(REGION).send_message(
                QueueUrl=get_settings().deliveries_queue_url, MessageBody=json.dumps(message)
            )
        stack.drain("DeliveriesQueue")

    def look(self, tenant: Tenant, seen: Observation) -> None:
        hooks = _hooks(tenant)
        seen.results["webhooks"] = [h.status for h in hooks]
        seen.results["notices"] = sorted(n.kind for n in NoticeModel.query(tenant.contract_id, consistent_read=True))
        if hooks and (hooks[0].status == "disabled") != _audited(tenant, "webhook.disabled"):
            seen.problem(AUDIT_ONCE, "the endpoint's state and its webhook.disabled entry disagree")


def _hooks(tenant: Tenant) -> list[Any]:
    return list(models.WebhookModel.by_contract.query(tenant.contract_id, consistent_read=False))


# 14. camera health


class CameraHealth(Scenario):
    name = "camera_health"
    what = (
        "a camera (expected every 10 minutes) falls silent: the health job, every minute, tells camera.offline and "
        "marks it; its next frame tells camera.online; the job's next runs and the camera's next frame follow"
    )
    INTERVAL = timedelta(minutes=10)

    def seed(self, stack: Stack) -> Tenant:
        tenant = new_tenant(stack)
        registry.set_expected_interval(
            tenant.world.camera_id,
            int(self.INTERVAL.total_seconds()),
            reason=None,
            actor="staff:seed",
            now=stack.clock.now(),
        )
        answer = self._send(stack, tenant, "first")[-1]
        assert answer.status == 201, answer
        return tenant

    def _send(self, stack: Stack, tenant: Tenant, label: str) -> list[Answer]:
        # the same still every time: no activity, so only health events are told
        event = frame_event(
            stack, tenant, jpeg(320, 180, label="still"), label, stack.clock.now() - timedelta(seconds=1)
        )
        return stack.device(INGEST, event)

    def operate(self, tenant: Tenant) -> None:
        stack = tenant.stack
        stack.clock.advance(self.INTERVAL + timedelta(minutes=1))
        stack.job(HEALTH, scheduled_event("health/scheduled.json"))
        stack.next_run(HEALTH)  # the next run (a minute on) redoes what a failed one left
        stack.job(HEALTH, scheduled_event("health/scheduled.json"))
        tenant.data["answers"] = self._send(stack, tenant, "back")

    def recover(self, tenant: Tenant) -> None:
        stack = tenant.stack
        for _ in range(RERUNS):
            stack.next_run(HEALTH)
            stack.job(HEALTH, scheduled_event("health/scheduled.json"))
        self._send(stack, tenant, "next")  # the camera keeps sending: its next frame redoes a failed camera.online

    def look(self, tenant: Tenant, seen: Observation) -> None:
        answers: list[Answer] = tenant.data["answers"]
        seen.results["device has its frame"] = _ok(answers[-1])
        ids_by_type: dict[str, set[str]] = {}
        for event in _events_told(tenant.contract_id):
            ids_by_type.setdefault(event["type"], set()).add(event["id"])
        # a fact told twice has one id (receivers drop the copy): one offline spell, one of each
        seen.results["distinct events told"] = {kind: len(ids) for kind, ids in sorted(ids_by_type.items())}
        camera = models.CameraModel.get(tenant.world.camera_id, consistent_read=True)
        seen.results["camera health"] = camera.health
        items = [
            i.due_at
            for i in models.ScheduledWorkModel.query("camera_health", consistent_read=True)
            if i.ref == tenant.world.camera_id
        ]
        seen.results["live health items"] = len(items)
        if camera.health == "online" and camera.health_due_at not in items:
            seen.problem(
                EXACTLY_ONE, "the camera is online but its health item is not stored: it would never go offline"
            )
        observe.frame_orphans(tenant.contract_id, seen)


def _events_told(contract_id: str) -> list[dict[str, Any]]:
    """The contract's events on the events queue, read without taking them (each message once)."""
    sqs, url = sqs_client(REGION), get_settings().events_queue_url
    seen: dict[str, dict[str, Any]] = {}
    while True:
        batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=60).get("Messages", [])
        if not batch:
            break
        seen |= {m["MessageId"]: json.loads(m["Body"]) for m in batch}
    return [event for event in seen.values() if event["contract_id"] == contract_id]


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        IngestFrame(),
        IngestBatch(),
        DeviceEvent(),
        LargeUpload(),
        Export(),
        Retention(),
        Purge(),
        Remask(),
        Share(),
        Transition(),
        Disclosure(),
        Purposes(),
        SubjectRequestForm(),
        SubjectRequestDeletion(),
        WebhookDisabled(),
        CameraHealth(),
    )
}


def scenario(name: str) -> Scenario:
    return SCENARIOS[name]
