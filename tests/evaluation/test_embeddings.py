"""Reading embedding task directories: the official row order, and every refusal."""

from __future__ import annotations

import json
import os
import pickle
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from bot.evaluation import EmbeddingError, EvaluationInputError, MetadataError
from bot.evaluation.embeddings import concat_rows, load_task, official_file_order
from tests.evaluation.synth import make_event_task, make_scene_task


def test_official_order_is_one_random0_over_the_splits_in_metadata_order() -> None:
    # Literal expectation: random.Random(0) shuffling [a..e], then [f, g, h], then [i..l].
    splits = {"train": list("abcde"), "valid": list("fgh"), "test": list("ijkl")}
    order = official_file_order(["train", "valid", "test"], splits)
    assert order == {
        "train": ["c", "b", "a", "e", "d"],
        "valid": ["f", "g", "h"],
        "test": ["i", "k", "j", "l"],
    }
    # The metadata's split order decides which split consumes the stream first.
    assert official_file_order(["test", "train"], splits)["test"] == ["k", "i", "j", "l"]


def test_rows_follow_the_official_order(tmp_path: Path) -> None:
    task = make_scene_task(tmp_path / "t", files_per_split=12, dim=4)
    # Tag every embedding with its file number so that row order is visible.
    for split in ("train", "valid", "test"):
        for j in range(12):
            path = task / split / f"{split}_{j:04d}.wav.embedding.npy"
            np.save(path, np.full(4, j, dtype=np.float32))
    data = load_task(task)
    for split in ("train", "valid", "test"):
        files = data.splits[split].files
        keys = list(json.loads((task / f"{split}.json").read_text()))
        assert sorted(files) == sorted(keys)
        expected = official_file_order(
            ["train", "valid", "test"], {s: keys for s in ("train", "valid", "test")}
        )
        assert files == expected[split]
        assert data.splits[split].x[:, 0].tolist() == [int(f[-8:-4]) for f in files]


@pytest.mark.parametrize("make", [make_scene_task, make_event_task])
def test_spilled_rows_are_memory_mapped_copies_that_leave_no_file(
    tmp_path: Path, make: Callable[..., Path]
) -> None:
    task = make(tmp_path / "t", split_mode="new_split_kfold", splits=("f0", "f1", "f2"))
    spill = tmp_path / "spill"
    spill.mkdir()
    plain, mapped = load_task(task), load_task(task, spill_dir=spill)
    assert mapped.spill_dir == spill and plain.spill_dir is None
    for split, rows in plain.splits.items():
        got = mapped.splits[split]
        assert isinstance(got.x, np.memmap) and isinstance(got.y, np.memmap)
        assert not isinstance(rows.x, np.memmap)
        assert got.x.dtype == np.float32 and got.x.flags.writeable
        np.testing.assert_array_equal(got.x, rows.x)
        np.testing.assert_array_equal(got.y, rows.y)
        assert got.files == rows.files
    joined = concat_rows(mapped.name, [mapped.splits["f2"], mapped.splits["f0"]], spill)
    assert isinstance(joined.x, np.memmap)
    np.testing.assert_array_equal(
        joined.x, np.concatenate([plain.splits["f2"].x, plain.splits["f0"].x])
    )
    joined.x[0, 0] += 1.0  # copy-on-write: the spilled file and the split are unchanged
    np.testing.assert_array_equal(mapped.splits["f2"].x, plain.splits["f2"].x)
    assert list(spill.iterdir()) == []  # unnamed files: nothing to clean up, nothing left


def test_spilling_keeps_the_checks(tmp_path: Path) -> None:
    task = make_scene_task(tmp_path / "t", files_per_split=5, dim=4)
    np.save(task / "valid" / "valid_0003.wav.embedding.npy", np.zeros(5, dtype=np.float32))
    with pytest.raises(EmbeddingError, match="embedding sizes differ: \\[4, 5\\]"):
        load_task(task, spill_dir=tmp_path)


