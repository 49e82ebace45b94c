"""bot/runner/sandbox.py and bot/runner/index_proxy.py: what the sandbox shows, hides and
limits, and that it fails closed. The hostile submissions
(tests/verify/test_hostile_submissions.py) test it end to end through `hearbot verify`."""

from __future__ import annotations

import http.server
import os
import shutil
import socket
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.cli import main
from bot.common.inert import MODEL_MARK
from bot.runner import sandbox
from bot.runner.index_proxy import RELAY_PORT, SANDBOX_SOCKET, IndexProxy, allowed_hosts
from bot.runner.install import RELAY_SCRIPT, SANDBOX_RELAY
from bot.runner.sandbox import Limits, Mount, Sandbox, SandboxError

REPO_ROOT = Path(__file__).resolve().parents[2]
needs_bwrap = pytest.mark.skipif(shutil.which("bwrap") is None, reason="needs bubblewrap")
OUT = "/sandbox/out"


def run_python(
    code: str,
    tmp_path: Path,
    *,
    limits: Limits | None = None,
    mounts: tuple[Mount, ...] = (),
    network_socket: Path | None = None,
    env: dict[str, str] | None = None,
    config: Sandbox | None = None,
) -> tuple[sandbox.Outcome, list[str]]:
    """The sandbox's own lines as they are, the command's without their `[model] ` mark."""
    lines: list[str] = []
    outcome = sandbox.run(
        config or Sandbox(limits=limits or Limits(wall_s=60, memory_mb=1000, processes=32)),
        [sys.executable, "-c", code],
        writable=Mount(tmp_path / "out", OUT, writable=True),
        mounts=mounts,
        env=env,
        python_prefixes=sandbox.python_prefixes(),
        network_socket=network_socket,
        on_line=lambda line: lines.append(line.removeprefix(MODEL_MARK)),
    )
    return outcome, lines


# --- what it shows and hides ---------------------------------------------------------------------


def test_the_environment_is_built_from_an_allow_list() -> None:
    host = {
        "GITHUB_TOKEN": "t",
        "ACTIONS_RUNTIME_TOKEN": "r",
        "AWS_SECRET": "s",
        "OMP_NUM_THREADS": "3",
    }
    env = sandbox.sandbox_environment({"PYTHONPATH": "/opt/hearbot"}, host)
    assert env["OMP_NUM_THREADS"] == "3" and env["PYTHONPATH"] == "/opt/hearbot"
    assert not {"GITHUB_TOKEN", "ACTIONS_RUNTIME_TOKEN", "AWS_SECRET"} & set(env)
    assert env["HOME"] == sandbox.SANDBOX_HOME


def test_gpu_runs_bind_the_nvidia_device_nodes_and_sys(tmp_path: Path) -> None:
    dev = tmp_path / "dev"
    dev.mkdir()
    for name in ("nvidia0", "nvidiactl", "nvidia-uvm", "null"):
        (dev / name).touch()
    arguments = sandbox.bubblewrap_arguments(
        Sandbox(gpu=True, dev_root=dev), [], Mount(tmp_path, OUT, writable=True), {}
    )
    binds = [arguments[i + 1 : i + 3] for i, a in enumerate(arguments) if a == "--dev-bind"]
    assert binds == [
        [str(dev / name), f"/dev/{name}"] for name in ("nvidia-uvm", "nvidia0", "nvidiactl")
    ]
    assert arguments[arguments.index("/sys") - 1 :][:3] == ["--ro-bind", "/sys", "/sys"]
    cpu = sandbox.bubblewrap_arguments(Sandbox(), [], Mount(tmp_path, OUT, writable=True), {})
    assert "--dev-bind" not in cpu and "/sys" not in cpu


def test_a_gpu_run_without_device_nodes_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SandboxError, match="NVIDIA device nodes"):
        sandbox.bubblewrap_arguments(
            Sandbox(gpu=True, dev_root=tmp_path), [], Mount(tmp_path, OUT, writable=True), {}
        )


