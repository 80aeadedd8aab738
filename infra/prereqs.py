"""What `sam build` needs, checked before it runs (`make prereqs`), and the build itself (`make build`).

sam build builds the functions' runtime (template.yaml: python3.12) with that Python on PATH and refuses otherwise,
or, with `--use-container`, inside Lambda's build image, which needs a running Docker. This says which of the two
this machine can do, or what is missing, before sam build fails halfway with a less helpful message.

    python -m infra.prereqs                    check, and say which `sam build` would run
    python -m infra.prereqs --build [ARGS...]  check, then run it (ARGS go to sam build; --use-container forces it)
"""

from __future__ import annotations

import os
import platform
import re
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from infra.template import ROOT, load_template

SAM_REQUIREMENTS = ROOT / "infra" / "requirements-sam.txt"
INSTALL_SAM = "https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/install-sam-cli.html"
_MACHINES = {"arm64": ("aarch64", "arm64"), "x86_64": ("x86_64", "amd64")}
PROBE_SECONDS = 30


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    required: bool = True  # a failed check that is not required is only a warning


def pinned_sam_version(requirements: Path = SAM_REQUIREMENTS) -> str:
    """The SAM CLI version the README recommends: the one pin of infra/requirements-sam.txt."""
    match = re.search(r"^aws-sam-cli==(\S+)", requirements.read_text(encoding="utf-8"), re.MULTILINE)
    if not match:
        raise ValueError(f"{requirements.relative_to(ROOT)} pins no aws-sam-cli version")
    return match.group(1)


def template_runtime() -> tuple[str, str]:
    """(runtime, architecture) of the template's functions, e.g. ("python3.12", "arm64")."""
    defaults = load_template().get("Globals", {}).get("Function", {})
    return str(defaults.get("Runtime", "")), (defaults.get("Architectures") or ["x86_64"])[0]


def _output(command: Sequence[str]) -> str | None:
    """The command's stdout, or None when it cannot run or fails."""
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=PROBE_SECONDS, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def check_sam(pinned: str) -> list[Check]:
    sam = shutil.which("sam")
    if sam is None:
        return [
            Check(
                "sam",
                False,
                f"the AWS SAM CLI is not on PATH: `make sam-cli` installs SAM CLI {pinned} into .venv-sam "
                f"(needs python3.12), or install it as {INSTALL_SAM} says",
            )
        ]
    reported = _output([sam, "--version"]) or ""
    version = re.search(r"(\d+\.\d+\.\d+)", reported)
    if version is None:
        return [Check("sam", False, f"{sam} --version failed or printed no version ({reported!r})")]
    found = [Check("sam", True, f"SAM CLI {version.group(1)} ({sam})")]
    if version.group(1) != pinned:
        found.append(
            Check(
                "sam version",
                False,
                f"the README's is {pinned} (infra/requirements-sam.txt; `make sam-cli` installs it): "
                "another version may pick other wheels",
                required=False,
            )
        )
    return found


def check_python(runtime: str) -> Check:
    """The runtime's Python on PATH with its pip, as sam build runs it, and `pip`, which layers/common/Makefile runs."""
    python = shutil.which(runtime)
    if python is None:
        return Check(runtime, False, "not on PATH: sam build needs it (or Docker, for sam build --use-container)")
    version = _output([python, "-c", "import sys; print('python%d.%d' % sys.version_info[:2])"])
    if version is None:
        return Check(runtime, False, f"{python} does not run (a pyenv shim with no {runtime} selected does not)")
    if version != runtime:
        return Check(runtime, False, f"{python} is {version}, not {runtime}")
    if _output([python, "-m", "pip", "--version"]) is None:
        return Check(runtime, False, f"{python} has no pip (python -m ensurepip installs it)")
    if shutil.which("pip") is None:
        return Check(runtime, False, "pip is not on PATH: layers/common/Makefile runs it to build the common layer")
    return Check(runtime, True, python)


def check_docker(architecture: str) -> list[Check]:
    docker = shutil.which("docker")
    if docker is None:
        return [Check("docker", False, "not on PATH: sam build --use-container needs it (or python3.12 on PATH)")]
    server = _output([docker, "info", "--format", "{{.ServerVersion}}"])
    if not server:
        return [Check("docker", False, f"{docker} is there but its daemon does not answer (`docker info` fails)")]
    found = [Check("docker", True, f"Docker {server} ({docker})")]
    if platform.machine().lower() not in _MACHINES.get(architecture, (architecture,)):
        emulator = Path("/proc/sys/fs/binfmt_misc/qemu-aarch64" if architecture == "arm64" else "/nonexistent")
        if not emulator.exists():
            found.append(
                Check(
                    "emulation",
                    False,
                    f"the build image is {architecture} and this machine {platform.machine()}: Docker must run "
                    f"{architecture} images (QEMU binfmt, e.g. `docker run --privileged --rm tonistiigi/binfmt "
                    f"--install {architecture}`)",
                    required=False,
                )
            )
    return found


def check(build_args: Sequence[str] = ()) -> tuple[list[Check], list[str] | None]:
    """Every check, and the sam build command this machine can run (None: it cannot).

    Natively when the runtime's Python is there (unless ARGS ask for --use-container), in a container otherwise."""
    runtime, architecture = template_runtime()
    sam = check_sam(pinned_sam_version())
    checks = list(sam)
    native = None if "--use-container" in build_args else check_python(runtime)
    if native is not None:
        checks.append(native)
    container = False
    if native is None or not native.ok:
        docker = check_docker(architecture)
        checks.extend(docker)
        container = docker[0].ok
    if not sam[0].ok or not (container or (native is not None and native.ok)):
        return checks, None
    extra = [arg for arg in build_args if arg != "--use-container"]
    return checks, ["sam", "build", *(["--use-container"] if container else []), *extra]


def report(checks: Sequence[Check], command: Sequence[str] | None) -> str:
    runtime, architecture = template_runtime()
    lines = [f"sam build prerequisites (template.yaml: {runtime}, {architecture}):"]
    for item in checks:
        status = "ok" if item.ok else ("MISSING" if item.required else "warning")
        lines.append(f"  {status:<8} {item.name}: {item.detail}")
    if command is None:
        lines.append(f"cannot build: sam on PATH, and {runtime} (with pip) on PATH or a running Docker, are needed")
    else:
        lines.append(f"ready: {' '.join(command)}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    build = bool(args) and args[0] == "--build"
    build_args = args[1:] if build else args
    checks, command = check(build_args)
    print(report(checks, command), flush=True)
    if command is None:
        return 1
    if not build:
        return 0
    return subprocess.run(command, cwd=ROOT, env=os.environ, check=False).returncode


if __name__ == "__main__":
    raise SystemExit(main())
