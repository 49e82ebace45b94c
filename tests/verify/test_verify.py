"""`hearbot verify` end to end on synthetic tasks with the example model (--no-install), and
once through a real pinned install of the example wheel."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main
from bot.common.schemas import schema_errors
from bot.demo import STAND_INS, build_example_wheel, manifest, row
from bot.report import render_markdown
from bot.submission.leaderboard.names import slug
from bot.verify.verdict import student_t
from tests.verify.conftest import error_text

REPO_ROOT = Path(__file__).resolve().parents[2]
BASE = REPO_ROOT / "leaderboard.csv"
EPOCHS = "60"  # fewer than the protocol's 500, to keep the suite fast
TODAY = dt.date(2026, 11, 26)


def write_submission(
    folder: Path,
    model: str,
    claims: dict[str, str],
    wheel: Path | None = None,
    **manifest_changes: Any,
) -> list[str]:
    """Files for one submission, and the `hearbot verify` arguments that read them."""
    folder.mkdir(parents=True, exist_ok=True)
    head = folder / "leaderboard.csv"
    head.write_bytes(
        BASE.read_bytes() + b"\n" + row(model, {k: Decimal(v) for k, v in claims.items()}).encode()
    )
    fake_wheel = folder / "hear_example_model-1.0.0-py3-none-any.whl"
    if wheel is None:
        fake_wheel.write_bytes(b"not installed: --no-install uses the current environment")
    not_run = [name for name in json.loads(_columns()) if name not in claims]
    document = manifest(model, wheel or fake_wheel, not_run) | manifest_changes
    path = folder / f"{slug(model)}.json"
    path.write_text(json.dumps(document, indent=2))
    return ["--base-file", str(BASE), "--head-file", str(head), "--manifest", str(path)]


def _columns() -> str:
    from bot.common.schemas import leaderboard_facts

    return json.dumps(list(leaderboard_facts().score_columns))


def verify(
    arguments: list[str], tasks: Path, out: Path, *extra: str, work: Path | None = None
) -> tuple[int, dict]:
    """Run `hearbot verify`; runs given the same ``work`` reuse its embeddings and scores."""
    stand_ins = [f"--stand-in={column}={task}" for column, task in STAND_INS.items()]
    code = main(
        [
            "verify",
            *arguments,
            "--tasks-dir",
            str(tasks),
            "--out",
            str(out),
            "--work",
            str(work or out.parent / "work"),
            "--max-epochs",
            EPOCHS,
            "--today",
            TODAY.isoformat(),
            "--seeds",  # one member unless a test asks for more (the last --seeds wins)
            "1",
            *stand_ins,
            *extra,
        ]
    )
    result = json.loads((out / "result.json").read_text())
    assert schema_errors("result.schema.json", result) == []
    return code, result


def outcomes(result: dict) -> dict[str, str]:
    return {c["column"]: c["outcome"] for c in result["verification"]["columns"]}


def reproduced(result: dict) -> dict[str, float]:
    return {
        c["column"]: c["reproduced"]
        for c in result["verification"]["columns"]
        if c["reproduced"] is not None
    }


@pytest.fixture(scope="module")
def measured(synth_tasks: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The example model's real scores (one full run; later runs reuse its work)."""
    root = tmp_path_factory.mktemp("verify")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PYTHONPATH", str(REPO_ROOT / "examples" / "hear_example_model"))
        arguments = write_submission(
            root / "measure", "Demo measure", {c: "0.5" for c in STAND_INS}
        )
        code, result = verify(
            arguments, synth_tasks, root / "measure" / "out", "--no-install", work=root / "work"
        )
    assert result["verification"]["conformance"], "the model checks ran"
    return {"root": root, "scores": reproduced(result), "code": code, "result": result}


def test_the_example_model_scores_far_above_chance(measured: dict) -> None:
    scores = measured["scores"]
    assert set(scores) == set(STAND_INS)
    assert scores["ESC-50"] > 0.6  # 5 classes: chance 0.2
    assert scores["FSD50K"] > 0.6  # mAP
    assert scores["DCASE 2016"] > 0.6  # onset F-measure


