"""The OpenCV boundary: only the image pipeline imports OpenCV (cv2), numpy or PyAV (av).

Those packages ship in the imaging layer, which only ingest, the processor and remask have; a module of the common
layer that imported them would fail to import in every other function. Given every Python module of the common
layer and of the functions, when its imports are read with `ast` (nothing is imported), then only the pipeline's
modules import cv2 or numpy; what the rest of the domain needs of it (the limits, the processed image) is in
doti.ingest.image_types.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.support.imports import ROOT, imported, source_modules

OPENCV_PACKAGES = frozenset({"cv2", "numpy", "av"})
# The pipeline's modules, each with its reason.
ALLOWED: dict[str, str] = {
    "layers/common/doti/ingest/imaging.py": "the still-image pipeline: decode, mask, thumbnail and signature",
    "layers/common/doti/ingest/video.py": "clips: OpenCV's FFmpeg backend reads them (frames: imaging)",
    "layers/common/doti/ingest/h264.py": "masked clips re-encoded as H.264 with PyAV (video.py's writer)",
}


def _crosses(module: str) -> bool:
    return module.split(".", maxsplit=1)[0] in OPENCV_PACKAGES


def _violations(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    return [f"{path.relative_to(ROOT)}:{line} imports {module}" for line, module in imported(tree) if _crosses(module)]


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
    outside = [path for path in source_modules() if path.relative_to(ROOT).as_posix() not in ALLOWED]
    violations = [v for path in outside for v in _violations(path)]
    assert violations == [], "OpenCV, numpy and PyAV belong in the pipeline:\n" + "\n".join(violations)


def test_every_allowance_names_a_module_that_exists_and_a_reason() -> None:
    for name, reason in ALLOWED.items():
        assert (ROOT / name).is_file(), name
        assert reason.strip(), name
