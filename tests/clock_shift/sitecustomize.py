"""Move the wall clock of every Python process of a test run by DOTI_CLOCK_SHIFT (issue 9), e.g. `+400d`, `-30d`.

Python imports `sitecustomize` at start-up from the path, so with this folder first on PYTHONPATH each process of
the run (pytest, its xdist workers, the local stack and its functions) starts with its clock moved by the same
amount from its own real time. Only the wall clock moves: time.time(), time.time_ns(), datetime.now(), utcnow(),
today(), time.gmtime/localtime/strftime and CLOCK_REALTIME (time-machine). Monotonic clocks, sleeps and timed
waits stay real, which Debian's faketime cannot do here: it moves CLOCK_MONOTONIC too, so every timed wait of a
thread or a subprocess hangs for the shift, and FAKETIME_DONT_FAKE_MONOTONIC makes time.sleep fail with EINVAL.

Without DOTI_CLOCK_SHIFT this does nothing. `make test-shifted SHIFT=+400d` runs the whole suite this way.
"""

from __future__ import annotations

import os

_SHIFT = os.environ.get("DOTI_CLOCK_SHIFT", "").strip()

if _SHIFT:
    import re
    from datetime import UTC, datetime, timedelta

    import time_machine

    _match = re.fullmatch(r"([+-])(\d{1,5})([dhms])", _SHIFT)
    if _match is None:
        raise SystemExit(f"DOTI_CLOCK_SHIFT={_SHIFT!r}: expected a signed amount with a unit, e.g. +400d, -30d, +6h")
    _sign, _amount, _unit = _match.groups()
    _delta = timedelta(**{{"d": "days", "h": "hours", "m": "minutes", "s": "seconds"}[_unit]: int(_amount)})
    time_machine.travel(datetime.now(UTC) + (_delta if _sign == "+" else -_delta), tick=True).start()
