"""A published third-party model end to end: hearbaseline.naive (PyPI) on the real spoken_digit
task, installed from its pinned wheel, against the official kit's own result.

hearbaseline declares dependencies that cannot be installed (numpy==1.19.2, numba==0.48), so
its manifest installs it without them and names what it needs, librosa<0.10 among them:
librosa 0.10 made `librosa.filters.mel` keyword-only, and hearbaseline calls it positionally.
The install runs in the sandbox and reaches PyPI only through the bot's index proxy
(`--package-index`). Needs ../shared/data and PyPI; skipped without the data, and without PyPI
outside CI.

The official result (0.07, tests/data/reference/) was written by the kit on another machine.
This model is a random projection at chance level (10 labels, 20 test clips a fold), so its
score is mostly rounding noise amplified by training: with the same kit and torch it is 0.07 on
the recording machine (AMD EPYC, 2 threads) and 0.09 on an Intel Xeon (AVX512, 2 threads), and
hearbot equals the kit on each. So the reproduction is held exactly against the kit run in this
test run when the reference environment exists, and otherwise within KIT_SPREAD of the stored
number; the verdict must be the one the verdict rule gives for the number reproduced.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.cli import main
from bot.common.schemas import leaderboard_facts, schema_errors
from bot.verify.verdict import ColumnEvidence, judge_column
from tests import numeric, official_kit
from tests.verify.conftest import error_text

REPO_ROOT = Path(__file__).resolve().parents[2]
TARBALL = (
    REPO_ROOT.parent / "shared" / "data" / "hear-2021.0.6-spoken_digit-1.0.9-small-44100.tar.gz"
)
TASK = "spoken_digit-1.0.9-small"
EXAMPLE = (
    REPO_ROOT / "examples" / "submission" / "submissions" / "hear-team-naive-baseline-example.json"
)
OFFICIAL = (
    REPO_ROOT
    / "tests"
    / "data"
    / "reference"
    / "spoken_digit-hearbaseline-naive.test.predicted-scores.json"
)
PACKAGE_INDEX = "https://pypi.org/simple"  # reached only through the bot's proxy
STAND_IN = "ESC-50"  # a 5-fold scene multiclass column scored by top1_acc, like spoken_digit
# The kit's own result on these embeddings across machines and kernel paths, measured
# 2026-12-05 with hearbot, which equals the kit on each machine: 0.07 (AMD EPYC, 2 threads),
# 0.09 (Intel Xeon AVX512, 2 threads); on the Xeon with ATEN_CPU_CAPABILITY=default / avx2 /
# avx512: 0.03 / 0.04 / 0.10 with 1 thread, 0.10 / 0.08 / 0.09 with 2; with MKL_CBWR=COMPATIBLE
# 0.11 / 0.05 with 1 / 2 threads (and the selected learning rate changed among four values).
# Twice the largest distance from 0.07 (0.04) is 0.08, about three binomial standard
# deviations of a 7 % accuracy over 100 test clips.
KIT_SPREAD = 0.08

pytestmark = pytest.mark.skipif(not TARBALL.exists(), reason="../shared/data is absent")


THREADS = numeric.test_threads(2)


@pytest.fixture(autouse=True)
def one_thread(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Two torch threads, as the official reference run had (this machine's 2 cores): the
    thread count changes CPU float sums, and Adam magnifies the difference. (Overrides the
    one-thread fixture of conftest.py.)"""
    import torch

    monkeypatch.setenv("OMP_NUM_THREADS", str(THREADS))
    before = torch.get_num_threads()
    torch.set_num_threads(THREADS)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def package_index(tmp_path_factory: pytest.TempPathFactory) -> None:
    probe = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--index-url",
            PACKAGE_INDEX,
            "--no-deps",
            "--quiet",
            "hearbaseline==2021.1.1",
            "-d",
            str(tmp_path_factory.mktemp("probe")),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if probe.returncode != 0:
        if os.environ.get("CI"):
            pytest.fail(f"the package index is unreachable in CI: {probe.stderr[-500:]}")
        pytest.skip("the package index is unreachable")


