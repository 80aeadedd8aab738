"""The package-size check fetches the wheels `sam build` ships (issue 14, point 8).

Given a release published as several wheels (the same code built for different manylinux tags, as OpenCV is), when
pip fetches it with the check's options (`Platform.pip_args`, also the common layer Makefile's default), then it picks
the wheel aws-lambda-builders picks: the oldest manylinux the runtime loads first (manylinux2014 before
manylinux_2_28), never a tag newer than the runtime's glibc, and only the runtime's CPython ABI, abi3 or none.
pip runs offline, on wheels made here.
"""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from infra.package_size import PackageSizeError, Platform

NAME, VERSION = "dotiprobe", "1.0"


def _wheel(directory: Path, tag: str) -> str:
    """A minimal valid wheel of NAME for `tag` (python-abi-platform); its file name."""
    filename = f"{NAME}-{VERSION}-{tag}.whl"
    info = f"{NAME}-{VERSION}.dist-info"
    with zipfile.ZipFile(directory / filename, "w") as wheel:
        wheel.writestr(f"{NAME}/__init__.py", "")
        wheel.writestr(f"{info}/METADATA", f"Metadata-Version: 2.1\nName: {NAME}\nVersion: {VERSION}\n")
        wheel.writestr(
            f"{info}/WHEEL", f"Wheel-Version: 1.0\nGenerator: doti-test\nRoot-Is-Purelib: false\nTag: {tag}\n"
        )
        wheel.writestr(f"{info}/RECORD", "")
    return filename


def _picked(tmp_path: Path, tags: list[str], platform: Platform) -> str | None:
    """The wheel pip downloads among `tags` with the check's options, or None when none fits."""
    offered, chosen = tmp_path / "offered", tmp_path / "chosen"
    offered.mkdir()
    for tag in tags:
        _wheel(offered, tag)
    # No pip configuration (this machine's adds indexes and constraints): only the wheels made here.
    env = {**os.environ, "PIP_CONFIG_FILE": os.devnull, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    env.pop("PIP_CONSTRAINT", None)
    env.pop("PIP_FIND_LINKS", None)
    done = subprocess.run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--no-index", "--find-links", str(offered),
         "--no-deps", "--dest", str(chosen), *platform.pip_args(), f"{NAME}=={VERSION}"],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    picked = sorted(path.name for path in chosen.glob("*.whl")) if chosen.is_dir() else []
    assert len(picked) <= 1
    assert (done.returncode == 0) == bool(picked), done.stderr
    return picked[0].removeprefix(f"{NAME}-{VERSION}-").removesuffix(".whl") if picked else None


ARM_2014 = "cp312-cp312-manylinux2014_aarch64"
ARM_2_28 = "cp312-cp312-manylinux_2_28_aarch64"
ARM_2_35 = "cp312-cp312-manylinux_2_35_aarch64"


@pytest.mark.parametrize(
    ("offered", "platform", "picked"),
    [
        # sam build's order: where both exist, the manylinux2014 wheel (pip alone would take manylinux_2_28)
        ([ARM_2_28, ARM_2014], Platform("arm64", "3.12"), ARM_2014),
        # python3.12 runs on AL2023 (glibc 2.34): a manylinux_2_28 wheel alone is shipped, a 2_35 one is not
        ([ARM_2_28, ARM_2_35], Platform("arm64", "3.12"), ARM_2_28),
        ([ARM_2_35], Platform("arm64", "3.12"), None),
        # python3.11 runs on AL2 (glibc 2.26): manylinux_2_28 is too new for it
        (["cp311-cp311-manylinux_2_28_aarch64"], Platform("arm64", "3.11"), None),
        (["cp311-cp311-manylinux2014_aarch64"], Platform("arm64", "3.11"), "cp311-cp311-manylinux2014_aarch64"),
        # the runtime's ABI, or the stable one; never another version's, nor another architecture's
        (["cp311-cp311-manylinux2014_aarch64", "cp37-abi3-manylinux2014_aarch64"], Platform("arm64", "3.12"),
         "cp37-abi3-manylinux2014_aarch64"),
        (["cp312-cp312-manylinux2014_x86_64"], Platform("arm64", "3.12"), None),
        (["cp312-cp312-manylinux2014_x86_64"], Platform("x86_64", "3.12"), "cp312-cp312-manylinux2014_x86_64"),
    ],
)  # fmt: skip
def test_pip_picks_the_wheel_sam_build_ships(tmp_path: Path, offered: list[str], platform: Platform, picked: str):
    assert _picked(tmp_path, offered, platform) == picked


def test_a_platform_sam_build_does_not_build_for_is_refused() -> None:
    with pytest.raises(PackageSizeError, match="unknown architecture 'ppc64le'"):
        Platform("ppc64le", "3.12").pip_args()
    with pytest.raises(PackageSizeError, match=r"does not build python3\.7"):
        Platform("arm64", "3.7").pip_args()
