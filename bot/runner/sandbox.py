"""The sandbox the submission's code runs in: Debian's bubblewrap, resource limits, a watchdog.

What a sandboxed command sees (docs/sandbox.md has the full list, with reasons):

- read-only: /usr (and the /bin, /lib, /lib64, /sbin links), a few files of /etc (dynamic
  linker, TLS roots, time zone), the Python installation, and each `Mount` the caller names
  (the submission's virtualenv, task audio, weights, the `bot/hear` worker code);
- writable: exactly one directory (`writable`), plus a private, size-limited /tmp;
- a new /proc and a minimal /dev; on a GPU runner also the NVIDIA device nodes and /sys;
- no network (its own empty network namespace), unless `network` names a proxy socket, which
  is then the only way out (bot/runner/index_proxy.py allows only the package index);
- an environment built from scratch: nothing of the caller's is passed but a short allow-list
  of thread and locale settings, so no token or secret can reach it;
- no user's home, no runner work directory, no checkout of the bot;
- when the bot runs as root, the command runs as the unprivileged user `nobody` (65534) with
  no capabilities and no_new_privs; otherwise as the caller, in a user namespace.

Limits: wall time, memory (RLIMIT_DATA per process, and the resident memory of the whole
process tree, polled), processes (RLIMIT_NPROC), output size (RLIMIT_FSIZE per file, and the
writable directory's total, polled and checked once more when the command ends: apparent size
and allocated blocks, whichever is larger, so a sparse file counts in full), the number of
entries (files and directories) and how deeply directories nest in it, the size of /tmp, and
the number of log lines kept. A breach kills the whole sandbox (its PID namespace dies with
its first process) and is reported by name; an output breach also removes the output.

What it prints reaches no sink as it was printed: each line is split on every line break,
made inert and marked `[model] ` (bot/common/untrusted.py), so it can neither run a workflow
command on GitHub Actions nor pass for one of hearbot's own log lines.

Fails closed: if bubblewrap is missing or cannot create the sandbox, `SandboxError` is raised
and nothing runs. The only way to run without it is `Sandbox(enabled=False)`, which the CLI
offers as `--unsafe-no-sandbox`, refused when `CI` or `GITHUB_ACTIONS` is set.
"""

from __future__ import annotations

import contextlib
import os
import resource
import shutil
import signal
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from bot.common.inert import MODEL_MARK, inert_lines, stop_commands
from bot.common.log import Log
from bot.common.untrusted import MAX_WALK_DEPTH, remove_tree, tree_usage

NOBODY = 65534
PROXY_SOCKET = "/run/hearbot-proxy.sock"  # where bot/runner/index_proxy.py's socket is shown
ENV_ALLOW_LIST = (
    "LANG",
    "LC_ALL",
    "TZ",
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "CUDA_VISIBLE_DEVICES",
    "CUBLAS_WORKSPACE_CONFIG",
)
ETC_FILES = (
    "ld.so.cache",
    "ld.so.conf",
    "ld.so.conf.d",
    "alternatives",
    "ssl",
    "ca-certificates",
    "localtime",
    "nsswitch.conf",
    "hosts",
    "os-release",
    "debian_version",
)
ROOT_LINKS = ("bin", "lib", "lib32", "lib64", "libx32", "sbin")
GPU_DEVICE_PREFIX = "nvidia"
SANDBOX_TMP = "/tmp"
SANDBOX_HOME = "/tmp/home"
POLL_S = 0.2
OUTPUT_BREACH = "output size limit"
OUTPUT_ENTRIES_BREACH = "output entries limit"
OUTPUT_DEPTH_BREACH = "output depth limit"
OUTPUT_BREACHES = (OUTPUT_BREACH, OUTPUT_ENTRIES_BREACH, OUTPUT_DEPTH_BREACH)
KILL_GRACE_S = 5.0
LINE_BYTES = 4000
UNSAFE_REFUSED = (
    "--unsafe-no-sandbox is refused when CI or GITHUB_ACTIONS is set: a runner never runs "
    "submitted code outside the sandbox"
)