@needs_bwrap
def test_only_the_output_directory_is_writable_and_the_checkout_is_invisible(
    tmp_path: Path,
) -> None:
    task = tmp_path / "task"
    task.mkdir()
    (task / "audio.wav").write_bytes(b"RIFF")
    code = f"""
import os
checkout, home = {str(REPO_ROOT)!r}, {str(Path.home())!r}
print("checkout", os.path.exists(checkout + "/leaderboard.csv"), os.path.exists(checkout + "/.git"))
print("home", sorted(os.listdir(home)) if os.path.isdir(home) else None)
print("task", open("/sandbox/task/audio.wav", "rb").read())
for path in ("/sandbox/task/x", "/usr/x", "/sandbox/out/ok", "/tmp/ok"):
    try:
        open(path, "w").write("x"); print("wrote", path)
    except OSError as exc:
        print("refused", path, exc.strerror)
"""
    outcome, lines = run_python(code, tmp_path, mounts=(Mount(task, "/sandbox/task"),))
    assert outcome.ok, lines
    assert "checkout False False" in lines
    home = next(line for line in lines if line.startswith("home"))
    assert ".bashrc" not in home and ".ssh" not in home
    assert "task b'RIFF'" in lines
    assert "refused /sandbox/task/x Read-only file system" in lines
    assert any(line.startswith("refused /usr/x") for line in lines)
    assert "wrote /sandbox/out/ok" in lines and "wrote /tmp/ok" in lines
    assert (tmp_path / "out" / "ok").read_text() == "x"


# --- limits --------------------------------------------------------------------------------------


@needs_bwrap
def test_the_wall_time_limit_kills_the_whole_sandbox(tmp_path: Path) -> None:
    code = "import os, time\nif os.fork() == 0:\n    os.setsid()\ntime.sleep(60)"
    outcome, _ = run_python(code, tmp_path, limits=Limits(wall_s=2, memory_mb=1000))
    assert outcome.breach == "wall time limit of 2 s" and outcome.exit_code is None
    assert not outcome.ok


@needs_bwrap
def test_processes_are_limited(tmp_path: Path) -> None:
    code = """
import os, time
n = 0
try:
    while n < 500:
        if os.fork() == 0:
            time.sleep(30); os._exit(0)
        n += 1
except OSError:
    print("stopped after", n)
"""
    outcome, lines = run_python(code, tmp_path, limits=Limits(wall_s=30, processes=10))
    assert outcome.ok, lines
    assert int(lines[-1].split()[-1]) <= 10


@needs_bwrap
def test_output_beyond_the_limit_is_killed_and_removed(tmp_path: Path) -> None:
    code = "import itertools\nfor i in itertools.count():\n"
    code += "    open(f'f{i}', 'wb').write(bytes(4 << 20))"
    outcome, _ = run_python(code, tmp_path, limits=Limits(wall_s=60, output_mb=20))
    assert outcome.breach is not None or outcome.exit_code != 0
    if outcome.breach:
        assert outcome.breach.startswith("output size limit of 20 MB")
        assert list((tmp_path / "out").iterdir()) == []


@needs_bwrap
@pytest.mark.parametrize(
    ("code", "limits", "named"),
    [
        # Sparse files (each under RLIMIT_FSIZE): 900 MB apparent, nothing allocated.
        (
            "[open(f's{i}', 'wb').truncate(15 << 20) for i in range(60)]",
            Limits(wall_s=60, output_mb=20),
            "output size limit of 20 MB [output-bytes] (900 MB apparent, 0 MB allocated)",
        ),
        # Empty files: no bytes at all.
        (
            "[open(f'e{i}', 'w').close() for i in range(3000)]",
            Limits(wall_s=60, output_entries=1000),
            "output entries limit of 1000 [output-entries]",
        ),
        # Directories nested deeper than a trusted walk would go.
        (
            "import os\nfor _ in range(200):\n    os.mkdir('d'); os.chdir('d')",
            Limits(wall_s=60),
            "output depth limit of 64 [output-depth]",
        ),
    ],
    ids=["sparse", "entries", "depth"],
)
def test_output_limits_count_apparent_size_entries_and_depth_even_at_exit(
    tmp_path: Path, code: str, limits: Limits, named: str
) -> None:
    """Each is written in a moment, just before the command exits: the watchdog's last check,
    after the end, catches what no poll saw; the output is removed."""
    outcome, lines = run_python(code, tmp_path, limits=limits)
    assert outcome.breach is not None and outcome.breach.startswith(named), outcome
    assert outcome.describe().startswith("killed: ")
    assert list((tmp_path / "out").iterdir()) == []
    assert any("removed everything in the output directory" in line for line in lines)


