"""Lambda's 250 MB limit, checked before deploying: each function's code and layers, built as `sam build` builds them.

Layers are built for the template's platform (the layer's BuildArchitecture, the functions' Python version) with
pip's platform options, picking wheels as `sam build`'s own builder does (aws-lambda-builders' python_pip
workflow: `Platform.pip_args`), and cached under build/package-size/ by a hash of everything that goes into them,
so a rerun measures without building. Besides the size, each function must carry what its code imports and nothing
more: a layer none of whose modules the code imports is a failure (the imaging layer, about 150 MB of OpenCV and
numpy, stays on the functions that decode images), and so is an import, or a dependency of a shipped
distribution, that neither the function's layers nor the Lambda runtime provide (the common layer is installed
with --no-deps, so its requirements.txt must list every transitive dependency).

Run as `python -m infra.package_size` (`make test` does).
"""

from __future__ import annotations

import ast
import hashlib
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from email.parser import Parser
from pathlib import Path
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from infra.template import ROOT, FunctionSpec, functions, load_template

LIMIT_BYTES = 262_144_000  # Lambda: function code and all its layers together, unzipped
MB = 1024 * 1024  # Lambda's "250 MB" is 250 * 2**20 bytes
CACHE_ROOT = ROOT / "build" / "package-size"
CACHE_FORMAT = "3"  # bump when the way layers are built here changes
HEARTBEAT_SECONDS = 15.0

# How `sam build` picks wheels (aws-lambda-builders 1.67, bundled with SAM CLI 1.170: python_pip/packager.py,
# DependencyBuilder.compatible_platforms). It asks pip for every platform tag Lambda's glibc can load, oldest first,
# and pip prefers the tag it is given first: where a package ships both, Lambda gets the manylinux2014 wheel, not
# the manylinux_2_28 one that pip alone would pick (OpenCV on arm64: a different file, and a different size).
_BUILDER_PLATFORMS = {
    "arm64": ("any", "linux_aarch64", "manylinux2014_aarch64", "manylinux_2_17_aarch64", "manylinux_2_28_aarch64",
              "manylinux_2_34_aarch64"),
    "x86_64": ("any", "linux_x86_64", "manylinux1_x86_64", "manylinux2010_x86_64", "manylinux2014_x86_64",
               "manylinux_2_17_x86_64", "manylinux_2_28_x86_64", "manylinux_2_34_x86_64"),
}  # fmt: skip
# The glibc of each runtime (AL2 2.26 up to python3.11, AL2023 2.34 from python3.12), rounded down to the newest
# manylinux the builder accepts for it: the last entry of the list above that the runtime loads.
_BUILDER_NEWEST_MANYLINUX = {
    "3.8": "manylinux_2_17",
    "3.9": "manylinux_2_17",
    "3.10": "manylinux_2_17",
    "3.11": "manylinux_2_17",
    "3.12": "manylinux_2_34",
    "3.13": "manylinux_2_34",
    "3.14": "manylinux_2_34",
}
_MACHINES = {"arm64": "aarch64", "x86_64": "x86_64"}
SAM_DEFAULT_ARCHITECTURE = "x86_64"  # for a function without Architectures and a layer without BuildArchitecture

# What the Lambda Python runtime ships besides the standard library (so the common layer leaves them out).
RUNTIME_DISTRIBUTIONS = frozenset({"boto3", "botocore", "jmespath", "s3transfer", "python-dateutil", "six", "urllib3"})
RUNTIME_MODULES = frozenset({"boto3", "botocore", "jmespath", "s3transfer", "dateutil", "six", "urllib3"})
# This script may run on an older Python than the functions: modules that 3.12 no longer has.
_REMOVED_IN_312 = frozenset({"asynchat", "asyncore", "distutils", "imp", "smtpd"})
STDLIB_MODULES = frozenset(sys.stdlib_module_names) - _REMOVED_IN_312


class PackageSizeError(RuntimeError):
    """A layer could not be built, or the template names something this check cannot build."""


