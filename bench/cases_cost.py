"""What a frame and a page view cost on AWS (issue 17 point 1): measured counts, priced by bench/prices.json.

Each path runs through its handlers, moto in-process with the template's resources:
- direct frame: signed 720p JPEGs of one camera, BATCH to a request, through POST /v1/device/frames/batch
  (functions/ingest), as a gateway sends a camera's frames; and one per request through POST /v1/device/frames;
- large upload: the grant (POST /v1/device/uploads), the device's POST into incoming/ (put as S3 keeps it), the
  queue message S3 sends, and the processor on the SQS event of a batch of them (functions/processor);
- device event: a signed POST /v1/device/events;
- viewing: GET /v1/cameras/{id}/frames?limit=60 (functions/viewer) and the browser's GET of every thumbnail URL it
  signed: a stored thumbnail's presigned S3 URL, or (a still stored since issue 17) a link to the thumbnail renderer,
  whose invocation through its Function URL (functions/thumbnails: no API Gateway request) is counted as the
  viewer's is, at its own MemorySize, with the S3 GET of the original it makes; one full frame:
  GET /v1/cameras/{id}/frames/{frame_id} and the GET of its image URL.

Counted, per unit of work: every AWS request by service and operation (a botocore `before-call` hook on the shared
session), DynamoDB request units, API and Lambda requests, Lambda GB-seconds, log bytes and bytes sent to the browser.
DynamoDB's units are computed from item sizes: moto answers ReturnConsumedCapacity with a constant (1 or 0.5 per
request, whatever the size), so its number would be no measurement. Each write is charged on the larger of the item
before and after it (moto's backend, read outside botocore so it is not counted), one unit per KB started and two inside
TransactWriteItems (a ConditionCheck too); each read one unit per 4 KB started, half eventually consistent, a Query's
returned items summed (DynamoDB charges what it read before a filter; the listing's filter, frames past their expiry,
drops none here). Item sizes are moto's (attribute names plus values, a number counted as its decimal text, close to
DynamoDB's rule). DynamoDB storage per frame is the items a frame creates, plus 100 bytes each. Lambda duration is the
handler's CPU time in this thread, moto's serving included in place of AWS's latency (wall time would count the other
processes on this machine), rounded up to the millisecond as Lambda bills, times the function's MemorySize from
template.yaml. Log bytes are what the handler prints (Powertools logs and EMF metrics), without Lambda's own
START/END/REPORT lines.

The baseline of every row is the value itself (ratio 1.0): these are prices, not a comparison; the price date is in
the notes and in bench/prices.json.
"""

from __future__ import annotations

import base64
import io
import json
import math
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, redirect_stdout
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlparse

from bench.cost_model import (
    CameraPlan,
    Cost,
    Usage,
    camera_month,
    load_prices,
    per_million,
    read_units,
    write_units,
)
from bench.harness import Row, case, row, sized

CASE = "cost.model"
REGION = "us-east-1"
OVERHEAD_BYTES = 100  # DynamoDB counts 100 bytes of overhead per item in a table's storage
UNITS_NOTE = "units from item sizes: moto's ConsumedCapacity is a constant"


def _backend() -> Any:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    return dynamodb_backends[DEFAULT_ACCOUNT_ID][REGION]


def _stored_size(table: str, key: dict[str, Any]) -> int:
    """The size moto keeps for the item at `key` (attribute names and values), 0 if there is none."""
    item = _backend().get_item(table, key)
    return item.size() if item else 0


def _key_of(table: str, item: dict[str, Any]) -> dict[str, Any]:
    schema = _backend().get_table(table)
    names = [schema.hash_key_attr] + ([schema.range_key_attr] if schema.range_key_attr else [])
    return {name: item[name] for name in names}


def _writes(operation: str, params: dict[str, Any]) -> list[tuple[str, dict[str, Any], bool]]:
    """(table, key, transactional) of every item a write request touches."""
    if operation == "PutItem":
        return [(params["TableName"], _key_of(params["TableName"], params["Item"]), False)]
    if operation in {"UpdateItem", "DeleteItem"}:
        return [(params["TableName"], params["Key"], False)]
    if operation == "TransactWriteItems":
        touched = []
        for entry in params["TransactItems"]:
            ((_, action),) = entry.items()
            table = action["TableName"]
            touched.append((table, action.get("Key") or _key_of(table, action["Item"]), True))
        return touched
    if operation == "BatchWriteItem":
        return [
            (table, request.get("DeleteRequest", {}).get("Key") or _key_of(table, request["PutRequest"]["Item"]), False)
            for table, requests in params["RequestItems"].items()
            for request in requests
        ]
    return []


