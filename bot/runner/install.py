"""Installing a submission's pinned model into its own virtualenv, and fetching its weights.

The manifest's install lines were validated (bot/submission/manifest.py): one pins the model by
content. pip enforces the pins: `#sha256=` fragments and `--hash` lines are checked by pip,
git URLs are fixed to a commit. Lines with `--hash` put pip in hash-checking mode, so they are
installed first without dependencies; then everything else is resolved, the hashed packages
named by version so that their dependencies are installed too.

torch comes from the runner: unless the manifest names torch itself, it is constrained to the
runner's own torch version (the CUDA build on a GPU runner; never a surprise multi-GB download).
"""

from __future__ import annotations

import email.parser
import functools
import hashlib
import importlib.metadata
import json
import os
import platform
import re
import shutil
import stat
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from packaging.requirements import Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet

from bot.common import strict_json, untrusted
from bot.common.fileio import sha256_of, write_atomic
from bot.common.log import Log
from bot.runner.index_proxy import RELAY_PORT, SANDBOX_SOCKET, IndexAccess, IndexProxy
from bot.runner.pinned_files import FILES, PinnedFileError, download_to, local_url_pins
from bot.runner.sandbox import NOBODY, Mount, Sandbox, SandboxError, python_prefixes
from bot.runner.sandbox import run as sandbox_run
from bot.submission.manifest import classify_install_line

RUNNER_REQUIREMENTS = ("numpy", "soundfile", "torch")  # what bot/hear itself imports
MARKER = ".hearbot-installed.json"
"""The runner layer's record (written by trusted code; no sandbox can write the layer)."""
INSTALLED_RECORDS = ".installed"
"""``venvs/.installed/<venv>.json``: a virtualenv's complete install, recorded by trusted code
after every pip step succeeded, where no sandbox can write (never a file inside the venv)."""
MAX_RECORD_BYTES = 16 << 20
MAX_METADATA_BYTES = 65536
"""Read of each installed distribution's METADATA: its headers come first."""
MAX_DISTRIBUTIONS = 10_000
PIP_TIMEOUT_S = 1800.0
SYSTEM_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
RELAY_SCRIPT = Path(__file__).resolve().parent / "sandbox_relay.py"
SANDBOX_RELAY = "/opt/hearbot/sandbox_relay.py"
_HASH_OPTION = re.compile(r"\s+--hash=sha256:[0-9a-f]{64}")
_REQUIREMENT_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


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
class Virtualenv:
    python: Path
    venv: Path
    layer: Path
    provenance: list[dict[str, str]]
    seconds: float
    """How long the install took (when ``reused``: the earlier run's install, as recorded)."""
    reused: bool
    peak_bytes: int = 0
    """The largest memory the sandboxed pip steps used (0 when the virtualenv was reused)."""


@dataclass(frozen=True)
class Installed:
    """A submitted model ready to run: the Python that runs it and what it needs to see."""

    python: Path
    environment: str
    """The environment's identity: the install plan's key and the virtualenv's name, or
    ``current-environment`` (--no-install)."""
    mounts: list[Mount]
    """Read-only, at their own paths: the virtualenv and the runner's packages, or the
    submitter's own PYTHONPATH entries (--no-install)."""
    python_path: list[str]
    """PYTHONPATH entries the model needs besides the worker's code (--no-install only)."""
    weights: Path | None
    """The manifest's weights file, checked by content (None when it names none)."""
    provenance: list[dict[str, str]] = field(default_factory=list)
    """Name and version of every installed distribution (empty with --no-install)."""
    peak_bytes: int | None = None
    """The largest memory the sandboxed pip steps used; None when nothing was installed."""
    reused_seconds: float | None = None
    """When the virtualenv was an earlier run's: that install's seconds (else None)."""


