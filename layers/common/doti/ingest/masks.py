"""Privacy masks (SPEC §4, Art. 2-4): polygons a camera's frames are blacked out under, like a CCTV privacy mask.

Pure: no AWS, no OpenCV (doti.ingest.imaging draws them). A polygon is a list of [x, y] points in normalized
coordinates, (0, 0) the top-left and (1, 1) the bottom-right corner of the image as displayed, so one mask fits every
resolution the camera sends. A mask's version is a digest of its canonical form: frames record the version they
were blacked out with, which is how a re-mask job knows what it has already done.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence
from typing import Any

from doti.errors import ValidationError

MAX_POLYGONS = 16
MIN_POINTS = 3
MAX_POINTS = 64
_DECIMALS = 6  # a millionth of the image: finer than any pixel, and a canonical form for the version digest

Polygons = list[list[list[float]]]


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _point_problem(point: Any) -> str | None:
    if not isinstance(point, Sequence) or isinstance(point, str) or len(point) != 2:
        return "must be a pair [x, y]"
    if not all(_is_number(c) for c in point):
        return "coordinates must be numbers"
    if not all(0 <= c <= 1 for c in point):
        return "coordinates must be between 0 and 1 (normalized to the image's width and height)"
    return None


def _area(points: list[list[float]]) -> float:
    """The shoelace area: zero for points on one line, which would mask nothing but a line."""
    return abs(sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(points, points[1:] + points[:1], strict=True))) / 2


def _polygon_problems(index: int, polygon: Any) -> tuple[list[dict[str, str]], list[list[float]]]:
    field = f"polygons.{index}"
    if not isinstance(polygon, Sequence) or isinstance(polygon, str):
        return [{"field": field, "problem": "must be a list of [x, y] points"}], []
    if not MIN_POINTS <= len(polygon) <= MAX_POINTS:
        return [{"field": field, "problem": f"must have {MIN_POINTS} to {MAX_POINTS} points, not {len(polygon)}"}], []
    problems = [
        {"field": f"{field}.{i}", "problem": problem}
        for i, point in enumerate(polygon)
        if (problem := _point_problem(point)) is not None
    ]
    if problems:
        return problems, []
    points = [[round(float(x), _DECIMALS), round(float(y), _DECIMALS)] for x, y in polygon]
    if _area(points) == 0:
        return [{"field": field, "problem": "has no area (its points are on one line)"}], []
    return [], points


def validate_polygons(polygons: Any) -> Polygons:
    """The polygons in canonical form (coordinates rounded to 6 decimals), or a 422 naming every problem.

    An empty list is valid: it clears the mask.
    """
    if not isinstance(polygons, Sequence) or isinstance(polygons, str):
        raise ValidationError(
            "polygons must be a list of polygons", problems=[{"field": "polygons", "problem": "not a list"}]
        )
    if len(polygons) > MAX_POLYGONS:
        raise ValidationError(
            f"a mask has at most {MAX_POLYGONS} polygons",
            problems=[{"field": "polygons", "problem": f"{len(polygons)} polygons; at most {MAX_POLYGONS}"}],
        )
    problems: list[dict[str, str]] = []
    clean: Polygons = []
    for index, polygon in enumerate(polygons):
        polygon_problems, points = _polygon_problems(index, polygon)
        problems.extend(polygon_problems)
        clean.append(points)
    if problems:
        raise ValidationError("the privacy mask is not valid", problems=problems)
    return clean


def mask_version(polygons: Polygons) -> str | None:
    """A short digest of the canonical polygons; None for no mask."""
    if not polygons:
        return None
    canonical = json.dumps(polygons, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]
