"""`make bench` keeps working: every case runs once at a tiny size (numbers are not looked at, only that each case
measures something), and the Pillow pipeline it compares against refuses what doti's pipeline refuses."""

from __future__ import annotations

import math

import pytest

from bench import cases_browser, load_cases
from bench.cases_imaging import LIMITS, frame_bytes
from bench.harness import CASES, run
from bench.pillow_pipeline import process_with_pillow
from doti.errors import CorruptImage, PayloadTooLarge, UnsupportedMediaType
from doti.ingest.imaging import ImageLimits, process_image


@pytest.mark.usefixtures("own_moto")  # the bench's cases start mocks of their own
def test_every_bench_case_runs_at_a_tiny_size():
    # Given every case module registered
    load_cases()

    # When each case runs once at its smoke size: but the Chromium case, which would start a local stack of its own;
    # tests/browser/test_bench_chromium.py runs its measuring code against the browser tests' stack instead
    cases = [name for name in CASES if name != cases_browser.CASE]
    rows = run(cases, smoke=True)

    # Then each case yields rows, and every row is measured, with finite numbers
    for name in cases:
        assert any(r.case.startswith(name.split(".")[0]) for r in rows), f"{name} yielded no row"
    for r in rows:
        assert r.value is not None, r.note
        assert math.isfinite(r.value), r
        assert r.value >= 0, r
        assert r.baseline, r


@pytest.mark.parametrize("content_type", ["image/jpeg", "image/png"])
def test_pillow_pipeline_makes_the_same_thumbnail_and_refuses_what_doti_refuses(content_type):
    data = frame_bytes(640, 360, content_type)

    # A valid frame: same dimensions, digest and thumbnail size as doti's pipeline
    ours, theirs = process_image(data, content_type, LIMITS), process_with_pillow(data, content_type, LIMITS)
    assert (theirs.width, theirs.height, theirs.sha256) == (ours.width, ours.height, ours.sha256)
    assert (theirs.thumb_width, theirs.thumb_height) == (ours.thumb_width, ours.thumb_height)
    assert len(theirs.signature) == len(ours.signature)

    # Truncated, the wrong type, or over the pixel limit: refused like doti refuses them
    for process in (process_image, process_with_pillow):
        with pytest.raises(CorruptImage):
            process(data[: len(data) // 2], content_type, LIMITS)
        with pytest.raises(UnsupportedMediaType):
            process(b"GIF89a" + data[6:], content_type, LIMITS)
        with pytest.raises(PayloadTooLarge):
            process(data, content_type, ImageLimits(max_bytes=LIMITS.max_bytes, max_pixels=640 * 360 - 1))