def prepare(
    manifest: Mapping[str, Any],
    work: Path,
    log: Log,
    *,
    install: bool = True,
    find_links: list[Path] | None = None,
    sandbox: Sandbox,
    package_index: str | None = None,
    weights_file: Path | None = None,
) -> Installed:
    """Everything a validated manifest needs before its model can run: the weights (fetched
    once, checked by content, under ``work/weights``), the Python requirement, the pinned
    virtualenv (made or reused under ``work/venvs``; pip runs in ``sandbox``, reaching only
    ``package_index`` when one is given) and the read-only mounts it runs with.

    ``install=False`` runs the model in the current environment instead (its PYTHONPATH shown
    read-only): a submitter's own check of a model that is not published yet.

    ``weights_file``: the manifest's weights from this local file instead of its URL (checked
    against the manifest's sha256 all the same)."""
    weights = None
    if manifest.get("weights"):
        spec = manifest["weights"]
        if weights_file is not None:
            weights = local_weights(weights_file, spec["sha256"], work / "weights", log)
        else:
            weights = fetch_weights(spec["url"], spec["sha256"], work / "weights", log)
    elif weights_file is not None:
        raise InstallError(
            f"--weights-file {weights_file} was given, but the manifest names no `weights`; "
            'add `"weights": {"url": "https://…", "sha256": "<sha256 of the file>"}` to it, '
            "or leave --weights-file out"
        )
    if not install:
        log("install: --no-install: using the current environment (and its PYTHONPATH)")
        inherited = inherited_python_path()
        return Installed(
            python=Path(sys.executable),
            environment="current-environment",
            mounts=[Mount(entry, str(entry)) for entry in inherited],
            python_path=[str(entry) for entry in inherited],
            weights=weights,
        )
    check_python(manifest.get("python"))
    plan = plan_install(
        list(manifest["install"]),
        without_dependencies=bool(manifest.get("install_without_dependencies")),
    )
    venvs = work / "venvs"
    links = list(find_links or [])
    if package_index is None:
        made = install_virtualenv(plan, venvs, log, links, sandbox=sandbox)
    else:
        with IndexProxy(package_index, log) as access:
            made = install_virtualenv(plan, venvs, log, links, sandbox=sandbox, network=access)
    return Installed(
        python=made.python,
        environment=f"{plan.key()}:{made.venv.name}",
        mounts=[Mount(made.venv, str(made.venv)), *layer_mounts(made.layer)],
        python_path=[],
        weights=weights,
        provenance=made.provenance,
        peak_bytes=None if made.reused else made.peak_bytes,
        reused_seconds=made.seconds if made.reused else None,
    )


def inherited_python_path() -> list[Path]:
    """The submitter's own PYTHONPATH entries (--no-install), shown read-only in the sandbox."""
    entries = []
    for entry in os.environ.get("PYTHONPATH", "").split(os.pathsep):
        path = Path(entry).absolute() if entry else None
        if path is not None and path.exists() and path not in entries:
            entries.append(path)
    return entries


def runner_torch_version() -> str:
    import torch

    return torch.__version__.split("+", 1)[0]


