"""bot.hear.embed: the per-file layout, labels per frame, batching, resumption, errors."""

from __future__ import annotations

import dataclasses
import json
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from bot.hear import api, embed, synth
from bot.hear.tasks import Event, TaskError, read_task

from .helpers import EVENTS, MIXTURES, TONES, VARLEN, worker_env

pytestmark = pytest.mark.usefixtures("module_path")


@pytest.fixture(scope="module")
def example_model(module_path: None) -> api.HearModel:
    return api.load("hear_example_model", device="cpu")


def _outputs(out_task: Path, split: str, file: str) -> tuple[np.ndarray, object, object]:
    stem = out_task / split / file
    emb = np.load(f"{stem}.embedding.npy", allow_pickle=False)
    labels = json.loads(Path(f"{stem}.target-labels.json").read_text())
    ts_path = Path(f"{stem}.timestamps.json")
    timestamps = json.loads(ts_path.read_text()) if ts_path.exists() else None
    return emb, labels, timestamps


# ---------------------------------------------------------------------------------------------
# Labels per frame (the kit's IntervalTree rule)


def test_frame_labels_interval_rule() -> None:
    events = [Event("a", 100.0, 200.0), Event("b", 150.0, 150.0)]
    stamps = [99.999, 100.0, 150.0, 150.00005, 150.0001, 200.0, 200.00009, 200.0001, 250.0]
    assert embed.frame_labels(events, stamps) == [
        [],
        ["a"],
        ["a", "b"],  # a zero-length event still marks the frame at its time
        ["a", "b"],  # end + 0.0001 is open: 150.00005 < 150.0001
        ["a"],
        ["a"],  # the end itself is inside
        ["a"],
        [],  # end + 0.0001 is excluded (half-open, as IntervalTree queries are)
        [],
    ]


def test_frame_labels_duplicates_and_overlaps() -> None:
    same = Event("a", 0.0, 100.0)
    events = [same, same, Event("a", 50.0, 150.0), Event(3, 0.0, 10.0)]
    labels = embed.frame_labels(events, np.array([0.0, 60.0, 120.0], dtype=np.float32))
    assert labels == [["a", 3], ["a", "a"], ["a"]]  # identical events count once


def test_frame_labels_use_float64_of_the_timestamp() -> None:
    # 100.1 as float32 is 100.09999847..., which is before an event starting at 100.1 ms.
    ts = np.array([100.1], dtype=np.float32)
    assert embed.frame_labels([Event("x", 100.1, 200.0)], ts.tolist()) == [[]]


# ---------------------------------------------------------------------------------------------
# Batch sizes and batches


def test_estimated_batch_size() -> None:
    assert embed.estimated_batch_size(1.0, 44100) == 30  # spoken_digit
    assert embed.estimated_batch_size(120.0, 16000) == 1  # DCASE
    assert embed.estimated_batch_size(120.0, 48000) == 1
    assert embed.estimated_batch_size(4.0, 16000) == 21
    assert embed.estimated_batch_size(1.0, 16000) == 84
    assert embed.estimated_batch_size(0.1, 16000) == 256  # bounded
    assert embed.estimated_batch_size(0.1, 16000, max_batch_size=8) == 8
    assert embed.estimated_batch_size(None, 16000) == 1  # variable length


def test_batches_keep_order_and_never_mix_lengths(synth_tasks: Path) -> None:
    task = read_task(synth_tasks / VARLEN)
    batches = list(embed.iter_batches(task, 16000, "train", 3))
    files = [item.file for batch in batches for item in batch.items]
    assert files == [item.file for item in task.splits["train"]]
    for batch in batches:
        assert batch.audio.dtype == np.float32 and batch.audio.shape[0] == len(batch.items)
        assert len(batch.items) <= 3


# ---------------------------------------------------------------------------------------------
# Layout


