"""The shell of verify.yml's GPU step ("Verify this shard's columns"), run as the runner runs
it (`bash --noprofile --norc -eo pipefail`) with a stand-in `hearbot` that records its
arguments: which options reach `hearbot verify`, and which exit codes end the step."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import yaml

WORKFLOW = Path(__file__).resolve().parents[2] / ".github" / "workflows" / "verify.yml"
FAKE_HEARBOT = """#!/usr/bin/env bash
printf '%s\\n' "$@" > "$ARGS_FILE"
mkdir -p verification
if [ "${FAKE_WRITES_RESULT:-1}" = 1 ]; then
  echo '{}' > verification/result.json
  echo '# report' > verification/report.md
fi
exit "${FAKE_EXIT:-0}"
"""


def step_script() -> str:
    data = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    (step,) = [s for s in data["jobs"]["verify"]["steps"] if s.get("id") == "verify"]
    return str(step["run"])


def run_step(tmp_path: Path, columns: list[str], **env: str) -> tuple[int, list[str], str]:
    """(the step's exit code, hearbot's arguments, its output)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    fake = bin_dir / "hearbot"
    fake.write_text(FAKE_HEARBOT)
    fake.chmod(0o755)
    work = tmp_path / "workspace"
    (work / "submission").mkdir(parents=True, exist_ok=True)
    (work / "submission" / "tasks.txt").write_text("".join(f"{c}\n" for c in columns))
    script = tmp_path / "step.sh"
    script.write_text(step_script())
    environment = {
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "HOME": str(tmp_path),
        "ARGS_FILE": str(tmp_path / "args"),
        "HEAR_TASKS_DIR": "/data/hear tasks",
        "HEARBOT_WORK_DIR": "/scratch/work",
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
        **env,
    }
    done = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
        cwd=work,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    args_file = tmp_path / "args"
    args = args_file.read_text().splitlines() if args_file.exists() else []
    return done.returncode, args, done.stdout + done.stderr


def option(args: list[str], name: str) -> list[str]:
    """The values after `name` up to the next option."""
    if name not in args:
        return []
    values = []
    for value in args[args.index(name) + 1 :]:
        if value.startswith("--"):
            break
        values.append(value)
    return values


def test_the_shard_columns_and_runner_settings_reach_hearbot_verify(tmp_path: Path) -> None:
    code, args, output = run_step(
        tmp_path,
        ["ESC-50", "Speech commands 5h"],
        HEARBOT_PACKAGE_INDEX="https://pypi.org/simple",
        HEARBOT_EVALUATION_MODE="batched",
    )
    assert code == 0, output
    assert args[0] == "verify"
    assert option(args, "--tasks") == ["ESC-50", "Speech commands 5h"]
    assert option(args, "--tasks-dir") == ["/data/hear tasks"]
    assert option(args, "--work") == ["/scratch/work"]
    assert option(args, "--package-index") == ["https://pypi.org/simple"]
    assert option(args, "--evaluation-mode") == ["batched"]
    assert "hearbot verify exited with 0" in output
    assert (tmp_path / "summary.md").read_text() == "# report\n"


def test_defaults_no_index_exact_mode_and_every_claimed_column(tmp_path: Path) -> None:
    code, args, output = run_step(tmp_path, [])
    assert code == 0, output
    assert "--tasks" not in args and "--package-index" not in args
    assert option(args, "--evaluation-mode") == ["exact"]


@pytest.mark.parametrize(("exit_code", "step_code"), [(0, 0), (1, 0), (3, 0), (2, 2), (70, 70)])
def test_verdicts_are_data_and_anything_else_fails_the_step(
    tmp_path: Path, exit_code: int, step_code: int
) -> None:
    code, _, output = run_step(tmp_path, ["ESC-50"], FAKE_EXIT=str(exit_code))
    assert code == step_code, output
    assert f"hearbot verify exited with {exit_code}" in output


def test_no_result_file_fails_the_step(tmp_path: Path) -> None:
    code, _, output = run_step(tmp_path, ["ESC-50"], FAKE_WRITES_RESULT="0")
    assert code == 1
    assert "::error::hearbot verify wrote no result.json" in output


def test_the_script_expands_no_workflow_expression() -> None:
    assert "${{" not in step_script()  # values come in through env:, never as expressions