def plan_install(
    install_lines: list[str],
    torch_version: str | None = None,
    *,
    without_dependencies: bool = False,
) -> InstallPlan:
    """pip steps for a manifest's install lines (already validated by bot/submission/manifest.py).

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


def runner_layer(root: Path, log: Log) -> Path:
    """A directory of symlinks to the runner's own torch, numpy, soundfile and everything they
    need (by their metadata), shared by every submission's virtualenv through a .pth line.

    The exact packages the runner was set up with (the CUDA build of torch on a GPU runner),
    with nothing to download and nothing else importable; a submission that pins another
    version gets its own copy in its virtualenv, which comes first on sys.path.
    """
    distributions = _runner_distributions()
    material = sorted(
        (name, d.version, str(d.locate_file(""))) for name, d in distributions.items()
    )
    key = hashlib.sha256(json.dumps([material, platform.python_version()]).encode()).hexdigest()
    layer = root / f"runner-{key[:16]}"
    if (layer / MARKER).exists():
        return layer
    root.mkdir(parents=True, exist_ok=True)
    partial = root / f".{layer.name}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir()
    for distribution in distributions.values():
        for top in _top_level_entries(distribution):
            link = partial / top
            if not link.exists() and not link.is_symlink():
                link.symlink_to(Path(distribution.locate_file(top)).resolve())
    packages = [{"name": name, "version": version} for name, version, _ in material]
    write_atomic(partial / MARKER, json.dumps({"packages": packages}, indent=2).encode())
    shutil.rmtree(layer, ignore_errors=True)
    os.replace(partial, layer)
    log(f"install: runner packages linked in {layer} ({len(packages)} distributions)")
    return layer


def _closure(names: tuple[str, ...]) -> dict[str, importlib.metadata.Distribution]:
    found: dict[str, importlib.metadata.Distribution] = {}
    todo = list(names)
    while todo:
        name = _normal(todo.pop())
        if name in found:
            continue
        try:
            distribution = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            if name in RUNNER_REQUIREMENTS:
                raise InstallError(
                    f"the runner itself lacks {name}; run scripts/setup.sh"
                ) from None
            continue  # an optional dependency the runner does not have
        found[name] = distribution
        for text in distribution.requires or []:
            requirement = Requirement(text)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(requirement.name)
    return found


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _top_level_entries(distribution: importlib.metadata.Distribution) -> set[str]:
    entries = set()
    for file in distribution.files or []:
        top = Path(file).parts[0]
        if top != ".." and not top.endswith(".pth") and top != "__pycache__":
            entries.add(top)
    return entries


def _site_packages(venv: Path) -> Path:
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    return venv / "lib" / version / "site-packages"


@functools.cache
def _runner_distributions() -> dict[str, importlib.metadata.Distribution]:
    """The runner's own torch, numpy, soundfile and what they need (fixed for a process)."""
    return _closure(RUNNER_REQUIREMENTS)


def layer_mounts(layer: Path) -> list[Mount]:
    """The runner layer and the site-packages its symlinks point into, read-only at their
    own paths (what a submission's virtualenv needs besides itself, to install and to run)."""
    sites = {Path(d.locate_file("")).resolve() for d in _runner_distributions().values()}
    return [Mount(layer, str(layer)), *(Mount(path, str(path)) for path in sorted(sites))]


def install_virtualenv(
    plan: InstallPlan,
    venvs_dir: Path,
    log: Log,
    find_links: list[Path] | None = None,
    *,
    sandbox: Sandbox,
    network: IndexAccess | None = None,
) -> Virtualenv:
    """Create (or reuse, by content address) the virtualenv for ``plan``.

    The virtualenv is made here (the standard library's venv: trusted); pip and everything it
    runs for the submission (build backends, setup.py) run inside ``sandbox`` with only the
    virtualenv writable. Without ``network`` pip sees no index at all, only ``find_links``
    (local wheel directories; pins still apply); with it, only the package index.
    """
    layer = runner_layer(venvs_dir, log)
    venv = venvs_dir / f"{plan.key()}-{layer.name.removeprefix('runner-')[:8]}"
    python = venv / "bin" / "python"
    record = install_record(venvs_dir, venv)
    provenance = read_install_record(record, venv)
    if provenance is not None and python.exists():
        log(f"install: reusing {venv} (same pins, same Python, same runner packages)")
        earlier = recorded_seconds(record)
        return Virtualenv(python, venv, layer, provenance, earlier, reused=True)
    # The record goes first: from here on, until every pip step has succeeded, no run may
    # take this virtualenv for a complete one.
    record.unlink(missing_ok=True)
    if venv.exists() or venv.is_symlink():
        log(f"install: {venv} is incomplete; recreating it")
        if venv.is_symlink() or not venv.is_dir():
            venv.unlink()
        else:
            untrusted.remove_tree(venv)  # pip wrote it in the sandbox: any depth, no recursion
    start = time.monotonic()
    files = venvs_dir.parent / FILES
    try:
        local_lines = local_url_pins(
            [*plan.hashed, *plan.unresolved, *plan.resolved],
            find_links or [],
            files,
            log,
            network=network is not None,
        )
    except PinnedFileError as exc:
        raise InstallError(str(exc)) from exc
    venvs_dir.mkdir(parents=True, exist_ok=True)
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], "create the virtualenv", log)
    if os.geteuid() == 0:
        _chown_tree(venv, NOBODY)
    _site_packages(venv).joinpath("hearbot-runner.pth").write_text(f"{layer}\n")
    requirements = venv / "hearbot-requirements"
    requirements.mkdir()
    steps = _pip_steps(plan, requirements, local_lines)
    links = [argument for path in find_links or [] for argument in ("--find-links", str(path))]
    index = network.pip_arguments() if network else ["--no-index"]
    mounts = layer_mounts(layer)
    mounts += [Mount(Path(path).resolve(), str(Path(path).resolve())) for path in find_links or []]
    if local_lines:
        mounts.append(Mount(files.resolve(), str(files.resolve())))
    certificates = trusted_certificates(os.environ) if network else None
    if certificates is not None:
        # The runner's trust store (a TLS-inspecting egress proxy's CA included), not pip's.
        mounts.append(Mount(certificates, str(certificates)))
        index += ["--cert", str(certificates)]
    peak = 0
    for arguments in steps:
        # The runner's pip, acting on the new virtualenv (`--python`), inside the sandbox.
        command = [sys.executable, "-m", "pip", "--python", str(python)]
        command += ["--disable-pip-version-check", "--no-cache-dir", "--no-input", *arguments]
        command += [*index, *links]
        peak = max(
            peak, _sandboxed(command, f"pip {arguments[0]}", venv, mounts, sandbox, network, log)
        )
    provenance = installed_packages([_site_packages(venv), layer])
    seconds = time.monotonic() - start
    write_install_record(record, venv, provenance, seconds)
    log(f"install: done in {seconds:.1f} s ({len(provenance)} packages)")
    return Virtualenv(python, venv, layer, provenance, seconds, reused=False, peak_bytes=peak)