def test_the_canary_does_not_flag_the_example_model(measured: dict) -> None:
    """A genuine model: its canary clips score about the same perturbed below audibility."""
    tasks = measured["result"]["verification"]["tasks"]
    canaries = {task["task_dir"]: task["canary"] for task in tasks}
    print(f"canary example model: {canaries}")
    assert set(canaries) == set(STAND_INS.values())
    for canary in canaries.values():
        assert canary["clips"] >= 5 and canary["suspicious"] is False, canaries
        assert abs(canary["drop"]) <= 0.1, canaries


def test_honest_claims_pass_and_inflated_claims_fail(
    measured: dict, synth_tasks: Path, example_model_on_path: None
) -> None:
    root: Path = measured["root"]
    honest = {column: f"{value:.9f}" for column, value in measured["scores"].items()}
    arguments = write_submission(root / "honest", "Demo honest", honest)
    code, result = verify(
        arguments, synth_tasks, root / "honest" / "out", "--no-install", work=root / "work"
    )
    assert code == 0, result["verification"]["reason"]
    assert set(outcomes(result).values()) == {"reproduced", "not-claimed"}
    assert result["verification"]["verdict"] == "pass"

    inflated = dict(honest, **{"FSD50K": f"{min(1.0, measured['scores']['FSD50K'] + 0.2):.9f}"})
    arguments = write_submission(root / "inflated", "Demo inflated", inflated)
    code, result = verify(
        arguments, synth_tasks, root / "inflated" / "out", "--no-install", work=root / "work"
    )
    assert code == 1
    assert outcomes(result)["FSD50K"] == "mismatch"
    assert result["verification"]["verdict"] == "fail"
    report = (root / "inflated" / "out" / "report.md").read_text()
    assert "❌ mismatch" in report
    first = report.split("\n")[3]  # the comment's one verdict line: validation and verification
    assert first.startswith(
        "❌ **Not verified**: `FSD50K` (on stand-in `synth_mixtures-1.0.0-full`)"
    )
    assert "Valid submission" not in report and report.count("Not reproduced") == 0


def test_a_much_better_score_is_flagged_not_failed(
    measured: dict, synth_tasks: Path, example_model_on_path: None
) -> None:
    root: Path = measured["root"]
    claims = {"FSD50K": f"{measured['scores']['FSD50K'] - 0.2:.9f}"}
    arguments = write_submission(root / "modest", "Demo modest", claims)
    code, result = verify(
        arguments, synth_tasks, root / "modest" / "out", "--no-install", work=root / "work"
    )
    assert code == 0
    assert outcomes(result)["FSD50K"] == "above-claim"


