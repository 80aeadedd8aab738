"""What the browser tests of the viewer share: viewports, steps that screenshot and run axe-core, the UI strings, the
menu, and customers of each role invited by the demo owner the way an owner does (a link, then its form)."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import requests
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Locator, Page, expect

from tests.local_stack.http import Customer

STRINGS = json.loads(
    (Path(__file__).resolve().parents[2] / "functions" / "viewer" / "web" / "i18n.json").read_text(encoding="utf-8")
)
LOADED = "img => img.complete && img.naturalWidth > 0"
FAILING_IMPACTS = {"serious", "critical"}
AXE = Axe()
# The page states axe-core has already checked in this test process (one local stack, one browser): a view is checked
# once per role and viewport, and again only when something else shows on it (a menu, a form's answer, an error).
CHECKED: set[tuple[str, ...]] = set()
# The view (the viewer's route, or the server page's path without its ids) and the ids of every element rendered.
PAGE_STATE = """() => {
  const view = document.body.dataset.view || location.pathname.replace(/[^/]{12,}/g, "*");
  const shown = [...document.querySelectorAll("[id]")].filter((e) => e.getClientRects().length > 0).map((e) => e.id);
  return [view, ...shown.sort()].join(" ");
}"""


@dataclass(frozen=True)
class Viewport:
    name: str
    lang: str  # the phone browses in Japanese, the desktop in English: both string sets get exercised
    touch: bool

    def context_options(self, playwright: Any) -> dict[str, Any]:
        if self.name == "phone":
            profile = {k: v for k, v in playwright.devices["iPhone 13"].items() if k != "default_browser_type"}
            return {**profile, "locale": "ja-JP"}
        return {"viewport": {"width": 1280, "height": 800}, "locale": "en-GB"}


VIEWPORTS = {"phone": Viewport("phone", "ja", touch=True), "desktop": Viewport("desktop", "en", touch=False)}


def accessibility_problems(page: Page) -> list[str]:
    """axe-core's serious and critical violations on the page as it is now, one line each."""
    # axe-playwright-python's Axe.run evaluates axe-core's 500 kB script on every call; it stays in the window, so it
    # is evaluated again only when the page has been navigated (the viewer's own routes keep it)
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(AXE.axe_script)
    violations = page.evaluate("options => axe.run(options)", {"resultTypes": ["violations"]})["violations"]
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[node['target'] for node in v['nodes']][:5]}"
        for v in violations
        if v["impact"] in FAILING_IMPACTS
    ]


class Steps:
    """Presses the way the viewport's user does (a tap on the phone), screenshots each step and checks it with axe."""

    def __init__(self, page: Page, viewport: Viewport, folder: Path, prefix: str = "", role: str = "owner"):
        self.page, self.viewport, self.folder = page, viewport, folder
        self.prefix, self.role = prefix, role
        self.count = 0

    def press(self, target: Locator) -> None:
        if self.viewport.touch:
            target.tap()
        else:
            target.click()

    def shot(self, step: str, page: Page | None = None, *, axe: bool = True) -> None:
        self.count += 1
        shown = page or self.page
        path = self.folder / f"{self.prefix}{self.viewport.name}-{self.count:02d}-{step}.png"
        shown.screenshot(path=path, full_page=True)
        if axe:
            self.check(shown, step)

    def check(self, shown: Page, step: str) -> None:
        """axe-core on the page as it is, unless this state was checked already for the role on this viewport."""
        state = (self.viewport.name, self.role, shown.evaluate(PAGE_STATE))
        if state in CHECKED:
            return
        problems = accessibility_problems(shown)
        assert problems == [], f"{step}: {problems}"
        CHECKED.add(state)

    def open_menu(self) -> None:
        if self.page.locator("#nav").is_hidden():
            self.press(self.page.locator("#menu-toggle"))
        expect(self.page.locator("#nav")).to_be_visible()

    def menu(self, item: str) -> None:
        """Chooses a menu entry (#nav-shares, #logout…)."""
        self.open_menu()
        self.press(self.page.locator(item))

    def open_filters(self) -> None:
        if self.page.locator("#filter-form").is_hidden():
            self.press(self.page.locator("#date-chip"))
        expect(self.page.locator("#filter-form")).to_be_visible()


def text(viewport: Viewport, key: str, **values: str) -> str:
    found = STRINGS[viewport.lang][key]
    for name, value in values.items():
        found = found.replace("{" + name + "}", value)
    return found


def counted(viewport: Viewport, key: str, n: int) -> str:
    """A count in words, in the plural form the language uses for n (English: _one for 1; Japanese: _other)."""
    form = "one" if viewport.lang == "en" and n == 1 else "other"
    return text(viewport, f"{key}_{form}", n=str(n))


def wait_loaded(page: Page, selector: str, at_least: int = 1) -> None:
    page.wait_for_function(
        f"([sel, n]) => {{ const imgs = [...document.querySelectorAll(sel)].slice(0, n);"
        f" return imgs.length === n && imgs.every({LOADED}); }}",
        arg=[selector, at_least],
    )


@dataclass(frozen=True)
class Account:
    login_id: str
    password: str
    name: str
    role: str


def invite(web_stack: dict[str, Any], owner: Customer, role: str, **extra: Any) -> Account:
    """A new user of the demo contract: the owner invites by link, the invitee chooses an id and a password on it."""
    login_id = f"web-{role}-{secrets.token_hex(3)}"
    name = f"{role.title()} {login_id[-6:]}"
    invited = requests.post(
        web_stack["api_url"] + "/v1/users",
        json={"name": name, "role": role, **extra},
        headers=owner.headers,
        timeout=30,
    )
    assert invited.status_code == 201, invited.text
    password = "pw-" + secrets.token_urlsafe(12)
    form = {"login_id": login_id, "password": password, "password_again": password}
    accepted = requests.post(invited.json()["url"], data=form, timeout=30)
    assert accepted.status_code == 201, accepted.text
    return Account(login_id, password, name, role)


def on_the_stacks_clock(page: Page) -> None:
    """Set the browser's "today" to the stack's. They differ under `make test-shifted`, which moves only Python's
    clock: a test about the day bar is not about a phone whose clock is a year off (its "today" would be outside the
    retention and the bar would hide)."""
    page.clock.set_system_time(datetime.now(UTC))


def log_in(page: Page, steps: Steps, web_stack: dict[str, Any], account: Account) -> None:
    page.goto(web_stack["api_url"] + "/")
    page.fill("#login-id", account.login_id)
    page.fill("#password", account.password)
    steps.press(page.locator("#login-form button[type=submit]"))
    expect(page.locator("#view-cameras")).to_be_visible()
    expect(page.locator("#user-name")).to_have_text(account.name)


def stack_table(web_stack: dict[str, Any], logical_id: str) -> tuple[Any, str]:
    """A DynamoDB client on the local stack's moto server, and the name of the table made for `logical_id`."""
    ddb = boto3.client(
        "dynamodb",
        endpoint_url=web_stack["aws_endpoint"],
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    [name] = [n for n in ddb.list_tables()["TableNames"] if n.endswith(f"-{logical_id}")]
    return ddb, name
