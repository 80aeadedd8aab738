"""Listing 100 frames with signed URLs (issue 5, 8): GET /v1/cameras/{id}/frames?limit=100 through
functions/viewer/app.py lambda_handler, moto in-process with the template's resources.

Within each repetition, in turn: one request through the handler; the DynamoDB query alone (store.frames.query_frames,
the same page); signing alone (frames.sign_frame for those 100 frames: 200 presigned URLs). Signing must cost less than
the query. A last row times doti.store.signing.presign_get against botocore's own generate_presigned_url on the
same client.
The frames are index items written in bulk (listing and signing never read the objects); setup is not measured.
"""

from __future__ import annotations

import io
import json
import statistics
from collections.abc import Iterator
from contextlib import redirect_stdout
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

from bench.harness import Row, case, median_ms_interleaved, row, sized
from bench.moto_env import CallTimer, frame_item, moto_stack

CASE = "viewer.list_frames"
PAGE = 100


@case(CASE)
def list_with_signed_urls() -> Iterator[Row]:
    timer = CallTimer()
    with moto_stack(timer):
        yield from _measure(timer)


def _seed(world: Any, frames: int) -> None:
    from doti import ids
    from doti.clock import utcnow
    from doti.store import keys
    from doti.store.models import FrameModel

    camera = SimpleNamespace(camera_id=world.camera_id, site_id=world.site_id)
    now = utcnow()
    with FrameModel.batch_write() as batch:
        for n in range(frames):
            captured_at = now - timedelta(minutes=n + 1)
            frame_id = ids.frame_id(captured_at, world.device_id, f"bench-{n}")
            key = keys.frame_key(world.contract_id, world.camera_id, captured_at, frame_id, "image/jpeg")
            thumb = keys.thumb_key(world.contract_id, world.camera_id, captured_at, frame_id)
            batch.save(frame_item(world.contract_id, camera, frame_id, captured_at, key, thumb, 100_000, 31))


def _token(world: Any) -> str:
    from functions.viewer import app as viewer
    from tests.support import LambdaContext, api_event

    body = json.dumps({"login_id": world.login_id, "password": world.password})
    response = viewer.lambda_handler(api_event("viewer/login.json", body=body), LambdaContext())
    return json.loads(response["body"])["token"]


def _measure(timer: CallTimer) -> Iterator[Row]:
    from doti import ids, runtime
    from doti.clock import utcnow
    from doti.store import frames as store
    from doti.viewing import frames
    from functions.viewer import app as viewer
    from tests.support import LambdaContext, customer_event, make_world

    page = sized(PAGE, 3)
    world = make_world()
    _seed(world, page)
    event = customer_event(
        "viewer/list_frames.json",
        _token(world),
        path=f"/v1/cameras/{world.camera_id}/frames",
        resource="/v1/cameras/{camera_id}/frames",
        path_parameters={"camera_id": world.camera_id},
        query={"limit": str(page)},
    )
    storage, now = runtime.storage(), utcnow()
    listed: list[Any] = []
    moto_ms: list[float] = []

    def request() -> None:
        with redirect_stdout(io.StringIO()):  # Powertools prints the EMF metrics, as to CloudWatch on Lambda
            response = viewer.lambda_handler(event, LambdaContext())
        if response["statusCode"] != 200 or len(json.loads(response["body"])["items"]) != page:
            raise RuntimeError(f"the bench listing failed: {response['body'][:300]}")

    def query() -> None:
        timer.reset()
        listed[:] = store.query_frames(
            world.camera_id,
            ids.FRAME_ID_MIN,
            ids.FRAME_ID_MAX,
            newest_first=True,
            limit=page,
            start_after=None,
            now=now,
        )[0]
        moto_ms.append(timer.server_ms)

    def sign() -> None:
        for frame in listed:
            frames.sign_frame(frame, storage, 300, now)

    query()
    timer.reset()
    request()
    calls = timer.count
    reps = sized(30, 2)
    request_ms, query_ms, sign_ms = median_ms_interleaved([request, query, sign], reps=reps, warmup=sized(3, 1))
    client_ms = query_ms - statistics.median(moto_ms)
    note = f"{page} frames, {2 * page} URLs; median of {reps}; {calls} AWS calls/request"
    yield row(CASE, f"request ms, limit={page}", request_ms, query_ms, note=f"{note}; baseline: query_frames alone")
    yield row(CASE, f"signing ms, {2 * page} URLs", sign_ms, query_ms, note="must be < 1; baseline: query_frames alone")
    yield row(
        CASE,
        f"signing ms, {2 * page} URLs vs the query's client side",
        sign_ms,
        client_ms,
        note="baseline: query_frames less moto's serving time (SDK + PynamoDB work, no server, no network)",
    )
    yield from _presign_rate(storage, now)


def _presign_rate(storage: Any, now: Any) -> Iterator[Row]:
    from doti.store.signing import presign_get

    urls = sized(2000, 20)
    keys = [f"frames/ctr_bench/cam_bench/2026/11/25/frm_{n:06d}.jpg" for n in range(urls)]

    def ours() -> None:
        for key in keys:
            presign_get(
                storage.s3, storage.bucket, key, content_type="image/jpeg", filename="f.jpg", ttl_seconds=300, now=now
            )

    def botocore() -> None:
        for key in keys:
            storage.s3.generate_presigned_url(
                "get_object",
                Params={
                    "Bucket": storage.bucket,
                    "Key": key,
                    "ResponseContentType": "image/jpeg",
                    "ResponseContentDisposition": 'inline; filename="f.jpg"',
                },
                ExpiresIn=300,
            )

    ours_ms, botocore_ms = median_ms_interleaved([ours, botocore], reps=sized(5, 1), warmup=1)
    yield row(
        CASE,
        "presigned URLs per second",
        urls / ours_ms * 1000,
        urls / botocore_ms * 1000,
        note="doti.store.signing.presign_get, higher is better; baseline: botocore generate_presigned_url, same client",
    )