@dataclass(frozen=True)
class Platform:
    architecture: str  # arm64 | x86_64, as in the template
    python_version: str  # "3.12"

    def compatible_platforms(self) -> tuple[str, ...]:
        """The platform tags `sam build` accepts for this platform, in its order (the order pip prefers them in)."""
        if self.architecture not in _BUILDER_PLATFORMS:
            raise PackageSizeError(f"unknown architecture {self.architecture!r}")
        if self.python_version not in _BUILDER_NEWEST_MANYLINUX:
            raise PackageSizeError(f"sam build does not build python{self.python_version}")
        tags = _BUILDER_PLATFORMS[self.architecture]
        newest = f"{_BUILDER_NEWEST_MANYLINUX[self.python_version]}_{_MACHINES[self.architecture]}"
        return tags[: tags.index(newest) + 1]

    def pip_args(self) -> list[str]:
        """pip's options to fetch the wheels `sam build` ships: its platforms, CPython of the runtime's version and
        ABI (abi3 and pure wheels included, as pip always accepts them), binary wheels only."""
        platforms = [arg for name in self.compatible_platforms() for arg in ("--platform", name)]
        return [
            *platforms,
            "--python-version",
            self.python_version,
            "--implementation",
            "cp",
            "--abi",
            f"cp{self.python_version.replace('.', '')}",
            "--only-binary=:all:",
        ]

    @property
    def label(self) -> str:
        return f"{self.architecture}, python{self.python_version}"


@dataclass(frozen=True)
class LayerSpec:
    logical_id: str
    content_uri: Path
    build_method: str
    build_architecture: str
    compatible_runtimes: tuple[str, ...]
    compatible_architectures: tuple[str, ...]


@dataclass(frozen=True)
class Target:
    """One function as deployed: its code, its platform and its layers."""

    spec: FunctionSpec
    runtime: str
    platform: Platform

    @property
    def logical_id(self) -> str:
        return self.spec.logical_id


@dataclass(frozen=True)
class Measurement:
    function: str
    code_bytes: int
    layer_bytes: dict[str, int]

    @property
    def total_bytes(self) -> int:
        return self.code_bytes + sum(self.layer_bytes.values())

    @property
    def headroom_bytes(self) -> int:
        return LIMIT_BYTES - self.total_bytes


# ---------------------------------------------------------------- reading the template


def layer_specs(template: Mapping[str, Any]) -> dict[str, LayerSpec]:
    specs = {}
    for name, resource in template["Resources"].items():
        if resource["Type"] != "AWS::Serverless::LayerVersion":
            continue
        props, metadata = resource["Properties"], resource.get("Metadata", {})
        runtimes = tuple(props.get("CompatibleRuntimes", []))
        specs[name] = LayerSpec(
            logical_id=name,
            content_uri=ROOT / props["ContentUri"],
            build_method=metadata.get("BuildMethod", runtimes[0] if runtimes else ""),
            build_architecture=metadata.get("BuildArchitecture", SAM_DEFAULT_ARCHITECTURE),
            compatible_runtimes=runtimes,
            compatible_architectures=tuple(props.get("CompatibleArchitectures", [])),
        )
    return specs


def targets(template: Mapping[str, Any]) -> list[Target]:
    defaults = template.get("Globals", {}).get("Function", {})
    found = []
    for name, spec in functions(template).items():
        props = {**defaults, **template["Resources"][name]["Properties"]}
        runtime = str(props.get("Runtime", ""))
        if not runtime.startswith("python"):
            raise PackageSizeError(f"{name}: runtime {runtime!r} is not a Python runtime")
        architectures = props.get("Architectures") or [SAM_DEFAULT_ARCHITECTURE]
        found.append(Target(spec, runtime, Platform(architectures[0], runtime.removeprefix("python"))))
    return found


# ---------------------------------------------------------------- building layers