@dataclass
class Meter:
    """botocore hooks on the shared session: AWS requests and DynamoDB units (see the module's docstring)."""

    requests: Counter[tuple[str, str]] = field(default_factory=Counter)
    write_units: float = 0.0
    read_units: float = 0.0
    put_bytes: Counter[str] = field(default_factory=Counter)  # bytes put to S3, by the key's first folder
    created_bytes: Counter[str] = field(default_factory=Counter)  # DynamoDB items created, with overhead, by table
    _pending: tuple[str, dict[str, Any], list[tuple[str, dict[str, Any], bool, int]]] | None = None
    _params: tuple[Any, dict[str, Any]] | None = None

    def reset(self) -> None:
        self.requests.clear()
        self.put_bytes.clear()
        self.created_bytes.clear()
        self.write_units = self.read_units = 0.0

    def before_parameter_build(self, model: Any, params: dict[str, Any], **_: Any) -> None:
        # The API's parameters (before-call has the serialised request); presigning emits this too, but no call
        self._params = (model, params)

    def before_call(self, model: Any, **_: Any) -> None:
        if self._params is None or self._params[0] is not model:
            raise RuntimeError(f"no parameters seen for {model.name}")
        params = self._params[1]
        self._params = None
        service = model.service_model.service_name
        self.requests[(service, model.name)] += 1
        if service == "s3" and model.name == "PutObject":
            body = params.get("Body", b"")  # botocore has made bytes a BytesIO by now
            size = body.getbuffer().nbytes if hasattr(body, "getbuffer") else len(body)
            self.put_bytes[params["Key"].split("/", 1)[0]] += size
        if service == "dynamodb":
            touched = [(t, k, tx, _stored_size(t, k)) for t, k, tx in _writes(model.name, params)]
            self._pending = (model.name, params, touched)

    def after_call(self, parsed: dict[str, Any], **_: Any) -> None:
        if self._pending is None:
            return
        operation, params, touched = self._pending
        self._pending = None
        for table, key, transactional, before in touched:
            after = _stored_size(table, key)
            self.write_units += write_units(max(before, after), transactional=transactional)
            if not before and after:
                self.created_bytes[table] += after + OVERHEAD_BYTES
        self.read_units += self._read_units(operation, params, parsed)

    def _read_units(self, operation: str, params: dict[str, Any], parsed: dict[str, Any]) -> float:
        consistent = bool(params.get("ConsistentRead"))
        if operation == "GetItem":
            return read_units(_stored_size(params["TableName"], params["Key"]), consistent=consistent)
        if operation == "TransactGetItems":
            gets = [entry["Get"] for entry in params["TransactItems"]]
            return sum(
                read_units(_stored_size(g["TableName"], g["Key"]), consistent=True, transactional=True) for g in gets
            )
        if operation == "BatchGetItem":
            return sum(
                read_units(_stored_size(table, key), consistent=bool(spec.get("ConsistentRead")))
                for table, spec in params["RequestItems"].items()
                for key in spec["Keys"]
            )
        if operation in {"Query", "Scan"}:
            table = params["TableName"]
            sizes = [_stored_size(table, _key_of(table, item)) for item in parsed.get("Items", [])]
            return read_units(sum(sizes), consistent=consistent)
        return 0.0

    @contextmanager
    def hooked(self) -> Iterator[None]:
        from doti.store.aws import botocore_session

        session = botocore_session()
        session.register("before-parameter-build", self.before_parameter_build, unique_id="bench-cost-params")
        session.register("before-call", self.before_call, unique_id="bench-cost-before")
        session.register("after-call", self.after_call, unique_id="bench-cost-after")
        try:
            yield
        finally:
            session.unregister("before-parameter-build", unique_id="bench-cost-params")
            session.unregister("before-call", unique_id="bench-cost-before")
            session.unregister("after-call", unique_id="bench-cost-after")


@dataclass
class Invocation:
    """One Lambda invocation's measured CPU milliseconds and printed bytes."""

    cpu_ms: float
    log_bytes: int
    response: Any