@needs_bwrap
def test_log_lines_beyond_the_limit_are_dropped(tmp_path: Path) -> None:
    outcome, lines = run_python(
        "for i in range(100): print(i)", tmp_path, limits=Limits(wall_s=30, log_lines=10)
    )
    assert outcome.ok and outcome.dropped_lines == 90
    assert lines[:10] == [str(i) for i in range(10)]
    assert lines[-1] == "(sandbox: 90 further log lines were dropped)"


# --- fails closed --------------------------------------------------------------------------------


def test_without_bubblewrap_nothing_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sandbox.shutil, "which", lambda name: None)
    marker = tmp_path / "ran"
    with pytest.raises(SandboxError, match="bubblewrap"):
        run_python(f"open({str(marker)!r}, 'w')", tmp_path)
    assert not marker.exists()
    assert "not available" in Sandbox().describe()["launcher"]


@needs_bwrap
def test_a_sandbox_that_cannot_be_built_is_an_error_not_a_run(tmp_path: Path) -> None:
    missing = Mount(tmp_path / "does-not-exist", "/sandbox/missing")
    with pytest.raises(SandboxError, match="bubblewrap could not create the sandbox"):
        run_python("print('ran')", tmp_path, mounts=(missing,))


def test_unsafe_mode_is_refused_on_ci(tmp_path: Path) -> None:
    for environ in ({"CI": "true"}, {"GITHUB_ACTIONS": "true"}):
        with pytest.raises(SandboxError, match="refused when CI or GITHUB_ACTIONS"):
            sandbox.run(
                Sandbox(enabled=False),
                ["true"],
                writable=Mount(tmp_path, OUT, writable=True),
                on_line=print,
                environ=environ,
            )


def test_unsafe_mode_runs_on_host_paths_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    code = "import os; open('x', 'w').write(os.environ['PYTHONPATH'])"
    outcome, lines = run_python(
        code,
        tmp_path,
        config=Sandbox(enabled=False),
        mounts=(Mount(tmp_path / "lib" / "bot", "/opt/hearbot/bot"),),
        env={"PYTHONPATH": "/opt/hearbot"},
    )
    assert outcome.ok, lines
    assert lines[0].startswith("UNSAFE")
    assert (tmp_path / "out" / "x").read_text() == str(tmp_path / "lib")