def test_scene_layout(synth_tasks: Path, tmp_path: Path, example_model: api.HearModel) -> None:
    summary = embed.embed_task(example_model, synth_tasks / TONES, tmp_path, progress=False)
    out_task = tmp_path / TONES
    for name in (
        "task_metadata.json",
        "labelvocabulary.csv",
        *(f"fold0{i}.json" for i in range(4)),
    ):
        assert (out_task / name).read_bytes() == (synth_tasks / TONES / name).read_bytes()
    task = read_task(synth_tasks / TONES)
    for split, items in task.splits.items():
        for item in items:
            emb, labels, timestamps = _outputs(out_task, split, item.file)
            assert emb.dtype == np.float32 and emb.shape == (128,)
            assert labels == list(item.labels) and isinstance(labels[0], int)
            assert timestamps is None
    assert summary["skipped"] is False and summary["clips"] == 40
    assert summary["batch_size"] == 84 and summary["sample_rate"] == 16000
    marker = json.loads((out_task / embed.MARKER).read_text())
    assert marker["model"]["module"] == "hear_example_model"
    assert marker["splits"]["fold00"] == {"clips": 10, "kept_from_earlier_run": 0}
    assert marker["order"] == "random, splits mixed" and marker["canary_clips"] == 0
    assert marker["resumed"] is False
    assert not list(out_task.rglob("*.pkl")) and not list(out_task.rglob("*.tmp"))


def test_event_layout(synth_tasks: Path, tmp_path: Path, example_model: api.HearModel) -> None:
    summary = embed.embed_task(example_model, synth_tasks / EVENTS, tmp_path, progress=False)
    task = read_task(synth_tasks / EVENTS)
    item = task.splits["test"][0]
    emb, labels, timestamps = _outputs(tmp_path / EVENTS, "test", item.file)
    assert emb.dtype == np.float32 and emb.shape == (81, 128)
    assert timestamps == [50.0 * k for k in range(81)]
    assert labels == embed.frame_labels(item.events, timestamps)
    active = [t for t, frame in zip(timestamps, labels, strict=True) if frame]
    first = min(e.start for e in item.events)
    assert active and min(active) >= first
    assert summary["splits"]["train"]["frames"] == 14 * 81


def test_variable_length_task(synth_tasks: Path, tmp_path: Path, example_model) -> None:
    summary = embed.embed_task(example_model, synth_tasks / VARLEN, tmp_path, progress=False)
    assert summary["batch_size"] == 1
    task = read_task(synth_tasks / VARLEN)
    for item in task.splits["valid"]:
        emb, labels, _ = _outputs(tmp_path / VARLEN, "valid", item.file)
        assert emb.shape == (128,) and labels == list(item.labels)


def test_embeddings_are_deterministic(synth_tasks: Path, tmp_path: Path, example_model) -> None:
    for out in ("a", "b"):
        embed.embed_task(example_model, synth_tasks / MIXTURES, tmp_path / out, progress=False)
    for path in (tmp_path / "a" / MIXTURES).rglob("*.npy"):
        twin = tmp_path / "b" / path.relative_to(tmp_path / "a")
        assert path.read_bytes() == twin.read_bytes()


def test_embed_tasks_selects_and_sorts(synth_tasks: Path, tmp_path: Path, example_model) -> None:
    results = embed.embed_tasks(
        example_model, synth_tasks, tmp_path, [EVENTS, TONES], progress=False
    )
    assert [r["task"] for r in results] == [EVENTS, TONES]
    with pytest.raises(TaskError, match="no task"):
        embed.embed_tasks(example_model, synth_tasks, tmp_path, ["nope"], progress=False)


def test_progress_lines_without_tqdm(synth_tasks, tmp_path, example_model, monkeypatch, capsys):
    import builtins

    real_import = builtins.__import__

    def no_tqdm(name, *args, **kwargs):
        if name == "tqdm":
            raise ImportError("no tqdm here")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_tqdm)
    embed.embed_task(example_model, synth_tasks / TONES, tmp_path, progress=True)
    err = capsys.readouterr().err
    assert f"{TONES}: 40/40 clips," in err and "clips/s" in err


# ---------------------------------------------------------------------------------------------
# Resumption


def test_finished_task_is_skipped(synth_tasks: Path, tmp_path: Path, example_model) -> None:
    embed.embed_task(example_model, synth_tasks / TONES, tmp_path, progress=False)
    out_task = tmp_path / TONES
    sentinel = out_task / "fold00" / "sentinel"
    sentinel.write_text("kept")
    before = {p: p.stat().st_mtime_ns for p in out_task.rglob("*.npy")}
    again = embed.embed_task(example_model, synth_tasks / TONES, tmp_path, progress=False)
    assert again["skipped"] is True and again["clips"] == 40
    assert sentinel.exists()
    assert {p: p.stat().st_mtime_ns for p in out_task.rglob("*.npy")} == before


