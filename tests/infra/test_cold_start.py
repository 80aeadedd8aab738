"""The cold start is explicit (issue 12): `doti.runtime.init()` validates the environment and binds the models, and
nothing else does; importing doti or a handler reads no setting, binds no model and makes no AWS client.

Given a fresh Python process (so nothing this session imported or bound counts), when every doti module and every
handler is imported with an empty environment, then none raises and none read the settings; when init() runs
with a variable missing or malformed, it names it and binds nothing. Untraced, the import loads neither the X-Ray
SDK nor Powertools' OpenAPI models and builds no pydantic model (issue 14: the cold start). Given the source, when the
module-level imports are read with `ast`, then settings imports nothing of doti and no doti modules import each other
in a cycle.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import MISSING, fields
from pathlib import Path

import pytest

from doti.settings import PRODUCTION_SCRYPT_N, Settings

ROOT = Path(__file__).resolve().parents[2]
LAYER = ROOT / "layers" / "common"
FUNCTIONS = ROOT / "functions"
# As pyproject's pythonpath: the handlers import their route packages (admin_routes, viewer_routes) top-level.
IMPORT_PATH = [ROOT, LAYER, FUNCTIONS / "admin", FUNCTIONS / "viewer"]


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


DOTI_MODULES = {_module_name(path, LAYER): path for path in sorted((LAYER / "doti").rglob("*.py"))}
HANDLERS = sorted(_module_name(path, ROOT) for path in FUNCTIONS.glob("*/app.py"))


def _variable(field_name: str) -> str:
    return "AWS_REGION" if field_name == "region" else field_name.upper()


def _complete_environment() -> dict[str, str]:
    """Every variable Settings reads, with a plausible value; fake credentials so no client looks for real ones."""
    required = [f for f in fields(Settings) if f.default is MISSING]
    env = {_variable(f.name): "7" if f.type == "int" else f"doti-{f.name}" for f in required}
    return env | {
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_EC2_METADATA_DISABLED": "true",
    }


def _run(script: str, env: Mapping[str, str]) -> dict:
    """Run `script` in a fresh interpreter with exactly `env`; the JSON it prints last."""
    preamble = f"import json, sys\nsys.path[:0] = {[str(p) for p in IMPORT_PATH]!r}\n"
    done = subprocess.run(
        [sys.executable, "-c", preamble + script],
        env=dict(env),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


# What the process has read, bound and made so far, printed as JSON.
_STATE = """
from doti.settings import get_settings
from doti.store import aws
from doti.store.models import MODEL_TABLES, UNBOUND

def state():
    clients = (aws.s3_client, aws.kms_client, aws.ses_client, aws.ses_client_sending_once, aws.sqs_client)
    return {
        "settings_read": get_settings.cache_info().currsize,
        "models_bound": sorted(m.__name__ for m in MODEL_TABLES if m.Meta.table_name != UNBOUND or m._connection),
        "botocore_sessions": aws.botocore_session.cache_info().currsize,
        "clients": sum(c.cache_info().currsize for c in clients),
    }
"""
UNTOUCHED = {"settings_read": 0, "models_bound": [], "botocore_sessions": 0, "clients": 0}


def test_the_scan_finds_every_module_and_handler() -> None:
    assert {"doti.settings", "doti.runtime", "doti.store", "doti.store.models", "doti.ingest.imaging"} <= set(
        DOTI_MODULES
    )
    assert len(HANDLERS) == len(list(FUNCTIONS.glob("*/app.py"))) >= 9
    assert "functions.ingest.app" in HANDLERS


def test_importing_doti_and_every_handler_reads_binds_and_makes_nothing() -> None:
    # Given a fresh process with an empty environment
    script = f"""
import importlib
for name in {sorted(DOTI_MODULES)!r}:
    importlib.import_module(name)
{_STATE}
after_doti = state()
for name in {HANDLERS!r}:
    importlib.import_module(name)
print(json.dumps({{"after_doti": after_doti, "after_handlers": state()}}))
"""
    # When every doti module, then every handler, is imported
    imported = _run(script, env={})

    # Then nothing was read, bound or made: that is init()'s, at the first invocation
    assert imported["after_doti"] == UNTOUCHED
    assert imported["after_handlers"] == UNTOUCHED


# What an untraced import loads and builds that only some requests need (issue 14, point 9: the cold start).
_HEAVY = """
from pydantic import BaseModel

def ours(cls):
    return cls.__module__.split(".")[0] in {"doti", "admin_routes", "viewer_routes", "functions"}

def subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from subclasses(sub)

def heavy():
    from doti.observability import tracer
    models = [m for m in subclasses(BaseModel) if ours(m)]
    return {
        "xray_sdk": sorted(name for name in sys.modules if name.startswith("aws_xray_sdk.core")),
        "openapi_models": "aws_lambda_powertools.event_handler.openapi.models" in sys.modules,
        "models": len(models),
        "models_built": sorted(m.__name__ for m in models if m.__pydantic_complete__),
        "tracer": type(tracer.provider).__name__,
    }
"""


def test_an_untraced_import_loads_no_xray_sdk_nor_openapi_models_and_builds_no_body_model() -> None:
    # Given a fresh process outside Lambda (tracing off, as in tests, the local stack and `sam local`)
    script = f"""
