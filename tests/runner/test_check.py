"""`hearbot runner check` on this (CPU) machine: every item, each way it can fail, the table,
the JSON and the exit codes. The GPU items are skipped here (or failed with --require-gpu);
on a GPU machine the same command runs them for real (docs/maintainers.md)."""

from __future__ import annotations

import json
import shutil
import threading
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from bot.cli import main
from bot.common.schemas import leaderboard_facts
from bot.hear import synth
from bot.runner import check

needs_bwrap = pytest.mark.skipif(shutil.which("bwrap") is None, reason="needs bubblewrap")


@pytest.fixture(scope="module")
def complete_tasks(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every column's task folder at 16 kHz (a small synthetic task under each name)."""
    root = tmp_path_factory.mktemp("tasks")
    source = synth.write_task(synth.SPECS["synth_tones"], root / "src", [16000], seed=0)
    for column in leaderboard_facts().columns:
        for task_dir in column.task_dirs:
            shutil.copytree(source, root / "all" / task_dir)
    return root / "all"


def items_by_name(items: list[check.Item]) -> dict[str, check.Item]:
    return {item.name: item for item in items}


@needs_bwrap
def test_a_ready_cpu_machine_passes_with_the_gpu_items_skipped(
    complete_tasks: Path, tmp_path: Path, capsys
) -> None:
    code = main(
        [
            "runner",
            "check",
            "--tasks-dir",
            str(complete_tasks),
            "--work",
            str(tmp_path),
            "--min-free-gb",
            "0",
            "--sample-rate",
            "16000",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    lines = {line.split()[1]: line.split()[0] for line in out.splitlines() if "  " in line}
    assert lines == {
        "bubblewrap": "PASS",
        "user-namespaces": "PASS",
        "sandbox": "PASS",
        "torch": "PASS",
        "gpu": "SKIP",
        "gpu-in-sandbox": "SKIP",
        "task-data": "PASS",
        "work-disk": "PASS",
        "package-index": "SKIP",
    }
    assert "network: none" in out
    assert out.rstrip().endswith("ready to verify (3 skipped)")


@needs_bwrap
def test_json_output_and_require_gpu(complete_tasks: Path, tmp_path: Path, capsys) -> None:
    code = main(
        [
            "runner",
            "check",
            "--json",
            "--require-gpu",
            "--tasks-dir",
            str(complete_tasks),
            "--work",
            str(tmp_path),
            "--min-free-gb",
            "0",
            "--sample-rate",
            "16000",
        ]
    )
    data = json.loads(capsys.readouterr().out)
    assert code == 1 and data["ready"] is False
    states = {item["name"]: item["state"] for item in data["items"]}
    assert states["gpu"] == "fail" and states["gpu-in-sandbox"] == "fail"
    gpu = next(item for item in data["items"] if item["name"] == "gpu")
    assert "nvidia-smi" in gpu["fix"]
    assert set(data["items"][0]) == {"name", "state", "detail", "fix"}


def test_missing_task_data_and_disk_fail_with_the_command_that_fixes_them(
    complete_tasks: Path, tmp_path: Path
) -> None:
    settings = check.Settings(tasks_dir=tmp_path / "none", environ={})
    item = check.check_task_data(settings)
    assert item.state == check.FAIL and "tasks fetch" in item.fix
    partial = tmp_path / "partial"
    shutil.copytree(complete_tasks, partial)
    shutil.rmtree(partial / leaderboard_facts().columns[0].task_dirs[0] / "16000")
    item = check.check_task_data(check.Settings(tasks_dir=partial, sample_rates=[16000]))
    assert item.state == check.FAIL and "1 missing" in item.detail
    # A WAV missing from its split folder is corrupt (quick check: the files each split lists).
    wav = next((complete_tasks / leaderboard_facts().columns[1].task_dirs[0]).rglob("*.wav"))
    shutil.copytree(complete_tasks, tmp_path / "gap")
    (tmp_path / "gap" / wav.relative_to(complete_tasks)).unlink()
    item = check.check_task_data(check.Settings(tasks_dir=tmp_path / "gap", sample_rates=[16000]))
    assert item.state == check.FAIL and "1 corrupt" in item.detail and "wav-missing" in item.detail
    # HEAR_TASKS_DIR is what the verify job uses.
    item = check.check_task_data(
        check.Settings(environ={"HEAR_TASKS_DIR": str(complete_tasks)}, sample_rates=[16000])
    )
    assert item.state == check.PASS
    assert check.check_task_data(check.Settings(environ={})).state == check.FAIL
    # Free disk for the work folder.
    assert check.check_work_disk(check.Settings(work_dir=tmp_path, min_free_gb=0)).state == "pass"
    item = check.check_work_disk(check.Settings(work_dir=tmp_path / "new", min_free_gb=1e9))
    assert item.state == check.FAIL and "below 1e+09 GB" in item.detail
    assert check.check_work_disk(check.Settings(environ={})).state == check.FAIL


def test_user_namespaces_name_the_apparmor_fix(tmp_path: Path, monkeypatch) -> None:
    sysctl = tmp_path / "sysctl"
    sysctl.mkdir()
    (sysctl / "max").write_text("15000\n")
    (sysctl / "apparmor").write_text("1\n")
    monkeypatch.setattr(check, "MAX_USERNS", sysctl / "max")
    monkeypatch.setattr(check, "APPARMOR_SYSCTL", sysctl / "apparmor")
    monkeypatch.setattr(check, "USERNS_CLONE_SYSCTL", sysctl / "absent")
    monkeypatch.setattr(check, "_bwrap_profile_exists", lambda: False)
    item = check.check_user_namespaces(euid=1000)
    assert item.state == check.FAIL
    assert "apparmor_restrict_unprivileged_userns=1" in item.detail
    assert "/etc/apparmor.d/bwrap" in item.fix and "userns" in item.fix
    monkeypatch.setattr(check, "_bwrap_profile_exists", lambda: True)
    assert check.check_user_namespaces(euid=1000).state == check.PASS
    (sysctl / "apparmor").write_text("0\n")
    (sysctl / "clone").write_text("0\n")
    monkeypatch.setattr(check, "USERNS_CLONE_SYSCTL", sysctl / "clone")
    item = check.check_user_namespaces(euid=1000)
    assert item.state == check.FAIL and "unprivileged_userns_clone=1" in item.fix
    (sysctl / "max").write_text("0\n")
    assert "max_user_namespaces" in check.check_user_namespaces(euid=1000).fix
    # As root, bubblewrap needs none of this.
    assert check.check_user_namespaces(euid=0).state == check.PASS


def test_a_gpu_that_torch_cannot_use_fails_with_the_driver_fix(tmp_path: Path) -> None:
    (tmp_path / "nvidia0").write_text("")
    torch_item, torch = check.check_torch()
    assert torch_item.state == check.PASS
    item = check.check_gpu(torch, check.Settings(dev_root=tmp_path))
    if torch.version.cuda is None:  # this machine's CPU build
        assert item.state == check.FAIL and "CPU-only build" in item.detail
    else:
        assert item.state == check.FAIL and "driver" in item.fix
    follow = check.check_gpu_in_sandbox(item, check.Settings(dev_root=tmp_path))
    assert follow.state == check.FAIL and "not tried" in follow.detail


def test_a_sandbox_that_cannot_start_fails_with_a_hint(monkeypatch) -> None:
    monkeypatch.setattr(check, "_run_in_sandbox", lambda *a, **k: (False, "bwrap: no permission"))
    item = check.check_sandbox()
    assert item.state == check.FAIL and "did not start" in item.detail and "bwrap" in item.fix


# ---------------------------------------------------------------------------------------------
# The package index, directly and through a proxy


class _Index(BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        body = b"<html><a href='pip-25.0.tar.gz'>pip-25.0.tar.gz</a></html>"
        ok = self.path.endswith("/simple/pip/")
        self.send_response(200 if ok else 404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _Proxy(BaseHTTPRequestHandler):
    seen: ClassVar[list[str]] = []

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:  # a forward proxy for plain http: GET http://host/path
        type(self).seen.append(self.path)
        with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(self.path) as r:
            body = r.read()
            self.send_response(r.status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def servers() -> Iterator[tuple[str, str]]:
    started = []
    for handler in (_Index, _Proxy):
        httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        started.append(httpd)
    yield tuple(f"http://127.0.0.1:{h.server_address[1]}" for h in started)  # type: ignore[misc]
    for httpd in started:
        httpd.shutdown()
        httpd.server_close()


def test_the_package_index_is_reached_through_the_proxy(servers: tuple[str, str]) -> None:
    index, proxy = servers
    _Proxy.seen.clear()
    item = check.check_package_index(
        check.Settings(package_index=f"{index}/simple", environ={"HTTP_PROXY": proxy})
    )
    assert item.state == check.PASS, item
    assert f"through the proxy {proxy}" in item.detail
    assert _Proxy.seen == [f"{index}/simple/pip/"]
    item = check.check_package_index(check.Settings(package_index=f"{index}/other", environ={}))
    assert item.state == check.FAIL and "HTTP" in item.detail
    dead = check.check_package_index(
        check.Settings(environ={"HEARBOT_PACKAGE_INDEX": "http://127.0.0.1:9/simple"})
    )
    assert dead.state == check.FAIL and "cannot be reached" in dead.detail
    assert check.check_package_index(check.Settings(environ={})).state == check.SKIP