def test_event_rows_carry_file_time_and_frame_targets(tmp_path: Path) -> None:
    task = make_event_task(tmp_path / "e", files_per_split=2, frames=30)
    data = load_task(task)
    rows = data.splits["valid"]
    assert rows.x.shape == (60, 8) and rows.y.shape == (60, 3)
    assert rows.row_file.tolist() == [0] * 30 + [1] * 30
    assert rows.row_time[:3].tolist() == [25.0, 75.0, 125.0]
    name = rows.files[0]
    targets = json.loads((task / "valid" / f"{name}.target-labels.json").read_text())
    assert rows.y[:30].sum() == sum(len(set(frame)) for frame in targets)
    assert rows.reference_events[name] == json.loads((task / "valid.json").read_text())[name]


# --- refusals ------------------------------------------------------------------------------------

Mutation = Callable[[Path], None]


def _npy(task: Path, split: str = "train", index: int = 0) -> Path:
    name = sorted(json.loads((task / f"{split}.json").read_text()))[index]
    return task / split / f"{name}.embedding.npy"


def _rewrite_json(path: Path, change: Callable[[object], object]) -> None:
    path.write_text(json.dumps(change(json.loads(path.read_text()))))


def _symlink(task: Path) -> None:
    target = _npy(task)
    moved = task / "elsewhere.npy"
    target.rename(moved)
    os.symlink(moved, target)


def _split_dir_symlink(task: Path) -> None:
    (task / "test").rename(task / "real_test")
    os.symlink(task / "real_test", task / "test")


def _pickled(task: Path) -> None:
    with _npy(task).open("wb") as handle:
        pickle.dump(np.zeros(8, dtype=np.float32), handle)


def _object_npy(task: Path) -> None:
    np.save(_npy(task), np.array([{"x": 1}], dtype=object), allow_pickle=True)


def _npz(task: Path) -> None:
    path = _npy(task)
    with path.open("wb") as handle:
        np.savez(handle, a=np.zeros(8, dtype=np.float32))


def _file_name(name: str) -> Mutation:
    def mutate(task: Path) -> None:
        _rewrite_json(task / "train.json", lambda d: {name: ["lab0"], **d})

    return mutate


SCENE_CASES: dict[str, tuple[Mutation, type[EvaluationInputError], str]] = {
    "float64": (lambda t: np.save(_npy(t), np.zeros(8)), EmbeddingError, "dtype"),
    "NaN": (lambda t: np.save(_npy(t), np.full(8, np.nan, np.float32)), EmbeddingError, "finite"),
    "inf": (lambda t: np.save(_npy(t), np.full(8, np.inf, np.float32)), EmbeddingError, "finite"),
    "2-d scene": (
        lambda t: np.save(_npy(t), np.zeros((1, 8), np.float32)),
        EmbeddingError,
        "shape",
    ),
    "other size": (lambda t: np.save(_npy(t), np.zeros(9, np.float32)), EmbeddingError, "shape"),
    "pickle": (_pickled, EmbeddingError, "pickle"),
    "object array": (_object_npy, EmbeddingError, "pickle"),
    "npz": (_npz, EmbeddingError, "npy"),
    "truncated": (lambda t: _npy(t).write_bytes(b"\x93NUMPY"), EmbeddingError, "npy"),
    "missing": (lambda t: _npy(t).unlink(), EmbeddingError, "missing"),
    "symlink": (_symlink, EmbeddingError, "symlink"),
    "split dir symlink": (_split_dir_symlink, EmbeddingError, "not-a-directory"),
    "dot-dot": (_file_name(".."), MetadataError, "file-name"),
    "path": (_file_name("../train/x.wav"), MetadataError, "file-name"),
    "labels differ": (
        lambda t: (
            _npy(t)
            .with_name(_npy(t).name.replace("embedding.npy", "target-labels.json"))
            .write_text('["lab1", "lab2"]')
        ),
        EmbeddingError,
        "target-labels",
    ),
    "unknown label": (
        lambda t: _rewrite_json(t / "valid.json", lambda d: {k: ["nope"] for k in d}),
        MetadataError,
        "label",
    ),
    "duplicate key": (
        lambda t: (t / "test.json").write_text('{"a.wav": ["lab0"], "a.wav": ["lab1"]}'),
        MetadataError,
        "json",
    ),
    "NaN in JSON": (
        lambda t: (t / "task_metadata.json").write_text(
            (t / "task_metadata.json")
            .read_text()
            .replace('"sample_duration": 2.0', '"sample_duration": NaN')
        ),
        MetadataError,
        "json",
    ),
    "bad split mode": (
        lambda t: _rewrite_json(t / "task_metadata.json", lambda d: {**d, "split_mode": "x"}),
        MetadataError,
        "metadata.split_mode",
    ),
    "vocabulary gap": (
        lambda t: (t / "labelvocabulary.csv").write_text("idx,label\n0,lab0\n2,lab2\n"),
        MetadataError,
        "csv",
    ),
    "pandas-ambiguous label": (
        lambda t: (t / "labelvocabulary.csv").write_text("idx,label\n0,007\n1,lab1\n"),
        MetadataError,
        "csv",
    ),
    "labels pandas reads as floats": (
        lambda t: (t / "labelvocabulary.csv").write_text("idx,label\n0,1\n1,1.5\n"),
        MetadataError,
        "csv",
    ),
}