class SandboxError(RuntimeError):
    """The sandbox could not be created; nothing ran."""


@dataclass(frozen=True)
class Limits:
    wall_s: float = 4 * 3600.0
    memory_mb: int = 32 * 1024
    """Per process (RLIMIT_DATA) and for the whole process tree's resident memory."""
    processes: int = 256
    output_mb: int = 200 * 1024
    """The writable directory's total size (and the largest single file): apparent size or
    allocated blocks, whichever is larger."""
    output_entries: int = 2_000_000
    """Files and directories in the writable directory (a full HEAR task has ~300,000)."""
    output_depth: int = MAX_WALK_DEPTH
    """How deeply directories may nest in the writable directory."""
    tmp_mb: int = 2048
    log_lines: int = 20_000

    def describe(self) -> dict[str, float]:
        return {
            "wall_s": self.wall_s,
            "memory_mb": self.memory_mb,
            "processes": self.processes,
            "output_mb": self.output_mb,
            "output_entries": self.output_entries,
        }


@dataclass(frozen=True)
class Mount:
    source: Path
    target: str
    """The path inside the sandbox (absolute)."""
    writable: bool = False


@dataclass(frozen=True)
class Sandbox:
    """How submitted code is contained on this machine (the runner's configuration)."""

    enabled: bool = True
    limits: Limits = field(default_factory=Limits)
    gpu: bool = False
    """Bind the NVIDIA device nodes and /sys (a GPU runner)."""
    extra_read_only: tuple[Path, ...] = ()
    """More host paths to show read-only at the same path (e.g. driver libraries outside /usr)."""
    dev_root: Path = Path("/dev")

    def describe(self, network: str = "off") -> dict[str, object]:
        if not self.enabled:
            launcher = "none (--unsafe-no-sandbox: the model ran unconfined)"
        else:
            try:
                launcher = bubblewrap_version()
            except SandboxError:
                launcher = "bubblewrap (not available: nothing could run)"
        return {"launcher": launcher, "network": network, "limits": self.limits.describe()}


@dataclass(frozen=True)
class Outcome:
    exit_code: int | None
    """None when the sandbox was killed."""
    seconds: float
    breach: str | None = None
    """Which limit was breached ("wall time limit of 10 s", ...); the command was killed."""
    dropped_lines: int = 0
    peak_bytes: int = 0
    """The largest memory (PSS) of the sandbox's process tree the watchdog saw."""

    @property
    def ok(self) -> bool:
        return self.breach is None and self.exit_code == 0

    def describe(self) -> str:
        if self.breach:
            return f"killed: {self.breach}"
        return f"exit {self.exit_code}"


def refuse_unsafe_on_ci(environ: Mapping[str, str]) -> None:
    """`--unsafe-no-sandbox` is for a submitter's own machine only."""
    if environ.get("CI") or environ.get("GITHUB_ACTIONS"):
        raise SandboxError(UNSAFE_REFUSED)


def bubblewrap_path() -> str:
    path = shutil.which("bwrap")
    if path is None:
        raise SandboxError(
            "bubblewrap (`bwrap`) is not installed, so submitted code cannot be sandboxed and "
            "nothing was run. Install it (Debian/Ubuntu: `apt-get install bubblewrap`; "
            "scripts/setup.sh does this)."
        )
    return path


def bubblewrap_version() -> str:
    try:
        completed = subprocess.run(
            [bubblewrap_path(), "--version"], capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SandboxError(f"bubblewrap cannot be run: {exc}") from exc
    return completed.stdout.strip() or "bubblewrap (unknown version)"


def sandbox_environment(extra: Mapping[str, str], environ: Mapping[str, str]) -> dict[str, str]:
    """The sandbox's whole environment: fixed values, the allow-list, then ``extra``."""
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": SANDBOX_HOME,
        "TMPDIR": SANDBOX_TMP,
        "USER": "sandbox",
        "LOGNAME": "sandbox",
        "LANG": "C.UTF-8",
        "PYTHONNOUSERSITE": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        # Caches go to the private /tmp: the model's environment is read-only at run time.
        "XDG_CACHE_HOME": f"{SANDBOX_HOME}/.cache",
        "NUMBA_CACHE_DIR": f"{SANDBOX_HOME}/.cache/numba",
        "MPLCONFIGDIR": f"{SANDBOX_HOME}/.config/matplotlib",
    }
    env.update({key: environ[key] for key in ENV_ALLOW_LIST if key in environ})
    env.update(extra)
    return env


