"""``hearbot runner check``: can this machine verify submissions? Each item passes, fails
(with the fix) or is skipped (with why), in the order a maintainer sets a runner up:

1. ``bubblewrap``: ``bwrap`` installed;
2. ``user-namespaces``: the kernel lets bubblewrap create them (root needs none of the
   unprivileged settings; Ubuntu 24.04's AppArmor restriction is named with its fix);
3. ``sandbox``: a trivial command actually runs in hearbot's sandbox, with no network;
4. ``torch``: the runner's torch imports (its version and CUDA build);
5. ``gpu``: an NVIDIA GPU is there, and torch can use it (driver fits torch's CUDA);
6. ``gpu-in-sandbox``: a small CUDA computation runs inside the sandbox and matches the CPU;
7. ``task-data``: every column's task folder at every sample rate (``--tasks-dir`` or
   ``HEAR_TASKS_DIR``; metadata, splits and the WAV files each split lists);
8. ``work-disk``: free space for the work folder (``--work`` or ``HEARBOT_WORK_DIR``);
9. ``package-index``: the package index answers, through the proxy when one is configured
   (``--package-index`` or ``HEARBOT_PACKAGE_INDEX``; ``HTTPS_PROXY`` as pip would use it).

Exit codes: 0 every item passed or was skipped; 1 an item failed; 2 usage. ``--require-gpu``
turns the GPU items' skips into failures (a GPU runner must have one).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

PASS, FAIL, SKIP = "pass", "fail", "skip"
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
DEFAULT_MIN_FREE_GB = 100.0
APPARMOR_SYSCTL = Path("/proc/sys/kernel/apparmor_restrict_unprivileged_userns")
USERNS_CLONE_SYSCTL = Path("/proc/sys/kernel/unprivileged_userns_clone")
MAX_USERNS = Path("/proc/sys/user/max_user_namespaces")
APPARMOR_FIX = (
    "Ubuntu 23.10+/24.04 restricts unprivileged user namespaces with AppArmor: allow them for "
    "bubblewrap only, with /etc/apparmor.d/bwrap holding `abi <abi/4.0>, include "
    "<tunables/global> profile bwrap /usr/bin/bwrap flags=(unconfined) { userns, }` then "
    "`sudo systemctl reload apparmor` (or, machine-wide, `sudo sysctl -w "
    "kernel.apparmor_restrict_unprivileged_userns=0` and the same line in /etc/sysctl.d/)"
)
SANDBOX_PROBE = """
import socket, sys
try:
    socket.create_connection(("1.1.1.1", 53), timeout=2)
    print("network: reachable")
except OSError:
    print("network: none")
