"""Debian's Chromium for Playwright (no bundled browser, `playwright install` is not used): where it is and how it
is launched, for the browser tests and the browser benchmark alike."""

from __future__ import annotations

import shutil
from pathlib import Path

CHROMIUM_ARGS = [
    "--no-sandbox",  # tests may run as root in a container, where Chromium's sandbox cannot start
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def chromium_path() -> Path | None:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    return Path(found) if found else None
