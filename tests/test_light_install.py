"""The light install (pyproject.toml's base dependencies, no `verify` extra) is enough for the
jobs that only read CSVs and talk to GitHub: validate.yml, report.yml and verify.yml's
command/plan/report jobs. Each is run here in a subprocess where torch and the other heavy
packages cannot be imported (``sys.modules[name] = None``), so an import of one at module
level, or on these code paths, fails this test."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "numpy", "soundfile", "pandas", "scipy", "sklearn", "tqdm", "setuptools")
EXAMPLE = REPO / "examples" / "submission"


def run_light(code: str, *args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    prelude = textwrap.dedent(
        f"""
        import sys
        for name in {HEAVY!r}:
            sys.modules[name] = None  # `import name` raises ImportError
        sys.path.insert(0, {str(REPO)!r})
        """
    )
    return subprocess.run(
        [sys.executable, "-c", prelude + textwrap.dedent(code), *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
        check=False,
    )


def test_the_base_dependencies_hold_no_heavy_package() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    names = {dep.split("[")[0].split("=")[0].split("<")[0].split(">")[0].strip().lower()
             for dep in project["dependencies"]}  # fmt: skip
    assert not names & {"torch", "numpy", "soundfile", "pandas", "scipy", "scikit-learn"}
    verify = " ".join(project["optional-dependencies"]["verify"])
    assert "torch==" in verify and "numpy" in verify


def test_every_light_module_imports_without_the_heavy_packages() -> None:
    completed = run_light(
        """
        import importlib, pkgutil
        import bot.github, bot.submission, bot.common
        names = ["bot.cli", "bot.report", "bot.verify.verdict", "bot.runner.check"]
        for package in (bot.github, bot.submission, bot.common):
            prefix = package.__name__ + "."
            names += [m.name for m in pkgutil.walk_packages(package.__path__, prefix)]
        for name in names:
            importlib.import_module(name)
        print(len(names), "modules")
        """
    )
    assert completed.returncode == 0, completed.stderr[-3000:]


def test_validate_and_report_run_without_the_heavy_packages(tmp_path: Path) -> None:
    manifest = next((EXAMPLE / "submissions").glob("*.json"))
    head = tmp_path / "head.csv"
    head.write_bytes(
        (REPO / "leaderboard.csv").read_bytes() + b"\n" + (EXAMPLE / "row.csv").read_bytes().strip()
    )
    result = tmp_path / "result.json"
    main = "from bot.cli import main; sys.exit(main(sys.argv[1:]))"
    completed = run_light(
        main,
        "validate", "--base-file", str(REPO / "leaderboard.csv"), "--head-file", str(head),
        "--manifest", str(manifest), "--format", "json", "--output", str(result),
        "--today", "2026-12-06",
    )  # fmt: skip
    assert completed.returncode in (0, 1), completed.stderr[-3000:]
    assert json.loads(result.read_text())["errors"] is not None
    completed = run_light(main, "report", str(result), "--format", "markdown")
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert completed.stdout.strip()


@pytest.mark.parametrize(
    "command",
    [
        "report-validation",
        "accept-command",
        "acknowledge",
        "fetch-submission",
        "plan-shards",
        "merge-results",
        "report-verification",
    ],
)
def test_the_github_commands_parse_without_the_heavy_packages(command: str) -> None:
    completed = run_light(
        "from bot.cli import main; main(['github', sys.argv[1], '--help'])", command
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert "usage: hearbot github" in completed.stdout


def test_the_heavy_commands_still_need_the_full_set() -> None:
    """The check is real: a verify-side module fails under the same blocker."""
    completed = run_light("import bot.hear.tasks")
    assert completed.returncode != 0 and "import of numpy halted" in completed.stderr
