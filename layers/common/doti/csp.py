"""Content-Security-Policy pieces shared by the server-rendered pages (share, invitation and notice pages)."""

from __future__ import annotations

import base64
import hashlib


def style_source(css: str) -> str:
    """The CSP source that allows exactly this inline stylesheet and no other: `'sha256-<base64 digest>'`."""
    return f"'sha256-{base64.b64encode(hashlib.sha256(css.encode()).digest()).decode()}'"
