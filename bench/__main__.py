"""`python -m bench [prefix ...]`: run the benchmark cases (all, or those whose names start with a prefix)."""

from __future__ import annotations

import argparse

# Imported for their @case registrations. `make bench` puts layers/common on PYTHONPATH, as Lambda's /opt/python.
from bench import cases_imaging, cases_imports, cases_jobs, cases_purge, cases_retention  # noqa: F401
from bench.harness import ROOT, format_table, run, write_results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("prefixes", nargs="*", help="run only cases whose names start with one of these")
    args = parser.parse_args(argv)
    rows = run(args.prefixes)
    print(format_table(rows))
    print(f"\nwrote {write_results(rows).relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