import importlib
for name in {HANDLERS!r}:
    importlib.import_module(name)
{_HEAVY}
print(json.dumps(heavy()))
"""
    # When every handler is imported
    imported = _run(script, env={})

    # Then the X-Ray SDK (which builds a botocore client on import) and Powertools' OpenAPI models stay unloaded, and
    # every body model of ours is built on its first use, not here
    assert imported["xray_sdk"] == []
    assert imported["openapi_models"] is False
    assert imported["models"] > 50
    assert imported["models_built"] == []
    assert imported["tracer"] == "UntracedProvider"


def test_a_traced_function_still_traces_with_the_xray_sdk() -> None:
    # Given a process that looks like a deployed function with Tracing: Active (no POWERTOOLS_TRACE_DISABLED)
    env = {"LAMBDA_TASK_ROOT": str(ROOT), "AWS_XRAY_CONTEXT_MISSING": "IGNORE_ERROR"}

    # When the viewer's handler is imported
    imported = _run(f"import functions.viewer.app\n{_HEAVY}\nprint(json.dumps(heavy()))", env=env)

    # Then its tracer is Powertools' X-Ray recorder, as before
    assert imported["tracer"] == "AsyncAWSXRayRecorder"
    assert "aws_xray_sdk.core" in imported["xray_sdk"]


INIT_ONCE = (
    _STATE
    + """
from doti import runtime
from doti.settings import SettingsError
from doti.store.models import ContractModel
try:
    first = runtime.init()
except SettingsError as exc:
    print(json.dumps({"error": str(exc), **state()}))
else:
    connection = ContractModel._connection
    again = runtime.init()
    print(json.dumps({
        "contracts_table": first.contracts_table,
        "bound_to": ContractModel.Meta.table_name,
        "same_settings": again is first,
        "bound_once": ContractModel._connection is connection,
    }))
"""
)


def test_init_validates_binds_and_returns_the_settings_once() -> None:
    started = _run(INIT_ONCE, env=_complete_environment())

    assert started == {
        "contracts_table": "doti-contracts_table",
        "bound_to": "doti-contracts_table",
        "same_settings": True,
        "bound_once": True,
    }


def test_unset_the_password_hash_cost_is_the_production_one() -> None:
    # Optional, and set only by the test suite (to hash faster): unset, as deployed, new hashes cost N = 2**14
    assert Settings.from_env(_complete_environment()).password_scrypt_n == PRODUCTION_SCRYPT_N == 2**14


@pytest.mark.parametrize(
    ("variable", "value", "named"),
    [
        ("CONTRACTS_TABLE", None, "missing environment variables: CONTRACTS_TABLE"),
        ("REMASK_QUEUE_URL", "", "missing environment variables: REMASK_QUEUE_URL"),
        ("PURGE_GRACE_DAYS", "soon", "PURGE_GRACE_DAYS must be a whole number, not 'soon'"),
        ("PASSWORD_SCRYPT_N", "1000", "PASSWORD_SCRYPT_N must be a power of two of at least 1024, not 1000"),
        ("PASSWORD_SCRYPT_N", "512", "PASSWORD_SCRYPT_N must be a power of two of at least 1024, not 512"),
    ],
)
def test_init_names_a_missing_or_malformed_variable_and_binds_nothing(
    variable: str, value: str | None, named: str
) -> None:
    # Given the environment template.yaml sets, but for one variable
    env = _complete_environment()
    env.pop(variable, None)
    if value is not None:
        env[variable] = value

    # When the cold start runs
    failed = _run(INIT_ONCE, env=env)

    # Then it fails naming the variable, and nothing is bound to half a configuration
    assert failed["error"] == named
    assert failed["models_bound"] == []


# Module-level imports: those that run when a module is imported (not function bodies, not TYPE_CHECKING blocks).


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _module_level(body: list[ast.stmt]) -> Iterator[ast.Import | ast.ImportFrom]:
    for node in body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        elif isinstance(node, ast.If) and not _is_type_checking(node.test):
            yield from _module_level(node.body)
            yield from _module_level(node.orelse)
        elif isinstance(node, ast.Try):
            yield from _module_level(node.body)
            yield from _module_level(node.orelse)
            yield from _module_level(node.finalbody)


def _doti_module(name: str) -> str | None:
    """The doti module an import names (`from doti import runtime` -> doti.runtime), or None outside doti."""
    while name and name not in DOTI_MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _doti_imports(nodes: Iterator[ast.Import | ast.ImportFrom] | list[ast.AST]) -> set[str]:
    found: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        found |= {module for module in map(_doti_module, names) if module}
    return found


def _import_graph() -> dict[str, set[str]]:
    graph = {}
    for name, path in DOTI_MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        graph[name] = _doti_imports(_module_level(tree.body)) - {name}
    return graph


def _cycles(graph: Mapping[str, set[str]]) -> list[list[str]]:
    """Every import cycle, as the path that closes it (depth-first search; the graph is small)."""
    found: list[list[str]] = []
    done: set[str] = set()

    def visit(module: str, path: list[str]) -> None:
        if module in path:
            found.append([*path[path.index(module) :], module])
            return
        if module in done:
            return
        for imported in sorted(graph.get(module, ())):
            visit(imported, [*path, module])
        done.add(module)

    for module in sorted(graph):
        visit(module, [])
    return found


def test_the_cycle_check_finds_a_cycle() -> None:
    assert _cycles({"doti.settings": {"doti.store"}, "doti.store": {"doti.settings"}}) == [
        ["doti.settings", "doti.store", "doti.settings"]
    ]
    assert _cycles({"doti.runtime": {"doti.settings", "doti.store"}, "doti.store": {"doti.settings"}}) == []


def test_settings_imports_nothing_of_doti_anywhere() -> None:
    # Not even inside a function: binding the store used to hide in get_settings() as a late import.
    tree = ast.parse(DOTI_MODULES["doti.settings"].read_text(encoding="utf-8"))
    assert _doti_imports(list(ast.walk(tree))) == set()


def test_no_doti_modules_import_each_other_in_a_cycle() -> None:
    graph = _import_graph()
    assert "doti.settings" in graph["doti.runtime"]
    assert "doti.store" in graph["doti.runtime"]
    assert _cycles(graph) == []
