"""Cold-start import time of each function's handler module, from template.yaml, in fresh interpreters."""

from __future__ import annotations

import compileall
import os
import statistics
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench.harness import ROOT, Row, case, row, sized
from infra.template import TEMPLATE_PATH, functions, load_template

# What the handler's cold start reads besides the template's own variables.
FIXED_ENV = {
    "AWS_DEFAULT_REGION": "us-east-1",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_METRICS_NAMESPACE": "doti",
}
RUNS = 5
TIMER = "import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"


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


def _compile_sources(code_dirs: list[Path]) -> None:
    """Write the bytecode of doti and the handlers, as the deployed common layer ships it (layers/common/Makefile):
    on a machine that never wrote any (PYTHONDONTWRITEBYTECODE, a fresh clone) every run would otherwise time the
    compiler, not the import Lambda does. Installed packages have theirs from pip."""
    for folder in [ROOT / "layers" / "common" / "doti", *code_dirs]:
        compileall.compile_dir(str(folder), quiet=1)


@case("imports.handlers")
def handler_import_times() -> Iterator[Row]:
    if not TEMPLATE_PATH.exists():
        yield _skipped("template.yaml", "missing: no functions to measure")
        return
    template = load_template()
    specs = list(functions(template).values())
    _compile_sources([spec.code_uri for spec in specs])
    if not specs:
        yield _skipped("template.yaml", "no AWS::Serverless::Function resources")
    for spec in specs[: sized(len(specs), 1)]:
        module = spec.handler.rsplit(".", 1)[0]
        code_uri = spec.code_uri.relative_to(ROOT)
        if not spec.module_path.is_file():
            yield _skipped(spec.logical_id, f"{spec.module_path.relative_to(ROOT)} not found")
            continue
        env = _environment(spec.environment, template.get("Parameters") or {})
        try:
            value = _median_import_ms(module, spec.code_uri, env)
            baseline = _median_import_ms("json", spec.code_uri, env)
        except (RuntimeError, subprocess.TimeoutExpired, ValueError) as exc:
            yield _skipped(spec.logical_id, str(exc))
            continue
        yield row(
            "imports.handlers",
            f"{spec.logical_id} import ms",
            value,
            baseline,
            note=f"{code_uri}/ {module}; baseline: json",
        )