@pytest.fixture(scope="module")
def spoken_digit(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tasks folder as a maintainer gets it: `hearbot tasks fetch` from a local HTTP
    server serving the archive (tests/hear/archive_server.py), md5 checked."""
    from tests.hear.archive_server import serve

    tasks = tmp_path_factory.mktemp("spoken_digit") / "tasks"
    with serve({TARBALL.name: TARBALL}) as server:
        code = main(
            ["tasks", "fetch", "--sample-rate", "44100", "--columns", "--task-dir", TASK,
             "--dest", str(tasks), "--base-url", f"{server.url}/good/"]
        )  # fmt: skip
    assert code == 0 and (tasks / TASK / "44100").is_dir()
    return tasks


def submission(folder: Path, claim: str, install: list[str]) -> list[str]:
    facts = leaderboard_facts()
    manifest = json.loads(EXAMPLE.read_text())
    manifest["install"] = install
    manifest["tasks_not_run"] = {
        c: "not part of this check" for c in facts.score_columns if c != STAND_IN
    }
    cells = [manifest["model"], manifest["url"], "2026-11-20"]
    cells += [claim if column == STAND_IN else "" for column in facts.score_columns]
    folder.mkdir(parents=True, exist_ok=True)
    head = folder / "leaderboard.csv"
    head.write_bytes(
        (REPO_ROOT / "leaderboard.csv").read_bytes() + b"\n" + ",".join(cells).encode()
    )
    manifest_path = folder / "hear-team-naive-baseline-example.json"
    manifest_path.write_text(json.dumps(manifest))
    return [
        "--base-file",
        str(REPO_ROOT / "leaderboard.csv"),
        "--head-file",
        str(head),
        "--manifest",
        str(manifest_path),
    ]


def run(
    arguments: list[str], tasks: Path, out: Path, work: Path, seeds: int = 1
) -> tuple[int, dict]:
    code = main(
        [
            "verify",
            *arguments,
            "--tasks-dir",
            str(tasks),
            "--out",
            str(out),
            "--work",
            str(work),
            f"--stand-in={STAND_IN}={TASK}",
            "--package-index",
            PACKAGE_INDEX,
            "--today",
            "2026-11-26",
            "--seeds",
            str(seeds),
        ]
    )
    result = json.loads((out / "result.json").read_text())
    assert schema_errors("result.schema.json", result) == []
    return code, result


@pytest.mark.numeric
def test_hearbaseline_naive_reproduces_the_official_kit_on_spoken_digit(
    package_index: None, spoken_digit: Path, tmp_path: Path
) -> None:
    official = json.loads(OFFICIAL.read_text())["aggregated_scores"]["test_score_mean"]
    install = json.loads(EXAMPLE.read_text())["install"]
    assert "librosa<0.10" in install
    claim = f"{official:.9f}"
    arguments = submission(tmp_path / "pinned", claim, install)
    work = tmp_path / "work"
    # A seed ensemble of 3: member 0 is the kit's run (compared below), the verdict is the
    # rule's for the three members and their per-clip sd (top1: a share of clips).
    code, result = run(arguments, spoken_digit, tmp_path / "out", work, seeds=3)
    verification = result["verification"]
    column = next(c for c in verification["columns"] if c["column"] == STAND_IN)
    reproduced = column["reproduced"]
    assert reproduced is not None, verification["reason"]
    assert len(column["members"]) == 3 and column["members"][0] == reproduced
    rule = judge_column(
        ColumnEvidence(
            leaderboard_facts().column(STAND_IN),
            claim,
            reproduced=reproduced,
            members=tuple(column["members"]),
            clip_sd=column["interval"]["clip_sd"],
        )
    )
    assert column["outcome"] == rule["outcome"]
    expected = {"mismatch": (1, "fail"), "inconclusive": (3, "error")}.get(
        rule["outcome"], (0, "pass")
    )
    assert (code, verification["verdict"]) == expected, verification["reason"]
    if official_kit.present():
        (embeddings,) = work.glob(f"embeddings/*/{TASK}")
        kit = official_kit.run(embeddings, threads=THREADS)["aggregated_scores"]
        assert reproduced == kit["test_score_mean"]  # the kit, on this machine, now
    else:
        assert numeric.within("spoken_digit, against the kit elsewhere", reproduced, official,
                              KIT_SPREAD), (reproduced, official)  # fmt: skip
    (task,) = [t for t in verification["tasks"] if t["task_dir"] == TASK]
    canary = task["canary"]  # a genuine (chance-level) model: the canary does not flag it
    print(f"canary hearbaseline spoken_digit: {canary}")
    assert canary["clips"] == 25 and canary["suspicious"] is False, canary
    names = {
        item["name"].lower(): item["version"] for item in verification["environment"]["provenance"]
    }
    assert names["hearbaseline"] == "2021.1.1"
    assert names["librosa"].startswith("0.9.")


def test_without_the_librosa_pin_the_run_fails_for_exactly_that_reason(
    package_index: None, spoken_digit: Path, tmp_path: Path
) -> None:
    install = [
        line.replace("librosa<0.10", "librosa>=0.10")
        for line in json.loads(EXAMPLE.read_text())["install"]
    ]
    arguments = submission(tmp_path / "unpinned", "0.07", install)
    code, result = run(arguments, spoken_digit, tmp_path / "out", tmp_path / "work")
    assert code == 3
    column = next(c for c in result["verification"]["columns"] if c["column"] == STAND_IN)
    assert column["outcome"] == "error"
    assert "load_model" in error_text(result, column)
    assert "mel() takes 0 positional arguments" in error_text(result, column)
