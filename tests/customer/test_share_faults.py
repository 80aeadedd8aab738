"""Share links under a single fault at any AWS call (issue 11): a link, its revocation and a one-time link's spent
view each commit in one transaction with the audit entry that records them, so no fault leaves a link the audit log
does not show, a revocation without its entry, or a one-time link spent with no view recorded. A one-time link is
spent only by its interstitial's button (POST /s/{token}, issue 13): its GET, broken anywhere, spends nothing.

Each test, in each mode in turn, learns a clean run's calls, then breaks each of a sample of them (its first call and up
to three writes: tests.faults.points.fault_points), and then makes the retry a person makes: the customer asks again
when the link they asked for is not there (not listed, not revoked), the link holder reloads a page that failed.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from doti.clock import utcnow
from doti.oversight import audit
from doti.store.models import ShareModel
from tests.faults.inject import MODES, Plan
from tests.faults.points import sweep
from tests.support import World
from tests.support.shares import GROUND, create_share, created, open_page, press_button, revoke
from tests.support.viewer import ingest_frame, owner_token


def entries(contract_id: str, action: str) -> list[str]:
    """The subjects of the chain's `action` entries, oldest first."""
    found, _ = audit.entries(contract_id, limit=500)
    return [e.subject for e in reversed(found) if e.action == action]


def stored_shares(contract_id: str) -> dict[str, ShareModel]:
    return {item.share_id: item for item in ShareModel.by_contract.query(contract_id)}


def assert_chain_intact(contract_id: str) -> None:
    report = audit.verify_chain(contract_id)
    assert report.intact, report


def test_a_link_created_under_any_single_fault_is_stored_and_audited_once(world):
    # Given a frame and its owner, who asks for a link to it
    frame = ingest_frame(world, utcnow().replace(microsecond=0) - timedelta(minutes=5))
    token = owner_token(world)
    body = {"camera_id": world.camera_id, "frame_id": frame["frame_id"], "purpose": GROUND}

    def ask() -> dict[str, Any]:
        return create_share(token, **body, expires_in=3600)

    def check(before: set[str], plan: Plan, outcome: Any) -> None:
        # When the customer asks again after an error, if no new link is listed
        failed = not isinstance(outcome, dict) or outcome["statusCode"] != 201
        if failed and not set(stored_shares(world.contract_id)) - before:
            assert ask()["statusCode"] == 201, plan
        # Then there is one new link, with one "share.created" entry, and no entry for a link that is not there
        new = set(stored_shares(world.contract_id)) - before
        assert len(new) == 1, (plan, outcome, new)
        created_entries = entries(world.contract_id, "share.created")
        assert created_entries.count(new.pop()) == 1, (plan, outcome)
        assert set(created_entries) <= set(stored_shares(world.contract_id)), (plan, outcome)
        assert_chain_intact(world.contract_id)

    for mode in MODES:
        sweep(mode, lambda: set(stored_shares(world.contract_id)), lambda _before: ask(), check)


def test_a_link_revoked_under_any_single_fault_is_revoked_with_one_entry(world):
    # Given links of the owner's, one for each broken revocation
    frame = ingest_frame(world, utcnow().replace(microsecond=0) - timedelta(minutes=5))
    token = owner_token(world)

    def a_link() -> str:
        share = created(token, camera_id=world.camera_id, frame_id=frame["frame_id"], purpose=GROUND, expires_in=3600)
        return share["share_id"]

    def check(share_id: str, plan: Plan, outcome: Any) -> None:
        # When the customer revokes it again after an error (the listing would still show it active)
        if not isinstance(outcome, dict) or outcome["statusCode"] != 204:
            assert revoke(token, share_id)["statusCode"] == 204, plan
        # Then the link is revoked, and the audit log says so once
        assert stored_shares(world.contract_id)[share_id].revoked_at is not None, plan
        assert entries(world.contract_id, "share.revoked").count(share_id) == 1, (plan, outcome)
        assert_chain_intact(world.contract_id)

    for mode in MODES:
        sweep(mode, a_link, lambda share_id: revoke(token, share_id), check)


def one_time_links(world: World) -> Callable[[], dict[str, Any]]:
    """Makes a fresh one-time link to one frame of the world's camera at each call (one per broken attempt)."""
    frame = ingest_frame(world, utcnow().replace(microsecond=0) - timedelta(minutes=5))
    token = owner_token(world)

    def a_link() -> dict[str, Any]:
        body = {"camera_id": world.camera_id, "frame_id": frame["frame_id"], "purpose": GROUND, "one_time": True}
        return created(token, **body, expires_in=600)

    return a_link


def test_a_one_time_link_is_spent_only_with_its_view_recorded(world):
    # Given one-time links to a frame, one for each broken press of the interstitial's button
    a_link = one_time_links(world)

    def check(share: dict[str, Any], plan: Plan, outcome: Any) -> None:
        # When the holder presses the button again after a page that failed (the browser resends the form)
        shown = isinstance(outcome, dict) and outcome["statusCode"] == 200
        if not shown:
            shown = press_button(share["url"])["statusCode"] == 200
        # Then the link is spent exactly when one view of it is recorded: never spent unrecorded, never recorded
        # twice; and a holder who was shown nothing had the link spent only by a view that committed
        spent = stored_shares(world.contract_id)[share["share_id"]].consumed_at is not None
        views = entries(world.contract_id, "share.viewed").count(share["share_id"])
        assert (spent, views) in ((True, 1), (False, 0)), (plan, outcome, spent, views)
        assert spent or not shown, (plan, outcome)
        assert_chain_intact(world.contract_id)

    for mode in MODES:
        sweep(mode, a_link, lambda share: press_button(share["url"]), check)


def test_a_one_time_links_interstitial_spends_nothing_under_any_single_fault(world):
    # Given one-time links to a frame, one for each broken opening (a preview bot's GET, a person's)
    a_link = one_time_links(world)

    def check(share: dict[str, Any], plan: Plan, outcome: Any) -> None:
        # Then, whatever broke, the link is not spent and no view is recorded
        assert stored_shares(world.contract_id)[share["share_id"]].consumed_at is None, (plan, outcome)
        assert entries(world.contract_id, "share.viewed").count(share["share_id"]) == 0, (plan, outcome)
        # and its button, pressed once, shows the frame with one view recorded; a second press is refused
        assert press_button(share["url"])["statusCode"] == 200, plan
        assert entries(world.contract_id, "share.viewed").count(share["share_id"]) == 1, plan
        assert press_button(share["url"])["statusCode"] == 404, plan
        assert_chain_intact(world.contract_id)

    for mode in MODES:
        sweep(mode, a_link, lambda share: open_page(share["url"]), check)
