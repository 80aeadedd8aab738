"""The suite's own layout: helpers live in tests/support, and no test file imports from another test file.

A helper imported from a test module drags that module's tests into every importer's namespace, ties the files'
order of change together, and hides where the helper belongs; tests/support is where a shared one goes.
"""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def suite_files() -> list[Path]:
    return sorted(TESTS.rglob("test_*.py"))


def imported_modules(path: Path) -> set[str]:
    """The dotted names of the modules a file imports, relative imports resolved against its package."""
    package = path.relative_to(TESTS.parent).with_suffix("").parts[:-1]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else ()
            module = ".".join([*base, *([node.module] if node.module else [])])
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


def test_no_test_file_imports_from_another_test_file():
    offenders = {
        str(path.relative_to(TESTS)): sorted(
            module for module in imported_modules(path) if module.split(".")[-1].startswith("test_")
        )
        for path in suite_files()
    }
    assert {path: modules for path, modules in offenders.items() if modules} == {}


def test_the_check_sees_the_test_files_and_their_imports():
    # The rule above holds vacuously if no file or import were found: the suite's files and a known import are seen.
    files = suite_files()
    assert len(files) > 50
    assert "tests.support" in imported_modules(TESTS / "conftest.py")
