"""The OpenCV boundary: only the image pipeline imports OpenCV (cv2) or numpy, and only the clip function's side of
it imports PyAV (av).

OpenCV and numpy ship in the imaging layer (ingest, the processor and remask), PyAV and numpy in the video layer (the
clip function): the two do not fit one Lambda package together (README "Masked clips"). A module of the common layer
that imported them would fail to import in every other function, and a module on the imaging side that reached PyAV
would put it back into the processor's package. Given every Python module of the common layer and of the functions,
when its imports are read with `ast` (nothing is imported), then each of those packages is imported only by the
modules allowed it; what the rest of the domain needs (the limits, the processed image, the clip job) is in
doti.ingest.image_types and doti.ingest.clips.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.support.imports import ROOT, imported, source_modules

OPENCV_PACKAGES = frozenset({"cv2", "numpy", "av"})
# The modules that ship with PyAV (the video layer) and must not be imported from the imaging side.
VIDEO_LAYER_MODULES = frozenset({"doti.ingest.h264", "doti.ingest.clip_encoding"})
# The pipeline's modules: the packages each may import, and why.
ALLOWED: dict[str, tuple[frozenset[str], str]] = {
    "layers/common/doti/ingest/imaging.py": (
        frozenset({"cv2", "numpy"}),
        "the still-image pipeline: decode, mask, thumbnail and signature",
    ),
    "layers/common/doti/ingest/video.py": (
        frozenset({"cv2", "numpy"}),
        "clips: OpenCV's FFmpeg backend reads them (frames: imaging); the mask rasterized for the clip encoder",
    ),
    "layers/common/doti/ingest/mask_bitmap.py": (
        frozenset({"numpy"}),
        "the mask as a bitmap: packed by video.py, unpacked in the clip function",
    ),
    "layers/common/doti/ingest/h264.py": (
        frozenset({"av", "numpy"}),
        "masked clips decoded and re-encoded as H.264 with PyAV, in the clip function only",
    ),
}
# The imaging side: modules of the functions that carry OpenCV, which must not reach PyAV's modules.
IMAGING_SIDE = ("layers/common/doti/ingest/imaging.py", "layers/common/doti/ingest/video.py")


def _crosses(module: str) -> bool:
    return module.split(".", maxsplit=1)[0] in OPENCV_PACKAGES


def _imports(path: Path) -> list[tuple[int, str]]:
    return imported(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)))


def _violations(path: Path, allowed: frozenset[str] = frozenset()) -> list[str]:
    return [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for line, module in _imports(path)
        if _crosses(module) and module.split(".", maxsplit=1)[0] not in allowed
    ]


@pytest.mark.parametrize(
    ("source", "crosses"),
    [
        ("import cv2", True),
        ("import numpy as np", True),
        ("from numpy.typing import NDArray", True),
        ("if TYPE_CHECKING:\n    import cv2", True),
        ("def f():\n    from cv2 import imdecode", True),
        ("from doti.ingest.image_types import ImageLimits", False),
        ("from doti.ingest import imaging", False),
        ("import numpydoc_lookalike", False),
        ("import av", True),
        ("import avro", False),
    ],
)
def test_the_check_tells_opencv_imports_apart(source: str, crosses: bool) -> None:
    assert any(_crosses(module) for _, module in imported(ast.parse(source))) is crosses


def test_the_scan_sees_the_pipeline_import_opencv() -> None:
    assert _violations(ROOT / "layers" / "common" / "doti" / "ingest" / "imaging.py")


def test_only_the_image_pipeline_imports_opencv_or_numpy() -> None:
    violations = [
        v
        for path in source_modules()
        for v in _violations(path, ALLOWED.get(path.relative_to(ROOT).as_posix(), (frozenset(), ""))[0])
    ]
    assert violations == [], "OpenCV, numpy and PyAV belong in the pipeline:\n" + "\n".join(violations)


def test_the_scan_sees_a_module_import_a_package_it_is_not_allowed() -> None:
    assert _violations(ROOT / "layers" / "common" / "doti" / "ingest" / "h264.py", frozenset({"numpy"}))


def test_the_imaging_side_never_imports_the_video_layers_modules() -> None:
    # The processor and remask reach the clip function through doti.ingest.clips, never by importing PyAV's modules
    for name in IMAGING_SIDE:
        reached = {module for _, module in _imports(ROOT / name)} & VIDEO_LAYER_MODULES
        assert not reached, f"{name} imports {reached}"


def test_every_allowance_names_a_module_that_exists_and_a_reason() -> None:
    for name, (packages, reason) in ALLOWED.items():
        assert (ROOT / name).is_file(), name
        assert packages <= OPENCV_PACKAGES, name
        assert reason.strip(), name