def invoke(handler: Callable[[dict[str, Any], Any], Any], event: dict[str, Any]) -> Invocation:
    """Run a handler as Lambda would, capturing what it prints (EMF to stdout, Powertools logs to its stream)."""
    from doti.observability import logger
    from tests.support import LambdaContext

    printed = io.StringIO()
    handler_stream = logger.registered_handler
    saved = handler_stream.setStream(printed)  # type: ignore[attr-defined]
    try:
        with redirect_stdout(printed):
            started = time.thread_time()
            response = handler(event, LambdaContext())
            cpu_ms = (time.thread_time() - started) * 1000
    finally:
        handler_stream.setStream(saved)  # type: ignore[attr-defined]
    return Invocation(cpu_ms, len(printed.getvalue().encode()), response)


def _memory_gb(function: str) -> float:
    from infra.template import load_template

    template = load_template()
    properties = template["Resources"][function]["Properties"]
    memory = properties.get("MemorySize") or template["Globals"]["Function"]["MemorySize"]
    return memory / 1024


def _processor_batch_size() -> int:
    from infra.template import load_template

    return load_template()["Resources"]["ProcessorFunction"]["Properties"]["Events"]["IncomingUploads"]["Properties"][
        "BatchSize"
    ]


@dataclass
class Tally:
    """Counts gathered over several units of work; `usage()` divides them into one unit's."""

    meter: Meter
    units: int = 0
    api_requests: int = 0
    lambda_requests: int = 0
    gb_seconds: float = 0.0
    log_bytes: int = 0
    requests: Counter[tuple[str, str]] = field(default_factory=Counter)
    write_units: float = 0.0
    read_units: float = 0.0
    got_bytes: int = 0
    created_bytes: Counter[str] = field(default_factory=Counter)
    extra_requests: Counter[tuple[str, str]] = field(default_factory=Counter)

    def lambda_run(self, memory_gb: float, run: Invocation, *, api: bool) -> None:
        self.lambda_requests += 1
        self.api_requests += api
        self.gb_seconds += math.ceil(run.cpu_ms) / 1000 * memory_gb
        self.log_bytes += run.log_bytes

    def take_meter(self) -> None:
        self.requests.update(self.meter.requests)
        self.write_units += self.meter.write_units
        self.read_units += self.meter.read_units
        self.created_bytes.update(self.meter.created_bytes)
        self.meter.reset()

    def usage(self) -> Usage:
        n = self.units
        requests = self.requests + self.extra_requests
        return Usage(
            requests={op: count / n for op, count in requests.items()},
            dynamodb_write_units=self.write_units / n,
            dynamodb_read_units=self.read_units / n,
            api_requests=self.api_requests / n,
            lambda_requests=self.lambda_requests / n,
            lambda_gb_seconds=self.gb_seconds / n,
            log_bytes=self.log_bytes / n,
            transfer_out_bytes=self.got_bytes / n,
        )


def _ok(run: Invocation, status: int) -> Invocation:
    if run.response["statusCode"] != status:
        raise RuntimeError(f"the bench request failed: {run.response['body'][:300]}")
    return run


@dataclass
class Stack:
    settings: Any
    refs: dict[str, str]
    arns: dict[str, str]


@contextmanager
def _stack(meter: Meter) -> Iterator[Stack]:
    """moto with template.yaml's resources, as bench.moto_env.moto_stack, keeping the queues' URLs and ARNs; the
    meter's hooks are on the session before the functions' clients are made (a client copies the session's hooks)."""
    from moto import mock_aws

    from bench.moto_env import BENCH_ENV, environment
    from doti import runtime
    from doti.store.aws import boto3_session
    from infra.provision import provision
    from infra.template import load_template

    with environment(BENCH_ENV), mock_aws():
        runtime.reset()
        provisioned = provision(load_template(), session=boto3_session())
        functions_env = {k: v for k, v in provisioned.environment().items() if k != "POWERTOOLS_SERVICE_NAME"}
        try:
            with environment(functions_env), meter.hooked():
                runtime.reset()
                yield Stack(runtime.init(), provisioned.refs, provisioned.arns)
        finally:
            runtime.reset()


def _direct(world: Any, meter: Meter, body: bytes, frames: int) -> tuple[Tally, int]:
    """`frames` direct frames; returns their tally and the thumbnail bytes put per frame."""
    from functions.ingest import app as ingest
    from tests.support import frame_event

    memory = _memory_gb("IngestFunction")
    _ok(invoke(ingest.lambda_handler, frame_event(world, body, frame_id="cost-warm")), 201)  # imports, clients
    tally = Tally(meter)
    thumbs = 0
    for n in range(frames):
        event = frame_event(world, body, frame_id=f"cost-direct-{n}")  # signed before: the device's work
        meter.reset()
        run = _ok(invoke(ingest.lambda_handler, event), 201)
        tally.lambda_run(memory, run, api=True)
        thumbs += meter.put_bytes["thumbs"]
        tally.units += 1
        tally.take_meter()
    return tally, thumbs // frames