def _drops_to_nobody() -> bool:
    return os.geteuid() == 0


def bubblewrap_arguments(
    sandbox: Sandbox,
    mounts: Iterable[Mount],
    writable: Mount,
    env: Mapping[str, str],
    *,
    network_socket: Path | None = None,
    python_prefixes: Iterable[Path] = (),
) -> list[str]:
    """bwrap's options: everything before the `--` that precedes the command."""
    arguments = [
        "--die-with-parent",
        "--new-session",
        "--unshare-ipc",
        "--unshare-pid",
        "--unshare-net",
        "--unshare-uts",
        "--unshare-cgroup-try",
        "--hostname",
        "sandbox",
    ]
    if _drops_to_nobody():
        # Root keeps no user namespace, so that `setpriv` can switch to `nobody` inside.
        for capability in ("CAP_SETUID", "CAP_SETGID", "CAP_SETPCAP"):
            arguments += ["--cap-add", capability]
    else:
        arguments += ["--unshare-user"]
    arguments += ["--ro-bind", "/usr", "/usr"]
    for name in ROOT_LINKS:
        host = Path("/") / name
        if host.is_symlink():
            arguments += ["--symlink", os.readlink(host), f"/{name}"]
        elif host.is_dir():
            arguments += ["--ro-bind", str(host), f"/{name}"]
    arguments += ["--perms", "0755", "--dir", "/etc"]
    for name in ETC_FILES:
        if (Path("/etc") / name).exists():
            arguments += ["--ro-bind", f"/etc/{name}", f"/etc/{name}"]
    arguments += ["--proc", "/proc", "--dev", "/dev"]
    if sandbox.gpu:
        arguments += _gpu_arguments(sandbox.dev_root)
    # A private /tmp (and HOME inside it) that the sandbox's user can write to.
    arguments += ["--perms", "1777", "--size", str(sandbox.limits.tmp_mb << 20)]
    arguments += ["--tmpfs", SANDBOX_TMP, "--perms", "0777", "--dir", SANDBOX_HOME]
    binds = [Mount(path, str(path)) for path in _outside_usr(python_prefixes)]
    binds += [Mount(path, str(path)) for path in sandbox.extra_read_only]
    binds += [*mounts, writable]
    if network_socket is not None:
        binds.append(Mount(network_socket, PROXY_SOCKET))
    for parent in _parents([bind.target for bind in binds]):
        arguments += ["--perms", "0755", "--dir", parent]
    for bind in sorted(binds, key=lambda bind: bind.target.count("/")):
        arguments += ["--bind" if bind.writable else "--ro-bind", str(bind.source), bind.target]
    arguments += ["--chdir", writable.target, "--clearenv"]
    for key, value in sorted(env.items()):
        arguments += ["--setenv", key, value]
    return arguments


def _outside_usr(paths: Iterable[Path]) -> list[Path]:
    resolved = {Path(path).resolve() for path in paths}
    return sorted(path for path in resolved if not path.is_relative_to("/usr"))


def _parents(targets: list[str]) -> list[str]:
    """The directories above the mount points that no mount provides, made traversable for
    the sandbox's user (bubblewrap would make them 0700 root), top first."""
    parents = {str(parent) for target in targets for parent in Path(target).parents}
    parents -= {"/", SANDBOX_TMP, "/usr", "/etc", "/proc", "/dev", "/sys"}
    covered = [
        parent
        for parent in parents
        if any(parent == target or parent.startswith(target + "/") for target in targets)
    ]
    return sorted(set(parents) - set(covered), key=lambda path: (path.count("/"), path))


