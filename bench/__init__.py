"""doti's benchmark harness: `python -m bench [case-prefix ...]` (see bench/harness.py)."""
