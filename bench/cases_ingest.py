"""Ingest handler throughput (issue 4, 10(b)): signed 720p JPEG frames through functions/ingest/app.py
lambda_handler, moto in-process with the template's resources, one new frame per request.

Within each repetition, in turn: one request through the handler, the bare image pipeline on the same bytes, and one
moto S3 PutObject of the same bytes. The ratios say what authentication, the registry and contract reads, the claim,
both stored objects, the index-and-usage transaction and Powertools add to the image work, and how many plain moto
puts one request costs. Events are built and signed before timing (the device's work, not ours).
"""

from __future__ import annotations

import io
import statistics
import time
from collections.abc import Iterator
from contextlib import redirect_stdout
from typing import Any

from bench.cases_imaging import LIMITS, frame_bytes
from bench.harness import Row, case, row, sized
from bench.moto_env import CallTimer, moto_stack

CASE = "ingest.handler"


@case(CASE)
def handler_throughput() -> Iterator[Row]:
    timer = CallTimer()
    with moto_stack(timer) as settings:
        yield from _measure(settings, timer)


def _measure(settings: Any, timer: CallTimer) -> Iterator[Row]:
    from doti.ingest.imaging import process_image
    from doti.store.aws import s3_client
    from functions.ingest import app as ingest
    from tests.support import LambdaContext, frame_event, make_world

    frames = sized(60, 2)
    body = frame_bytes(1280, 720, "image/jpeg")
    world = make_world()
    events = [frame_event(world, body, frame_id=f"bench-{n}") for n in range(frames + 1)]
    s3 = s3_client(settings.region)

    def request(event: dict[str, Any]) -> None:
        with redirect_stdout(io.StringIO()):  # Powertools prints the EMF metrics, as to CloudWatch on Lambda
            response = ingest.lambda_handler(event, LambdaContext())
        if response["statusCode"] != 201:
            raise RuntimeError(f"the bench frame was not stored: {response['body']}")

    def put() -> None:
        s3.put_object(Bucket=settings.frames_bucket, Key="bench/put-alone.jpg", Body=body)

    request(events[0])  # warm-up: first clients, OpenAPI validation models, imports
    handler_s, pipeline_s, put_s, calls = [], [], [], []
    for event in events[1:]:
        timer.reset()
        started = time.perf_counter()
        request(event)
        handler_s.append(time.perf_counter() - started)
        calls.append(timer.count)
        started = time.perf_counter()
        process_image(body, "image/jpeg", LIMITS)
        pipeline_s.append(time.perf_counter() - started)
        started = time.perf_counter()
        put()
        put_s.append(time.perf_counter() - started)

    handler_ms, pipeline_ms, put_ms = (statistics.median(s) * 1000 for s in (handler_s, pipeline_s, put_s))
    fps = len(handler_s) / sum(handler_s)
    note = f"720p JPEG {len(body) // 1024} KiB; median of {frames}; {statistics.median(calls):.0f} AWS calls/request"
    yield row(CASE, "request ms", handler_ms, pipeline_ms, note=f"{note}; baseline: process_image alone")
    yield row(CASE, "request ms vs one moto put", handler_ms, put_ms, note="baseline: one S3 PutObject, same bytes")
    yield row(CASE, "frames per second", fps, 1000 / pipeline_ms, note="one thread; baseline: process_image alone")
