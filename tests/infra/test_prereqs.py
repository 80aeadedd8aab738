"""`make prereqs` / `make build` (issue 14, point 7): what sam build needs, said clearly, checked without network.

Given a PATH holding only stand-ins for the tools the check looks for (sam, python3.12, pip, docker: shell scripts
that answer as the real ones do), when `python -m infra.prereqs` runs, then it names what is missing and how to get
it, picks `sam build` with python3.12 and `sam build --use-container` with Docker alone, and with `--build` runs
exactly that command.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from infra.prereqs import pinned_sam_version

ROOT = Path(__file__).resolve().parents[2]
PINNED = pinned_sam_version()


def _tool(bin_dir: Path, name: str, script: str) -> None:
    path = bin_dir / name
    path.write_text(f"#!/bin/sh\n{script}\n", encoding="utf-8")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


def _sam(bin_dir: Path, version: str = PINNED) -> None:
    # Says its version; records what it was asked to build.
    _tool(bin_dir, "sam", f'[ "$1" = --version ] && echo "SAM CLI, version {version}" && exit 0\necho "$@" > "$0.ran"')


def _python312(bin_dir: Path, version: str = "python3.12") -> None:
    # `-c ...` prints the version, as the check's one-liner does; `-m pip --version` answers as pip.
    _tool(bin_dir, "python3.12", f'[ "$1" = -c ] && echo {version} && exit 0\n[ "$2" = pip ] && echo "pip 25.0"')
    _tool(bin_dir, "pip", 'echo "pip 25.0"')


def _docker(bin_dir: Path, *, running: bool) -> None:
    _tool(bin_dir, "docker", 'echo "27.3.1"' if running else 'echo "Cannot connect to the Docker daemon" >&2; exit 1')


def _prereqs(bin_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": str(bin_dir), "PYTHONPATH": str(ROOT), "HOME": os.environ.get("HOME", "/tmp")}
    return subprocess.run(
        [sys.executable, "-m", "infra.prereqs", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def bin_dir(tmp_path: Path) -> Path:
    path = tmp_path / "bin"
    path.mkdir()
    return path


def test_with_nothing_on_path_it_names_every_missing_tool_and_how_to_get_it(bin_dir: Path) -> None:
    done = _prereqs(bin_dir)

    assert done.returncode == 1
    assert f"MISSING  sam: the AWS SAM CLI is not on PATH: `make sam-cli` installs SAM CLI {PINNED}" in done.stdout
    assert (
        "MISSING  python3.12: not on PATH: sam build needs it (or Docker, for sam build --use-container)" in done.stdout
    )
    assert "MISSING  docker: not on PATH: sam build --use-container needs it (or python3.12 on PATH)" in done.stdout
    assert done.stdout.rstrip().endswith(
        "cannot build: sam on PATH, and python3.12 (with pip) on PATH or a running Docker, are needed"
    )


def test_sam_without_python312_nor_a_running_docker_cannot_build(bin_dir: Path) -> None:
    _sam(bin_dir)
    _docker(bin_dir, running=False)

    done = _prereqs(bin_dir)

    assert done.returncode == 1
    assert f"ok       sam: SAM CLI {PINNED} ({bin_dir / 'sam'})" in done.stdout
    assert "MISSING  docker: " in done.stdout
    assert "its daemon does not answer (`docker info` fails)" in done.stdout
    assert "cannot build" in done.stdout


def test_sam_and_python312_build_natively(bin_dir: Path) -> None:
    _sam(bin_dir)
    _python312(bin_dir)

    done = _prereqs(bin_dir)

    assert done.returncode == 0, done.stdout
    assert f"ok       python3.12: {bin_dir / 'python3.12'}" in done.stdout
    assert "docker" not in done.stdout  # not needed, so not asked about
    assert done.stdout.rstrip().endswith("ready: sam build")


def test_a_python312_that_is_another_version_does_not_count(bin_dir: Path) -> None:
    _sam(bin_dir)
    _python312(bin_dir, version="python3.11")

    done = _prereqs(bin_dir)

    assert done.returncode == 1
    assert f"MISSING  python3.12: {bin_dir / 'python3.12'} is python3.11, not python3.12" in done.stdout


def test_docker_alone_builds_in_a_container_and_another_sam_version_is_a_warning(bin_dir: Path) -> None:
    _sam(bin_dir, version="1.99.0")
    _docker(bin_dir, running=True)

    done = _prereqs(bin_dir, "--build", "--cached")

    assert done.returncode == 0, done.stdout
    assert f"warning  sam version: the README's is {PINNED} (infra/requirements-sam.txt" in done.stdout
    assert f"ok       docker: Docker 27.3.1 ({bin_dir / 'docker'})" in done.stdout
    assert "ready: sam build --use-container --cached" in done.stdout
    assert (bin_dir / "sam.ran").read_text(encoding="utf-8").split() == ["build", "--use-container", "--cached"]


def test_the_build_runs_sam_build_with_the_arguments_given(bin_dir: Path) -> None:
    _sam(bin_dir)
    _python312(bin_dir)

    done = _prereqs(bin_dir, "--build", "--parallel")

    assert done.returncode == 0, done.stdout
    assert (bin_dir / "sam.ran").read_text(encoding="utf-8").split() == ["build", "--parallel"]
