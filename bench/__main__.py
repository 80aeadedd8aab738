"""`python -m bench [prefix ...]`: run the benchmark cases (all, or those whose names start with a prefix)."""

from __future__ import annotations

import argparse
import os
import warnings

from bench import load_cases
from bench.harness import ROOT, format_table, run, write_results
from bench.moto_env import BENCH_ENV


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("prefixes", nargs="*", help="run only cases whose names start with one of these")
    args = parser.parse_args(argv)
    # As on Lambda, the functions' Powertools settings exist before doti.observability is imported (it reads them then).
    os.environ.update({name: value for name, value in BENCH_ENV.items() if name.startswith("POWERTOOLS_")})
    warnings.filterwarnings("ignore", message="No application metrics to publish")  # a login emits none
    load_cases()
    from doti import runtime
    from doti.ingest.clip_encoding import InProcessClipEncoder

    # No clip function to invoke on moto (its Lambda needs Docker): masked clips are encoded in this process, through
    # the same staging key, as in the tests and the local stack.
    runtime.encode_clips_in_process(InProcessClipEncoder)

    rows = run(args.prefixes)
    print(format_table(rows))
    print(f"\nwrote {write_results(rows).relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
