"""The template as SAM translates it, and the tools venv that translates and checks it (make tools)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from infra.template import ROOT

TOOLS_BIN = ROOT / ".venv-tools" / "bin"


def tools_bin() -> Path:
    """The tools venv's bin folder. `make test` builds it and sets DOTI_REQUIRE_TOOLS, so there a missing venv
    fails; a bare pytest without it skips the checks that need it and says how to get it."""
    if not (TOOLS_BIN / "python").exists():
        if os.environ.get("DOTI_REQUIRE_TOOLS"):
            pytest.fail(f"{TOOLS_BIN.parent} is missing: `make tools` builds it")
        pytest.skip("the template checks need the tools venv: run `make tools` (make test does)")
    return TOOLS_BIN


def sam_translate(template: dict[str, Any] | None = None) -> dict[str, Any]:
    """`template` (template.yaml when None) as `sam deploy` would create it: infra/sam_translate.py, run in the
    tools venv."""
    done = subprocess.run(
        [str(tools_bin() / "python"), "-m", "infra.sam_translate", *(["--stdin"] if template is not None else [])],
        input=json.dumps(template) if template is not None else None,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


@pytest.fixture(scope="session")
def translated() -> dict[str, Any]:
    return sam_translate()
