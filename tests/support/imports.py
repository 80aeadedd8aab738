"""What a module imports, read with `ast` (nothing is imported), for the boundary tests of tests/infra."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCANNED = (ROOT / "layers", ROOT / "functions")


def source_modules() -> list[Path]:
    """Every Python module of the layers and the functions (not SAM's build copies)."""
    return sorted(path for root in SCANNED for path in root.rglob("*.py") if ".aws-sam" not in path.parts)


def imported(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, module) for every import in the module, wherever it is (function bodies, TYPE_CHECKING blocks); a
    `from m import n` counts as importing both `m` and `m.n` (n may be a module)."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
            found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
    return found
