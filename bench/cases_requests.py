"""Requests from people filmed (issue 15): what a page of them costs the viewer, and what the public form costs.

Same process, moto in-process with the template's resources, through functions/viewer/app.py's handler:

- `requests.list`: GET /v1/requests?limit=50 for a contract holding 50 requests against one holding 2,050. The
  listing is one key-range query on the contract's index, newest first, so its cost follows the page, not what the
  contract has stored: the calls ratio should be exactly 1.0. The time ratio sits above 1 only because moto answers
  an index query by filtering every item of the table in Python; DynamoDB reads the page's keys alone. Requests are
  written in bulk; setup is not measured.
- `requests.form`: POST /p/{public_id}/requests (checks, two limit counters, the contact sealed with KMS, the request,
  its overdue check and its audit entry in one transaction) against GET /p/{public_id} (the page with its form), each
  a fresh form from a fresh address.
"""

from __future__ import annotations

import io
import json
import secrets
from collections.abc import Iterator
from contextlib import redirect_stdout
from datetime import timedelta
from typing import Any

from bench.harness import Row, case, median_ms_interleaved, row, sized
from bench.moto_env import CallTimer, moto_stack

PAGE = 50
STORED = 2_000


@case("requests.list")
def list_requests() -> Iterator[Row]:
    timer = CallTimer()
    with moto_stack(timer):
        yield from _measure_list(timer)


@case("requests.form")
def send_the_form() -> Iterator[Row]:
    timer = CallTimer()
    with moto_stack(timer):
        yield from _measure_form(timer)


def _seed(contract_id: str, site_id: str, count: int) -> None:
    from doti.clock import utcnow
    from doti.store.models import SubjectRequestModel

    now = utcnow()
    with SubjectRequestModel.batch_write() as batch:
        for n in range(count):
            at = now - timedelta(minutes=n + 1)
            batch.save(
                SubjectRequestModel(
                    request_id=f"dsr_bench{secrets.token_hex(8)}",
                    contract_id=contract_id,
                    site_id=site_id,
                    kind="question",
                    text="A question about the cameras.",
                    contact_ciphertext=b"sealed",
                    secret_hash="0" * 64,
                    status="open",
                    created_at=at,
                    due_at=at + timedelta(days=14),
                    expires_at=at + timedelta(days=365),
                )
            )


def _token(world: Any) -> str:
    from functions.viewer import app as viewer
    from tests.support import LambdaContext, api_event

    body = json.dumps({"login_id": world.login_id, "password": world.password})
    response = viewer.lambda_handler(api_event("viewer/login.json", body=body), LambdaContext())
    return json.loads(response["body"])["token"]


def _call(event: dict[str, Any], status: int) -> dict[str, Any]:
    from functions.viewer import app as viewer
    from tests.support import LambdaContext

    with redirect_stdout(io.StringIO()):  # Powertools prints the EMF metrics, as to CloudWatch on Lambda
        response = viewer.lambda_handler(event, LambdaContext())
    if response["statusCode"] != status:
        raise RuntimeError(f"the bench request failed: {response['statusCode']} {response['body'][:300]}")
    return response


def _measure_list(timer: CallTimer) -> Iterator[Row]:
    from tests.support import customer_event, make_world

    page, stored = sized(PAGE, 3), sized(STORED, 5)
    few, many = make_world(), make_world()
    _seed(few.contract_id, few.site_id, page)
    _seed(many.contract_id, many.site_id, page + stored)

    def event(world: Any) -> dict[str, Any]:
        token = _token(world)
        return customer_event(
            "viewer/list_cameras.json", token, path="/v1/requests", resource="/v1/requests", query={"limit": str(page)}
        )

    events = {"few": event(few), "many": event(many)}
    calls = {}
    for name, listing in events.items():
        timer.reset()
        body = json.loads(_call(listing, 200)["body"])
        if len(body["items"]) != page:
            raise RuntimeError(f"the bench listing gave {len(body['items'])} requests, not {page}")
        calls[name] = timer.count
    reps = sized(30, 2)
    few_ms, many_ms = median_ms_interleaved(
        [lambda: _call(events["few"], 200), lambda: _call(events["many"], 200)], reps=reps, warmup=sized(3, 1)
    )
    note = f"limit={page}; {page + stored} stored against {page}; median of {reps}; moto filters the whole index"
    yield row("requests.list", "AWS calls per page", calls["many"], calls["few"], note="must be 1.0")
    yield row("requests.list", f"request ms, {page + stored} stored vs {page}", many_ms, few_ms, note=note)


def _measure_form(timer: CallTimer) -> Iterator[Row]:
    from urllib.parse import urlencode

    import boto3

    from doti import runtime
    from doti.clock import utcnow
    from doti.store import registry
    from doti.subjects.requests import JST
    from tests.support import api_event, make_world

    name = runtime.get_settings().public_base_url_parameter
    boto3.client("ssm").put_parameter(Name=name, Value="https://doti.bench", Type="String", Overwrite=True)
    world = make_world()
    public_id = registry.get_site(world.site_id).public_id
    page = api_event("viewer/notice_page.json", path=f"/p/{public_id}", path_parameters={"public_id": public_id})

    def send() -> None:
        token = secrets.token_urlsafe(24)
        now = utcnow().astimezone(JST)
        fields = {
            "form_token": token,
            "kind": "question",
            "contact": "hanako@example.jp",
            "text": "Which areas do the cameras cover?",
            "from": (now - timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M"),
            "to": now.strftime("%Y-%m-%dT%H:%M"),
        }
        event = api_event(
            "viewer/make_request.json",
            path=f"/p/{public_id}/requests",
            path_parameters={"public_id": public_id},
            headers={"Content-Type": "application/x-www-form-urlencoded", "Cookie": f"__Host-doti_form={token}"},
            body=urlencode(fields),
            binary=False,
        )
        event["requestContext"]["identity"]["sourceIp"] = f"2001:db8::{secrets.token_hex(2)}"
        _call(event, 303)

    timer.reset()
    send()
    calls = timer.count
    reps = sized(20, 1)  # within the site's daily limit (50), with the warm-up and the counted call
    send_ms, page_ms = median_ms_interleaved([send, lambda: _call(page, 200)], reps=reps, warmup=sized(2, 1))
    note = f"median of {reps}; {calls} AWS calls per request; baseline: the notice page with its form"
    yield row("requests.form", "form POST ms", send_ms, page_ms, note=note)