def test_a_seed_ensemble_judges_claims_against_its_interval(
    measured: dict, synth_tasks: Path, example_model_on_path: None
) -> None:
    """--seeds 3: member 0 is the one-member run's score bit for bit (same machine, same run);
    the honest claim is never a mismatch; a claim beyond the interval is one (unless the task is
    too noisy to judge); result.json and the report carry the members and the interval."""
    root: Path = measured["root"]
    column = "FSD50K"
    honest = {c: f"{measured['scores'][c]:.9f}" for c in (column, "ESC-50")}
    results: dict[str, dict] = {}

    def run(name: str, claims: dict[str, str]) -> tuple[int, dict]:
        arguments = write_submission(root / name, f"Demo {name}", claims)
        out = root / name / "out"
        code, result = verify(arguments, synth_tasks, out, "--no-install", "--seeds", "3",
                              work=root / "work")  # fmt: skip
        results[name] = {c["column"]: c for c in result["verification"]["columns"]}
        return code, results[name][column]

    code, judged = run("ensemble-honest", honest)
    # ESC-50 is top1 (a share of clips): its interval carries the members' per-clip sd, which
    # the width uses where it is larger; FSD50K's mAP has none.
    esc = results["ensemble-honest"]["ESC-50"]
    assert esc["interval"]["clip_sd"] >= 0 and "clip_sd" not in judged["interval"]
    t = student_t(esc["interval"]["confidence"], 2)  # 9.925 at 99 %
    assert esc["tolerance"] >= t * esc["interval"]["clip_sd"] * (4 / 3) ** 0.5 - 1e-12
    assert judged["reproduced"] == measured["scores"][column]  # member 0: the kit's run
    assert len(judged["members"]) == 3 and judged["members"][0] == judged["reproduced"]
    interval = judged["interval"]
    assert interval["k"] == 3 and interval["low"] <= judged["mean"] <= interval["high"]
    assert judged["outcome"] in ("reproduced", "inconclusive"), judged["detail"]
    assert "ci95" in judged and judged["ci95"][0] <= judged["ci95"][1]
    report = (root / "ensemble-honest" / "out" / "report.md").read_text()
    assert f"[{interval['low']:.4f}, {interval['high']:.4f}]" in report
    assert "K = 3" in report

    beyond = min(1.0, interval["high"] + 0.01)
    code, inflated = run("ensemble-inflated", {column: f"{beyond:.9f}"})
    assert inflated["members"] == judged["members"]  # the scores are reused
    if inflated["outcome"] != "inconclusive" and beyond > interval["high"]:
        assert inflated["outcome"] == "mismatch" and code == 1


def test_missing_task_data_is_not_run(
    measured: dict, synth_tasks: Path, example_model_on_path: None, tmp_path: Path
) -> None:
    arguments = write_submission(tmp_path, "Demo missing", {"ESC-50": "0.9", "CREMA-D": "0.5"})
    _, result = verify(
        arguments, synth_tasks, tmp_path / "out", "--no-install", work=measured["root"] / "work"
    )
    assert outcomes(result)["CREMA-D"] == "not-run"
    assert "tfds_crema_d-1.0.0-full" in next(
        c["detail"] for c in result["verification"]["columns"] if c["column"] == "CREMA-D"
    )


def test_a_model_that_returns_nan_is_an_error_naming_the_check(
    synth_tasks: Path, example_model_on_path: None, tmp_path: Path
) -> None:
    arguments = write_submission(
        tmp_path, "Demo nan", {"ESC-50": "0.9"}, model_options={"fault": "nan"}
    )
    code, result = verify(arguments, synth_tasks, tmp_path / "out", "--no-install")
    assert code == 3
    verification = result["verification"]
    assert verification["verdict"] == "error"
    failed = [c for c in verification["conformance"] if c["status"] == "fail"]
    assert failed and any("NaN" in c["detail"] or "nan" in c["detail"].lower() for c in failed)
    esc = next(c for c in verification["columns"] if c["column"] == "ESC-50")
    assert esc["outcome"] == "error" and "HEAR API checks" in error_text(result, esc)
    assert "HEAR API check" in render_markdown(result)


def test_an_invalid_row_is_rejected_before_anything_runs(synth_tasks: Path, tmp_path: Path) -> None:
    arguments = write_submission(tmp_path, "Demo invalid", {"ESC-50": "1.5"})
    code, result = verify(arguments, synth_tasks, tmp_path / "out", "--no-install")
    assert code == 1
    assert result["verification"]["verdict"] == "fail"
    assert {e["code"] for e in result["errors"]} == {"score-range"}
    assert not (tmp_path / "out" / "check-model.json").exists()