print("sandbox ok", sys.version.split()[0])
"""
GPU_PROBE = """
import torch
torch.manual_seed(0)
a = torch.randn(512, 512, dtype=torch.float32)
cpu = a @ a
gpu = (a.cuda() @ a.cuda()).cpu()
torch.cuda.synchronize()
close = torch.allclose(cpu, gpu, rtol=1e-3, atol=1e-3)
print("cuda", torch.cuda.get_device_name(0), "matmul", "matches" if close else "DIFFERS")
"""


@dataclass(frozen=True)
class Item:
    name: str
    state: str
    detail: str
    fix: str = ""


@dataclass
class Settings:
    tasks_dir: Path | None = None
    work_dir: Path | None = None
    package_index: str | None = None
    min_free_gb: float = DEFAULT_MIN_FREE_GB
    require_gpu: bool = False
    sample_rates: Sequence[int] | None = None
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    dev_root: Path = Path("/dev")


# ---------------------------------------------------------------------------------------------
# Items


def check_bubblewrap() -> Item:
    from bot.runner.sandbox import SandboxError, bubblewrap_version

    try:
        version = bubblewrap_version()
    except SandboxError as exc:
        return Item("bubblewrap", FAIL, str(exc), "sudo apt-get install bubblewrap")
    return Item("bubblewrap", PASS, f"{version} at {shutil.which('bwrap')}")


def _read_int(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def check_user_namespaces(euid: int | None = None) -> Item:
    euid = os.geteuid() if euid is None else euid
    max_ns = _read_int(MAX_USERNS)
    clone = _read_int(USERNS_CLONE_SYSCTL)
    apparmor = _read_int(APPARMOR_SYSCTL)
    seen = f"user.max_user_namespaces={max_ns}"
    if clone is not None:
        seen += f", kernel.unprivileged_userns_clone={clone}"
    if apparmor is not None:
        seen += f", kernel.apparmor_restrict_unprivileged_userns={apparmor}"
    if euid == 0:
        return Item(
            "user-namespaces",
            PASS,
            f"running as root: bubblewrap needs no unprivileged user namespace, and the "
            f"sandbox drops to nobody ({seen})",
        )
    if max_ns == 0:
        return Item(
            "user-namespaces",
            FAIL,
            f"user namespaces are disabled ({seen})",
            "sudo sysctl -w user.max_user_namespaces=15000 (and in /etc/sysctl.d/)",
        )
    if clone == 0:
        return Item(
            "user-namespaces",
            FAIL,
            f"unprivileged user namespaces are disabled ({seen})",
            "sudo sysctl -w kernel.unprivileged_userns_clone=1 (and in /etc/sysctl.d/)",
        )
    if apparmor == 1:
        return Item(
            "user-namespaces",
            FAIL if not _bwrap_profile_exists() else PASS,
            f"AppArmor restricts unprivileged user namespaces ({seen})"
            + ("; /etc/apparmor.d/bwrap exists" if _bwrap_profile_exists() else ""),
            "" if _bwrap_profile_exists() else APPARMOR_FIX,
        )
    return Item("user-namespaces", PASS, f"allowed ({seen})")


def _bwrap_profile_exists() -> bool:
    return Path("/etc/apparmor.d/bwrap").is_file()


def _sandbox_fix() -> str:
    fix = "run `bwrap --ro-bind / / true` by hand to see bubblewrap's own error"
    if _read_int(APPARMOR_SYSCTL) == 1 and os.geteuid() != 0:
        fix += "; " + APPARMOR_FIX
    return fix


def _run_in_sandbox(code: str, *, gpu: bool, dev_root: Path, wall_s: float) -> tuple[bool, str]:
    from bot.runner.sandbox import Limits, Mount, Sandbox, SandboxError, python_prefixes, run

    lines: list[str] = []
    sandbox = Sandbox(
        limits=Limits(wall_s=wall_s, memory_mb=8192, tmp_mb=256), gpu=gpu, dev_root=dev_root
    )
    with tempfile.TemporaryDirectory(prefix="hearbot-runner-check-") as out:
        try:
            outcome = run(
                sandbox,
                [sys.executable, "-c", code],
                writable=Mount(Path(out) / "out", "/out", writable=True),
                python_prefixes=python_prefixes(),
                on_line=lines.append,
            )
        except SandboxError as exc:
            return False, str(exc)
    text = " | ".join(line.split("] ", 1)[-1] for line in lines[-6:])
    if not outcome.ok:
        return False, f"{outcome.describe()}: {text}"
    return True, text


def check_sandbox() -> Item:
    ok, text = _run_in_sandbox(SANDBOX_PROBE, gpu=False, dev_root=Path("/dev"), wall_s=60)
    if not ok:
        return Item("sandbox", FAIL, f"the sandbox did not start: {text}", _sandbox_fix())
    if "network: none" not in text:
        return Item(
            "sandbox",
            FAIL,
            f"the sandbox ran but reached the network: {text}",
            "report this: hearbot's sandbox must have no network",
        )
    return Item("sandbox", PASS, text)


def check_torch() -> tuple[Item, Any]:
    try:
        import torch
    except ImportError as exc:
        return (
            Item(
                "torch",
                FAIL,
                f"torch does not import: {exc}",
                'install the full set: pip install -e ".[verify]"',
            ),
            None,
        )
    build = f"built for CUDA {torch.version.cuda}" if torch.version.cuda else "a CPU-only build"
    return Item("torch", PASS, f"torch {torch.__version__}, {build}"), torch


def gpu_present(dev_root: Path) -> bool:
    return any(dev_root.glob("nvidia[0-9]*"))


def _driver_version() -> str | None:
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return None
    try:
        out = subprocess.run(
            [smi, "--query-gpu=driver_version,name,memory.total", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return out.splitlines()[0] if out else None


def check_gpu(torch: Any, settings: Settings) -> Item:
    missing = FAIL if settings.require_gpu else SKIP
    if not gpu_present(settings.dev_root):
        return Item(
            "gpu",
            missing,
            f"no NVIDIA GPU ({settings.dev_root}/nvidia* absent): a CPU machine",
            "install the NVIDIA driver (nvidia-smi must list the GPU)"
            if settings.require_gpu
            else "",
        )
    driver = _driver_version() or "nvidia-smi not found"
    if torch is None:
        return Item("gpu", FAIL, f"GPU present (driver: {driver}) but torch is missing", "")
    if torch.version.cuda is None:
        return Item(
            "gpu",
            FAIL,
            f"GPU present (driver: {driver}) but torch {torch.__version__} is a CPU-only build",
            "install the CUDA build of the pinned torch (pip install torch==<pin> from the "
            "PyTorch index for your CUDA version)",
        )
    if not torch.cuda.is_available():
        return Item(
            "gpu",
            FAIL,
            f"torch {torch.__version__} (CUDA {torch.version.cuda}) cannot use the GPU "
            f"(driver: {driver})",
            f"install an NVIDIA driver that supports CUDA {torch.version.cuda} (see NVIDIA's "
            "CUDA compatibility table), then reboot or reload the nvidia module",
        )
    name = torch.cuda.get_device_name(0)
    return Item(
        "gpu",
        PASS,
        f"{name}; driver {driver}; torch {torch.__version__} with CUDA {torch.version.cuda}",
    )


def check_gpu_in_sandbox(gpu_item: Item, settings: Settings) -> Item:
    if gpu_item.state == SKIP:
        return Item("gpu-in-sandbox", SKIP, "no GPU on this machine")
    if gpu_item.state != PASS:
        return Item("gpu-in-sandbox", FAIL, "not tried: the gpu item failed", gpu_item.fix)
    ok, text = _run_in_sandbox(GPU_PROBE, gpu=True, dev_root=settings.dev_root, wall_s=300)
    if not ok or "matches" not in text:
        return Item(
            "gpu-in-sandbox",
            FAIL,
            f"the CUDA computation failed in the sandbox: {text}",
            "driver libraries outside /usr must be shown to the sandbox: pass their folder "
            "with `hearbot verify --sandbox-read-only DIR`; check that /dev/nvidia* are "
            "readable by the runner's user",
        )
    return Item("gpu-in-sandbox", PASS, text)


def check_task_data(settings: Settings) -> Item:
    from bot.hear.fetch import SAMPLE_RATES
    from bot.hear.inventory import CORRUPT, MISSING, complete, inventory

    tasks_dir = settings.tasks_dir or _env_path(settings.environ, "HEAR_TASKS_DIR")
    if tasks_dir is None:
        return Item(
            "task-data",
            FAIL,
            "no tasks folder: give --tasks-dir or set HEAR_TASKS_DIR (as the verify job does)",
            "hearbot tasks fetch --sample-rate SR --dest DIR for each rate, then set "
            "HEAR_TASKS_DIR=DIR in the runner's environment",
        )
    if not tasks_dir.is_dir():
        return Item(
            "task-data",
            FAIL,
            f"{tasks_dir} is not a folder",
            f"hearbot tasks fetch --sample-rate SR --dest {tasks_dir}",
        )
    rates = list(settings.sample_rates or SAMPLE_RATES)
    entries = inventory(tasks_dir, rates, quick=True)
    entries = [e for e in entries if e.column is not None]
    if complete(entries):
        return Item(
            "task-data",
            PASS,
            f"{tasks_dir}: all {len({e.task_dir for e in entries})} task folders of the columns "
            f"at {', '.join(map(str, rates))} Hz",
        )
    missing = [f"{e.task_dir}@{e.sample_rate}" for e in entries if e.state == MISSING]
    corrupt = [f"{e.task_dir}@{e.sample_rate}: {e.detail}" for e in entries if e.state == CORRUPT]
    detail = f"{tasks_dir}: {len(missing)} missing, {len(corrupt)} corrupt"
    if missing:
        detail += f" (missing: {', '.join(missing[:6])}{' ...' if len(missing) > 6 else ''})"
    if corrupt:
        detail += f" (corrupt: {corrupt[0]})"
    return Item(
        "task-data",
        FAIL,
        detail,
        f"hearbot tasks fetch --sample-rate SR --dest {tasks_dir}; details: hearbot tasks "
        f"check {tasks_dir}",
    )


def _env_path(environ: Mapping[str, str], name: str) -> Path | None:
    value = environ.get(name)
    return Path(value) if value else None


def check_work_disk(settings: Settings) -> Item:
    work = settings.work_dir or _env_path(settings.environ, "HEARBOT_WORK_DIR")
    if work is None:
        return Item(
            "work-disk",
            FAIL,
            "no work folder: give --work or set HEARBOT_WORK_DIR (as the verify job does)",
            "set HEARBOT_WORK_DIR to a folder on a disk with room for virtualenvs and embeddings",
        )
    probe = work
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    free_gb = shutil.disk_usage(probe).free / 1e9
    if free_gb < settings.min_free_gb:
        return Item(
            "work-disk",
            FAIL,
            f"{work}: {free_gb:.1f} GB free, below {settings.min_free_gb:g} GB",
            "free space there, move HEARBOT_WORK_DIR to a larger disk, or lower "
            "--limit-embeddings-gb / --min-free-gb if you know your models are small",
        )
    return Item(
        "work-disk", PASS, f"{work}: {free_gb:.1f} GB free (at least {settings.min_free_gb:g})"
    )


def check_package_index(settings: Settings) -> Item:
    index = settings.package_index or settings.environ.get("HEARBOT_PACKAGE_INDEX")
    if not index:
        return Item(
            "package-index",
            SKIP,
            "no package index configured (HEARBOT_PACKAGE_INDEX): installs use --find-links "
            "wheels only",
        )
    url = index.rstrip("/") + "/pip/"
    proxies = {
        k: v
        for k, v in (
            ("https", settings.environ.get("HTTPS_PROXY") or settings.environ.get("https_proxy")),
            ("http", settings.environ.get("HTTP_PROXY") or settings.environ.get("http_proxy")),
        )
        if v
    }
    opener = urllib.request.build_opener(urllib.request.ProxyHandler(proxies))
    via = f" through the proxy {', '.join(sorted(set(proxies.values())))}" if proxies else ""
    try:
        with opener.open(url, timeout=30) as response:
            status = response.status
            body = response.read(1 << 16).decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        status, body = exc.code, ""
    except (urllib.error.URLError, OSError) as exc:
        return Item(
            "package-index",
            FAIL,
            f"{url}{via} cannot be reached: {getattr(exc, 'reason', exc)}",
            "check HEARBOT_PACKAGE_INDEX and the proxy settings (HTTPS_PROXY, NO_PROXY); the "
            "runner must reach the index to install submissions",
        )
    if status != 200 or "pip" not in body.lower():
        return Item(
            "package-index",
            FAIL,
            f"{url}{via} answered HTTP {status} without a pip project page",
            "HEARBOT_PACKAGE_INDEX must be a PEP 503 simple index (e.g. https://pypi.org/simple)",
        )
    return Item("package-index", PASS, f"{url}{via}: HTTP 200")


# ---------------------------------------------------------------------------------------------
# All together


def run_checks(settings: Settings, log: Callable[[str], None] = lambda _l: None) -> list[Item]:
    items = [check_bubblewrap(), check_user_namespaces()]
    log("checking the sandbox ...")
    items.append(
        check_sandbox()
        if items[0].state == PASS
        else Item("sandbox", FAIL, "needs bubblewrap", items[0].fix)
    )
    torch_item, torch = check_torch()
    items.append(torch_item)
    gpu_item = check_gpu(torch, settings)
    items.append(gpu_item)
    if gpu_item.state == PASS:
        log("running a CUDA computation in the sandbox ...")
    items.append(check_gpu_in_sandbox(gpu_item, settings))
    log("checking the task data ...")
    items.append(check_task_data(settings))
    items.append(check_work_disk(settings))
    items.append(check_package_index(settings))
    return items


def exit_code(items: Sequence[Item]) -> int:
    return EXIT_FAILED if any(item.state == FAIL for item in items) else EXIT_OK


def render_table(items: Sequence[Item]) -> str:
    width = max(len(item.name) for item in items)
    lines = []
    for item in items:
        lines.append(f"{item.state.upper():<4}  {item.name:<{width}}  {item.detail}")
        if item.fix and item.state == FAIL:
            lines.append(f"{'':<4}  {'':<{width}}  fix: {item.fix}")
    failed = sum(item.state == FAIL for item in items)
    skipped = sum(item.state == SKIP for item in items)
    verdict = "ready to verify" if not failed else f"NOT ready: {failed} item(s) failed"
    lines.append(f"{verdict} ({skipped} skipped)")
    return "\n".join(lines) + "\n"


def to_json(items: Sequence[Item]) -> str:
    return (
        json.dumps(
            {
                "ready": exit_code(items) == EXIT_OK,
                "items": [asdict(item) for item in items],
            },
            indent=2,
        )
        + "\n"
    )


# ---------------------------------------------------------------------------------------------
# Command line


def cmd_runner_check(args: Any) -> int:
    if args.min_free_gb < 0:
        sys.stderr.write("hearbot runner check: error: --min-free-gb must be 0 or more\n")
        return EXIT_USAGE
    settings = Settings(
        tasks_dir=Path(args.tasks_dir) if args.tasks_dir else None,
        work_dir=Path(args.work) if args.work else None,
        package_index=args.package_index,
        min_free_gb=args.min_free_gb,
        require_gpu=args.require_gpu,
        sample_rates=args.sample_rate,
    )
    items = run_checks(settings, log=lambda line: sys.stderr.write(line + "\n"))
    sys.stdout.write(to_json(items) if args.json else render_table(items))
    return exit_code(items)


def register_runner_commands(subparsers: Any) -> None:
    runner = subparsers.add_parser("runner", help="the verification runner: is it ready?")
    commands = runner.add_subparsers(dest="runner_command", metavar="COMMAND", required=True)
    check = commands.add_parser(
        "check",
        help="check that this machine can verify: sandbox, GPU, torch, task data, disk, index",
        description=(
            "Each item pass / fail (with the fix) / skip (with why). Exit 0: ready (every item "
            "passed or was skipped); 1: an item failed; 2: usage. On a CPU machine the GPU "
            "items are skipped unless --require-gpu."
        ),
    )
    check.add_argument("--tasks-dir", help="the tasks folder (default: $HEAR_TASKS_DIR)")
    check.add_argument("--work", help="the work folder (default: $HEARBOT_WORK_DIR)")
    check.add_argument(
        "--package-index", help="the package index URL (default: $HEARBOT_PACKAGE_INDEX)"
    )
    check.add_argument(
        "--min-free-gb",
        type=float,
        default=DEFAULT_MIN_FREE_GB,
        help=f"free space the work folder needs (default {DEFAULT_MIN_FREE_GB:g} GB)",
    )
    check.add_argument(
        "--sample-rate",
        type=int,
        action="append",
        choices=(16000, 22050, 32000, 44100, 48000),
        help="task data at only these rates (repeatable; default all five)",
    )
    check.add_argument("--require-gpu", action="store_true", help="no GPU is a failure")
    check.add_argument("--json", action="store_true", help="print JSON instead of the table")
    check.set_defaults(func=cmd_runner_check)
