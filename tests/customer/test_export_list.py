"""The contract's exports at GET /v1/exports (issue 13): newest first, paged by cursor, each item as
GET /v1/exports/{export_id} gives it; for the roles that may export, of the user's sites only, never another
contract's. Exports are requested and built through the viewer and exporter handlers."""

from __future__ import annotations

from datetime import timedelta

import pytest

from doti.clock import utcnow
from functions.viewer import app as viewer
from tests.support import LambdaContext, api_event, assert_error, body_of
from tests.support.contract_states import put_in_state
from tests.support.exports import get_export, requested
from tests.support.ledger import build_queued_exports, list_exports, listed_exports
from tests.support.viewer import add_site, add_user, ingest_frame, login, owner_token

# Isolated (moto emptied before each test): the exporter drains the export queue whole.
pytestmark = pytest.mark.isolated


def test_the_contracts_exports_are_listed_newest_first_as_each_is_read_alone(aws, world, base_time):
    # Given a frame, and three exports the owner asked for one after the other; the first built and ready
    token = owner_token(world)
    ingest_frame(world, base_time + timedelta(seconds=30))
    first = requested(token, world.camera_id, base_time, base_time + timedelta(minutes=1))
    assert build_queued_exports(aws) == {"batchItemFailures": []}
    second = requested(token, world.camera_id, base_time, base_time + timedelta(minutes=2))
    third = requested(token, world.camera_id, base_time, base_time + timedelta(minutes=3))

    # When the owner lists the exports
    listed = listed_exports(token)

    # Then all three are there, newest first, the ready one with its download link, and no cursor (the last page)
    assert [item["export_id"] for item in listed["items"]] == [third, second, first]
    assert [item["status"] for item in listed["items"]] == ["queued", "queued", "ready"]
    assert "cursor" not in listed
    # and each item is the body GET /v1/exports/{export_id} gives (the signed link aside, signed per request)
    signed = {"download_url", "url_expires_at"}
    for item in listed["items"]:
        answer = get_export(token, item["export_id"])
        assert answer["statusCode"] == 200, answer["body"]
        alone = body_of(answer)
        assert list(item) == list(alone)
        assert {k: v for k, v in item.items() if k not in signed} == {k: v for k, v in alone.items() if k not in signed}
    assert listed["items"][2]["download_url"].startswith("http")
    assert listed["items"][2]["frames"] == 1


def test_pages_follow_the_cursor_without_gaps_or_repeats(aws, world, base_time):
    # Given five exports
    token = owner_token(world)
    made = [requested(token, world.camera_id, base_time, base_time + timedelta(minutes=m)) for m in range(1, 6)]

    # When the owner reads them two at a time
    pages, cursor = [], None
    while True:
        page = listed_exports(token, limit="2", **({"cursor": cursor} if cursor else {}))
        pages.append([item["export_id"] for item in page["items"]])
        cursor = page.get("cursor")
        if cursor is None:
            break

    # Then the pages give each export once, newest first
    assert [export_id for page in pages for export_id in page] == made[::-1]
    assert all(len(page) <= 2 for page in pages)


def test_another_contract_never_sees_them(aws, world_factory, base_time):
    # Given an export in each of two contracts
    mine, theirs = world_factory(), world_factory()
    my_export = requested(owner_token(mine), mine.camera_id, base_time, utcnow())
    their_export = requested(owner_token(theirs), theirs.camera_id, base_time, utcnow())

    # When each owner lists exports / Then each sees their own only
    assert [i["export_id"] for i in listed_exports(owner_token(mine))["items"]] == [my_export]
    assert [i["export_id"] for i in listed_exports(owner_token(theirs))["items"]] == [their_export]


def test_a_site_scoped_manager_lists_only_their_sites_exports(aws, world, base_time):
    # Given an export of each of two sites' cameras, and a manager limited to the second site
    annex = add_site(world)
    owner = owner_token(world)
    requested(owner, world.camera_id, base_time, utcnow())
    annex_export = requested(owner, annex.camera_id, base_time, utcnow())
    scoped = login(*add_user(world, role="manager", site_ids=[annex.site_id]))

    # When the manager lists exports / Then only their site's is there
    assert [i["export_id"] for i in listed_exports(scoped)["items"]] == [annex_export]


def test_a_viewer_may_not_list_exports(aws, world, base_time):
    requested(owner_token(world), world.camera_id, base_time, utcnow())
    viewer_token = login(*add_user(world, role="viewer"))
    assert_error(list_exports(viewer_token), 403, "forbidden")


def test_a_cancelling_contract_still_lists_its_exports(aws, world, base_time):
    # Given an export, and the contract then cancelling (Art. 10-4: the customer takes their data out)
    token = owner_token(world)
    export_id = requested(token, world.camera_id, base_time, utcnow())
    put_in_state(world.contract_id, "cancelling")

    # When the owner lists exports / Then it is served, as the other export routes are
    assert [i["export_id"] for i in listed_exports(token)["items"]] == [export_id]


@pytest.mark.parametrize(
    ("state", "code"), [("suspended", "contract_suspended"), ("terminated", "contract_terminated")]
)
def test_a_contract_out_of_service_lists_nothing(aws, world, base_time, state, code):
    # Given an export, and the contract then out of service
    token = owner_token(world)
    requested(token, world.camera_id, base_time, utcnow())
    put_in_state(world.contract_id, state)

    # When the owner lists exports / Then the state's error answers
    assert_error(list_exports(token), 403, code)


@pytest.mark.parametrize("query", [{"limit": "0"}, {"limit": "101"}, {"cursor": "not-a-cursor"}, {"cursor": "e30"}])
def test_bad_limits_and_cursors_are_refused(aws, world, query):
    assert_error(list_exports(owner_token(world), **query), 422, "validation_error")


def test_the_list_needs_a_session(aws):
    event = api_event("viewer/list_cameras.json", method="GET", path="/v1/exports", resource="/v1/exports")
    event["headers"] = {k: v for k, v in (event.get("headers") or {}).items() if k.lower() != "authorization"}
    event["multiValueHeaders"] = {k: [v] for k, v in event["headers"].items()}
    assert_error(viewer.lambda_handler(event, LambdaContext()), 401, "unauthorized")