def _gpu_arguments(dev_root: Path) -> list[str]:
    """The NVIDIA device nodes (read-write, as CUDA needs) and /sys (read-only)."""
    arguments = []
    nodes = sorted(dev_root.glob(f"{GPU_DEVICE_PREFIX}*"))
    if not nodes:
        raise SandboxError(
            f"--device cuda needs the NVIDIA device nodes, but {dev_root} has no "
            f"{GPU_DEVICE_PREFIX}* entries"
        )
    for node in nodes:
        arguments += ["--dev-bind", str(node), f"/dev/{node.name}"]
    arguments += ["--ro-bind", "/sys", "/sys"]
    return arguments


def _setpriv_prefix() -> list[str]:
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        raise SandboxError("`setpriv` (util-linux) is missing; cannot drop root in the sandbox")
    return [
        setpriv,
        f"--reuid={NOBODY}",
        f"--regid={NOBODY}",
        "--clear-groups",
        "--inh-caps=-all",
        "--bounding-set=-all",
        "--no-new-privs",
        "--",
    ]


def _processes_of(uid: int) -> int:
    count = 0
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                if entry.stat().st_uid == uid:
                    count += 1
            except OSError:
                continue
    return count


def _limit_resources(limits: Limits, nproc: int) -> Callable[[], None]:
    memory = limits.memory_mb << 20
    output = limits.output_mb << 20

    def apply() -> None:  # runs in the child between fork and exec
        resource.setrlimit(resource.RLIMIT_DATA, (memory, memory))
        resource.setrlimit(resource.RLIMIT_FSIZE, (output, output))
        resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        os.setpgid(0, 0)

    return apply


def prepare_writable(path: Path) -> None:
    """The writable directory, owned by the user the sandbox runs as."""
    path.mkdir(parents=True, exist_ok=True)
    if _drops_to_nobody():
        os.chown(path, NOBODY, NOBODY)


def run(
    sandbox: Sandbox,
    command: list[str],
    *,
    writable: Mount,
    mounts: Iterable[Mount] = (),
    env: Mapping[str, str] | None = None,
    python_prefixes: Iterable[Path] = (),
    network_socket: Path | None = None,
    on_line: Log,
    environ: Mapping[str, str] | None = None,
    pass_fds: tuple[int, ...] = (),
) -> Outcome:
    """Run ``command`` (paths as the sandbox sees them) and stream its output to ``on_line``,
    each line split on every line break, made inert and marked as the model's (`MODEL_MARK`).

    ``pass_fds``: file descriptors the command inherits under the same numbers (the ends of
    the audio stream's pipes); they belong to this call, which closes them here as soon as
    the command holds them (so that the other ends see the end of the stream when it exits).

    ``writable.source`` is created if needed; everything else must exist. Raises
    `SandboxError` when the sandbox cannot be created (nothing ran).
    """
    environ = os.environ if environ is None else environ
    mounts = list(mounts)
    try:
        argv, run_env, nproc, cwd = _launch(
            sandbox, command, writable, mounts, env or {}, environ, python_prefixes, network_socket
        )
    except BaseException:
        _close(pass_fds)  # nothing will run: the other ends must see the end of the stream
        raise
    if not sandbox.enabled:
        on_line("UNSAFE: --unsafe-no-sandbox: this model runs unconfined, with your privileges")
    # On Actions, workflow commands are paused while the sandbox's lines are echoed (they are
    # inert already: defence in depth).
    with stop_commands(environ) if sandbox.enabled else contextlib.nullcontext():
        outcome = _supervise(
            argv,
            sandbox.limits,
            writable.source,
            on_line,
            env=run_env,
            nproc=nproc,
            cwd=cwd,
            pass_fds=pass_fds,
        )
    return outcome


