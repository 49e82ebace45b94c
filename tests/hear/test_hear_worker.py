"""The commands: `python -m bot.hear.worker` as a subprocess, and hearbot's in-process ones."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pytest

from bot.hear.commands import register_hear_commands

from .helpers import EVENTS, REPO, TONES, worker_env


def _worker(*args: str, timeout: int = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot.hear.worker", *args],
        cwd=REPO,
        env=worker_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _hearbot(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="hearbot")
    commands = parser.add_subparsers(dest="command", required=True)
    register_hear_commands(commands)
    args = parser.parse_args(argv)
    return args.func(args)


# ---------------------------------------------------------------------------------------------
# Subprocess worker


def test_worker_check_model_ok(tmp_path: Path) -> None:
    result = _worker("check-model", "hear_example_model", "--json", str(tmp_path / "r.json"))
    assert result.returncode == 0, result.stderr
    assert "hear_example_model conforms" in result.stdout
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["ok"] is True and report["counts"]["fail"] == 0


def test_worker_check_model_failure(tmp_path: Path) -> None:
    result = _worker("check-model", "hear_fake_exit", "--json", str(tmp_path / "r.json"))
    assert result.returncode == 1
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["ok"] is False
    assert {c["name"]: c["status"] for c in report["checks"]}["scene_embeddings"] == "fail"


def test_worker_usage_errors() -> None:
    bad_json = _worker("check-model", "hear_example_model", "--model-options", "[1]")
    assert bad_json.returncode == 2 and "JSON object" in bad_json.stderr
    bad_device = _worker("check-model", "hear_example_model", "--device", "tpu")
    assert bad_device.returncode == 2
    missing = _worker("embed", "hear_example_model", "--out", "x")
    assert missing.returncode == 2 and "--tasks-dir" in missing.stderr


def test_worker_embed(synth_tasks: Path, tmp_path: Path) -> None:
    out = tmp_path / "emb"
    args = ["embed", "hear_example_model", "--tasks-dir", str(synth_tasks), "--task", EVENTS]
    args += ["--out", str(out), "--json", str(tmp_path / "s.json"), "--device", "cpu"]
    result = _worker(*args)
    assert result.returncode == 0, result.stderr
    assert f"{EVENTS}: 24 clips at 16000 Hz" in result.stdout
    assert "clip/s" in result.stderr or "clips/s" in result.stderr
    summary = json.loads((tmp_path / "s.json").read_text())
    assert summary["ok"] is True and summary["tasks"][0]["task"] == EVENTS
    assert len(list((out / EVENTS).rglob("*.timestamps.json"))) == 24


# ---------------------------------------------------------------------------------------------
# In-process commands


def test_hearbot_tasks_synth_and_check(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "tasks"
    argv = ["tasks", "synth", "--out", str(out), "--sample-rate", "16000"]
    assert _hearbot([*argv, "--sample-rate", "44100", "--seed", "1"]) == 0
    assert f"wrote {out / TONES} at 16000, 44100 Hz" in capsys.readouterr().out
    assert _hearbot(["tasks", "check", str(out / TONES), "--decode"]) == 0
    assert f"{TONES}: ok (scene, multiclass, 4 splits, 40 clips" in capsys.readouterr().out
    (out / TONES / "fold01.json").unlink()
    assert _hearbot(["tasks", "check", str(out / TONES)]) == 1
    assert "fold01.json: split-missing" in capsys.readouterr().err


def test_hearbot_synth_rejects_odd_sample_rate(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as caught:
        _hearbot(["tasks", "synth", "--out", str(tmp_path), "--sample-rate", "8000"])
    assert caught.value.code == 2


@pytest.mark.usefixtures("module_path")
def test_hearbot_check_model_in_process(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert _hearbot(["check-model", "hear_fake_hop", "--device", "cpu"]) == 1
    assert "FAIL  timestamp_hop[1.07s]" in capsys.readouterr().out
    argv = ["check-model", "hear_example_model", "--model-options", '{"scale": 0.5}']
    assert _hearbot([*argv, "--json", str(tmp_path / "r.json")]) == 0
    assert json.loads((tmp_path / "r.json").read_text())["model_options"] == {"scale": 0.5}


@pytest.mark.usefixtures("module_path")
def test_hearbot_embed_in_process(task_copy, tmp_path: Path, capsys) -> None:
    task_dir = task_copy(TONES)
    first = next(iter(json.loads((task_dir / "fold02.json").read_text())))
    (task_dir / "16000" / "fold02" / first).unlink()
    argv = ["embed", "hear_example_model", "--tasks-dir", str(task_dir.parent)]
    argv += ["--out", str(tmp_path / "emb"), "--no-progress", "--json", str(tmp_path / "s.json")]
    assert _hearbot(argv) == 1
    err = capsys.readouterr().err
    assert f"task {TONES}: 16000/fold02/{first}: wav-missing" in err
    summary = json.loads((tmp_path / "s.json").read_text())
    assert summary["ok"] is False and summary["error"]["check"] == "wav-missing"
    assert _hearbot([*argv[:-2], "--model-options", "{"]) == 2  # bad JSON: usage
    assert _hearbot(["embed", "hear_fake_load_raises", *argv[2:]]) == 1
    assert "FileNotFoundError" in capsys.readouterr().err


def test_registration_imports_nothing_heavy() -> None:
    code = (
        "import sys, argparse\n"
        "from bot.hear.commands import register_hear_commands\n"
        "p = argparse.ArgumentParser(); register_hear_commands(p.add_subparsers())\n"
        "heavy = sorted(m for m in ('torch', 'numpy', 'soundfile', 'tqdm') if m in sys.modules)\n"
        "print(heavy)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
