"""The owner console's ledger (issue 13), in Chromium against the local stack, on the phone and the desktop: deletion
receipts per day split into retention and takedown (a day counted before the split existed shows its total only, with
a note), and the contract's exports as the server lists them (GET /v1/exports), not only those asked for in this
browser. Every step is screenshotted and checked with axe-core (serious and critical violations fail).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from playwright.sync_api import expect

from tests.browser.viewer_support import VIEWPORTS, Steps, counted, invite, log_in, stack_table, text

pytestmark = pytest.mark.local_stack


def _receipts_table(web_stack: dict[str, Any]) -> tuple[Any, str]:
    """The local stack's deletion receipts table, in its moto server."""
    return stack_table(web_stack, "DeletionReceiptsTable")


def _put_receipt(web_stack: dict[str, Any], day: str, **numbers: int) -> None:
    ddb, table = _receipts_table(web_stack)
    item = {"contract_id": {"S": web_stack["contract_id"]}, "day": {"S": day}}
    item |= {name: {"N": str(value)} for name, value in numbers.items()}
    ddb.put_item(TableName=table, Item=item)


@pytest.fixture(scope="module")
def ledger(web_stack, staff, demo_owner, camera_has_frames) -> dict[str, Any]:
    """The demo contract with: a frame taken down today (a takedown, counted by source), a day counted by source with
    both retention and takedown, a day stored before sources were counted (totals only), and an export the demo
    owner asked for through the API (so no browser remembers it)."""
    frame = demo_owner.frames(web_stack["camera_id"], limit="1")[0]
    taken = requests.post(
        f"{web_stack['api_url']}/v1/admin/contracts/{web_stack['contract_id']}/takedowns",
        json={
            "camera_id": web_stack["camera_id"],
            "frame_id": frame["frame_id"],
            "ground": "art7-1-3",
            "reason": "browser test",
        },
        headers=staff.headers,
        timeout=30,
    )
    assert taken.status_code == 200, taken.text
    today = datetime.now(UTC).date()
    split_day, old_day = (today - timedelta(days=3)).isoformat(), (today - timedelta(days=4)).isoformat()
    _put_receipt(
        web_stack,
        split_day,
        frames=7,
        notes=2,
        bytes=70_000,
        retention_frames=5,
        retention_notes=2,
        retention_bytes=50_000,
        takedown_frames=2,
        takedown_notes=0,
        takedown_bytes=20_000,
    )
    _put_receipt(web_stack, old_day, frames=4, notes=1, bytes=40_000)
    end = datetime.now(UTC)  # the camera has sent frames in the minute before (camera_has_frames)
    window = {
        "camera_id": web_stack["camera_id"],
        "from": (end - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "to": end.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    asked = requests.post(f"{web_stack['api_url']}/v1/exports", json=window, headers=demo_owner.headers, timeout=30)
    assert asked.status_code == 202, asked.text
    api_receipts = demo_owner.get("/v1/deletions").json()["items"]
    return {
        "split_day": split_day,
        "old_day": old_day,
        "export_id": asked.json()["export_id"],
        "receipts": {r["day"]: r for r in api_receipts},
    }


@pytest.mark.parametrize("viewport_name", ["phone", "desktop"])
def test_the_console_splits_deletion_receipts_and_lists_the_servers_exports(
    context_factory, web_stack, demo_owner, ledger, screenshots, viewport_name
):
    viewport = VIEWPORTS[viewport_name]
    # Given an owner of the demo contract, in a browser that never asked for an export
    owner = invite(web_stack, demo_owner, "owner")
    page = context_factory(viewport).new_page()
    steps = Steps(page, viewport, screenshots, prefix="ledger-")
    log_in(page, steps, web_stack, owner)
    steps.shot("cameras")

    # When they open the console
    steps.menu("#nav-console")
    expect(page.locator("#view-console")).to_be_visible()
    expect(page.locator("#console-deletions")).to_be_visible()

    # Then the receipts table has retention, takedown and total columns
    headings = page.locator("#deletion-table thead th")
    expect(headings).to_have_text(
        [
            text(viewport, key)
            for key in ("deletions.day", "deletions.retention", "deletions.takedown", "deletions.total")
        ]
    )
    # and a day counted by source shows each source's counts, and the total
    split = page.locator(f'#deletion-list tr[data-day="{ledger["split_day"]}"]')
    expect(split.locator('td[data-source="retention"]')).to_contain_text(counted(viewport, "deletions.frames", 5))
    expect(split.locator('td[data-source="takedown"]')).to_contain_text(counted(viewport, "deletions.frames", 2))
    expect(split.locator('td[data-source="total"]')).to_contain_text(counted(viewport, "deletions.frames", 7))
    expect(split.locator('td[data-source="total"]')).to_contain_text(counted(viewport, "deletions.notes", 2))
    # and today's takedown is on the takedown side, as the API counts it
    today = datetime.now(UTC).date().isoformat()
    api_today = ledger["receipts"][today]
    row = page.locator(f'#deletion-list tr[data-day="{today}"]')
    expect(row.locator('td[data-source="takedown"]')).to_contain_text(
        counted(viewport, "deletions.frames", api_today["by_source"]["takedown"]["frames"])
    )
    assert api_today["by_source"]["takedown"]["frames"] >= 1
    # and a day stored before the split shows its total only, with a note across the two source columns
    old = page.locator(f'#deletion-list tr[data-day="{ledger["old_day"]}"]')
    expect(old.locator("td.unsplit")).to_have_text(text(viewport, "deletions.unsplit"))
    assert old.locator("td.unsplit").get_attribute("colspan") == "2"
    expect(old.locator('td[data-source="retention"], td[data-source="takedown"]')).to_have_count(0)
    expect(old.locator('td[data-source="total"]')).to_contain_text(counted(viewport, "deletions.frames", 4))
    page.locator("#console-deletions").scroll_into_view_if_needed()
    steps.shot("deletions")

    # And the exports section lists the export asked for elsewhere (the server's list), until it is ready to download
    expect(page.locator("#exports-heading")).to_have_text(text(viewport, "exports.heading"))
    listed = page.locator(f'#export-list li[data-export-id="{ledger["export_id"]}"]')
    expect(listed).to_be_visible()
    page.locator("#console-exports").scroll_into_view_if_needed()
    steps.shot("exports")
    expect(listed.locator("a.button")).to_be_visible(timeout=60_000)
    expect(listed.locator(".badge")).to_have_text(text(viewport, "exports.ready"))
    assert listed.locator("a.button").get_attribute("href").startswith("http")
    steps.shot("export-ready")