def _launch(
    sandbox: Sandbox,
    command: list[str],
    writable: Mount,
    mounts: list[Mount],
    env: Mapping[str, str],
    environ: Mapping[str, str],
    python_prefixes: Iterable[Path],
    network_socket: Path | None,
) -> tuple[list[str], dict[str, str], int, Path | None]:
    """(argv, environment, process limit, working directory) of the command to start."""
    full_env = sandbox_environment(env, environ)
    prepare_writable(writable.source)
    if not sandbox.enabled:
        refuse_unsafe_on_ci(environ)
        host_env = _host_environment(full_env, [*mounts, writable])
        return (
            _host_command(command, [*mounts, writable]),
            {**host_env, "HOME": str(Path.home())},
            _processes_of(os.getuid()) + sandbox.limits.processes,
            writable.source,
        )
    argv = [bubblewrap_path()]
    argv += bubblewrap_arguments(
        sandbox,
        mounts,
        writable,
        full_env,
        network_socket=network_socket,
        python_prefixes=python_prefixes,
    )
    argv.append("--")
    uid = os.getuid()
    if _drops_to_nobody():
        argv += _setpriv_prefix()
        uid = NOBODY
    argv += command
    return argv, {"PATH": "/usr/bin:/bin"}, _processes_of(uid) + sandbox.limits.processes, None


def _close(descriptors: Iterable[int]) -> None:
    for descriptor in descriptors:
        with contextlib.suppress(OSError):
            os.close(descriptor)


def clear_directory(root: Path) -> None:
    """Remove everything in ``root`` (iteratively: any depth), keeping ``root``."""
    for entry in list(os.scandir(root)):
        with contextlib.suppress(OSError):
            remove_tree(Path(entry.path))


def _host_command(command: list[str], mounts: list[Mount]) -> list[str]:
    """Unsandboxed, each path inside a mount is its host path."""
    return [host_path(part, mounts) for part in command]


def _host_environment(env: Mapping[str, str], mounts: list[Mount]) -> dict[str, str]:
    """Unsandboxed, search paths (PYTHONPATH) name host paths too."""
    return {
        key: os.pathsep.join(host_path(part, mounts) for part in value.split(os.pathsep))
        for key, value in env.items()
    }


def host_path(path: str, mounts: list[Mount]) -> str:
    """The host path of a sandbox path: inside a mount, or a parent of one that mirrors it."""
    for mount in sorted(mounts, key=lambda mount: len(mount.target), reverse=True):
        if path == mount.target or path.startswith(mount.target + "/"):
            return str(mount.source) + path[len(mount.target) :]
        below = mount.target[len(path) :] if mount.target.startswith(path + "/") else ""
        if below and str(mount.source).endswith(below):
            return str(mount.source)[: -len(below)]
    return path


def _supervise(
    argv: list[str],
    limits: Limits,
    watched: Path,
    on_line: Log,
    *,
    env: Mapping[str, str],
    nproc: int,
    cwd: Path | None,
    pass_fds: tuple[int, ...] = (),
) -> Outcome:
    start = time.monotonic()
    try:
        process = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=dict(env),
            cwd=cwd,
            preexec_fn=_limit_resources(limits, nproc),
            pass_fds=pass_fds,
        )
    except OSError as exc:
        raise SandboxError(f"the sandbox could not be started: {exc}") from exc
    finally:
        _close(pass_fds)
    reader = _LineReader(process, limits.log_lines, on_line)
    reader.start()
    seen = _watch(process, limits, watched, start)
    breach = seen.breach
    if breach is not None:
        _kill(process)
    reader.join(timeout=KILL_GRACE_S)
    code = process.wait()
    seconds = time.monotonic() - start
    if breach is None and code != 0 and _setup_failed(reader.first_lines):
        raise SandboxError(
            "bubblewrap could not create the sandbox, so nothing ran: "
            + " | ".join(reader.first_lines[:3])
        )
    if reader.dropped:
        on_line(f"(sandbox: {reader.dropped} further log lines were dropped)")
    if breach is not None and breach.startswith(OUTPUT_BREACHES):
        # The watchdog polls, so a fast writer overshoots the limit a little; what it wrote
        # is worthless and is removed at once.
        clear_directory(watched)
        on_line(f"(sandbox: removed everything in the output directory after the {breach})")
    return Outcome(
        exit_code=None if breach else code,
        seconds=seconds,
        breach=breach,
        dropped_lines=reader.dropped,
        peak_bytes=seen.peak_bytes,
    )


