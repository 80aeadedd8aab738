"""The README's "Functions and jobs" table says what template.yaml deploys (issue 12: the Remask row had drifted)."""

from __future__ import annotations

import re
from pathlib import Path

from infra.template import functions, load_template

README = Path(__file__).resolve().parents[2] / "README.md"
ROW = re.compile(r"^\| (?P<name>[A-Z][a-z]+) \| [^|]+ \| (?P<limits>[^|]+) \|", re.MULTILINE)


def _table() -> dict[str, str]:
    text = README.read_text(encoding="utf-8")
    section = text.split("## Functions and jobs", 1)[1].split("\n## ", 1)[0]
    return {row["name"]: row["limits"] for row in ROW.finditer(section)}


def test_every_function_of_the_template_has_its_row_with_its_timeout_memory_and_layer():
    # Given the template's functions and the README's table
    deployed = functions(load_template())
    rows = _table()

    # Then each function has one row, naming its timeout, its memory where it is not the default, and the imaging
    # layer exactly where the function carries it
    assert sorted(f"{name}Function" for name in rows) == sorted(deployed)
    for name, limits in rows.items():
        spec = deployed[f"{name}Function"]
        timeout = re.search(r"(\d+) s\b", limits)
        memory = re.search(r"(\d+) MB\b", limits)
        assert timeout, f"{name}: README says no timeout"
        assert int(timeout[1]) == spec.timeout, f"{name}: README says {limits!r}, template {spec.timeout} s"
        assert (int(memory[1]) if memory else 512) == spec.memory, f"{name}: README {limits!r}, template {spec.memory}"
        assert ("imaging layer" in limits) == ("ImagingLayer" in spec.layers), f"{name}: {limits!r} vs {spec.layers}"
