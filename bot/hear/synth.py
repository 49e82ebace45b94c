"""Small synthetic HEAR tasks with learnable structure, for tests and dry runs of the verifier.

`write_tasks(out, sample_rates, seed)` writes, in the hear-preprocess layout, real PCM16 mono
WAV files and metadata with the same keys as the published HEAR tasks:

- ``synth_tones-1.0.0-full``: scene, multiclass, new_split_kfold (4 folds × 10 clips of 1 s).
  Five classes (integer labels 0-4, as spoken_digit has): harmonic tones whose fundamentals
  are a fifth apart, with per-clip jitter, random onset and background noise. top1_acc.
- ``synth_mixtures-1.0.0-full``: scene, multilabel, trainvaltest (20/8/8 clips of 2 s).
  Each clip mixes a non-empty subset of hum, beep, chirp and crackle. mAP, d_prime, aucroc.
- ``synth_events-1.0.0-full``: event, multilabel, trainvaltest (14/5/5 clips of 4 s) with
  2-4 bursts of beep, buzz or whistle (300-800 ms) at known times in ms, and the DCASE
  ``evaluation_params``. event_onset_200ms_fms, segment_1s_er.

``synth_varlen-1.0.0-full`` (not written by default) is a variable-length variant of
mixtures (sample_duration null; clips of 1, 1.5 or 2 s), like FSD50K.

Everything is drawn from ``numpy.random.default_rng`` seeded with (seed, task, clip), so the
labels do not depend on the sample rate and the same seed gives the same bytes. Every
requested sample rate gets its own folder, the signal rendered natively at that rate.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

GENERATOR_VERSION = 1
DEFAULT_SAMPLE_RATE = 16000
TONE_FUNDAMENTALS = (220.0, 330.0, 495.0, 742.5, 1113.75)
MIXTURE_LABELS = ("beep", "chirp", "crackle", "hum")
EVENT_LABELS = ("beep", "buzz", "whistle")
EVENT_SPAN_S = 4.0
DCASE_POSTPROCESSING = {"median_filter_ms": [250], "min_duration": [125, 250]}


@dataclass(frozen=True)
class SynthSpec:
    task_name: str
    kind: str  # "tones" | "mixtures" | "events"
    embedding_type: str
    prediction_type: str
    split_mode: str
    splits: tuple[str, ...]
    clips_per_split: tuple[int, ...]
    sample_duration: float | None
    evaluation: tuple[str, ...]
    labels: tuple[Any, ...]
    description: str
    lengths: tuple[float, ...] = ()  # variable-length tasks: the clip lengths drawn from
    mislabelled: int = 0
    """Tones: in every split, this many clips sound like the class after their label's (the
    label noise real data sets have): a good model scores the same just below 1 whatever its
    training seed."""
    extra_metadata: dict[str, Any] = field(default_factory=dict)
    version: str = "1.0.0"

    @property
    def dir_name(self) -> str:
        return f"{self.task_name}-{self.version}-full"


_TONES = SynthSpec(
    task_name="synth_tones",
    kind="tones",
    embedding_type="scene",
    prediction_type="multiclass",
    split_mode="new_split_kfold",
    splits=("fold00", "fold01", "fold02", "fold03"),
    clips_per_split=(10, 10, 10, 10),
    sample_duration=1.0,
    evaluation=("top1_acc",),
    labels=(0, 1, 2, 3, 4),
    description="harmonic tone classes, fundamentals a fifth apart from 220 Hz",
    extra_metadata={"nfolds": 4, "max_task_duration_by_fold": None},
)
SPECS: dict[str, SynthSpec] = {
    spec.task_name: spec
    for spec in (
        _TONES,
        replace(
            _TONES,
            task_name="synth_notes",
            clips_per_split=(40, 40, 40, 40),
            description="harmonic tone classes as synth_tones, 4 of every fold's 40 clips "
            "mislabelled (they sound like the next class)",
            mislabelled=4,
        ),
        SynthSpec(
            task_name="synth_mixtures",
            kind="mixtures",
            embedding_type="scene",
            prediction_type="multilabel",
            split_mode="trainvaltest",
            splits=("train", "valid", "test"),
            clips_per_split=(20, 8, 8),
            sample_duration=2.0,
            evaluation=("mAP", "d_prime", "aucroc"),
            labels=MIXTURE_LABELS,
            description="mixtures of hum, beep, chirp and crackle (non-empty subsets)",
            extra_metadata={
                "max_task_duration_by_split": {"train": None, "valid": None, "test": None},
                "use_scoring_for_early_stopping": True,
            },
        ),
        SynthSpec(
            task_name="synth_events",
            kind="events",
            embedding_type="event",
            prediction_type="multilabel",
            split_mode="trainvaltest",
            splits=("train", "valid", "test"),
            clips_per_split=(14, 5, 5),
            sample_duration=4.0,
            evaluation=("event_onset_200ms_fms", "segment_1s_er"),
            labels=EVENT_LABELS,
            description="beep, buzz and whistle bursts of 300-800 ms at known times",
            extra_metadata={
                "max_task_duration_by_split": {"train": None, "valid": None, "test": None},
                "evaluation_params": {"event_postprocessing_grid": DCASE_POSTPROCESSING},
            },
        ),
        SynthSpec(
            task_name="synth_varlen",
            kind="mixtures",
            embedding_type="scene",
            prediction_type="multilabel",
            split_mode="trainvaltest",
            splits=("train", "valid", "test"),
            clips_per_split=(8, 4, 4),
            sample_duration=None,
            evaluation=("mAP", "d_prime", "aucroc"),
            labels=MIXTURE_LABELS,
            description="variable-length mixtures (1, 1.5 or 2 s), like FSD50K",
            lengths=(1.0, 1.5, 2.0),
            extra_metadata={
                "max_task_duration_by_split": {"train": None, "valid": None, "test": None}
            },
        ),
    )
}
DEFAULT_TASKS = ("synth_tones", "synth_mixtures", "synth_events")
STANDS_IN_FOR = {"synth_tones": "ESC-50", "synth_mixtures": "FSD50K", "synth_events": "DCASE 2016"}
"""The leaderboard column each default task stands in for (same embedding and prediction type,
split mode and score): `hearbot verify --stand-in COLUMN=DIR`, or all of them with
`hearbot verify --stand-ins synth`."""


@dataclass(frozen=True)
class Clip:
    """One clip, independent of the sample rate: its labels and how to render it."""

    file: str
    duration: float
    labels: list[Any]  # scene: label list; event: [{"label", "start", "end"}] in ms
    render: Callable[[np.ndarray, int, np.random.Generator], np.ndarray]


# ---------------------------------------------------------------------------------------------
# Signals (t in seconds; every generator returns float64 samples)


def _fade(t: np.ndarray, start: float, stop: float, ramp: float = 0.01) -> np.ndarray:
    """1 inside [start, stop], raised-cosine ramps at both ends, 0 outside."""
    rise = np.clip((t - start) / ramp, 0.0, 1.0)
    fall = np.clip((stop - t) / ramp, 0.0, 1.0)
    return np.sin(0.5 * np.pi * np.minimum(rise, fall)) ** 2


def _harmonic(t: np.ndarray, f0: float, amplitudes: Sequence[float], phase: float) -> np.ndarray:
    out = np.zeros_like(t)
    for number, amplitude in enumerate(amplitudes, start=1):
        out += amplitude * np.sin(2 * np.pi * number * f0 * t + phase * number)
    return out


def _chirp(t: np.ndarray, f_start: float, f_stop: float, length: float) -> np.ndarray:
    local = np.mod(t, length)
    phase = 2 * np.pi * (f_start * local + 0.5 * (f_stop - f_start) / length * local**2)
    return np.sin(phase)


def _noise(t: np.ndarray, rng: np.random.Generator, level: float) -> np.ndarray:
    return level * rng.standard_normal(t.shape[0])


# ---------------------------------------------------------------------------------------------
# Clip designs: parameters are drawn from `params` (rate-independent); `render` gets the
# time axis, the sample rate and a per-rate generator (noise only).


def _tone_clip(
    file: str, label: int, duration: float, params: np.random.Generator, sounds: int
) -> Clip:
    """A tone of class `sounds` (its `label` unless the clip is mislabelled)."""
    f0 = TONE_FUNDAMENTALS[sounds] * (1 + params.uniform(-0.02, 0.02))
    onset = params.uniform(0.0, 0.2)
    stop = onset + params.uniform(0.5, 0.75)
    amplitude = params.uniform(0.3, 0.6)
    phase = params.uniform(0, 2 * np.pi)
    noise_level = params.uniform(0.005, 0.02)
    amplitudes = (1.0, 0.5, 0.33, 0.25)

    def render(t: np.ndarray, rate: int, rng: np.random.Generator) -> np.ndarray:
        tone = amplitude * _harmonic(t, f0, amplitudes, phase) / sum(amplitudes)
        return tone * _fade(t, onset, stop) + _noise(t, rng, noise_level)

    return Clip(file=file, duration=duration, labels=[label], render=render)


def _mixture_clip(file: str, duration: float, params: np.random.Generator) -> Clip:
    chosen: list[str] = []
    while not chosen:
        chosen = [label for label in MIXTURE_LABELS if params.uniform() < 0.5]
    gains = {label: params.uniform(0.15, 0.3) for label in MIXTURE_LABELS}
    hum_f0 = params.uniform(100.0, 120.0)
    beep_f = params.uniform(950.0, 1050.0)
    beep_period = params.uniform(0.25, 0.4)
    chirp_length = params.uniform(0.3, 0.5)
    crackle_rate = params.uniform(15.0, 30.0)
    noise_level = params.uniform(0.003, 0.01)

    def render(t: np.ndarray, rate: int, rng: np.random.Generator) -> np.ndarray:
        out = _noise(t, rng, noise_level)
        if "hum" in chosen:
            out += gains["hum"] * _harmonic(t, hum_f0, (1.0, 0.6, 0.3), 0.0) / 1.9
        if "beep" in chosen:
            gate = (np.mod(t, beep_period) < 0.5 * beep_period).astype(float)
            out += gains["beep"] * gate * np.sin(2 * np.pi * beep_f * t)
        if "chirp" in chosen:
            out += gains["chirp"] * _chirp(t, 2000.0, 4000.0, chirp_length)
        if "crackle" in chosen:
            clicks = rng.uniform(size=t.shape[0]) < crackle_rate / rate
            out += gains["crackle"] * 3 * clicks * rng.standard_normal(t.shape[0])
        return out

    return Clip(file=file, duration=duration, labels=sorted(chosen), render=render)


def _event_clip(file: str, duration: float, params: np.random.Generator) -> Clip:
    events: list[dict[str, Any]] = []
    busy: dict[str, list[tuple[float, float]]] = {label: [] for label in EVENT_LABELS}
    # 2 to 4 events per EVENT_SPAN_S of audio: long clips are as busy as short ones.
    for _ in range(int(params.integers(2, 5)) * max(1, round(duration / EVENT_SPAN_S))):
        label = EVENT_LABELS[int(params.integers(len(EVENT_LABELS)))]
        length = params.uniform(0.3, 0.8)
        start = params.uniform(0.05, duration - length - 0.05)
        stop = start + length
        if any(start < b + 0.1 and a < stop + 0.1 for a, b in busy[label]):
            continue  # the same label never overlaps itself
        busy[label].append((start, stop))
        events.append(
            {
                "label": label,
                "start": round(start * 1000.0, 1),
                "end": round(stop * 1000.0, 1),
            }
        )
    events.sort(key=lambda e: (e["start"], e["label"]))
    gains = [params.uniform(0.2, 0.35) for _ in events]
    noise_level = params.uniform(0.003, 0.01)

    def render(t: np.ndarray, rate: int, rng: np.random.Generator) -> np.ndarray:
        out = _noise(t, rng, noise_level)
        for index, event in enumerate(events):
            start, stop = event["start"] / 1000.0, event["end"] / 1000.0
            out += gains[index] * _fade(t, start, stop) * _event_signal(event["label"], t)
        return out

    return Clip(file=file, duration=duration, labels=events, render=render)


def _event_signal(label: str, t: np.ndarray) -> np.ndarray:
    if label == "beep":
        return np.sin(2 * np.pi * 880.0 * t)
    if label == "buzz":
        return _harmonic(t, 150.0, (1.0, 0.7, 0.5, 0.35, 0.25), 0.0) / 2.8
    return np.sin(2 * np.pi * 2500.0 * t + 3.0 * np.sin(2 * np.pi * 6.0 * t))


def design_clips(spec: SynthSpec, seed: int) -> dict[str, list[Clip]]:
    """The clips of every split, in file-name order (as hear-preprocess writes split JSON)."""
    task_key = zlib.crc32(spec.task_name.encode("utf-8"))
    clips: dict[str, list[Clip]] = {}
    index = 0
    for split_number, split in enumerate(spec.splits):
        count = spec.clips_per_split[split_number]
        split_clips = []
        classes = _class_order(spec, count, np.random.default_rng([seed, task_key, split_number]))
        for position in range(count):
            params = np.random.default_rng([seed, task_key, 1000 + index])
            duration = (
                spec.sample_duration
                if spec.sample_duration is not None
                else float(spec.lengths[int(params.integers(len(spec.lengths)))])
            )
            file = f"{spec.task_name}-{split}-{position:03d}.wav"
            if spec.kind == "tones":
                label = classes[position]
                sounds = (label + 1) % len(spec.labels) if position < spec.mislabelled else label
                split_clips.append(_tone_clip(file, label, duration, params, sounds))
            elif spec.kind == "mixtures":
                split_clips.append(_mixture_clip(file, duration, params))
            else:
                split_clips.append(_event_clip(file, duration, params))
            index += 1
        clips[split] = split_clips
    return clips


def _class_order(spec: SynthSpec, count: int, rng: np.random.Generator) -> list[int]:
    """Balanced classes in a shuffled order (multiclass tasks)."""
    n_classes = len(spec.labels)
    order = [i % n_classes for i in range(count)]
    rng.shuffle(order)
    return order


# ---------------------------------------------------------------------------------------------
# Writing


def metadata(spec: SynthSpec, seed: int) -> dict[str, Any]:
    """task_metadata.json, with the keys of a published HEAR task (hear-preprocess order)."""
    data: dict[str, Any] = {
        "task_name": spec.task_name,
        "version": spec.version,
        "embedding_type": spec.embedding_type,
        "prediction_type": spec.prediction_type,
        "split_mode": spec.split_mode,
        "sample_duration": spec.sample_duration,
        "evaluation": list(spec.evaluation),
        "download_urls": [],
        "default_mode": "full",
    }
    data.update(spec.extra_metadata)
    data.update(
        {
            "tmp_dir": "_workdir",
            "mode": "full",
            "splits": list(spec.splits),
            "synthetic": {
                "generator": "bot.hear.synth",
                "generator_version": GENERATOR_VERSION,
                "seed": seed,
                "description": spec.description,
            },
        }
    )
    return data


def _json_bytes(data: Any) -> bytes:
    # hear-preprocess writes json.dump(..., indent=True), i.e. one-space indents.
    return json.dumps(data, indent=1).encode("utf-8")


def _vocabulary_csv(labels: Iterable[Any]) -> bytes:
    rows = ["idx,label"] + [f"{i},{label}" for i, label in enumerate(labels)]
    return ("\n".join(rows) + "\n").encode("utf-8")


def _pcm16(samples: np.ndarray) -> np.ndarray:
    peak = float(np.max(np.abs(samples))) if samples.size else 0.0
    if peak > 0.95:
        samples = samples * (0.95 / peak)
    return np.round(samples * 32767.0).astype(np.int16)


def render_clip(clip: Clip, sample_rate: int, seed: int, clip_key: int) -> np.ndarray:
    n = round(clip.duration * sample_rate)
    t = np.arange(n, dtype=np.float64) / sample_rate
    rng = np.random.default_rng([seed, clip_key, sample_rate])
    return _pcm16(clip.render(t, sample_rate, rng))


def write_task(spec: SynthSpec, out: Path, sample_rates: Sequence[int], seed: int = 0) -> Path:
    """Write one task to ``out/<dir_name>`` (replacing an earlier synthetic copy there)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    target = out / spec.dir_name
    if target.exists() and not (target / "task_metadata.json").is_file():
        raise FileExistsError(f"{target} exists and is not a HEAR task; remove it or pick --out")
    clips = design_clips(spec, seed)
    staging = Path(tempfile.mkdtemp(prefix=f".{spec.dir_name}.", dir=out))
    staging.chmod(0o755)  # mkdtemp's 0700 would hide the task from the sandbox's user
    try:
        (staging / "task_metadata.json").write_bytes(_json_bytes(metadata(spec, seed)))
        (staging / "labelvocabulary.csv").write_bytes(_vocabulary_csv(spec.labels))
        key = 0
        for split, split_clips in clips.items():
            labels = {clip.file: clip.labels for clip in split_clips}
            (staging / f"{split}.json").write_bytes(_json_bytes(labels))
            for clip in split_clips:
                key += 1
                for rate in sample_rates:
                    folder = staging / str(rate) / split
                    folder.mkdir(parents=True, exist_ok=True)
                    samples = render_clip(clip, rate, seed, key)
                    sf.write(str(folder / clip.file), samples, rate, subtype="PCM_16")
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


def write_tasks(
    out: Path,
    sample_rates: Sequence[int] = (DEFAULT_SAMPLE_RATE,),
    seed: int = 0,
    tasks: Sequence[str] = DEFAULT_TASKS,
) -> list[Path]:
    """Write the named synthetic tasks (default: tones, mixtures, events) under `out`."""
    unknown = [name for name in tasks if name not in SPECS]
    if unknown:
        raise ValueError(f"unknown synthetic task {unknown}; choose from {sorted(SPECS)}")
    rates = sorted(set(sample_rates))
    return [write_task(SPECS[name], out, rates, seed) for name in tasks]


def stand_ins() -> dict[str, str]:
    """Leaderboard column → the default synthetic task directory that stands in for it."""
    return {column: SPECS[task].dir_name for task, column in STANDS_IN_FOR.items()}