def _setup_failed(first_lines: list[str]) -> bool:
    return bool(first_lines) and first_lines[0].startswith(("bwrap:", "setpriv:"))


class _LineReader(threading.Thread):
    """Reads the sandbox's output; keeps at most ``max_lines`` lines of 4,000 bytes.

    Every line goes through ``inert_lines`` (bot/common/untrusted.py) before ``on_line`` sees
    it: split on every line break (`\r` and the Unicode ones too, not only `\n`), made inert
    (no control character, no leading `::`) and marked ``MODEL_MARK``. A line longer than
    4,000 bytes is cut; the rest of it is read and dropped, never held in memory."""

    def __init__(self, process: subprocess.Popen[bytes], max_lines: int, on_line: Log) -> None:
        super().__init__(daemon=True)
        self.process = process
        self.max_lines = max_lines
        self.on_line = on_line
        self.kept = 0
        self.dropped = 0
        self.first_lines: list[str] = []
        """The first lines as printed (inert, unmarked): is it bubblewrap's own error?"""

    def run(self) -> None:
        assert self.process.stdout is not None
        for raw in _bounded_lines(self.process.stdout, LINE_BYTES):
            for line in inert_lines(raw.decode("utf-8", "replace")):
                if len(self.first_lines) < 3:
                    self.first_lines.append(line)
                if self.kept < self.max_lines:
                    self.kept += 1
                    self.on_line(MODEL_MARK + line)
                else:
                    self.dropped += 1


def _bounded_lines(stream: IO[bytes], limit: int) -> Iterator[bytes]:
    """Each line of ``stream`` cut to ``limit`` bytes (the rest of a longer line is skipped)."""
    skipping = False
    while True:
        chunk = stream.readline(limit)
        if not chunk:
            return
        complete = chunk.endswith(b"\n")
        if not skipping:
            yield chunk
        skipping = not complete


@dataclass
class _Watch:
    breach: str | None = None
    peak_bytes: int = 0


def _watch(process: subprocess.Popen[bytes], limits: Limits, watched: Path, start: float) -> _Watch:
    """Poll until the process ends: the breached limit's description, if any, and the peak
    memory (PSS) of the process tree seen."""
    seen = _Watch()
    seen.breach = _poll(process, limits, watched, start, seen)
    return seen


def _poll(
    process: subprocess.Popen[bytes], limits: Limits, watched: Path, start: float, seen: _Watch
) -> str | None:
    next_size_check = 0.0
    while process.poll() is None:
        now = time.monotonic()
        if now - start > limits.wall_s:
            return f"wall time limit of {limits.wall_s:g} s"
        resident = _tree_resident_bytes(process.pid)
        seen.peak_bytes = max(seen.peak_bytes, resident)
        if resident > limits.memory_mb << 20:
            return f"memory limit of {limits.memory_mb} MB (resident {resident >> 20} MB)"
        if now >= next_size_check:
            before = time.monotonic()
            breach = output_breach(watched, limits)
            if breach is not None:
                return breach
            # A large tree is walked less often: at most ~10% of the time goes to walking it.
            next_size_check = time.monotonic() + max(POLL_S, 10 * (time.monotonic() - before))
        time.sleep(POLL_S)
    # Once more after the end: a last burst of writes (at exit) may have come after the last
    # poll.
    return output_breach(watched, limits)


