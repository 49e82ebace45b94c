"""bot.hear.synth: deterministic, small, valid HEAR tasks with the published tasks' keys."""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import pytest
import soundfile as sf

from bot.hear import synth
from bot.hear.tasks import check_task, read_task

from .helpers import EVENTS, MIXTURES, TONES

# Keys of spoken_digit's task_metadata.json that every hear-preprocess task has.
COMMON_KEYS = {
    "task_name",
    "version",
    "embedding_type",
    "prediction_type",
    "split_mode",
    "sample_duration",
    "evaluation",
    "default_mode",
    "tmp_dir",
    "mode",
    "splits",
}


def _digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_same_seed_same_bytes(tmp_path: Path) -> None:
    synth.write_tasks(tmp_path / "a", [16000], seed=3)
    synth.write_tasks(tmp_path / "b", [16000], seed=3)
    synth.write_tasks(tmp_path / "c", [16000], seed=4)
    a, b, c = (_digest(tmp_path / x) for x in "abc")
    assert a == b
    assert a.keys() == c.keys() and a != c


def test_default_layout_size_and_speed(tmp_path: Path) -> None:
    started = time.monotonic()
    paths = synth.write_tasks(tmp_path, [16000, 22050])
    assert time.monotonic() - started < 10
    assert [p.name for p in paths] == [TONES, MIXTURES, EVENTS]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([TONES, MIXTURES, EVENTS])
    size = sum(p.stat().st_size for p in tmp_path.rglob("*.wav") if "/16000/" in str(p))
    assert size < 8_000_000
    for path in paths:
        task, audio = check_task(path, decode=True)
        assert [a.sample_rate for a in audio] == [16000, 22050]
        assert audio[0].files == audio[1].files
        duration = task.metadata.sample_duration
        assert duration is not None and 1.0 <= duration <= 4.0
        info = sf.info(str(next((path / "22050").rglob("*.wav"))))
        assert (info.subtype, info.channels) == ("PCM_16", 1)


def test_metadata_matches_the_published_tasks(synth_tasks: Path, spoken_digit: Path) -> None:
    real = set(json.loads((spoken_digit / "task_metadata.json").read_text()))
    assert real >= COMMON_KEYS
    for name in (TONES, MIXTURES, EVENTS):
        meta = json.loads((synth_tasks / name / "task_metadata.json").read_text())
        assert set(meta) >= COMMON_KEYS
        assert name == f"{meta['task_name']}-{meta['version']}-{meta['mode']}"


def test_the_three_task_kinds(synth_tasks: Path) -> None:
    tones = read_task(synth_tasks / TONES).metadata
    assert (tones.embedding_type, tones.prediction_type, tones.split_mode) == (
        "scene",
        "multiclass",
        "new_split_kfold",
    )
    assert tones.splits == ("fold00", "fold01", "fold02", "fold03")
    assert tones.evaluation[0] == "top1_acc" and tones.raw["nfolds"] == 4
    mixtures = read_task(synth_tasks / MIXTURES)
    assert mixtures.metadata.prediction_type == "multilabel"
    assert mixtures.metadata.split_mode == "trainvaltest"
    assert mixtures.metadata.evaluation[0] == "mAP"
    sizes = {len(item.labels) for items in mixtures.splits.values() for item in items}
    assert min(sizes) >= 1 and max(sizes) > 1
    events = read_task(synth_tasks / EVENTS)
    assert events.metadata.embedding_type == "event"
    assert events.metadata.evaluation == ("event_onset_200ms_fms", "segment_1s_er")
    assert events.metadata.evaluation_params == {
        "event_postprocessing_grid": {"median_filter_ms": [250], "min_duration": [125, 250]}
    }
    for items in events.splits.values():
        for item in items:
            assert 1 <= len(item.events) <= 4
            for event in item.events:
                assert 0 < event.start < event.end < 4000
                assert 300 <= event.end - event.start <= 800


def test_balanced_classes_per_fold(synth_tasks: Path) -> None:
    task = read_task(synth_tasks / TONES)
    for items in task.splits.values():
        counts = [sum(item.labels == (c,) for item in items) for c in range(5)]
        assert counts == [2] * 5


def test_vocabulary_sorted(synth_tasks: Path) -> None:
    for name in (MIXTURES, EVENTS):
        labels = read_task(synth_tasks / name).vocabulary.labels
        assert list(labels) == sorted(labels)


def test_labels_do_not_depend_on_the_sample_rate(tmp_path: Path) -> None:
    synth.write_tasks(tmp_path / "a", [16000], tasks=["synth_events"])
    synth.write_tasks(tmp_path / "b", [48000], tasks=["synth_events"])
    for split in ("train", "valid", "test"):
        a = (tmp_path / "a" / EVENTS / f"{split}.json").read_bytes()
        assert a == (tmp_path / "b" / EVENTS / f"{split}.json").read_bytes()


def test_rewrite_replaces_an_earlier_copy(tmp_path: Path) -> None:
    synth.write_tasks(tmp_path, [16000, 44100], tasks=["synth_tones"])
    synth.write_tasks(tmp_path, [16000], tasks=["synth_tones"])
    assert sorted(p.name for p in (tmp_path / TONES).iterdir() if p.is_dir()) == ["16000"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_refuses_to_replace_a_non_task(tmp_path: Path) -> None:
    (tmp_path / TONES).mkdir()
    with pytest.raises(FileExistsError):
        synth.write_tasks(tmp_path, [16000], tasks=["synth_tones"])


def test_unknown_task_name(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="synth_tones"):
        synth.write_tasks(tmp_path, [16000], tasks=["synth_nope"])


def test_tasks_synth_says_which_column_each_task_stands_in_for(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.cli import main

    assert main(["tasks", "synth", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "stands in for ESC-50: hearbot verify --stand-in 'ESC-50=synth_tones-1.0.0-full'" in out
    assert "stands in for FSD50K" in out and "stands in for DCASE 2016" in out


def test_mislabelled_tones_sound_like_the_next_class() -> None:
    """synth_notes (the demo's ESC-50 stand-in): in every fold exactly `mislabelled` clips
    sound like the class after their label's, the rest like their own; the labels stay
    balanced."""
    import numpy as np

    spec = synth.SPECS["synth_notes"]
    rate = 16000
    for split, clips in synth.design_clips(spec, 0).items():
        assert len(clips) == 40
        wrong = 0
        for position, clip in enumerate(clips):
            audio = synth.render_clip(clip, rate, 0, position).astype(np.float64)
            spectrum = np.abs(np.fft.rfft(audio))
            peak = np.fft.rfftfreq(len(audio), 1 / rate)[int(np.argmax(spectrum))]
            label = clip.labels[0]
            own = synth.TONE_FUNDAMENTALS[label]
            following = synth.TONE_FUNDAMENTALS[(label + 1) % len(spec.labels)]
            if abs(peak - following) < 0.05 * following:
                wrong += 1
            else:
                assert abs(peak - own) < 0.05 * own, (split, clip.file, peak, own)
        assert wrong == spec.mislabelled == 4, split
        assert sorted(c.labels[0] for c in clips) == sorted(list(range(5)) * 8)