def test_half_done_task_is_redone(synth_tasks: Path, tmp_path: Path, example_model) -> None:
    out_task = tmp_path / EVENTS
    (out_task / "train").mkdir(parents=True)
    (out_task / "train" / "leftover.wav.embedding.npy").write_bytes(b"half-written")
    result = embed.embed_task(example_model, synth_tasks / EVENTS, tmp_path, progress=False)
    assert result["skipped"] is False
    assert not (out_task / "train" / "leftover.wav.embedding.npy").exists()
    assert (out_task / embed.MARKER).is_file()


def test_killed_run_leaves_no_marker_and_resumes(synth_tasks, tmp_path, example_model) -> None:
    calls = {"n": 0}
    original = example_model.scene_embeddings

    def dies_on_second_batch(audio):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt  # what a kill looks like from inside
        return original(audio)

    example_model.scene_embeddings = dies_on_second_batch  # type: ignore[method-assign]
    try:
        with pytest.raises(KeyboardInterrupt):
            embed.embed_task(
                example_model, synth_tasks / TONES, tmp_path, max_batch_size=10, progress=False
            )
    finally:
        del example_model.scene_embeddings
    out_task = tmp_path / TONES
    assert not (out_task / embed.MARKER).exists()
    first = sorted(out_task.glob("*/*.npy"))
    assert first  # the first batch was written
    written = {path: path.stat().st_mtime_ns for path in first}
    result = embed.embed_task(
        example_model, synth_tasks / TONES, tmp_path, max_batch_size=10, progress=False
    )
    assert result["skipped"] is False and result["resumed"] is True
    assert (out_task / embed.MARKER).is_file()
    assert len(list(out_task.rglob("*.embedding.npy"))) == 40
    kept = sum(split["kept_from_earlier_run"] for split in result["splits"].values())
    assert kept == len(first)
    assert {path: path.stat().st_mtime_ns for path in first} == written  # kept, not redone


def test_marker_of_another_model_is_an_error(synth_tasks: Path, tmp_path: Path, example_model):
    embed.embed_task(example_model, synth_tasks / TONES, tmp_path, progress=False)
    other = api.load("hear_example_model", options={"scale": 2.0}, device="cpu")
    with pytest.raises(embed.EmbedError) as caught:
        embed.embed_task(other, synth_tasks / TONES, tmp_path, progress=False)
    assert caught.value.check == "output-dir" and "another model" in caught.value.message


def test_output_path_that_is_a_file(synth_tasks: Path, tmp_path: Path, example_model) -> None:
    (tmp_path / TONES).write_text("not a directory")
    with pytest.raises(embed.EmbedError) as caught:
        embed.embed_task(example_model, synth_tasks / TONES, tmp_path, progress=False)
    assert caught.value.check == "output-dir"
    assert (tmp_path / TONES).read_text() == "not a directory"


def test_corrupt_marker_means_redo(synth_tasks: Path, tmp_path: Path, example_model) -> None:
    embed.embed_task(example_model, synth_tasks / TONES, tmp_path, progress=False)
    (tmp_path / TONES / embed.MARKER).write_text("{not json")
    result = embed.embed_task(example_model, synth_tasks / TONES, tmp_path, progress=False)
    assert result["skipped"] is False


def test_weights_hash_is_part_of_the_identity(tmp_path: Path, example_model) -> None:
    import hear_example_model

    weights = tmp_path / "w.json"
    hear_example_model.save_weights(example_model.model, str(weights))
    model = api.load("hear_example_model", str(weights), device="cpu")
    identity = embed.model_identity(model)
    assert identity["weights"] == str(weights) and len(identity["weights_sha256"]) == 64


# ---------------------------------------------------------------------------------------------
# Errors name the task, the file and the check


def _loud_task(task_copy) -> tuple[Path, str]:
    """A copy of the tones task where one clip is loud DC (hear_fake_nan poisons it)."""
    task_dir = task_copy(TONES)
    files = list(json.loads((task_dir / "fold01.json").read_text()))
    loud = files[3]
    sf.write(str(task_dir / "16000" / "fold01" / loud), np.full(16000, 25000, np.int16), 16000)
    return task_dir, loud


