"""The data-access boundary (STYLE.md): only doti/store/ talks to AWS.

Given every Python module of the common layer and of the functions, when its imports are read with `ast` (nothing
is imported, so a module that needs AWS settings still parses), then none outside layers/common/doti/store/ imports
PynamoDB, boto3 or botocore, nor the PynamoDB models: the domain sees plain entities and doti errors.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.support.imports import ROOT, imported, source_modules

STORE = ROOT / "layers" / "common" / "doti" / "store"
SDK_PACKAGES = frozenset({"pynamodb", "boto3", "botocore"})
MODELS = "doti.store.models"
# Modules allowed an SDK import outside store/, each with its reason. None today: the imaging layer holds only a
# requirements file, and every handler reaches AWS through doti.
ALLOWED: dict[str, str] = {}


def _crosses(module: str) -> bool:
    return module.split(".", maxsplit=1)[0] in SDK_PACKAGES or module == MODELS or module.startswith(MODELS + ".")


def _violations(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    return [f"{path.relative_to(ROOT)}:{line} imports {module}" for line, module in imported(tree) if _crosses(module)]


def test_the_scan_finds_the_code_it_guards() -> None:
    names = {path.relative_to(ROOT).as_posix() for path in source_modules()}
    assert "layers/common/doti/contracts/__init__.py" in names
    assert "layers/common/doti/store/models.py" in names
    assert any(name.startswith("functions/ingest/") for name in names)


@pytest.mark.parametrize(
    ("source", "crosses"),
    [
        ("import boto3", True),
        ("from botocore.exceptions import ClientError", True),
        ("if TYPE_CHECKING:\n    from pynamodb.transactions import TransactWrite", True),
        ("def f():\n    import pynamodb.models", True),
        ("from doti.store.models import ContractModel", True),
        ("from doti.store import models", True),
        ("from doti.store import contracts", False),
        ("from doti.store.transactions import Transaction", False),
        ("import pynamodb_extras_lookalike", False),
    ],
)
def test_the_check_tells_sdk_imports_apart(source: str, crosses: bool) -> None:
    assert any(_crosses(module) for _, module in imported(ast.parse(source))) is crosses


def test_only_the_store_imports_the_aws_sdks_or_the_models() -> None:
    outside = [path for path in source_modules() if not path.is_relative_to(STORE)]
    violations = [v for path in outside if path.relative_to(ROOT).as_posix() not in ALLOWED for v in _violations(path)]
    assert violations == [], "data access belongs in doti/store/:\n" + "\n".join(violations)


def test_every_allowance_names_a_module_that_exists_and_a_reason() -> None:
    for name, reason in ALLOWED.items():
        assert (ROOT / name).is_file(), name
        assert reason.strip(), name
