"""Whole runs on tiny synthetic tasks: the official kit's numbers, learning, form, determinism.

EXPECTED holds what the official kit (heareval 2021.1.3 with pytorch-lightning 1.8.6,
torchinfo 1.8.0, torch 2.13.0 CPU, one thread) wrote for these very directories on the machine
that recorded them (AMD EPYC, 2026-11-26), where hearbot reproduced every value bit for bit.
Bit-equality holds only on the same machine with the same kernels and thread count, so:
- with the reference environment present (.refenv), the kit runs here, in this test run, on
  the same directories, and every value must match it exactly;
- without it (CI), the stored values are held within TOLERANCES, measured across machines and
  kernel paths (below), and the decisions (selected configuration, post-processing) exactly.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from bot.evaluation import (
    EmbeddingError,
    ProtocolError,
    evaluate_task,
    register_evaluate_command,
)
from bot.evaluation.embeddings import load_task
from bot.evaluation.protocol import task_grid
from bot.evaluation.scores import LOG_FILE, SCORES_FILE
from tests import numeric, official_kit
from tests.evaluation.synth import make_event_task, make_scene_task

INF = math.inf
EXPECTED: dict[str, dict[str, Any]] = {
    "scene_kfold": {
        "splits": {
            "fold00": {
                "test_loss": 0.2704801559448242,
                "test_score": 1.0,
                "test_top1_acc": 1.0,
                "test_mAP": 1.0,
                "test_d_prime": INF,
                "test_aucroc": 1.0,
                "validation_score": 1.0,
                "epoch": 11,
            },
            "fold01": {
                "test_loss": 0.42109960317611694,
                "test_score": 0.9750000238418579,
                "test_top1_acc": 0.9750000238418579,
                "test_mAP": 0.9990808963775635,
                "test_d_prime": INF,
                "test_aucroc": 0.9993489384651184,
                "validation_score": 0.949999988079071,
                "epoch": 11,
            },
            "fold02": {
                "test_loss": 0.27876797318458557,
                "test_score": 0.949999988079071,
                "test_top1_acc": 0.949999988079071,
                "test_mAP": 1.0,
                "test_d_prime": INF,
                "test_aucroc": 1.0,
                "validation_score": 0.8999999761581421,
                "epoch": 11,
            },
        },
        "aggregated": {
            "test_score_mean": 0.975000003973643,
            "test_score_std": 0.025000005960470396,
        },
        "selected": (2, 0.0032, "xavier_uniform_"),
        "postprocessing": [],
    },
    "scene_ml": {
        "splits": {
            "test": {
                "test_loss": 0.5718865394592285,
                "test_score": 0.7565746903419495,
                "test_mAP": 0.7565746903419495,
                "test_aucroc": 0.9032266736030579,
                "test_d_prime": 2.0393840435427557,
                "validation_score": 0.9120867252349854,
                "epoch": 11,
            },
        },
        "aggregated": None,
        "selected": (2, 0.0032, "xavier_normal_"),
        "postprocessing": [],
    },
    "events": {
        "splits": {
            "test": {
                "test_loss": 0.4038587212562561,
                "test_score": 0.5,
                "test_event_onset_200ms_fms": 0.5,
                "test_event_onset_200ms_fms_f_measure": 0.5,
                "test_event_onset_200ms_fms_precision": 0.4399999976158142,
                "test_event_onset_200ms_fms_recall": 0.5789473652839661,
                "test_segment_1s_er": 0.4333333373069763,
                "test_segment_1s_er_error_rate": 0.4333333373069763,
                "validation_score": 0.7179487347602844,
                "epoch": 11,
            },
        },
        "aggregated": None,
        "selected": (2, 0.0032, "xavier_normal_"),
        "postprocessing": [["median_filter_ms", 250], ["min_duration", 125]],
    },
}

# How far a stored value may be from this machine's: twice the largest difference measured over
# nine kernel paths (the recording machine, and an Intel Xeon with AVX512 under
# ATEN_CPU_CAPABILITY=default|avx2|avx512 and MKL_CBWR=COMPATIBLE, 1 and 2 threads), and at
# least one clip for accuracies (1/40 here), 0.001 for other scores and one validation interval
# (3 epochs) for the best epoch. Measured worst, 2026-12-05: scene_kfold validation 0.025 (one
# clip), losses 0.0021, test scores 0; scene_ml scores 0.00084, d' 0.0052, validation 0.0015;
# events: the best epoch moved by 3 (11 -> 8 under MKL_CBWR=COMPATIBLE), onset F 0.028, recall
# 0.158, segment error rate 0.233, loss 0.069. The event task is that sensitive at this size:
# its stored numbers say little, so its fidelity rests on the decisions below, on the kit run
# in the same test run where .refenv exists, and on tests/evaluation/test_crosscheck_official.py.
# `python scripts/numeric_matrix.py -k end_to_end` shows these margins on any machine.
TOLERANCES: dict[str, dict[str, float]] = {
    "scene_kfold": {
        "test_loss": 0.005,
        "test_score": 0.025,
        "test_top1_acc": 0.025,
        "test_mAP": 0.001,
        "test_d_prime": 0.001,
        "test_aucroc": 0.001,
        "validation_score": 0.05,
        "epoch": 3,
        "test_score_mean": 0.025,
        "test_score_std": 0.025,
    },
    "scene_ml": {
        "test_loss": 0.002,
        "test_score": 0.002,
        "test_mAP": 0.002,
        "test_aucroc": 0.0015,
        "test_d_prime": 0.011,
        "validation_score": 0.003,
        "epoch": 3,
    },
    "events": {
        "test_loss": 0.14,
        "test_score": 0.06,
        "test_event_onset_200ms_fms": 0.06,
        "test_event_onset_200ms_fms_f_measure": 0.06,
        "test_event_onset_200ms_fms_precision": 0.06,
        "test_event_onset_200ms_fms_recall": 0.32,
        "test_segment_1s_er": 0.47,
        "test_segment_1s_er_error_rate": 0.47,
        "validation_score": 0.034,
        "epoch": 6,
    },
}
THREADS = numeric.test_threads(1)  # the kit's recorded run used one intra-op thread


def make_tasks(root: Path) -> dict[str, Path]:
    """The directories behind EXPECTED (same generator arguments as the kit's run)."""
    return {
        "scene_kfold": make_scene_task(
            root / "scene_kfold",
            split_mode="new_split_kfold",
            splits=["fold00", "fold01", "fold02"],
            evaluation=["top1_acc", "mAP", "d_prime", "aucroc"],
        ),
        "scene_ml": make_scene_task(
            root / "scene_ml",
            prediction_type="multilabel",
            evaluation=["mAP", "aucroc", "d_prime"],
            seed=1,
        ),
        "events": make_event_task(root / "events", seed=2),
    }


@pytest.fixture(scope="module", autouse=True)
def one_thread() -> Any:
    """The kit's reference ran with 1 intra-op thread; the thread count changes CPU sums."""
    before = torch.get_num_threads()
    torch.set_num_threads(THREADS)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def runs(
    tmp_path_factory: pytest.TempPathFactory, one_thread: None
) -> dict[str, tuple[Path, dict]]:
    tasks = make_tasks(tmp_path_factory.mktemp("e2e"))
    return {name: (path, evaluate_task(path, device="cpu")) for name, path in tasks.items()}


def _selected(hparams: dict[str, Any]) -> tuple[Any, ...]:
    init = re.sub(r"<function (\w+) at 0x[0-9a-f]+>", r"\1", hparams["initialization"])
    return (hparams["hidden_layers"], hparams["lr"], init)


@pytest.fixture(scope="module")
def reference(runs: dict[str, tuple[Path, dict]]) -> dict[str, dict[str, Any]]:
    """What each run must match: the kit computed now on the same directories (exactly), or
    EXPECTED within TOLERANCES when the reference environment is absent."""
    if not official_kit.present():
        return {name: {**EXPECTED[name], "tolerances": TOLERANCES[name]} for name in EXPECTED}
    references = {}
    for name, (path, _) in runs.items():
        kit = official_kit.run(path, threads=THREADS)
        splits = EXPECTED[name]["splits"]
        aggregated = EXPECTED[name]["aggregated"]
        references[name] = {
            "splits": {s: {k: kit[s][k] for k in keys} for s, keys in splits.items()},
            "aggregated": aggregated and {k: kit["aggregated_scores"][k] for k in aggregated},
            "selected": _selected(kit["hparams"]),
            "postprocessing": kit["postprocessing"],
            "tolerances": dict.fromkeys(TOLERANCES[name], 0.0),  # same machine: same bits
        }
    return references


@pytest.mark.numeric
@pytest.mark.parametrize("name", list(EXPECTED))
def test_reproduces_the_official_kit(
    runs: dict, reference: dict[str, dict[str, Any]], name: str
) -> None:
    _, result = runs[name]
    expected = reference[name]
    tolerances = expected["tolerances"]
    for split, values in expected["splits"].items():
        got = result[split]
        assert list(got) == [*values, "time_in_min"]
        for key, want in values.items():
            what = f"{name}/{split}/{key}"
            assert numeric.within(what, got[key], want, tolerances[key]), (what, got[key], want)
    if expected["aggregated"]:
        for key, want in expected["aggregated"].items():
            got = result["aggregated_scores"][key]
            assert numeric.within(f"{name}/{key}", got, want, tolerances[key]), (key, got, want)
    assert _selected(result["hparams"]) == expected["selected"]
    assert result["postprocessing"] == expected["postprocessing"]
    assert result["score_mode"] == "max"


def test_scores_far_above_chance(runs: dict) -> None:
    assert runs["scene_kfold"][1]["aggregated_scores"]["test_score_mean"] > 0.8  # chance 0.25
    ml = runs["scene_ml"][1]["test"]
    assert ml["test_aucroc"] > 0.8 and ml["test_mAP"] > 0.6  # chance 0.5 and ~0.25
    ev = runs["events"][1]["test"]
    assert ev["test_event_onset_200ms_fms"] > 0.3 and ev["test_segment_1s_er"] < 0.7


@pytest.mark.parametrize("name", list(EXPECTED))
def test_file_is_what_was_returned_in_the_kits_form(runs: dict, name: str) -> None:
    path, result = runs[name]
    text = (path / SCORES_FILE).read_text()
    assert text == json.dumps(result, indent=4)
    keys = list(json.loads(text))
    splits = list(EXPECTED[name]["splits"])
    tail = ["hparams", "postprocessing", "score_mode", "embedding_path"]
    assert keys == splits + (["aggregated_scores"] if len(splits) > 1 else []) + tail
    assert result["embedding_path"] == str(path)
    assert "selected" in (path / LOG_FILE).read_text()


def _numbers(result: dict) -> dict:
    return {
        k: {kk: vv for kk, vv in v.items() if not kk.startswith("time_in_min")}
        if isinstance(v, dict)
        else v
        for k, v in result.items()
        if k != "embedding_path"
    }


@pytest.mark.numeric
@pytest.mark.parametrize("name", ["scene_kfold", "events"])
def test_two_runs_are_identical_with_rows_memory_mapped_or_in_memory(
    runs: dict, tmp_path: Path, name: str
) -> None:
    path, first = runs[name]  # memory-mapped from spill files, the default
    copy = tmp_path / name
    shutil.copytree(path, copy)
    again = evaluate_task(copy, device="cpu", in_memory=True)
    assert json.dumps(_numbers(again)) == json.dumps(_numbers(first))  # NaN as NaN
    assert "rows memory-mapped" in (path / LOG_FILE).read_text()
    assert "rows in memory" in (copy / LOG_FILE).read_text()
    assert sorted(p.name for p in copy.iterdir()) == sorted(p.name for p in path.iterdir())


def test_protocol_defaults_and_task_overrides(runs: dict, tmp_path: Path) -> None:
    data = load_task(runs["scene_ml"][0])
    assert task_grid(data, None)["max_epochs"] == [12]  # the task's own grid (FAST_GRID)
    assert task_grid(data, 3)["max_epochs"] == [3]
    plain = make_scene_task(tmp_path / "plain", files_per_split=4, grid={})
    grid = task_grid(load_task(plain), None)
    assert (grid["max_epochs"], grid["check_val_every_n_epoch"], grid["patience"]) == (
        [500],
        [3],
        [20],
    )
    dcase = make_event_task(tmp_path / "dcase2016_task2", files_per_split=2, frames=40, grid={})
    assert task_grid(load_task(dcase), None)["check_val_every_n_epoch"] == [10]


def test_cli_keeps_good_results_when_another_task_is_bad(
    tmp_path: Path, capsys: Any, one_thread: None
) -> None:
    good = make_scene_task(tmp_path / "good", files_per_split=10)
    bad = make_scene_task(tmp_path / "bad", files_per_split=10)
    victim = next((bad / "valid").glob("*.embedding.npy"))
    np.save(victim, np.zeros(8))  # float64
    parser = argparse.ArgumentParser(prog="hearbot")
    register_evaluate_command(parser.add_subparsers(dest="command"))
    args = parser.parse_args(
        [
            "evaluate",
            str(bad),
            str(good),
            "--device",
            "cpu",
            "--grid-points",
            "1",
            "--max-epochs",
            "3",
        ]
    )
    assert args.func(args) == 2
    out, err = capsys.readouterr()
    assert f"bad/valid/{victim.name}: dtype:" in err
    assert out.startswith(f"{good}\t")
    scores = json.loads((good / SCORES_FILE).read_text())
    assert scores["hparams"]["max_epochs"] == 3
    assert not (bad / SCORES_FILE).exists()


def test_a_stale_scores_file_never_survives_a_failed_run(tmp_path: Path) -> None:
    task = make_scene_task(tmp_path / "stale", files_per_split=6)
    (task / SCORES_FILE).write_text('{"test": {"test_score": 0.99}}')
    np.save(next((task / "test").glob("*.embedding.npy")), np.zeros(8))
    with pytest.raises(EmbeddingError):
        evaluate_task(task, device="cpu")
    assert not (task / SCORES_FILE).exists()


def test_where_the_kit_itself_fails_there_is_a_protocol_error(tmp_path: Path) -> None:
    task = make_event_task(tmp_path / "short", files_per_split=2, frames=40)
    victim = sorted(json.loads((task / "valid.json").read_text()))[0]
    base = task / "valid" / victim
    np.save(f"{base}.embedding.npy", np.zeros((1, 8), np.float32))
    Path(f"{base}.timestamps.json").write_text("[25.0]")
    Path(f"{base}.target-labels.json").write_text(
        json.dumps([[e["label"] for e in json.loads((task / "valid.json").read_text())[victim]
                     if e["start"] <= 25.0 < e["end"] + 0.0001]])
    )  # fmt: skip
    with pytest.raises(ProtocolError) as info:
        evaluate_task(task, device="cpu", max_epochs=3)
    assert info.value.check == "one-frame" and info.value.file.startswith("valid/")


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cli_usage_error_for_missing_cuda(tmp_path: Path, capsys: Any) -> None:
    task = make_scene_task(tmp_path / "t", files_per_split=4)
    parser = argparse.ArgumentParser(prog="hearbot")
    register_evaluate_command(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["evaluate", str(task), "--device", "cuda"])
    assert args.func(args) == 2
    assert "CUDA is not available" in capsys.readouterr().err