def install_record(venvs_dir: Path, venv: Path) -> Path:
    """Where the record of ``venv``'s complete install is kept: beside the virtualenvs, in a
    directory no sandbox ever sees (the install's sandbox can write only inside ``venv``)."""
    return venvs_dir / INSTALLED_RECORDS / f"{venv.name}.json"


def write_install_record(
    record: Path, venv: Path, provenance: list[dict[str, str]], seconds: float
) -> None:
    """Trusted code, after every pip step succeeded: ``venv`` is complete. The record names
    the virtualenv and the directory's identity (device, inode) it was made in."""
    identity = os.stat(venv, follow_symlinks=False)
    document = {
        "venv": venv.name,
        "device": identity.st_dev,
        "inode": identity.st_ino,
        "provenance": provenance,
        "seconds": seconds,
    }
    write_atomic(record, json.dumps(document, indent=2).encode())


def read_install_record(record: Path, venv: Path) -> list[dict[str, str]] | None:
    """The provenance kept by a complete install of ``venv``, or None when there is no valid
    record of one: missing, not a regular file, not strict JSON of the expected shape, or made
    for another virtualenv or another directory than the one now at ``venv``. Nothing written
    inside the virtualenv (where install-time code can write) counts."""
    try:
        info = os.lstat(record)
        if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_RECORD_BYTES:
            return None
        directory = os.stat(venv, follow_symlinks=False)
        if not stat.S_ISDIR(directory.st_mode):
            return None
        data = strict_json.loads(record.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("venv") != venv.name:
        return None
    if (data.get("device"), data.get("inode")) != (directory.st_dev, directory.st_ino):
        return None
    provenance = data.get("provenance")
    if not isinstance(provenance, list) or not all(
        isinstance(item, dict)
        and set(item) == {"name", "version"}
        and all(isinstance(value, str) for value in item.values())
        for item in provenance
    ):
        return None
    return provenance


def recorded_seconds(record: Path) -> float:
    """The install time a complete install's record keeps (0.0 when it has none)."""
    try:
        data = strict_json.loads(record.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return 0.0
    seconds = data.get("seconds") if isinstance(data, dict) else None
    return float(seconds) if isinstance(seconds, int | float) and seconds >= 0 else 0.0


def trusted_certificates(environ: Mapping[str, str]) -> Path | None:
    """The CA bundle the runner's own pip and requests trust (PIP_CERT, REQUESTS_CA_BUNDLE,
    SSL_CERT_FILE, else Debian's system bundle), for pip inside the sandbox."""
    for name in ("PIP_CERT", "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE"):
        value = environ.get(name)
        if value and Path(value).is_file():
            return Path(value).resolve()
    return SYSTEM_CA_BUNDLE.resolve() if SYSTEM_CA_BUNDLE.is_file() else None


def _pip_steps(
    plan: InstallPlan, requirements: Path, local_lines: Mapping[str, str] | None = None
) -> list[list[str]]:
    """The pip commands for ``plan``; a URL-pinned line is replaced by its checked local copy
    (``local_lines``, bot/runner/pinned_files.py)."""
    local = dict(local_lines or {})
    plan = InstallPlan(
        tuple(local.get(line, line) for line in plan.hashed),
        tuple(local.get(line, line) for line in plan.unresolved),
        tuple(local.get(line, line) for line in plan.resolved),
        plan.constraints,
    )
    steps = []
    if plan.unresolved:
        unresolved_file = requirements / "unresolved.txt"
        unresolved_file.write_text("\n".join(plan.unresolved) + "\n")
        steps.append(["install", "--no-deps", "-r", str(unresolved_file)])
    if plan.hashed:
        hashed_file = requirements / "hashed.txt"
        hashed_file.write_text("\n".join(plan.hashed) + "\n")
        steps.append(["install", "--no-deps", "--require-hashes", "-r", str(hashed_file)])
    resolved_file = requirements / "resolved.txt"
    resolved_file.write_text("\n".join(plan.resolved) + "\n")
    arguments = ["install", "-r", str(resolved_file)]
    if plan.constraints:
        constraints_file = requirements / "constraints.txt"
        constraints_file.write_text("\n".join(plan.constraints) + "\n")
        arguments += ["-c", str(constraints_file)]
    steps.append(arguments)
    return steps


def _sandboxed(
    command: list[str],
    what: str,
    venv: Path,
    mounts: list[Mount],
    sandbox: Sandbox,
    network: IndexAccess | None,
    log: Log,
) -> int:
    """One pip command in the sandbox, the virtualenv its only writable directory; returns the
    peak memory it used."""
    log("install: $ " + " ".join(command))
    tail: list[str] = []

    def line(text: str) -> None:
        log("install: " + text)
        tail.append(text)
        del tail[:-15]

    if network is not None:
        mounts = [*mounts, Mount(RELAY_SCRIPT, SANDBOX_RELAY)]
        command = [sys.executable, SANDBOX_RELAY, SANDBOX_SOCKET, str(RELAY_PORT), "--", *command]
    install_sandbox = replace(
        sandbox, limits=replace(sandbox.limits, wall_s=min(sandbox.limits.wall_s, PIP_TIMEOUT_S))
    )
    try:
        outcome = sandbox_run(
            install_sandbox,
            command,
            writable=Mount(venv, str(venv), writable=True),
            mounts=mounts,
            python_prefixes=python_prefixes(),
            network_socket=network.socket if network else None,
            env=network.environment() if network else {},
            on_line=line,
        )
    except SandboxError as exc:
        raise InstallError(str(exc)) from exc
    if not outcome.ok:
        raise InstallError(f"{what} failed ({outcome.describe()}):\n" + "\n".join(tail))
    return outcome.peak_bytes


def installed_packages(site_directories: list[Path]) -> list[dict[str, str]]:
    """Name and version of each distribution, read from its METADATA file (no code runs).

    The sandbox wrote these files (pip, and whatever ran while it installed): each is read
    through bot/common/untrusted.py, its first 64 KiB only, and one that is not a regular
    file (a FIFO that would block, a link to /dev/zero) is an `InstallError` naming it."""
    packages: dict[str, dict[str, str]] = {}
    for site in site_directories:
        for path in _metadata_files(site):
            try:
                raw = untrusted.read_prefix(path, MAX_METADATA_BYTES)
            except untrusted.UntrustedFileError as exc:
                if exc.check == "missing":
                    continue
                where = f"{path.parent.name}/{path.name}"
                raise InstallError(
                    f"provenance: {where} cannot be read: {exc.detail} [{exc.check}]"
                ) from None
            text = raw.decode("utf-8", errors="replace")
            headers = email.parser.HeaderParser().parsestr(text)
            name, version = headers.get("Name"), headers.get("Version")
            if name and version and _normal(name) not in packages:
                packages[_normal(name)] = {"name": str(name)[:200], "version": str(version)[:200]}
    return sorted(packages.values(), key=lambda item: item["name"].lower())


def _metadata_files(site: Path) -> list[Path]:
    """``site/*.dist-info/METADATA``, listed without recursion and at most
    `MAX_DISTRIBUTIONS` of them."""
    try:
        with os.scandir(site) as listing:
            names = sorted(entry.name for entry in listing if entry.name.endswith(".dist-info"))
    except OSError:
        return []
    if len(names) > MAX_DISTRIBUTIONS:
        raise InstallError(f"provenance: more than {MAX_DISTRIBUTIONS} distributions in {site}")
    return [site / name / "METADATA" for name in names]


def _run(command: list[str], what: str, log: Log) -> None:
    """A trusted command (the standard library's venv), outside the sandbox."""
    log("install: $ " + " ".join(command))
    completed = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    if completed.returncode != 0:
        tail = "\n".join((completed.stdout + completed.stderr).strip().splitlines()[-15:])
        raise InstallError(f"{what} failed (exit {completed.returncode}):\n{tail}")


def _chown_tree(root: Path, uid: int) -> None:
    """The sandbox runs as `nobody` when the bot runs as root: give it the virtualenv."""
    os.chown(root, uid, uid, follow_symlinks=False)
    for directory, names, files in os.walk(root):
        for name in [*names, *files]:
            os.chown(os.path.join(directory, name), uid, uid, follow_symlinks=False)


def local_weights(path: Path, sha256: str, cache_dir: Path, log: Log) -> Path:
    """The manifest's weights from a local file (`--weights-file`), checked against the
    manifest's sha256 and kept as ``cache_dir/<sha256>`` like downloaded weights."""
    if not path.is_file():
        raise InstallError(f"--weights-file {path} is not a file")
    actual = sha256_of(path)
    if actual != sha256:
        raise InstallError(
            f"--weights-file {path} has sha256 {actual}, but the manifest's `weights.sha256` is "
            f"{sha256}: give the file the manifest names, or put {actual} in the manifest if "
            "this file is the one you publish"
        )
    target = cache_dir / sha256
    if target.exists() and sha256_of(target) == sha256:
        log(f"weights: {path} is {target} (same sha256)")
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    partial = cache_dir / f".{sha256}.part"
    shutil.copyfile(path, partial)
    if sha256_of(partial) != sha256:
        partial.unlink(missing_ok=True)
        raise InstallError(f"--weights-file {path} changed while it was copied")
    os.replace(partial, target)
    log(f"weights: {path} (sha256 {sha256[:12]}…) copied to {target}")
    return target


def fetch_weights(url: str, sha256: str, cache_dir: Path, log: Log) -> Path:
    """The weights file, downloaded once into ``cache_dir/<sha256>`` and checked by content."""
    target = cache_dir / sha256
    if target.exists() and sha256_of(target) == sha256:
        log(f"weights: using {target}")
        return target
    import requests

    cache_dir.mkdir(parents=True, exist_ok=True)
    partial = cache_dir / f".{sha256}.part"
    log(f"weights: downloading {url}")
    try:
        actual = download_to(url, partial)
    except requests.RequestException as exc:
        partial.unlink(missing_ok=True)
        raise InstallError(
            f"the weights could not be downloaded from {url} ({type(exc).__name__}); with the "
            "file at hand, pass `--weights-file PATH` (checked against `weights.sha256`)"
        ) from None
    if actual != sha256:
        partial.unlink(missing_ok=True)
        raise InstallError(f"weights at {url} have sha256 {actual}, the manifest says {sha256}")
    os.replace(partial, target)
    return target


def describe_pin(install_lines: list[str]) -> str:
    """The line that pins the model by content (for the report)."""
    for line in install_lines:
        if classify_install_line(line).kind == "content-pinned":
            return line.strip()
    return ""
