"""bot.hear.tasks: reading a task directory, and one test per check that can fail."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from bot.hear.tasks import (
    TaskError,
    available_sample_rates,
    check_audio,
    check_task,
    find_tasks,
    read_task,
)

from .helpers import EVENTS, MIXTURES, TONES, VARLEN

CopyTask = Callable[[str], Path]


def _edit_json(path: Path, change: Callable[[dict], object]) -> None:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


def _raises(task_dir: Path, check: str, file: str | None = None, sample_rate: int = 16000):
    with pytest.raises(TaskError) as caught:
        check_task(task_dir, [sample_rate])
    assert caught.value.check == check, str(caught.value)
    if file is not None:
        assert caught.value.file == file, str(caught.value)
    assert caught.value.task == task_dir.name
    return caught.value


def _first_file(task_dir: Path, split: str) -> str:
    return next(iter(json.loads((task_dir / f"{split}.json").read_text())))


# ---------------------------------------------------------------------------------------------
# Reading


def test_reads_scene_task_in_json_order(synth_tasks: Path) -> None:
    task = read_task(synth_tasks / TONES)
    meta = task.metadata
    assert (meta.task_name, meta.embedding_type, meta.prediction_type) == (
        "synth_tones",
        "scene",
        "multiclass",
    )
    assert meta.split_mode == "new_split_kfold"
    assert meta.splits == ("fold00", "fold01", "fold02", "fold03")
    assert meta.sample_duration == 1.0
    assert meta.primary_metric == "top1_acc"
    assert meta.use_scoring_for_early_stopping is True  # absent: the kit's default
    assert meta.evaluation_params == {}
    assert task.vocabulary.labels == ("0", "1", "2", "3", "4")
    raw = json.loads((synth_tasks / TONES / "fold00.json").read_text())
    assert [item.file for item in task.splits["fold00"]] == list(raw)
    assert all(isinstance(item.labels[0], int) for item in task.splits["fold00"])
    assert task.vocabulary.index(3) == 3 and 3 in task.vocabulary and "7" not in task.vocabulary


def test_reads_event_task(synth_tasks: Path) -> None:
    task = read_task(synth_tasks / EVENTS)
    assert task.metadata.evaluation == ("event_onset_200ms_fms", "segment_1s_er")
    grid = task.metadata.evaluation_params["event_postprocessing_grid"]
    assert grid == {"median_filter_ms": [250], "min_duration": [125, 250]}
    item = task.splits["train"][0]
    assert item.events and not item.labels
    assert all(0 <= e.start <= e.end <= 4000 for e in item.events)


def test_check_task_passes_every_synthetic_task(synth_tasks: Path) -> None:
    for name in (TONES, MIXTURES, EVENTS, VARLEN):
        task, audio = check_task(synth_tasks / name, decode=True)
        assert [a.sample_rate for a in audio] == [16000]
        assert sum(audio[0].files.values()) == task.n_items


def test_find_tasks_and_sample_rates(synth_tasks: Path, tmp_path: Path) -> None:
    assert [p.name for p in find_tasks(synth_tasks)] == sorted([TONES, MIXTURES, EVENTS, VARLEN])
    assert available_sample_rates(synth_tasks / TONES) == [16000]
    with pytest.raises(TaskError, match="tasks-dir"):
        find_tasks(tmp_path / "nowhere")


def test_spoken_digit_passes(spoken_digit: Path) -> None:
    task, audio = check_task(spoken_digit, decode=True)
    assert task.metadata.task_name == "spoken_digit"
    assert task.metadata.splits == tuple(f"fold0{i}" for i in range(5))
    assert audio[0].sample_rate == 44100 and audio[0].files["fold00"] == 20
    assert task.vocabulary.labels == tuple(str(i) for i in range(10))


# ---------------------------------------------------------------------------------------------
# Metadata


def test_missing_metadata(task_copy: CopyTask) -> None:
    task_dir = task_copy(TONES)
    (task_dir / "task_metadata.json").unlink()
    _raises(task_dir, "metadata-missing", "task_metadata.json")


def test_malformed_metadata(task_copy: CopyTask) -> None:
    task_dir = task_copy(TONES)
    (task_dir / "task_metadata.json").write_text('{"task_name": ')
    _raises(task_dir, "json", "task_metadata.json")


def test_metadata_nan_is_not_json(task_copy: CopyTask) -> None:
    task_dir = task_copy(TONES)
    text = (
        (task_dir / "task_metadata.json")
        .read_text()
        .replace('"sample_duration": 1.0', '"sample_duration": NaN')
    )
    (task_dir / "task_metadata.json").write_text(text)
    _raises(task_dir, "json")


@pytest.mark.parametrize(
    ("key", "value", "words"),
    [
        ("embedding_type", "frame", "embedding_type"),
        ("prediction_type", None, "prediction_type"),
        ("split_mode", "kfold", "split_mode"),
        ("splits", ["fold00", "fold01"], "at least 3 folds"),
        ("sample_duration", -1, "sample_duration"),
        ("evaluation", [], "evaluation"),
        ("use_scoring_for_early_stopping", "yes", "use_scoring_for_early_stopping"),
        ("evaluation_params", {"event_postprocessing_grid": {"median_filter_ms": 250}}, "lists"),
    ],
)
def test_bad_metadata_field(task_copy: CopyTask, key: str, value: object, words: str) -> None:
    task_dir = task_copy(TONES)
    _edit_json(task_dir / "task_metadata.json", lambda m: m.__setitem__(key, value))
    error = _raises(task_dir, "metadata-field", "task_metadata.json")
    assert words in error.message


def test_trainvaltest_needs_the_three_splits(task_copy: CopyTask) -> None:
    task_dir = task_copy(MIXTURES)
    _edit_json(
        task_dir / "task_metadata.json", lambda m: m.__setitem__("splits", ["train", "test"])
    )
    assert "train, valid, test" in _raises(task_dir, "metadata-field").message


# ---------------------------------------------------------------------------------------------
# Vocabulary


def test_missing_vocabulary(task_copy: CopyTask) -> None:
    task_dir = task_copy(TONES)
    (task_dir / "labelvocabulary.csv").unlink()
    _raises(task_dir, "vocabulary-missing", "labelvocabulary.csv")


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("index,label\n0,a\n", "header"),
        ("idx,label\n0,a\n2,b\n", "idx '2'"),
        ("idx,label\n0,a\n1,a\n", "twice"),
        ("idx,label\n0,a,b\n", "fields"),
        ("idx,label\n0,NA\n", "NaN"),
        ("idx,label\n0,007\n1,8\n", "would be read by the official kit as 7"),
        ("idx,label\n", "no labels"),
    ],
)
def test_bad_vocabulary(task_copy: CopyTask, text: str, words: str) -> None:
    task_dir = task_copy(MIXTURES)
    (task_dir / "labelvocabulary.csv").write_text(text)
    error = _raises(task_dir, "vocabulary-format", "labelvocabulary.csv")
    assert words in error.message


# ---------------------------------------------------------------------------------------------
# Split files and labels


def test_missing_split_file(task_copy: CopyTask) -> None:
    task_dir = task_copy(TONES)
    (task_dir / "fold02.json").unlink()
    _raises(task_dir, "split-missing", "fold02.json")


def test_duplicate_key_in_split_file(task_copy: CopyTask) -> None:
    task_dir = task_copy(TONES)
    (task_dir / "fold00.json").write_text('{"a.wav": [1], "a.wav": [2]}')
    assert "duplicate" in _raises(task_dir, "json", "fold00.json").message


def test_label_not_in_vocabulary(task_copy: CopyTask) -> None:
    task_dir = task_copy(TONES)
    first = _first_file(task_dir, "fold01")
    _edit_json(task_dir / "fold01.json", lambda d: d.__setitem__(first, [7]))
    error = _raises(task_dir, "label-unknown", "fold01.json")
    assert first in error.message and "7" in error.message


def test_multiclass_clip_with_two_labels(task_copy: CopyTask) -> None:
    task_dir = task_copy(TONES)
    first = _first_file(task_dir, "fold00")
    _edit_json(task_dir / "fold00.json", lambda d: d.__setitem__(first, [1, 2]))
    assert "exactly one label" in _raises(task_dir, "label-format", "fold00.json").message


def test_labels_compare_as_strings(task_copy: CopyTask) -> None:
    task_dir = task_copy(TONES)
    first = _first_file(task_dir, "fold00")
    _edit_json(task_dir / "fold00.json", lambda d: d.__setitem__(first, ["4"]))
    check_task(task_dir, [16000])  # "4" and 4 are the same label to the kit


@pytest.mark.parametrize(
    ("event", "words"),
    [
        ({"label": "beep", "start": 10.0}, "label, start and end"),
        ({"label": "beep", "start": 500.0, "end": 100.0}, "0 <= start <= end"),
        ({"label": "beep", "start": -5.0, "end": 100.0}, "0 <= start <= end"),
        ({"label": "beep", "start": "0", "end": 100.0}, "finite numbers"),
        ({"label": "beep", "start": True, "end": 100.0}, "finite numbers"),
        ("beep", "label, start and end"),
    ],
)
def test_malformed_event(task_copy: CopyTask, event: object, words: str) -> None:
    task_dir = task_copy(EVENTS)
    first = _first_file(task_dir, "valid")
    _edit_json(task_dir / "valid.json", lambda d: d[first].append(event))
    error = _raises(task_dir, "event-format", "valid.json")
    assert words in error.message and first in error.message


def test_event_label_not_in_vocabulary(task_copy: CopyTask) -> None:
    task_dir = task_copy(EVENTS)
    first = _first_file(task_dir, "test")
    _edit_json(
        task_dir / "test.json",
        lambda d: d[first].append({"label": "siren", "start": 1.0, "end": 2.0}),
    )
    _raises(task_dir, "label-unknown", "test.json")


def test_file_name_with_a_directory(task_copy: CopyTask) -> None:
    task_dir = task_copy(MIXTURES)
    _edit_json(task_dir / "test.json", lambda d: d.__setitem__("../escape.wav", ["hum"]))
    _raises(task_dir, "file-name", "test.json")


def test_clip_in_two_splits(task_copy: CopyTask) -> None:
    task_dir = task_copy(MIXTURES)
    first = _first_file(task_dir, "train")
    _edit_json(task_dir / "test.json", lambda d: d.__setitem__(first, ["hum"]))
    assert "train.json" in _raises(task_dir, "split-overlap", "test.json").message


# ---------------------------------------------------------------------------------------------
# Audio


def test_wav_missing(task_copy: CopyTask) -> None:
    task_dir = task_copy(TONES)
    first = _first_file(task_dir, "fold03")
    (task_dir / "16000" / "fold03" / first).unlink()
    _raises(task_dir, "wav-missing", f"16000/fold03/{first}")


def test_wav_unreadable(task_copy: CopyTask) -> None:
    task_dir = task_copy(TONES)
    first = _first_file(task_dir, "fold00")
    (task_dir / "16000" / "fold00" / first).write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk")
    _raises(task_dir, "wav-unreadable", f"16000/fold00/{first}")


def test_wav_wrong_sample_rate(task_copy: CopyTask) -> None:
    task_dir = task_copy(TONES)
    first = _first_file(task_dir, "fold00")
    sf.write(str(task_dir / "16000" / "fold00" / first), np.zeros(22050, np.int16), 22050)
    assert "22050 Hz" in _raises(task_dir, "sample-rate", f"16000/fold00/{first}").message


def test_wav_stereo(task_copy: CopyTask) -> None:
    task_dir = task_copy(TONES)
    first = _first_file(task_dir, "fold01")
    sf.write(str(task_dir / "16000" / "fold01" / first), np.zeros((16000, 2), np.int16), 16000)
    _raises(task_dir, "channels", f"16000/fold01/{first}")


def test_wav_wrong_length(task_copy: CopyTask) -> None:
    task_dir = task_copy(TONES)
    first = _first_file(task_dir, "fold02")
    sf.write(str(task_dir / "16000" / "fold02" / first), np.zeros(15000, np.int16), 16000)
    error = _raises(task_dir, "length", f"16000/fold02/{first}")
    assert "15000 samples" in error.message and "16000 samples" in error.message


def test_length_within_one_sample_is_accepted(task_copy: CopyTask) -> None:
    task_dir = task_copy(TONES)
    first = _first_file(task_dir, "fold02")
    sf.write(str(task_dir / "16000" / "fold02" / first), np.zeros(16001, np.int16), 16000)
    check_task(task_dir, [16000])


def test_truncated_wav_fails_the_length_check(task_copy: CopyTask) -> None:
    task_dir = task_copy(TONES)
    first = _first_file(task_dir, "fold00")
    path = task_dir / "16000" / "fold00" / first
    path.write_bytes(path.read_bytes()[:20000])
    _raises(task_dir, "length", f"16000/fold00/{first}")


def test_variable_length_task_skips_the_length_check(synth_tasks: Path) -> None:
    task = read_task(synth_tasks / VARLEN)
    summary = check_audio(task, 16000)
    lengths = {n for split in summary.lengths.values() for n in split.values()}
    assert len(lengths) > 1


def test_missing_sample_rate_folder(synth_tasks: Path) -> None:
    with pytest.raises(TaskError) as caught:
        check_task(synth_tasks / TONES, [44100])
    assert caught.value.check == "sample-rate-dir"
    assert "[16000]" in caught.value.message


def test_the_workers_missing_value_strings_are_those_pandas_reads_as_missing() -> None:
    """The sandboxed worker cannot import pandas, so hear/tasks.py lists the strings pandas
    reads as NaN; trusted code (evaluation/embeddings.py) reads with pandas itself."""
    import io

    import pandas as pd

    from bot.hear.tasks import PANDAS_NA_STRINGS

    labels = sorted(PANDAS_NA_STRINGS)
    text = "idx,label\n" + "".join(f"{i},{label}\n" for i, label in enumerate(labels))
    assert pd.read_csv(io.StringIO(text))["label"].isna().all()
    assert not pd.read_csv(io.StringIO("idx,label\n0,Nan\n1,none\n"))["label"].isna().any()