def test_nan_names_the_clip(task_copy, tmp_path: Path) -> None:
    task_dir, loud = _loud_task(task_copy)
    model = api.load("hear_fake_nan", device="cpu")
    with pytest.raises(embed.EmbedError) as caught:
        embed.embed_task(model, task_dir, tmp_path / "out", progress=False)
    error = caught.value
    assert (error.task, error.file, error.check) == (TONES, f"fold01/{loud}", "finite")
    assert not (tmp_path / "out" / TONES / embed.MARKER).exists()


def test_what_was_embedded_before_a_failing_batch_is_written(
    task_copy, tmp_path: Path, monkeypatch
) -> None:
    # Files are written by a background thread, here slowly, so that writes are still queued
    # when the model fails: the error must not lose the batches before it.
    task_dir, loud = _loud_task(task_copy)
    model = api.load("hear_fake_nan", device="cpu")
    write = embed._write_outputs
    submitted: list[tuple[str, str]] = []

    def slow_write(task, out_task, batch, *args: object) -> int:
        submitted.extend((clip.split, clip.item.file) for clip in batch.clips)
        time.sleep(0.05)
        return write(task, out_task, batch, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(embed, "_write_outputs", slow_write)
    with pytest.raises(embed.EmbedError) as caught:
        embed.embed_task(model, task_dir, tmp_path / "out", max_batch_size=1, progress=False)
    assert caught.value.file == f"fold01/{loud}"
    out = tmp_path / "out" / TONES
    written = sorted((p.parent.name, p.name[: -len(".target-labels.json")])
                     for p in out.glob("*/*.target-labels.json"))  # fmt: skip
    # Every batch embedded before the failing one was written, and nothing else.
    assert written == sorted(submitted)
    assert not (out / "fold01" / f"{loud}.embedding.npy").exists()


def test_a_failed_write_stops_the_run(synth_tasks, tmp_path: Path, example_model, monkeypatch):
    written = []

    def failing(task, out_split, batch, embeddings, timestamps) -> int:
        if written:
            raise OSError(28, "No space left on device")
        written.append(batch)
        return len(batch.items)

    monkeypatch.setattr(embed, "_write_outputs", failing)
    with pytest.raises(OSError, match="No space left"):
        embed.embed_task(example_model, synth_tasks / TONES, tmp_path, max_batch_size=2,
                         progress=False)  # fmt: skip
    assert not (tmp_path / TONES / embed.MARKER).exists()


def test_ordered_writer_runs_jobs_in_order_behind_the_caller() -> None:
    ran: list[tuple[int, str]] = []
    release = threading.Event()

    def job(n: int) -> int:
        if n == 0:
            release.wait(5)
        ran.append((n, threading.current_thread().name))
        return n

    with embed.OrderedWriter(depth=3) as writer:
        for n in range(3):
            writer.submit(job, n)  # returns at once: job 0 is still waiting
        assert ran == []
        release.set()
        assert writer.finish() == 0 + 1 + 2
    assert [n for n, _ in ran] == [0, 1, 2]
    assert all(name.startswith("hearbot-writer") for _, name in ran)


def test_ordered_writer_raises_a_job_error_and_waits_on_exit() -> None:
    done: list[int] = []

    def job(n: int) -> int:
        if n == 1:
            raise OSError("disk full")
        done.append(n)
        return 1

    writer = embed.OrderedWriter(depth=1)
    with pytest.raises(OSError, match="disk full"), writer:
        writer.submit(job, 0)
        writer.submit(job, 1)
        writer.submit(job, 2)  # waits for job 1, whose error is raised here
    assert done == [0]
    release = threading.Event()

    def late_job() -> int:
        release.wait(5)
        done.append(9)
        return 1

    threading.Timer(0.2, release.set).start()
    with pytest.raises(RuntimeError, match="Boom"), embed.OrderedWriter(depth=4) as writer:
        writer.submit(late_job)
        raise RuntimeError("Boom")
    assert done == [0, 9]  # the job submitted before the error was waited for


def test_wrong_dtype_names_the_batch(synth_tasks: Path, tmp_path: Path) -> None:
    model = api.load("hear_fake_dtype", device="cpu")
    with pytest.raises(embed.EmbedError) as caught:
        embed.embed_task(model, synth_tasks / EVENTS, tmp_path, progress=False)
    task = read_task(synth_tasks / EVENTS)
    clips = {f"{split}/{item.file}" for split, items in task.splits.items() for item in items}
    assert caught.value.check == "dtype"
    assert caught.value.file in clips  # every clip fails alone: the first one fed is named
    assert "float64" in str(caught.value)


def test_model_raising_is_reported(synth_tasks: Path, tmp_path: Path) -> None:
    model = api.load("hear_fake_call_raises", device="cpu")
    with pytest.raises(embed.EmbedError) as caught:
        embed.embed_task(model, synth_tasks / EVENTS, tmp_path, progress=False)
    assert caught.value.check == "timestamp_embeddings"
    assert "ValueError: cannot frame this audio" in caught.value.message


def test_wrong_sample_rate_task(spoken_digit: Path, tmp_path: Path, example_model) -> None:
    with pytest.raises(TaskError) as caught:
        embed.embed_task(example_model, spoken_digit, tmp_path, progress=False)
    assert caught.value.check == "sample-rate-dir" and "44100" in caught.value.message


def test_broken_task_is_refused_before_embedding(task_copy, tmp_path: Path, example_model) -> None:
    task_dir = task_copy(MIXTURES)
    first = next(iter(json.loads((task_dir / "test.json").read_text())))
    (task_dir / "16000" / "test" / first).unlink()
    with pytest.raises(TaskError) as caught:
        embed.embed_task(example_model, task_dir, tmp_path / "out", progress=False)
    assert caught.value.check == "wav-missing" and first in caught.value.file
    assert not (tmp_path / "out").exists()


# ---------------------------------------------------------------------------------------------
# The real spoken_digit task


def test_spoken_digit_end_to_end(spoken_digit: Path, tmp_path: Path) -> None:
    model = api.load("hear_example_model", options={"sample_rate": 44100}, device="cpu")
    summary = embed.embed_task(model, spoken_digit, tmp_path, progress=False)
    out_task = tmp_path / spoken_digit.name
    assert summary["clips"] == 100 and summary["batch_size"] == 30
    task = read_task(spoken_digit)
    for split, items in task.splits.items():
        assert (out_task / f"{split}.json").read_bytes() == (
            spoken_digit / f"{split}.json"
        ).read_bytes()
        for item in items:
            emb, labels, _ = _outputs(out_task, split, item.file)
            assert emb.shape == (128,) and emb.dtype == np.float32 and np.isfinite(emb).all()
            assert labels == list(item.labels)
    assert len(list(out_task.rglob("*.embedding.npy"))) == 100


@pytest.mark.numeric
def test_a_run_killed_mid_split_resumes_to_the_same_files(
    synth_tasks: Path, tmp_path: Path
) -> None:
    """SIGKILL a real `python -m bot.hear.worker embed` mid-split, run it again: the clips done
    before the kill are kept, the rest are embedded, and every file equals a clean run's."""

    def worker(out: Path, slow: str) -> subprocess.Popen[bytes]:
        command = [sys.executable, "-m", "bot.hear.worker", "embed", "hear_fake_slow"]
        command += ["--tasks-dir", str(synth_tasks), "--task", EVENTS, "--out", str(out)]
        command += ["--max-batch-size", "1", "--device", "cpu", "--no-progress"]
        env = {**worker_env(), "HEAR_FAKE_SLOW_S": slow}
        return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)

    clean = tmp_path / "clean"
    assert worker(clean, "0").wait(timeout=120) == 0
    killed = tmp_path / "killed"
    process = worker(killed, "0.2")
    split = killed / EVENTS / "train"
    deadline = time.monotonic() + 60
    while len(list(split.glob("*.target-labels.json"))) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    assert not (killed / EVENTS / embed.MARKER).exists()
    kept = len(list(split.glob("*.target-labels.json")))
    assert kept >= 3

    assert worker(killed, "0").wait(timeout=120) == 0

    marker = json.loads((killed / EVENTS / embed.MARKER).read_text())
    assert marker["resumed"] is True
    assert marker["splits"]["train"]["kept_from_earlier_run"] >= kept
    produced = sorted(p.relative_to(killed) for p in killed.rglob("*") if p.is_file())
    expected = sorted(p.relative_to(clean) for p in clean.rglob("*") if p.is_file())
    assert produced == expected
    for rel in expected:
        if rel.name not in (embed.MARKER,):
            assert (killed / rel).read_bytes() == (clean / rel).read_bytes(), rel


