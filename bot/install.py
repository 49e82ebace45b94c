"""Installing a submission's pinned model into its own virtualenv, and fetching its weights.

The manifest's install lines were validated (bot/submission.py): one pins the model by
content. pip enforces the pins: `#sha256=` fragments and `--hash` lines are checked by pip,
git URLs are fixed to a commit. Lines with `--hash` put pip in hash-checking mode, so they are
installed first without dependencies; then everything else is resolved, the hashed packages
named by version so that their dependencies are installed too.

torch comes from the runner: unless the manifest names torch itself, it is constrained to the
runner's own torch version (the CUDA build on a GPU runner; never a surprise multi-GB download).
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from packaging.specifiers import InvalidSpecifier, SpecifierSet

from bot.fileio import write_atomic
from bot.submission import classify_install_line

RUNNER_REQUIREMENTS = ("numpy", "soundfile", "torch")  # what bot/hear itself imports
MARKER = ".hearbot-installed.json"
PIP_TIMEOUT_S = 1800
_HASH_OPTION = re.compile(r"\s+--hash=sha256:[0-9a-f]{64}")
_REQUIREMENT_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")

Log = Callable[[str], None]


class InstallError(RuntimeError):
    """The submission could not be installed; the message says why (with pip's last lines)."""


@dataclass(frozen=True)
class InstallPlan:
    hashed: tuple[str, ...]
    """`name==version --hash=...` lines: installed first, --no-deps, in hash-checking mode."""
    unresolved: tuple[str, ...]
    """Content-pinned URL lines installed --no-deps (install_without_dependencies)."""
    resolved: tuple[str, ...]
    """Installed with their dependencies resolved, under ``constraints``."""
    constraints: tuple[str, ...]

    def key(self) -> str:
        """Content address of the environment: same plan + same Python → same venv."""
        material = json.dumps(
            {
                "plan": [self.hashed, self.unresolved, self.resolved, self.constraints],
                "python": platform.python_version(),
                "platform": sys.platform,
            },
            sort_keys=True,
        )
        return hashlib.sha256(material.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Installed:
    python: Path
    venv: Path
    provenance: list[dict[str, str]]
    seconds: float
    reused: bool


def runner_torch_version() -> str:
    import torch

    return torch.__version__.split("+", 1)[0]


def plan_install(
    install_lines: list[str],
    torch_version: str | None = None,
    *,
    without_dependencies: bool = False,
) -> InstallPlan:
    """pip steps for a manifest's install lines (already validated by bot/submission.py).

    ``without_dependencies``: the content-pinned packages are installed with --no-deps and
    only the other lines are resolved.
    """
    hashed: list[str] = []
    unresolved: list[str] = []
    resolved: list[str] = []
    for line in install_lines:
        kind = classify_install_line(line).kind
        if kind == "unpinned":
            raise InstallError(f"install line {line!r} is not allowed (see manifest-unpinned)")
        text = line.strip()
        if _HASH_OPTION.search(text):
            hashed.append(text)
            if not without_dependencies:
                resolved.append(_HASH_OPTION.sub("", text).strip())
        elif kind == "content-pinned" and without_dependencies:
            unresolved.append(text)
        else:
            resolved.append(text)
    names = {_name(line) for line in install_lines}
    constraints = []
    if "torch" not in names:
        constraints.append(f"torch=={torch_version or runner_torch_version()}")
    resolved += [name for name in RUNNER_REQUIREMENTS if name not in names]
    return InstallPlan(tuple(hashed), tuple(unresolved), tuple(resolved), tuple(constraints))


def _name(line: str) -> str:
    match = _REQUIREMENT_NAME.match(line)
    if not match or "://" in line.split()[0]:
        return ""
    return match.group(1).lower().replace("_", "-")


def check_python(spec: str | None) -> None:
    if not spec:
        return
    try:
        allowed = SpecifierSet(spec)
    except InvalidSpecifier as exc:
        raise InstallError(f"manifest `python` {spec!r} is not a version specifier") from exc
    version = platform.python_version()
    if version not in allowed:
        raise InstallError(
            f"the model needs Python {spec}, this runner has {version}; ask the maintainers "
            "for a runner with a matching Python, or widen `python` if the model supports it"
        )


def install(
    plan: InstallPlan, venvs_dir: Path, log: Log, find_links: list[Path] | None = None
) -> Installed:
    """Create (or reuse, by content address) the virtualenv for ``plan``.

    ``find_links``: local wheel directories pip may also install from (pins still apply).
    """
    links = [argument for path in find_links or [] for argument in ("--find-links", str(path))]
    venv = venvs_dir / plan.key()
    python = venv / "bin" / "python"
    marker = venv / MARKER
    if marker.exists() and python.exists():
        log(f"install: reusing {venv} (same pins, same Python)")
        data = json.loads(marker.read_text())
        return Installed(python, venv, data["provenance"], 0.0, reused=True)
    if venv.exists():
        log(f"install: {venv} is incomplete; recreating it")
        shutil.rmtree(venv)
    start = time.monotonic()
    venvs_dir.mkdir(parents=True, exist_ok=True)
    _run([sys.executable, "-m", "venv", str(venv)], "create the virtualenv", log)
    requirements = venv / "hearbot-requirements"
    requirements.mkdir()
    if plan.unresolved:
        unresolved_file = requirements / "unresolved.txt"
        unresolved_file.write_text("\n".join(plan.unresolved) + "\n")
        _pip(python, ["install", "--no-deps", *links, "-r", str(unresolved_file)], log)
    if plan.hashed:
        hashed_file = requirements / "hashed.txt"
        hashed_file.write_text("\n".join(plan.hashed) + "\n")
        _pip(
            python,
            ["install", "--no-deps", "--require-hashes", *links, "-r", str(hashed_file)],
            log,
        )
    resolved_file = requirements / "resolved.txt"
    resolved_file.write_text("\n".join(plan.resolved) + "\n")
    arguments = ["install", *links, "-r", str(resolved_file)]
    if plan.constraints:
        constraints_file = requirements / "constraints.txt"
        constraints_file.write_text("\n".join(plan.constraints) + "\n")
        arguments += ["-c", str(constraints_file)]
    _pip(python, arguments, log)
    provenance = _provenance(python)
    seconds = time.monotonic() - start
    write_atomic(
        marker, json.dumps({"provenance": provenance, "seconds": seconds}, indent=2).encode()
    )
    log(f"install: done in {seconds:.1f} s ({len(provenance)} packages)")
    return Installed(python, venv, provenance, seconds, reused=False)


def _pip(python: Path, arguments: list[str], log: Log) -> None:
    command = [str(python), "-m", "pip", "--disable-pip-version-check", *arguments]
    _run(command, "pip " + " ".join(arguments[:1]), log)


def _run(command: list[str], what: str, log: Log) -> None:
    log("install: $ " + " ".join(command))
    env = {key: value for key, value in os.environ.items() if not key.startswith("GITHUB_")}
    try:
        completed = subprocess.run(
            command, capture_output=True, text=True, timeout=PIP_TIMEOUT_S, env=env, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise InstallError(f"{what} took longer than {PIP_TIMEOUT_S} s") from exc
    output = (completed.stdout + completed.stderr).strip()
    for line in output.splitlines():
        log("install: " + line)
    if completed.returncode != 0:
        tail = "\n".join(output.splitlines()[-15:])
        raise InstallError(f"{what} failed (exit {completed.returncode}):\n{tail}")


def _provenance(python: Path) -> list[dict[str, str]]:
    completed = subprocess.run(
        [str(python), "-m", "pip", "list", "--format=json", "--disable-pip-version-check"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    packages = json.loads(completed.stdout)
    return [{"name": item["name"], "version": item["version"]} for item in packages]


def fetch_weights(url: str, sha256: str, cache_dir: Path, log: Log) -> Path:
    """The weights file, downloaded once into ``cache_dir/<sha256>`` and checked by content."""
    target = cache_dir / sha256
    if target.exists() and _sha256(target) == sha256:
        log(f"weights: using {target}")
        return target
    import requests

    cache_dir.mkdir(parents=True, exist_ok=True)
    partial = cache_dir / f".{sha256}.part"
    digest = hashlib.sha256()
    log(f"weights: downloading {url}")
    with requests.get(url, stream=True, timeout=60) as response:
        response.raise_for_status()
        with partial.open("wb") as handle:
            for chunk in response.iter_content(chunk_size=1 << 20):
                digest.update(chunk)
                handle.write(chunk)
    if digest.hexdigest() != sha256:
        partial.unlink(missing_ok=True)
        raise InstallError(
            f"weights at {url} have sha256 {digest.hexdigest()}, the manifest says {sha256}"
        )
    os.replace(partial, target)
    return target


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def describe_pin(install_lines: list[str]) -> str:
    """The line that pins the model by content (for the report)."""
    for line in install_lines:
        if classify_install_line(line).kind == "content-pinned":
            return line.strip()
    return ""