def test_pinned_wheel_is_installed_into_its_own_virtualenv(
    measured: dict, synth_tasks: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PYTHONPATH", raising=False)
    wheel = build_example_wheel(tmp_path / "dist")
    claims = {"ESC-50": f"{measured['scores']['ESC-50']:.9f}"}
    arguments = write_submission(tmp_path / "sub", "Demo installed", claims, wheel=wheel)
    code, result = verify(
        arguments, synth_tasks, tmp_path / "out", "--find-links", str(wheel.parent)
    )
    verification = result["verification"]
    assert code == 0, verification["reason"]
    assert verification["environment"]["installed_from"] == "pinned-virtualenv"
    names = {item["name"].lower() for item in verification["environment"]["provenance"]}
    assert {"hear-example-model", "torch", "numpy", "soundfile"} <= names
    assert outcomes(result)["ESC-50"] == "reproduced"
    memory = verification["memory_mb"]
    assert set(memory) == {"install", "check-model", "embed", "evaluate"}
    assert all(megabytes > 0 for megabytes in memory.values())
    assert "| peak memory | install" in (tmp_path / "out" / "report.md").read_text()


def test_a_wheel_that_does_not_match_its_pin_is_refused(
    synth_tasks: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PYTHONPATH", raising=False)
    wheel = build_example_wheel(tmp_path / "dist")
    arguments = write_submission(tmp_path / "sub", "Demo tampered", {"ESC-50": "0.9"}, wheel=wheel)
    manifest_path = Path(arguments[-1])
    document = json.loads(manifest_path.read_text())
    document["install"] = [document["install"][0][:-8] + "00000000"]
    manifest_path.write_text(json.dumps(document))
    code, result = verify(
        arguments, synth_tasks, tmp_path / "out", "--find-links", str(wheel.parent)
    )
    assert code == 3
    esc = next(c for c in result["verification"]["columns"] if c["column"] == "ESC-50")
    assert esc["outcome"] == "error"
    assert "HASHES" in error_text(result, esc).upper()


def test_without_the_sandbox_nothing_runs_and_the_result_is_an_error(
    synth_tasks: Path,
    example_model_on_path: None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import bot.runner.sandbox

    monkeypatch.setattr(bot.runner.sandbox.shutil, "which", lambda name: None)
    arguments = write_submission(tmp_path, "Demo no sandbox", {"ESC-50": "0.9"})
    code, result = verify(arguments, synth_tasks, tmp_path / "out", "--no-install")
    assert code == 3
    verification = result["verification"]
    assert verification["verdict"] == "error"
    esc = next(c for c in verification["columns"] if c["column"] == "ESC-50")
    assert "bubblewrap (`bwrap`) is not installed" in error_text(result, esc)
    assert "not available" in verification["environment"]["sandbox"]["launcher"]
    assert not (tmp_path / "work" / "embeddings").exists()
    assert not (tmp_path / "out" / "check-model" / "check-model.json").exists()


def test_reverifying_after_only_the_claims_changed_runs_no_model_code(
    synth_tasks: Path, example_model_on_path: None, tmp_path: Path
) -> None:
    work = tmp_path / "work"
    first = write_submission(tmp_path / "first", "Demo again", {"ESC-50": "0.5"})
    _, before = verify(first, synth_tasks, tmp_path / "out1", "--no-install", work=work)
    second = write_submission(tmp_path / "second", "Demo again", {"ESC-50": "0.6"})
    _, after = verify(second, synth_tasks, tmp_path / "out2", "--no-install", work=work)

    log = (tmp_path / "out2" / "verify.log").read_text()
    assert "check-model: reusing the passing checks" in log
    assert "reusing the checked embeddings of an earlier run" in log
    assert "bot.hear.worker" not in log  # the sandbox never started
    assert reproduced(after) == reproduced(before)
    assert after["verification"]["conformance"] == before["verification"]["conformance"]


def test_embeddings_changed_since_they_were_checked_are_checked_again(
    synth_tasks: Path, example_model_on_path: None, tmp_path: Path
) -> None:
    work = tmp_path / "work"
    arguments = write_submission(tmp_path / "sub", "Demo tampered cache", {"ESC-50": "0.5"})
    verify(arguments, synth_tasks, tmp_path / "out1", "--no-install", work=work)
    (npy,) = list((work / "embeddings").glob("*/*/fold01/*.embedding.npy"))[:1]
    npy.unlink()
    npy.symlink_to("/etc/passwd")
    code, result = verify(arguments, synth_tasks, tmp_path / "out2", "--no-install", work=work)
    assert code == 3
    esc = next(c for c in result["verification"]["columns"] if c["column"] == "ESC-50")
    assert "a symbolic link (to '/etc/passwd')" in esc["detail"]


def test_batched_evaluation_rechecks_a_near_mismatch_in_exact_mode(
    measured: dict, synth_tasks: Path, example_model_on_path: None
) -> None:
    from bot.common.schemas import leaderboard_facts

    root: Path = measured["root"]
    column = "FSD50K"
    # One member: the interval is the score ± the floor.
    tolerance = next(c.floor for c in leaderboard_facts().columns if c.name == column)
    exact = measured["scores"][column]

    def run(name: str, claim: float) -> tuple[dict, str]:
        arguments = write_submission(root / name, f"Demo {name}", {column: f"{claim:.9f}"})
        out = root / name / "out"
        _, result = verify(
            arguments,
            synth_tasks,
            out,
            "--no-install",
            "--evaluation-mode",
            "batched",
            work=root / "work",
        )
        (judged,) = [c for c in result["verification"]["columns"] if c["column"] == column]
        assert result["verification"]["environment"]["evaluation_mode"] == "batched"
        return judged, (out / "verify.log").read_text()

    first, log = run("batched", exact)  # the embeddings are reused; only evaluation runs
    batched = first["reproduced"]
    assert batched is not None and "exact re-evaluation" not in first["detail"]
    assert "mode batched" in log and "again in exact mode" not in log

    near, log = run("near", batched + 1.5 * tolerance)  # a mismatch by 1.5 tolerances
    assert "again in exact mode" in log
    assert near["reproduced"] == exact  # the exact score, as an exact-mode run gives it
    assert f"Batched evaluation gave {batched:.4f}" in near["detail"]
    delta = exact - (batched + 1.5 * tolerance)
    expected = "reproduced" if abs(delta) <= tolerance else "mismatch" if delta < 0 else "above"
    assert near["outcome"].startswith(expected)

    far, log = run("far", batched + 3 * tolerance)  # clearly a mismatch: no second run
    assert far["outcome"] == "mismatch" and far["reproduced"] == batched
    assert "again in exact mode" not in log


def test_a_failed_exact_recheck_is_an_error_not_a_verdict(
    measured: dict,
    synth_tasks: Path,
    example_model_on_path: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import bot.verify.task_runs
    from bot.common.schemas import leaderboard_facts

    root: Path = measured["root"]
    column = "FSD50K"
    tolerance = next(c.floor for c in leaderboard_facts().columns if c.name == column)
    rescore = bot.verify.task_runs.TaskRuns.rescore

    def exact_fails(self: bot.verify.task_runs.TaskRuns, task_dir: str, mode: str) -> list:
        if mode == "exact":
            raise RuntimeError("no space left on device")
        return rescore(self, task_dir, mode)

    monkeypatch.setattr(bot.verify.task_runs.TaskRuns, "rescore", exact_fails)

    def run(name: str, claim: float) -> dict:
        arguments = write_submission(root / name, f"Demo {name}", {column: f"{claim:.9f}"})
        code, result = verify(arguments, synth_tasks, root / name / "out", "--no-install",
                              "--evaluation-mode", "batched", work=root / "work")  # fmt: skip
        (judged,) = [c for c in result["verification"]["columns"] if c["column"] == column]
        return {"code": code, **judged}

    batched = run("plain-batched", measured["scores"][column])["reproduced"]
    failed = run("recheck-fails", batched + 1.5 * tolerance)
    assert failed["outcome"] == "error" and failed["code"] == 3
    assert (
        "The exact re-evaluation failed: RuntimeError: no space left on device"
        in (failed["detail"])
    )
