"""doti's benchmark harness: `python -m bench [case-prefix ...]` (see bench/harness.py)."""

from __future__ import annotations

import importlib

CASE_MODULES = (
    "cases_browser",
    "cases_cost",
    "cases_health",
    "cases_imaging",
    "cases_imports",
    "cases_ingest",
    "cases_jobs",
    "cases_purge",
    "cases_requests",
    "cases_retention",
    "cases_timeline",
    "cases_viewer",
)


def load_cases() -> None:
    """Import the case modules for their @case registrations (they need layers/common on the path, as on Lambda)."""
    for name in CASE_MODULES:
        importlib.import_module(f"bench.{name}")