def output_breach(watched: Path, limits: Limits) -> str | None:
    """Which output limit ``watched`` breaches, named (output-bytes, output-entries,
    output-depth), or None."""
    usage = tree_usage(watched, stop_after_entries=limits.output_entries)
    if usage.entries > limits.output_entries:
        return (
            f"{OUTPUT_ENTRIES_BREACH} of {limits.output_entries} [output-entries] (more than "
            f"{limits.output_entries} files and directories written)"
        )
    if usage.depth > limits.output_depth:
        return (
            f"{OUTPUT_DEPTH_BREACH} of {limits.output_depth} [output-depth] (directories "
            f"nested {usage.depth} deep)"
        )
    if usage.bytes > limits.output_mb << 20:
        return (
            f"{OUTPUT_BREACH} of {limits.output_mb} MB [output-bytes] ({usage.apparent_bytes >> 20}"
            f" MB apparent, {usage.allocated_bytes >> 20} MB allocated)"
        )
    return None


def _kill(process: subprocess.Popen[bytes]) -> None:
    """Kill bwrap's process group; its PID namespace (every sandboxed process) dies with it."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    try:
        process.wait(timeout=KILL_GRACE_S)
    except subprocess.TimeoutExpired:
        process.kill()


def _children(pid: int) -> list[int]:
    children: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return children
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/children") as handle:
                children += [int(item) for item in handle.read().split()]
        except OSError:
            continue
    return children


def _tree_resident_bytes(root: int) -> int:
    """Proportional resident memory (PSS: shared pages split between their users, so forked
    workers are not counted many times) of ``root`` and all its descendants."""
    total, stack, seen = 0, [root], set()
    while stack:
        pid = stack.pop()
        if pid in seen:
            continue
        seen.add(pid)
        total += _proportional_bytes(pid)
        stack += _children(pid)
    return total


def _proportional_bytes(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as handle:
            for line in handle:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        with open(f"/proc/{pid}/statm") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def directory_bytes(root: Path) -> int:
    """What ``root`` costs (symlinks not followed): its apparent size or its allocated blocks,
    whichever is larger, so that neither a sparse file nor many small ones is undercounted."""
    return tree_usage(root).bytes


def python_prefixes() -> list[Path]:
    """This interpreter's installation (the base of every virtualenv made from it) and its
    environment (the runner's own virtualenv, whose pip installs submissions)."""
    return sorted({Path(sys.base_prefix).resolve(), Path(sys.prefix).absolute()})


def output_problems(root: Path, limit: int = 10) -> list[str]:
    """What is wrong with a directory the sandbox wrote, before trusted code reads it: symbolic
    links, special files (FIFOs, sockets, devices), hard links and directories nested deeper
    than `MAX_WALK_DEPTH`, each named by its path relative to ``root``. Walked iteratively;
    the watchdog has bounded the number of entries. Trusted readers also open only the names
    they expect (bot/common/untrusted.py), never follow a link, and never unpickle; this check
    makes a planted link an error instead of a skip."""
    problems: list[str] = []
    stack = [(root, 0)]
    while stack and len(problems) < limit:
        current, depth = stack.pop()
        if depth > MAX_WALK_DEPTH:
            problems.append(
                f"{_relative(current, root)}: directories nested deeper than {MAX_WALK_DEPTH}"
            )
            continue
        try:
            with os.scandir(current) as listing:
                entries = sorted(listing, key=lambda entry: entry.name)
        except OSError as exc:
            problems.append(f"{_relative(Path(current), root)}: unreadable ({exc.strerror})")
            continue
        for entry in entries:
            path = Path(entry.path)
            where = _relative(path, root)
            try:
                info = entry.stat(follow_symlinks=False)
            except OSError as exc:
                problems.append(f"{where}: unreadable ({exc.strerror})")
                continue
            if stat.S_ISLNK(info.st_mode):
                problems.append(f"{where}: a symbolic link (to {os.readlink(path)!r})")
            elif stat.S_ISDIR(info.st_mode):
                stack.append((path, depth + 1))
            elif not stat.S_ISREG(info.st_mode):
                problems.append(f"{where}: not a regular file or directory")
            elif info.st_nlink > 1:
                problems.append(f"{where}: a hard link ({info.st_nlink} names)")
    return problems[:limit]


def _relative(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root)) or "."
    except ValueError:
        return str(path)
