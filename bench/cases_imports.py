"""Cold-start import time of each function's handler module, from template.yaml, in fresh interpreters."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from bench.harness import ROOT, Row, case, row, sized

TEMPLATE = ROOT / "template.yaml"
RUNS = 5
FUNCTION_TYPE = "AWS::Serverless::Function"
# What the handler's cold start reads besides the template's own variables.
FIXED_ENV = {
    "AWS_DEFAULT_REGION": "us-east-1",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_METRICS_NAMESPACE": "doti",
}
TIMER = "import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"


class _CfnLoader(yaml.SafeLoader):
    """SafeLoader that reads CloudFormation short forms (!Ref, !Sub, !GetAtt, ...) as their long-form dicts."""


def _construct_intrinsic(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {"Ref" if suffix == "Ref" else f"Fn::{suffix}": value}


_CfnLoader.add_multi_constructor("!", _construct_intrinsic)


def _functions(template: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(logical id, properties with Globals.Function applied) of each SAM function."""
    defaults = (template.get("Globals") or {}).get("Function") or {}
    for name, resource in (template.get("Resources") or {}).items():
        if isinstance(resource, dict) and resource.get("Type") == FUNCTION_TYPE:
            props = {**defaults, **(resource.get("Properties") or {})}
            env = {
                **((defaults.get("Environment") or {}).get("Variables") or {}),
                **((props.get("Environment") or {}).get("Variables") or {}),
            }
            yield name, {**props, "Variables": env}


def _env_value(name: str, value: Any, parameters: dict[str, Any]) -> str:
    """A variable's value outside CloudFormation: literals as is, a !Ref to a parameter as its default."""
    if isinstance(value, str | int | float | bool):
        return str(value).lower() if isinstance(value, bool) else str(value)
    ref = value.get("Ref") if isinstance(value, dict) else None
    if isinstance(ref, str) and "Default" in (parameters.get(ref) or {}):
        return str(parameters[ref]["Default"])
    # Resource names (!Ref Table) exist only once deployed; a placeholder lets settings validation pass.
    return f"bench-{name.lower().replace('_', '-')}"


def _environment(variables: dict[str, Any], parameters: dict[str, Any]) -> dict[str, str]:
    template_env = {name: _env_value(name, value, parameters) for name, value in variables.items()}
    return {
        **template_env,
        **os.environ,
        **FIXED_ENV,
        "PYTHONPATH": str(ROOT / "layers" / "common"),
    }


def _median_import_ms(module: str, cwd: Path, env: dict[str, str]) -> float:
    times = []
    for _ in range(sized(RUNS, 1)):
        done = subprocess.run(
            [sys.executable, "-c", TIMER.format(module=module)],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["no output"])[-1]
            raise RuntimeError(f"import {module} failed: {last}")
        times.append(float(done.stdout.strip().splitlines()[-1]))
    return statistics.median(times) * 1000


def _skipped(metric: str, note: str) -> Row:
    return Row("imports.handlers", metric, None, None, None, note)


@case("imports.handlers")
def handler_import_times() -> Iterator[Row]:
    if not TEMPLATE.exists():
        yield _skipped("template.yaml", "missing: no functions to measure")
        return
    template = yaml.load(TEMPLATE.read_text(), Loader=_CfnLoader) or {}  # noqa: S506 - a SafeLoader subclass
    functions = list(_functions(template))
    if not functions:
        yield _skipped("template.yaml", f"no {FUNCTION_TYPE} resources")
    for name, props in functions[: sized(len(functions), 1)]:
        code_uri, handler = props.get("CodeUri"), props.get("Handler")
        if not isinstance(code_uri, str) or not isinstance(handler, str):
            yield _skipped(name, f"CodeUri {code_uri!r} / Handler {handler!r} not a local module")
            continue
        module = handler.rsplit(".", 1)[0]
        cwd = ROOT / code_uri
        if not (cwd / (module.replace(".", "/") + ".py")).is_file():
            yield _skipped(name, f"{Path(code_uri) / module.replace('.', '/')}.py not found")
            continue
        env = _environment(props["Variables"], template.get("Parameters") or {})
        try:
            value = _median_import_ms(module, cwd, env)
            baseline = _median_import_ms("json", cwd, env)
        except (RuntimeError, subprocess.TimeoutExpired, ValueError) as exc:
            yield _skipped(name, str(exc))
            continue
        yield row("imports.handlers", f"{name} import ms", value, baseline, note=f"{code_uri} {module}; baseline: json")