def _source_files(root: Path) -> Iterator[Path]:
    for path in sorted(root.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
            yield path


def layer_key(layer: LayerSpec, platform: Platform) -> str:
    """Names a built layer: changes whenever its Makefile, requirements, sources or platform change."""
    digest = hashlib.sha256()
    for part in (CACHE_FORMAT, layer.build_method, *platform.pip_args()):
        digest.update(part.encode() + b"\0")
    for path in _source_files(layer.content_uri):
        digest.update(path.relative_to(layer.content_uri).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return f"{layer.logical_id}-{platform.architecture}-py{platform.python_version}-{digest.hexdigest()[:16]}"


def build_command(layer: LayerSpec, platform: Platform, artifacts_dir: Path) -> list[str]:
    """What `sam build` runs for the layer, with pip told to fetch wheels for Lambda's platform."""
    pip = [sys.executable, "-m", "pip"]
    if layer.build_method == "makefile":
        return [
            "make",
            "--no-print-directory",
            "-C",
            str(layer.content_uri),
            f"build-{layer.logical_id}",
            f"ARTIFACTS_DIR={artifacts_dir}",
            f"PIP={shlex.join(pip)}",
            f"PIP_PLATFORM_ARGS={shlex.join(platform.pip_args())}",
            # The layer ships bytecode (layers/common/Makefile); this interpreter's is about the size of python3.12's.
            f"PYTHON_BYTECODE={shlex.quote(sys.executable)}",
        ]
    if layer.build_method.startswith("python"):
        requirements = layer.content_uri / "requirements.txt"
        # --no-compile: sam build unpacks wheels without byte-compiling them.
        install = ["install", "--quiet", "--no-compile", "-r", str(requirements), "-t", str(artifacts_dir / "python")]
        return [*pip, *install, *platform.pip_args()]
    raise PackageSizeError(f"{layer.logical_id}: BuildMethod {layer.build_method!r} is not supported here")


def _run_visibly(command: list[str], label: str) -> None:
    """Runs a build, printing a line every few seconds so a slow first download is visibly alive."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1")
    started = time.monotonic()
    with tempfile.TemporaryFile() as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
        try:
            while True:
                try:
                    code = process.wait(timeout=HEARTBEAT_SECONDS)
                    break
                except subprocess.TimeoutExpired:
                    print(f"  ... still building {label} ({time.monotonic() - started:.0f} s)", flush=True)
        except BaseException:  # Ctrl-C: stop the build before its half-written output is removed
            process.kill()
            process.wait()
            raise
        if code != 0:
            output.seek(0)
            log = output.read().decode("utf-8", "replace")
            raise PackageSizeError(f"building {label} failed (exit {code}): {shlex.join(command)}\n{log[-4000:]}")


def build_layer(layer: LayerSpec, platform: Platform) -> Path:
    """The layer's artifacts directory (what Lambda extracts to /opt), built once per key."""
    key = layer_key(layer, platform)
    final = CACHE_ROOT / key
    label = f"{layer.logical_id} ({platform.label})"
    if final.is_dir():
        print(f"layer {label}: cached in {final.relative_to(ROOT)}", flush=True)
        return final
    CACHE_ROOT.mkdir(parents=True, exist_ok=True)
    staging = CACHE_ROOT / f".staging-{key}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    print(f"layer {label}: building with BuildMethod {layer.build_method} (first run downloads wheels)", flush=True)
    started = time.monotonic()
    try:
        _run_visibly(build_command(layer, platform, staging), label)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    staging.rename(final)  # only complete builds are ever found in the cache
    prefix = key.rsplit("-", 1)[0] + "-"
    for stale in CACHE_ROOT.glob(f"{prefix}*"):
        if stale != final:
            shutil.rmtree(stale, ignore_errors=True)
    print(f"layer {label}: built in {time.monotonic() - started:.0f} s", flush=True)
    return final


# ---------------------------------------------------------------- measuring


def tree_bytes(root: Path, *, bytecode: bool = False) -> int:
    """Unzipped size as Lambda counts it: the sum of the files' sizes. Bytecode counts only where the build ships it
    (`bytecode`: the common layer's Makefile compiles it); elsewhere a __pycache__ is a leftover of local runs."""
    total = 0
    for directory, dirnames, filenames in os.walk(root):
        if not bytecode:
            dirnames[:] = [d for d in dirnames if d != "__pycache__"]
        total += sum(
            (Path(directory) / name).stat().st_size
            for name in filenames
            if bytecode or not name.endswith((".pyc", ".pyo"))
        )
    return total


# ---------------------------------------------------------------- what the code imports


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _runtime_nodes(node: ast.AST) -> Iterator[ast.AST]:
    """Every node except the bodies of `if TYPE_CHECKING:`, which never run."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and _is_type_checking(child.test):
            for other in child.orelse:
                yield other
                yield from _runtime_nodes(other)
            continue
        yield child
        yield from _runtime_nodes(child)


def _imported_names(path: Path, module: str) -> Iterator[str]:
    """Dotted names a module imports; `from a import b` yields `a` and `a.b` (b may be a submodule)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in _runtime_nodes(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names if alias.name != "*")


def _module_file(name: str, roots: Iterable[Path]) -> Path | None:
    for root in roots:
        base = root.joinpath(*name.split("."))
        if base.with_name(base.name + ".py").is_file():
            return base.with_name(base.name + ".py")
        if (base / "__init__.py").is_file():
            return base / "__init__.py"
    return None


def _is_first_party(top: str, roots: Iterable[Path]) -> bool:
    return any((root / f"{top}.py").is_file() or (root / top).is_dir() for root in roots)


def imported_top_level(spec: FunctionSpec, source_roots: Iterable[Path]) -> frozenset[str]:
    """Top-level modules that a function's handler imports, following our own modules (code and layer sources)."""
    roots = (spec.code_uri, *source_roots)
    pending = [spec.handler.rsplit(".", 1)[0]]
    seen: set[str] = set()
    tops: set[str] = set()
    while pending:
        name = pending.pop()
        if not name or name in seen:
            continue
        seen.add(name)
        top = name.split(".")[0]
        tops.add(top)
        if not _is_first_party(top, roots):
            continue
        path = _module_file(name, roots)
        if path is None:
            continue  # an attribute, as in `from doti.errors import CorruptImage`
        parts = name.split(".")
        pending.extend(".".join(parts[:i]) for i in range(1, len(parts)))  # importing a.b runs a/__init__.py
        pending.extend(_imported_names(path, name))
    return frozenset(tops)


def source_roots(spec: FunctionSpec, layers: Mapping[str, LayerSpec]) -> list[Path]:
    return [layers[name].content_uri for name in spec.layers if name in layers]


def shipped_modules(artifacts: Path) -> frozenset[str]:
    """Top-level importable names in a built layer (Lambda puts /opt/python on sys.path)."""
    python = artifacts / "python"
    if not python.is_dir():
        return frozenset()
    names = set()
    for entry in python.iterdir():
        if entry.is_dir():
            name = entry.name  # bin/, *.dist-info/ and *.libs/ hold nothing importable
        elif entry.suffix in {".py", ".so"}:
            name = entry.name.split(".")[0]
        else:
            continue
        if name.isidentifier() and name not in {"bin", "__pycache__"}:
            names.add(name)
    return frozenset(names)


# ---------------------------------------------------------------- shipped distributions and their requirements


@dataclass(frozen=True)
class Distribution:
    name: str  # canonical
    version: str
    requires: tuple[str, ...]


def distributions(artifacts: Path) -> dict[str, Distribution]:
    found = {}
    for metadata_path in (artifacts / "python").glob("*.dist-info/METADATA"):
        metadata = Parser().parsestr(metadata_path.read_text(encoding="utf-8", errors="replace"), headersonly=True)
        name = canonicalize_name(metadata["Name"])
        found[name] = Distribution(name, metadata["Version"], tuple(metadata.get_all("Requires-Dist") or ()))
    return found


def _marker_environment(platform: Platform) -> dict[str, str]:
    return {
        "implementation_name": "cpython",
        "implementation_version": f"{platform.python_version}.0",
        "os_name": "posix",
        "platform_machine": _MACHINES.get(platform.architecture, platform.architecture),
        "platform_python_implementation": "CPython",
        "platform_release": "",
        "platform_system": "Linux",
        "platform_version": "",
        "python_full_version": f"{platform.python_version}.0",
        "python_version": platform.python_version,
        "sys_platform": "linux",
        "extra": "",
    }


def unmet_requirements(shipped: Mapping[str, Distribution], platform: Platform) -> list[str]:
    """Requirements of shipped distributions that nothing ships, or that ship in a version outside their range."""
    environment = _marker_environment(platform)
    problems = []
    for dist in sorted(shipped.values(), key=lambda d: d.name):
        for text in dist.requires:
            try:
                requirement = Requirement(text)
            except InvalidRequirement:
                continue
            if requirement.marker is not None and not requirement.marker.evaluate(environment):
                continue
            name = canonicalize_name(requirement.name)
            if name in RUNTIME_DISTRIBUTIONS:
                continue
            present = shipped.get(name)
            if present is None:
                problems.append(f"{dist.name} {dist.version} requires {requirement}, which no attached layer ships")
            elif not requirement.specifier.contains(present.version, prereleases=True):
                problems.append(f"{dist.name} {dist.version} requires {requirement}, but {name} is {present.version}")
    return problems


# ---------------------------------------------------------------- the checks


@dataclass(frozen=True)
class BuiltLayer:
    spec: LayerSpec
    artifacts: Path
    modules: frozenset[str]
    distributions: dict[str, Distribution]
    size: int


def function_problems(target: Target, layers: Mapping[str, LayerSpec], built: Mapping[str, BuiltLayer]) -> list[str]:
    """Everything wrong with one function's package except its size."""
    spec, problems = target.spec, []
    attached = [built[name] for name in spec.layers]
    for layer in attached:
        if layer.spec.build_architecture != target.platform.architecture:
            problems.append(
                f"{layer.spec.logical_id} is built for {layer.spec.build_architecture} (Metadata.BuildArchitecture) "
                f"but the function runs on {target.platform.architecture}"
            )
        if layer.spec.compatible_runtimes and target.runtime not in layer.spec.compatible_runtimes:
            problems.append(f"{layer.spec.logical_id} is not compatible with {target.runtime}")
        if (
            layer.spec.compatible_architectures
            and target.platform.architecture not in layer.spec.compatible_architectures
        ):
            problems.append(f"{layer.spec.logical_id} is not compatible with {target.platform.architecture}")
    imported = imported_top_level(spec, source_roots(spec, layers))
    for layer in attached:
        if layer.modules and not layer.modules & imported:
            problems.append(
                f"{layer.spec.logical_id} is attached but the code imports none of its modules "
                f"({', '.join(sorted(layer.modules))}): keep it on the functions that use it"
            )
    own = {p.stem for p in spec.code_uri.glob("*.py")} | {p.name for p in spec.code_uri.iterdir() if p.is_dir()}
    provided = STDLIB_MODULES | RUNTIME_MODULES | own | {m for layer in attached for m in layer.modules}
    missing = sorted(imported - provided)
    if missing:
        problems.append(f"the code imports {', '.join(missing)}, which neither its layers nor the runtime provide")
    shipped = {name: dist for layer in attached for name, dist in layer.distributions.items()}
    problems.extend(unmet_requirements(shipped, target.platform))
    return problems


def measure(target: Target, built: Mapping[str, BuiltLayer]) -> Measurement:
    if (target.spec.code_uri / "requirements.txt").is_file():
        # sam build would install these into the function's package; measuring the folder alone would undercount.
        raise PackageSizeError(
            f"{target.logical_id}: {target.spec.code_uri.relative_to(ROOT)}/requirements.txt is not measured here; "
            "put dependencies in a layer"
        )
    return Measurement(
        target.logical_id,
        tree_bytes(target.spec.code_uri),
        {name: built[name].size for name in target.spec.layers},
    )


def _mb(size: int) -> str:
    return f"{size / MB:.2f}"


def _cells(row: list[str], widths: list[int]) -> Iterator[str]:
    for index, (cell, width) in enumerate(zip(row, widths, strict=True)):
        yield cell.ljust(width) if index == 0 else cell.rjust(width)


def size_table(measurements: list[Measurement], layer_names: list[str]) -> str:
    header = ["function", "code MB", *(f"{name} MB" for name in layer_names), "total MB", "limit MB", "headroom MB"]
    rows = [header]
    for m in measurements:
        layers = [_mb(m.layer_bytes[name]) if name in m.layer_bytes else "-" for name in layer_names]
        rows.append(
            [m.function, _mb(m.code_bytes), *layers, _mb(m.total_bytes), _mb(LIMIT_BYTES), _mb(m.headroom_bytes)]
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = ["  ".join(_cells(row, widths)) for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def build_layers(function_targets: list[Target], layers: Mapping[str, LayerSpec]) -> dict[str, BuiltLayer]:
    """Every layer some function carries, built (or found in the cache) once."""
    built: dict[str, BuiltLayer] = {}
    for target in function_targets:
        for name in target.spec.layers:
            if name not in layers:
                raise PackageSizeError(f"{target.logical_id}: layer {name} is not a LayerVersion in the template")
            if name in built:
                continue
            layer = layers[name]
            # sam build builds a layer once, for its BuildArchitecture; function_problems checks the functions match.
            artifacts = build_layer(layer, Platform(layer.build_architecture, target.platform.python_version))
            built[name] = BuiltLayer(
                layer,
                artifacts,
                shipped_modules(artifacts),
                distributions(artifacts),
                tree_bytes(artifacts, bytecode=layer.build_method == "makefile"),
            )
    return built


def main() -> int:
    template = load_template()
    layers = layer_specs(template)
    try:
        function_targets = targets(template)
        built = build_layers(function_targets, layers)
        measurements = [measure(target, built) for target in function_targets]
    except PackageSizeError as exc:
        print(f"package size check FAILED: {exc}", file=sys.stderr)
        return 1

    used_layers = [name for name in layers if name in built]
    print()
    print(size_table(measurements, used_layers))
    print(f"(MB = 1,048,576 bytes, unzipped; the limit is {LIMIT_BYTES:,} bytes for a function and its layers)")

    failures = [
        f"{m.function}: {m.total_bytes:,} bytes unzipped is over Lambda's limit of {LIMIT_BYTES:,} "
        f"by {-m.headroom_bytes:,} bytes"
        for m in measurements
        if m.headroom_bytes < 0
    ]
    for target in function_targets:
        failures.extend(f"{target.logical_id}: {problem}" for problem in function_problems(target, layers, built))
    if failures:
        print("\npackage size check FAILED:", file=sys.stderr)
        for failure in failures:
            print(f"  - {failure}", file=sys.stderr)
        return 1
    print("package size check passed: every function fits and carries only the layers it imports")
    return 0


if __name__ == "__main__":
    sys.exit(main())