BATCH = 10  # frames per batch request in the model: one camera's frames at 1 per 10 s, sent every 100 s


def _batched(world: Any, meter: Meter, body: bytes, frames: int, per_request: int = BATCH) -> Tally:
    """`frames` direct frames of one camera sent `per_request` at a time through POST /v1/device/frames/batch,
    captured 10 s apart as the camera plan's."""
    from datetime import UTC, datetime, timedelta

    from functions.ingest import app as ingest
    from tests.support.batches import batch_event, batch_frame

    memory = _memory_gb("IngestFunction")
    start = datetime.now(UTC) - timedelta(seconds=10 * frames + 60)
    warm = [batch_frame(world, body, "cost-batch-warm", start)]
    _ok(invoke(ingest.lambda_handler, batch_event(world, warm)), 200)
    tally = Tally(meter)
    for first in range(0, frames, per_request):
        sent = [
            batch_frame(world, body, f"cost-batch-{n}", start + timedelta(seconds=10 * n))
            for n in range(first, min(first + per_request, frames))
        ]
        event = batch_event(world, sent)  # signed before: the device's work
        meter.reset()
        run = _ok(invoke(ingest.lambda_handler, event), 200)
        answers = json.loads(run.response["body"])["items"]
        if [answer["status"] for answer in answers] != [201] * len(sent):
            raise RuntimeError(f"the bench batch was not stored whole: {run.response['body'][:300]}")
        tally.lambda_run(memory, run, api=True)
        tally.units += len(sent)
        tally.take_meter()
    return tally


def _large(stack: Stack, world: Any, meter: Meter, body: bytes, frames: int, tag: str = "") -> Tally:
    """`frames` large uploads of the same JPEG, then the processor on SQS events of as many of them as the template's
    BatchSize lets the event source mapping deliver at once, as a busy queue fills them."""
    from doti.store.aws import s3_client, sqs_client
    from functions.ingest import app as ingest
    from functions.processor import app as processor
    from infra.queues import sqs_event
    from tests.support.uploads import upload_event, upload_request

    s3, sqs = s3_client(REGION), sqs_client(REGION)
    ingest_memory, processor_memory = _memory_gb("IngestFunction"), _memory_gb("ProcessorFunction")
    tally = Tally(meter)
    meter.reset()
    for n in range(frames):
        request = upload_request(world, content_type="image/jpeg", size=len(body), frame_id=f"cost-large{tag}-{n}")
        run = _ok(invoke(ingest.lambda_handler, upload_event(world, request)), 201)
        tally.lambda_run(ingest_memory, run, api=True)
        fields = json.loads(run.response["body"])["fields"]
        metadata = {k.removeprefix("x-amz-meta-"): v for k, v in fields.items() if k.startswith("x-amz-meta-")}
        # The device's multipart POST, as S3 keeps it (see tests/support/processor.py): billed as one PUT-class request
        s3.put_object(
            Bucket=stack.settings.frames_bucket,
            Key=fields["key"],
            Body=body,
            ContentType=fields["Content-Type"],
            Metadata=metadata,
        )
        tally.extra_requests[("s3", "PostObject")] += 1
    meter.requests[("s3", "PutObject")] -= frames  # the device's POSTs, counted as PostObject above
    tally.take_meter()
    # The event source mapping's receive, then its delete of the batch once the function returns
    queue = stack.refs["IncomingQueue"]
    messages: list[dict[str, Any]] = []
    while batch := sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, VisibilityTimeout=60).get("Messages"):
        messages += [m for m in batch if "s3:TestEvent" not in m["Body"]]  # sent once, when notifications were set
    meter.reset()  # draining took a last, empty receive; the mapping makes one receive per batch it delivers
    if len(messages) != frames:
        raise RuntimeError(f"S3 sent {len(messages)} messages for {frames} uploads")
    tally.extra_requests[("sqs", "SendMessage")] += len(messages)  # S3's notifications, sent inside moto
    batch_size = _processor_batch_size()
    for start in range(0, len(messages), batch_size):
        chunk = messages[start : start + batch_size]
        run = invoke(processor.lambda_handler, sqs_event(chunk, stack.arns["IncomingQueue"], REGION))
        if run.response.get("batchItemFailures"):
            raise RuntimeError(f"the processor failed frames: {run.response}")
        tally.lambda_run(processor_memory, run, api=False)
        tally.extra_requests[("sqs", "ReceiveMessage")] += 1
        entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)]
        sqs.delete_message_batch(QueueUrl=queue, Entries=entries)
    tally.units = frames
    tally.take_meter()
    return tally


