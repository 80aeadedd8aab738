"""The day timeline (issue 13): GET /v1/cameras/{id}/timeline for a camera that sent a frame every 5 s for a whole
day (17,280 frames), against listing 100 frames (GET /v1/cameras/{id}/frames?limit=100), both
through functions/viewer/app.py lambda_handler, moto in-process with the template's resources. The goal: at most 3
times the listing.

Rows also give the DynamoDB read units each request would consume on AWS, from the sizes of the items it reads (an
item's size is its attribute names plus values; a Query rounds the sum up to 4 KB per read unit, and an eventually
consistent read costs half), for the design chosen (the day's 288 five-minute slots written at ingest,
doti.store.timeline) and the one it replaced (a Query of the day's 17,280 index items, also timed here).
The items are written in bulk, shaped as ingest writes them (seeding is not measured).
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Iterator
from contextlib import redirect_stdout
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

from bench.harness import Row, case, median_ms_interleaved, row, sized
from bench.moto_env import CallTimer, frame_item, moto_stack

CASE = "viewer.timeline"
PAGE = 100
EVERY_S = 5  # one frame every 5 s: 17,280 a day
TOKYO = ZoneInfo("Asia/Tokyo")


@case(CASE)
def day_timeline() -> Iterator[Row]:
    timer = CallTimer()
    with moto_stack(timer):
        yield from _measure(timer)


def item_size(raw: dict[str, dict[str, Any]]) -> int:
    """DynamoDB's size of an item (as PynamoDB serialises it): names and values in bytes; a number is about one byte
    per two significant digits plus one."""
    size = 0
    for name, typed in raw.items():
        size += len(name.encode())
        ((kind, value),) = typed.items()
        if kind == "S":
            size += len(value.encode())
        elif kind == "N":
            digits = Decimal(value).normalize().as_tuple().digits
            size += math.ceil(len(digits) / 2) + 1
        elif kind == "B":
            size += len(value)
        else:
            size += 1
    return size


def query_read_units(sizes: list[int], page_bytes: int = 1024 * 1024) -> float:
    """Eventually consistent read units of a Query returning these items: 4 KB units per 1 MB page, halved."""
    units = 0
    page = 0
    for size in sizes:
        if page + size > page_bytes:
            units += math.ceil(page / 4096)
            page = 0
        page += size
    units += math.ceil(page / 4096)
    return units / 2


def _seed_day(world: Any, day_start: datetime, frames: int) -> tuple[list[int], list[int]]:
    """The day's index items and the slots ingest would have written with them; returns their item sizes."""
    from doti import ids
    from doti.store import keys, timeline
    from doti.store.models import FrameModel, TimelineSlotModel

    camera = SimpleNamespace(camera_id=world.camera_id, site_id=world.site_id)
    slots: dict[datetime, TimelineSlotModel] = {}
    frame_sizes = []
    with FrameModel.batch_write() as batch:
        for n in range(frames):
            captured_at = day_start + timedelta(seconds=EVERY_S * n * (17_280 // frames))
            frame_id = ids.frame_id(captured_at, world.device_id, f"bench-{n}")
            key = keys.frame_key(world.contract_id, world.camera_id, captured_at, frame_id, "image/jpeg")
            thumb = keys.thumb_key(world.contract_id, world.camera_id, captured_at, frame_id)
            item = frame_item(world.contract_id, camera, frame_id, captured_at, key, thumb, 100_000, 31)
            item.activity_score = round(n % 97 / 3, 2)
            batch.save(item)
            frame_sizes.append(item_size(item.serialize()))
            start = timeline.slot_start(captured_at)
            slot = slots.setdefault(
                start,
                TimelineSlotModel(
                    world.camera_id,
                    timeline.slot_key(start),
                    frames=0,
                    first_frame_id=frame_id,
                    expires_at=start + timeline.SLOT + timedelta(days=31),
                ),
            )
            slot.frames += 1
            slot.max_activity = max(slot.max_activity or 0, item.activity_score)
    with TimelineSlotModel.batch_write() as batch:
        for slot in slots.values():
            batch.save(slot)
    return frame_sizes, [item_size(slot.serialize()) for slot in slots.values()]


def _event(token: str, world: Any, resource: str, query: dict[str, str]) -> dict[str, Any]:
    from tests.support import customer_event

    path = resource.replace("{camera_id}", world.camera_id)
    return customer_event(
        "viewer/list_frames.json",
        token,
        path=path,
        resource=resource,
        path_parameters={"camera_id": world.camera_id},
        query=query,
    )


def _measure(timer: CallTimer) -> Iterator[Row]:
    from bench.cases_viewer import _token
    from doti import ids
    from doti.clock import utcnow
    from doti.store.models import FrameModel
    from functions.viewer import app as viewer
    from tests.support import LambdaContext, make_world

    frames = sized(17_280, 24)
    world = make_world()
    yesterday = (utcnow().astimezone(TOKYO) - timedelta(days=1)).date()
    day_start = datetime.combine(yesterday, time(0), tzinfo=TOKYO).astimezone(UTC)
    frame_sizes, slot_sizes = _seed_day(world, day_start, frames)
    token = _token(world)
    timeline_event = _event(token, world, "/v1/cameras/{camera_id}/timeline", {"date": yesterday.isoformat()})
    list_event = _event(token, world, "/v1/cameras/{camera_id}/frames", {"limit": str(PAGE)})

    def call(event: dict[str, Any]) -> dict[str, Any]:
        with redirect_stdout(io.StringIO()):  # Powertools prints the EMF metrics, as to CloudWatch on Lambda
            response = viewer.lambda_handler(event, LambdaContext())
        if response["statusCode"] != 200:
            raise RuntimeError(f"the bench request failed: {response['body'][:300]}")
        return json.loads(response["body"])

    def timeline_request() -> None:
        body = call(timeline_event)
        if sum(b["count"] for b in body["buckets"]) != frames:
            raise RuntimeError("the bench timeline does not count the day's frames")

    def list_request() -> None:
        call(list_event)

    def index_query() -> None:
        upper = ids.frame_id_floor(day_start + timedelta(days=1))
        condition = FrameModel.frame_id.between(ids.frame_id_floor(day_start), upper)
        read = sum(1 for _ in FrameModel.query(world.camera_id, range_key_condition=condition))
        if read != frames:
            raise RuntimeError("the bench index query missed frames")

    timer.reset()
    timeline_request()
    timeline_calls = timer.count
    reps = sized(10, 2)
    timeline_ms, list_ms = median_ms_interleaved([timeline_request, list_request], reps=reps, warmup=sized(2, 1))
    # once: under moto each of its ~20 pages sorts the camera's whole key range again
    (index_ms,) = median_ms_interleaved([index_query], reps=1, warmup=0)
    listed = min(PAGE, frames)
    list_units = query_read_units(frame_sizes[:listed])
    note = f"{frames} frames in the day, {len(slot_sizes)} slots; median of {reps}; {timeline_calls} AWS calls"
    yield row(CASE, "timeline request ms", timeline_ms, list_ms, note=f"{note}; baseline: listing {listed} frames")
    yield row(
        CASE,
        "timeline read units (eventually consistent)",
        query_read_units(slot_sizes) + 2 * 0.5,
        list_units,
        note=f"slots of {max(slot_sizes)} B at most, and 2 notes queries (0.5 each when empty); baseline: the "
        f"listing's {listed} index items of ~{frame_sizes[0]} B, plus the session and registry reads both make",
    )
    yield row(
        CASE,
        "rejected design: the day's index items, read units",
        query_read_units(frame_sizes),
        list_units,
        note="a Query of every index item of the day",
    )
    yield row(
        CASE, "rejected design: the day's index query ms", index_ms, list_ms, note="one run; baseline: the listing"
    )