@pytest.mark.numeric
@pytest.mark.parametrize("task_name", [TONES, EVENTS])
def test_a_batch_that_runs_out_of_memory_is_halved_not_failed(
    synth_tasks: Path, tmp_path: Path, task_name: str
) -> None:
    fits = api.load("hear_fake_base", device="cpu")
    oom = api.load("hear_fake_oom", device="cpu")
    embed.embed_task(fits, synth_tasks / task_name, tmp_path / "fits", progress=False)
    result = embed.embed_task(oom, synth_tasks / task_name, tmp_path / "oom", progress=False)
    assert result["batch_size"] > 3  # so every batch had to be halved
    expected = sorted((tmp_path / "fits").rglob("*.embedding.npy"))
    assert len(expected) == result["clips"]
    for path in expected:
        twin = tmp_path / "oom" / path.relative_to(tmp_path / "fits")
        assert np.array_equal(np.load(twin), np.load(path)), path


@pytest.mark.numeric
def test_variable_length_clips_are_batched_by_exact_length(synth_tasks: Path, tmp_path: Path):
    task = read_task(synth_tasks / VARLEN)
    items = task.splits["train"]
    groups = list(embed.length_buckets(task, 16000, "train", items, 256))
    assert sorted(item.file for group in groups for item in group) == sorted(i.file for i in items)
    lengths = [
        {sf.info(str(task.wav_path(16000, "train", i.file))).frames for i in g} for g in groups
    ]
    assert all(len(one) == 1 for one in lengths)  # never two lengths in one batch
    assert len(groups) < len(items)  # fewer model calls than one clip at a time
    assert [min(one) for one in lengths] == sorted(min(one) for one in lengths)

    calls: list[int] = []
    model = api.load("hear_fake_base", device="cpu")
    original = model.scene_embeddings

    def counted(audio):
        calls.append(len(audio))
        return original(audio)

    model.scene_embeddings = counted  # type: ignore[method-assign]
    embed.embed_task(model, synth_tasks / VARLEN, tmp_path / "bucketed", progress=False)
    one_by_one = api.load("hear_fake_base", device="cpu")
    for split in task.metadata.splits:  # the kit's way: each clip alone
        for item in task.splits[split]:
            audio = sf.read(str(task.wav_path(16000, split, item.file)), dtype="float32")[0]
            alone = one_by_one.scene_embeddings(audio[None, :])[0]
            stored = np.load(tmp_path / "bucketed" / VARLEN / split / f"{item.file}.embedding.npy")
            assert np.array_equal(stored, alone), item.file
    assert len(calls) < sum(len(task.splits[s]) for s in task.metadata.splits)