@pytest.mark.parametrize("case", list(SCENE_CASES))
def test_malformed_scene_inputs_raise_a_named_error(tmp_path: Path, case: str) -> None:
    mutate, error, check = SCENE_CASES[case]
    task = make_scene_task(tmp_path / "scene", files_per_split=6)
    mutate(task)
    with pytest.raises(error) as info:
        load_task(task)
    assert info.value.check == check
    assert info.value.task == "scene"
    assert str(info.value).startswith("scene")


def _event_file(task: Path, suffix: str) -> Path:
    name = sorted(json.loads((task / "train.json").read_text()))[0]
    return task / "train" / f"{name}.{suffix}"


EVENT_CASES: dict[str, tuple[Mutation, str]] = {
    "1-d event": (
        lambda t: np.save(_event_file(t, "embedding.npy"), np.zeros(8, np.float32)),
        "shape",
    ),
    "timestamps short": (
        lambda t: _event_file(t, "timestamps.json").write_text("[1.0]"),
        "timestamps",
    ),
    "timestamps missing": (lambda t: _event_file(t, "timestamps.json").unlink(), "missing"),
    "frame labels tampered": (
        lambda t: _rewrite_json(_event_file(t, "target-labels.json"), lambda d: [["ev0"]] * len(d)),
        "target-labels",
    ),
    "frame count": (
        lambda t: _rewrite_json(_event_file(t, "target-labels.json"), lambda d: d[1:]),
        "target-labels",
    ),
}


@pytest.mark.parametrize("case", list(EVENT_CASES))
def test_malformed_event_inputs_raise_a_named_error(tmp_path: Path, case: str) -> None:
    mutate, check = EVENT_CASES[case]
    task = make_event_task(tmp_path / "events", files_per_split=2, frames=40)
    mutate(task)
    with pytest.raises(EmbeddingError) as info:
        load_task(task)
    assert info.value.check == check
    assert "train/" in info.value.file


def test_frame_labels_tolerate_float32_rounding_at_a_bound(tmp_path: Path) -> None:
    task = make_event_task(tmp_path / "events", files_per_split=2, frames=40)
    split_json = json.loads((task / "train.json").read_text())
    name = sorted(split_json)[0]
    # An event ending 0.0002 ms before a frame: the interval rule says "out", but a float32
    # timestamp could have rounded either way when the labels were written.
    split_json[name] = [{"label": "ev1", "start": 75.0, "end": 174.9997}]
    (task / "train.json").write_text(json.dumps(split_json))
    labels = [[] for _ in range(40)]
    labels[1], labels[2], labels[3] = ["ev1"], ["ev1"], ["ev1"]  # 75, 125 and (rounded) 175 ms
    _event_file(task, "target-labels.json").write_text(json.dumps(labels))
    load_task(task)