def test_the_cli_refuses_unsafe_mode_on_ci(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CI", "true")
    (tmp_path / "m.json").write_text("{}")
    with pytest.raises(SystemExit) as exit_info:
        main(
            [
                "verify",
                "--base-file=leaderboard.csv",
                "--head-file=leaderboard.csv",
                f"--manifest={tmp_path / 'm.json'}",
                f"--tasks-dir={tmp_path}",
                f"--out={tmp_path / 'out'}",
                "--unsafe-no-sandbox",
            ]
        )
    assert exit_info.value.code == 2
    assert "refused when CI or GITHUB_ACTIONS is set" in capsys.readouterr().err


# --- what the sandbox wrote ----------------------------------------------------------------------


def test_output_problems_name_links_and_special_files(tmp_path: Path) -> None:
    (tmp_path / "task" / "train").mkdir(parents=True)
    (tmp_path / "task" / "train" / "a.embedding.npy").write_bytes(b"x")
    assert sandbox.output_problems(tmp_path) == []
    (tmp_path / "task" / "train" / "b.embedding.npy").symlink_to("/etc/passwd")
    os.mkfifo(tmp_path / "task" / "pipe")
    os.link(tmp_path / "task" / "train" / "a.embedding.npy", tmp_path / "task" / "hard")
    problems = sandbox.output_problems(tmp_path)
    assert "task/train/b.embedding.npy: a symbolic link (to '/etc/passwd')" in problems
    assert "task/pipe: not a regular file or directory" in problems
    assert "task/hard: a hard link (2 names)" in problems


def test_output_problems_name_deep_directories_without_recursion(tmp_path: Path) -> None:
    deep = tmp_path / "task"
    deep.mkdir()
    fd = os.open(deep, os.O_RDONLY | os.O_DIRECTORY)
    for _ in range(1500):  # past Python's recursion limit
        os.mkdir("d", dir_fd=fd)
        inner = os.open("d", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
        os.close(fd)
        fd = inner
    os.close(fd)
    problems = sandbox.output_problems(tmp_path)
    assert len(problems) == 1 and "directories nested deeper than 64" in problems[0]
    sandbox.clear_directory(tmp_path)
    assert list(tmp_path.iterdir()) == []


# --- the package index proxy ---------------------------------------------------------------------


class _Index(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"<html>simple index</html>"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def local_index() -> Iterator[int]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Index)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def test_the_proxy_allows_the_index_host_and_pypi_files() -> None:
    assert allowed_hosts("https://pypi.org/simple") == (
        "pypi.org:443",
        "files.pythonhosted.org:443",
    )
    assert allowed_hosts("http://127.0.0.1:8080/simple") == ("127.0.0.1:8080",)
    with pytest.raises(ValueError, match="not an http"):
        allowed_hosts("file:///opt/pypi")


@needs_bwrap
def test_install_network_reaches_the_index_and_nothing_else(
    tmp_path: Path, local_index: int
) -> None:
    other = socket.socket()
    other.bind(("127.0.0.1", 0))
    other.listen(1)
    other.settimeout(0.5)
    code = f"""
import urllib.request, os
def get(url):
    try:
        return urllib.request.urlopen(url, timeout=10).read().decode()
    except Exception as exc:
        return f"refused: {{exc}}"
print("index", get("http://127.0.0.1:{local_index}/simple/"))
print("other", get("http://127.0.0.1:{other.getsockname()[1]}/"))
direct = urllib.request.build_opener(urllib.request.ProxyHandler({{}}))
try:
    print("direct", direct.open("http://127.0.0.1:{local_index}/simple/", timeout=10).read())
except Exception as exc:
    print(f"direct refused: {{exc}}")
"""
    logged: list[str] = []
    with IndexProxy(f"http://127.0.0.1:{local_index}/simple", logged.append) as access:
        command = [sys.executable, SANDBOX_RELAY, SANDBOX_SOCKET, str(RELAY_PORT), "--"]
        outcome = sandbox.run(
            Sandbox(limits=Limits(wall_s=60)),
            [*command, sys.executable, "-c", code],
            writable=Mount(tmp_path / "out", OUT, writable=True),
            mounts=[Mount(RELAY_SCRIPT, SANDBOX_RELAY)],
            env=access.environment(),
            python_prefixes=sandbox.python_prefixes(),
            network_socket=access.socket,
            on_line=lambda line: logged.append(line.removeprefix(MODEL_MARK)),
        )
    assert outcome.ok, logged
    assert "index <html>simple index</html>" in logged
    assert any(line.startswith("other refused: HTTP Error 403") for line in logged), logged
    assert any(line.startswith("direct refused") for line in logged), logged
    assert any("proxy refused GET" in line for line in logged)
    with pytest.raises(TimeoutError):
        other.accept()
    other.close()


# --- what it prints ------------------------------------------------------------------------------


@needs_bwrap
def test_printed_lines_are_split_on_every_break_inert_and_marked(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    code = (
        "import sys\n"
        "sys.stdout.write('x\\r::error title=forged::pwned\\n')\n"
        "sys.stdout.write('y\\u202812:00:00 verify: pass\\x1b[2K\\n')\n"
        "sys.stdout.write('z' * 10000 + '\\nlast')\n"
    )
    lines: list[str] = []
    outcome = sandbox.run(
        Sandbox(limits=Limits(wall_s=60, memory_mb=1000, processes=32)),
        [sys.executable, "-c", code],
        writable=Mount(tmp_path / "out", OUT, writable=True),
        python_prefixes=sandbox.python_prefixes(),
        on_line=lines.append,
        environ={"GITHUB_ACTIONS": "true"},
    )
    assert outcome.ok, lines
    assert lines == [
        f"{MODEL_MARK}x",
        f"{MODEL_MARK}\\u003a:error title=forged::pwned",
        f"{MODEL_MARK}y",
        f"{MODEL_MARK}12:00:00 verify: pass\\u001b[2K",
        MODEL_MARK + "z" * sandbox.LINE_BYTES,
        f"{MODEL_MARK}last",
    ]
    first, last = capfd.readouterr().err.splitlines()
    token = first.removeprefix("::stop-commands::")
    assert len(token) == 32 and last == f"::{token}::"