# ---------------------------------------------------------------------------------------------
# Batches sized by the device's free memory (a fake device memory on the CPU)


class FakeMemory:
    """A device where a batch takes `per_clip` bytes per clip and `free` bytes are free."""

    def __init__(self, calls: list[int], per_clip: int, free: int) -> None:
        self.calls, self.per_clip, self.free = calls, per_clip, free

    def peak_of(self, call):
        result = call()
        return result, self.calls[-1] * self.per_clip

    def headroom(self) -> int:
        return self.free


def _recording(module: str, calls: list[int]) -> api.HearModel:
    model = api.load(module, device="cpu")
    original = model.scene_embeddings

    def recorded(audio):
        calls.append(len(audio))
        return original(audio)

    model.scene_embeddings = recorded  # type: ignore[method-assign]
    return model


@pytest.fixture(scope="module")
def long_clips(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Four folds of six 40 s clips: the kit's estimate is 2 clips per batch."""
    spec = dataclasses.replace(
        synth.SPECS["synth_tones"],
        task_name="long_tones",
        clips_per_split=(6, 6, 6, 6),
        sample_duration=40.0,
    )
    return synth.write_task(spec, tmp_path_factory.mktemp("long"), [16000], seed=0)


def test_batch_sizer_grows_to_the_free_memory_within_the_bounds() -> None:
    sizer = embed.BatchSizer(max_batch_size=64, memory=FakeMemory([10], 0, 0))
    assert sizer.measuring and sizer.size(40.0, 16000) == 2  # the kit's estimate until measured
    sizer.memory = FakeMemory([2], 0, 10_000)
    sizer.measured(peak_bytes=2_000, audio_seconds=80.0)  # 25 bytes per second of audio
    assert not sizer.measuring
    assert sizer.size(40.0, 16000) == 8  # 0.8 * 10_000 / (25 * 40)
    assert sizer.size(4.0, 16000) == 64  # capped at max_batch_size
    assert sizer.size(None, 16000) == 1  # variable length without a clip length: the kit's
    sizer.headroom_bytes = 10  # less free memory than one clip needs: never below the estimate
    assert sizer.size(40.0, 16000) == 2
    sizer.headroom_bytes = 10_000
    sizer.out_of_memory(8)
    assert sizer.size(40.0, 16000) == 4 and sizer.summary()["ceiling_after_out_of_memory"] == 4
    sizer.out_of_memory(16)  # a larger batch formed earlier never raises the ceiling
    assert sizer.size(40.0, 16000) == 4


def test_a_model_whose_memory_torch_cannot_see_keeps_the_estimate() -> None:
    sizer = embed.BatchSizer(max_batch_size=64, memory=FakeMemory([2], 0, 10_000))
    sizer.measured(peak_bytes=0, audio_seconds=80.0)
    assert not sizer.measuring and sizer.size(40.0, 16000) == 2
    assert sizer.summary()["sized_by_device_memory"] is False


@pytest.mark.numeric
def test_batches_grow_to_the_device_memory_and_embeddings_do_not_change(
    long_clips: Path, tmp_path: Path
) -> None:
    plain_calls: list[int] = []
    plain = embed.embed_task(
        _recording("hear_fake_base", plain_calls), long_clips, tmp_path / "plain", progress=False
    )
    assert set(plain_calls) == {2} and plain["batch_sizing"]["sized_by_device_memory"] is False
    calls: list[int] = []
    # 40 s clips of 1,000 bytes each: 25 bytes per audio second; 0.8 * 5,000 bytes hold 4.
    memory = FakeMemory(calls, per_clip=1_000, free=5_000)
    model = _recording("hear_fake_base", calls)
    sized = embed.embed_task(model, long_clips, tmp_path / "sized", progress=False, memory=memory)
    assert calls[0] == 2 and max(calls) == 4 and calls.count(4) >= 3  # 4 + 2 in later folds
    assert len(calls) < len(plain_calls)
    assert sized["batch_size"] == 2  # the estimate, as the partial marker records it
    assert sized["batch_sizing"] == {
        "sized_by_device_memory": True,
        "bytes_per_audio_second": 25,
        "headroom_bytes": 5_000,
        "memory_fraction": embed.MEMORY_FRACTION,
        "max_batch_size": embed.DEFAULT_MAX_BATCH_SIZE,
        "largest_batch": 4,
        "ceiling_after_out_of_memory": None,
    }
    for path in sorted((tmp_path / "plain").rglob("*.embedding.npy")):
        twin = tmp_path / "sized" / path.relative_to(tmp_path / "plain")
        assert np.array_equal(np.load(twin), np.load(path)), path


@pytest.mark.numeric
def test_a_grown_batch_that_runs_out_of_memory_caps_the_later_ones(
    long_clips: Path, tmp_path: Path
) -> None:
    calls: list[int] = []
    memory = FakeMemory(calls, per_clip=1, free=10**12)  # "room for everything"
    model = _recording("hear_fake_oom", calls)  # but more than 3 clips "run out of memory"
    formed: list[int] = []  # the batches the reader formed, in order
    batches = embed._batches

    def recorded(*args):
        for batch in batches(*args):
            formed.append(len(batch.clips))
            yield batch

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(embed, "_batches", recorded)
        result = embed.embed_task(
            model, long_clips, tmp_path / "oom", progress=False, memory=memory
        )
    failed = [index for index, n in enumerate(formed) if n > 3]
    # Only batches the reader had formed before the first failure may still be too large.
    assert len(failed) <= 1 + embed.PREFETCH_BATCHES
    assert all(n <= 3 for n in formed[failed[0] + 1 + embed.PREFETCH_BATCHES :])
    assert result["batch_sizing"]["ceiling_after_out_of_memory"] <= 3
    assert result["clips"] == 24
    fits_calls: list[int] = []
    embed.embed_task(
        _recording("hear_fake_base", fits_calls), long_clips, tmp_path / "fits", progress=False
    )
    for path in sorted((tmp_path / "fits").rglob("*.embedding.npy")):
        twin = tmp_path / "oom" / path.relative_to(tmp_path / "fits")
        assert np.array_equal(np.load(twin), np.load(path)), path
