"""`make bench`'s Chromium case (bench/cases_browser.py) measures the viewer: its measuring code, once, against
this test process's stack (the bench starts a stack of its own; tests/infra/test_bench.py leaves this case out)."""

from __future__ import annotations

import math

from bench import cases_browser


def test_the_chromium_bench_measures_login_to_grid_and_camera_to_day(web_stack, browser):
    # Given the running stack and its Chromium (the `browser` fixture skips where Chromium could not be installed)
    # When the bench's measuring code runs once, without a warm-up
    times = cases_browser.measure(web_stack, browser, runs=1, warmup=0)

    # Then each span was measured once, as a finite positive number of milliseconds
    assert sorted(times) == ["day", "grid", "page"]
    for name, spans in times.items():
        assert len(spans) == 1, name
        assert math.isfinite(spans[0]), name
        assert spans[0] > 0, name
