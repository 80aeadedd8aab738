"""Backfill one camera's timeline slots for frames stored before ingest wrote them (doti.jobs.timeline_backfill).

    python -m infra.backfill_timeline --camera cam_... --from 2026-11-01 --to 2026-12-02 [--budget 600]
                                      [--resume-from 2026-11-17T04:35:00Z]

Days are UTC, both included. It reads the tables the functions read, named by the same environment variables
(FRAMES_TABLE, TIMELINE_TABLE, CAMERAS_TABLE… as template.yaml sets them; AWS credentials and region as usual), and
prints one JSON line; while `resume_from` is not null, run it again with `--resume-from` that value. Running it
twice, or over days ingest already counted, changes nothing: it only writes slots that do not exist.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from datetime import date, timedelta

from doti import runtime
from doti.clock import utcnow
from doti.errors import DotiError
from doti.jobs.timeline_backfill import backfill_camera


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.backfill_timeline", description=__doc__.split("\n")[0])
    parser.add_argument("--camera", required=True, help="the camera id")
    parser.add_argument("--from", dest="first_day", required=True, type=date.fromisoformat, help="first UTC day")
    parser.add_argument("--to", dest="last_day", required=True, type=date.fromisoformat, help="last UTC day (included)")
    parser.add_argument("--budget", type=float, default=600.0, help="seconds to run before stopping (default 600)")
    parser.add_argument("--resume-from", help="the resume_from a previous run printed")
    args = parser.parse_args(argv)
    runtime.init()
    try:
        run = backfill_camera(
            args.camera,
            args.first_day,
            args.last_day,
            now=utcnow(),
            budget=timedelta(seconds=args.budget),
            resume_from=args.resume_from,
        )
    except DotiError as exc:
        print(json.dumps({"error": str(exc)}))
        return 2
    print(json.dumps(asdict(run)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