def _device_events(world: Any, meter: Meter, events: int) -> Tally:
    from doti.auth.device import signed_headers
    from functions.ingest import app as ingest
    from tests.support import api_event, later, now

    memory = _memory_gb("IngestFunction")
    tally = Tally(meter)
    for n in range(events + 1):
        body = json.dumps({"camera_id": world.camera_id, "occurred_at": later(seconds=-5), "text": f"Door {n}"})
        auth = signed_headers(world.device_id, world.device_secret, "POST", "/v1/device/events", body.encode(), now())
        event = api_event(
            "ingest/post_event.json", headers={**auth, "Content-Type": "application/json"}, body=body, binary=False
        )
        meter.reset()
        run = _ok(invoke(ingest.lambda_handler, event), 201)
        if n == 0:
            continue  # warm-up
        tally.lambda_run(memory, run, api=True)
        tally.units += 1
        tally.take_meter()
    return tally


def _browser_gets(urls: list[str]) -> int:
    """The browser's GET of each signed URL: the same request, made through the SDK so the hooks count it; returns
    the bytes sent to the internet."""
    from doti.store.aws import s3_client

    s3 = s3_client(REGION)
    sent = 0
    for url in urls:
        parsed = urlparse(url)
        host_bucket = parsed.netloc.split(".s3", 1)[0]
        path = unquote(parsed.path.lstrip("/"))
        bucket, key = (host_bucket, path) if ".s3" in parsed.netloc else path.split("/", 1)
        sent += len(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    return sent


def _renders(urls: list[str], tally: Tally) -> list[str]:
    """The browser's GET of each renderer link: one ThumbnailFunction invocation through its Function URL (a Lambda
    request and GB-seconds at its MemorySize, no API request), its AWS calls counted by the meter, its JPEG sent to
    the internet. Returns the other URLs (stored thumbnails), which the browser gets from S3."""
    from functions.thumbnails import app as thumbnails
    from tests.support.thumbnails import function_url_event, is_render_link

    memory = _memory_gb("ThumbnailFunction")
    for url in [u for u in urls if is_render_link(u)]:
        run = invoke(thumbnails.lambda_handler, function_url_event(url))
        if run.response["statusCode"] != 200:
            raise RuntimeError(f"the bench render failed: {run.response['body'][:300]}")
        tally.lambda_run(memory, run, api=False)
        tally.got_bytes += len(base64.b64decode(run.response["body"]))
    return [u for u in urls if not is_render_link(u)]


def _viewing(world: Any, meter: Meter, page: int) -> tuple[Tally, Tally, int]:
    """One timeline page of `page` thumbnails, and one full frame; returns both tallies and the thumbnails listed."""
    from bench.cases_viewer import _token
    from functions.thumbnails import app as thumbnails
    from functions.viewer import app as viewer
    from tests.support import customer_event
    from tests.support.thumbnails import function_url_event

    memory = _memory_gb("ViewerFunction")
    token = _token(world)
    list_path = f"/v1/cameras/{world.camera_id}/frames"
    listing = customer_event(
        "viewer/list_frames.json",
        token,
        path=list_path,
        resource="/v1/cameras/{camera_id}/frames",
        path_parameters={"camera_id": world.camera_id},
        query={"limit": str(page)},
    )
    # Warm-up: imports, clients, the signing probe, and the thumbnail links' key of the day (one KMS GenerateMac per
    # process and day, in the viewer and in the renderer: a share of a call per page, left out as the probe is).
    warm = json.loads(_ok(invoke(viewer.lambda_handler, listing), 200).response["body"])["items"]
    invoke(thumbnails.lambda_handler, function_url_event(warm[0]["thumbnail_url"]))
    meter.reset()
    run = _ok(invoke(viewer.lambda_handler, listing), 200)
    frames = json.loads(run.response["body"])["items"]
    page_tally = Tally(meter, units=1)
    stored = _renders([f["thumbnail_url"] for f in frames], page_tally)
    page_tally.got_bytes += _browser_gets(stored)
    page_tally.lambda_run(memory, run, api=True)
    page_tally.take_meter()

    frame_id = frames[0]["frame_id"]
    one = customer_event(
        "viewer/list_frames.json",
        token,
        path=f"{list_path}/{frame_id}",
        resource="/v1/cameras/{camera_id}/frames/{frame_id}",
        path_parameters={"camera_id": world.camera_id, "frame_id": frame_id},
        query={},
    )
    meter.reset()
    run = _ok(invoke(viewer.lambda_handler, one), 200)
    frame_tally = Tally(meter, units=1, got_bytes=_browser_gets([json.loads(run.response["body"])["image_url"]]))
    frame_tally.lambda_run(memory, run, api=True)
    frame_tally.take_meter()
    return page_tally, frame_tally, len(frames)


def _split(cost: Cost) -> str:
    parts = ", ".join(f"{service} {usd:.2f}" for service, usd in sorted(cost.by_service.items(), key=lambda i: -i[1]))
    return parts + (f"; unpriced: {', '.join(cost.unpriced)}" if cost.unpriced else "")


def _requests(usage: Usage) -> str:
    return ", ".join(f"{count:g} {service}:{op}" for (service, op), count in sorted(usage.requests.items()))


def _rows(label: str, usage: Usage, prices: Any, unit: str, what: str = "") -> Iterator[Row]:
    cost = per_million(usage, prices)
    counts = (
        f"per {unit}: {_requests(usage)}; {usage.dynamodb_write_units:g} WRU, {usage.dynamodb_read_units:g} RRU "
        f"({UNITS_NOTE}); {usage.lambda_gb_seconds:.4f} GB-s; {usage.log_bytes:.0f} log bytes"
    )
    note = f"baseline = value (a price, not a comparison); {what}{_split(cost)}; {counts}"
    yield row(CASE, f"{label} $ per 1M {unit}s", cost.total, cost.total, note=note)
    for service, usd in sorted(cost.by_service.items()):
        yield row(CASE, f"{label} $ per 1M {unit}s: {service}", usd, usd, note="baseline = value")


@case(CASE)
def cost_model() -> Iterator[Row]:
    from bench.cases_imaging import frame_bytes
    from tests.support import make_world

    prices = load_prices()
    read = sorted({p.read for p in prices.values()})
    body = frame_bytes(1280, 720, "image/jpeg")
    frames, page = sized(60, 2), 60
    meter = Meter()
    with _stack(meter) as stack:
        world = make_world()
        single, thumbnail_bytes = _direct(world, meter, body, frames)
        direct = _batched(world, meter, body, sized(60, BATCH))
        _large(stack, world, meter, body, 1, tag="-warm")  # the processor's first run: imports, clients
        large = _large(stack, world, meter, body, sized(10, 1))
        events = _device_events(world, meter, sized(10, 1))
        page_tally, frame_tally, listed = _viewing(world, meter, page)
    direct_usage = direct.usage()
    yield from _rows(
        "direct frame", direct_usage, prices, "frame", what=f"{BATCH} frames of a camera per batch request; "
    )
    yield from _rows("direct frame, one per request", single.usage(), prices, "frame")
    yield from _rows("large upload", large.usage(), prices, "frame")
    yield from _rows("device event", events.usage(), prices, "event")
    yield from _rows("timeline page", page_tally.usage(), prices, "page", what=f"{listed} thumbnails listed and got; ")
    yield from _rows("full frame view", frame_tally.usage(), prices, "view")
    index_bytes = sum(direct.created_bytes.values()) / direct.units
    by_table = ", ".join(f"{t.split('-')[-1]} {b / direct.units:.0f}" for t, b in sorted(direct.created_bytes.items()))
    plan = CameraPlan()
    month = camera_month(direct_usage, prices, thumbnail_bytes=thumbnail_bytes, index_bytes=index_bytes, plan=plan)
    month_metric = "camera-month $, direct frames"
    yield row(
        CASE,
        month_metric,
        month.total,
        month.total,
        note=f"1 frame / {plan.every_s:g} s, {plan.retention_days:g}-day retention of {plan.frame_bytes / 1024:g} KB "
        f"frames, thumbnail {thumbnail_bytes} B and {index_bytes:.0f} B of DynamoDB items per frame (measured: "
        f"{by_table}); "
        f"{_split(month)}; prices read {', '.join(read)}",
    )
    for service, usd in sorted(month.by_service.items()):
        yield row(CASE, f"{month_metric}: {service}", usd, usd, note="baseline = value")
