"""Event post-processing, and the event metrics against sed_eval 0.2.1 itself."""

from __future__ import annotations

import math
import warnings
from collections import ChainMap
from typing import Any

import numpy as np
import pytest
from scipy.ndimage import median_filter

from bot.evaluation import events as ev

pytestmark = pytest.mark.numeric  # compares floats: see tests/numeric.py

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # dcase_util imports pkg_resources
    import sed_eval
    from dcase_util.containers import MetaDataContainer

LABELS = ["a", "b", "c"]


# --- sed_eval as heareval/score.py calls it ---------------------------------------------------


def _container(events_by_file: dict[str, list[dict[str, Any]]]) -> MetaDataContainer:
    return MetaDataContainer(
        [
            {
                "event_label": str(e["label"]),
                "event_onset": e["start"] / 1000.0,
                "event_offset": e["end"] / 1000.0,
                "file": name,
            }
            for name, events in events_by_file.items()
            for e in events
        ]
    )


def sed_eval_scores(metric: Any, predicted: dict, reference: dict) -> dict[str, float]:
    ref, est = _container(reference), _container(predicted)
    for name in predicted:
        metric.evaluate(
            reference_event_list=ref.filter(filename=name),
            estimated_event_list=est.filter(filename=name),
        )
    return dict(ChainMap(*metric.results_overall_metrics().values()))


def same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or abs(a - b) <= 1e-6


def random_events(rng: np.random.Generator, n: int, grid_ms: float | None = None) -> list[dict]:
    out = []
    for _ in range(n):
        start = float(rng.uniform(0, 8000))
        end = start + float(rng.choice([0.0, rng.uniform(0, 3000)]))
        if grid_ms:  # timestamps on a frame grid: many exact collar-boundary distances
            start, end = round(start / grid_ms) * grid_ms, round(end / grid_ms) * grid_ms
        out.append({"label": LABELS[int(rng.integers(3))], "start": start, "end": end})
    return out


def random_case(seed: int) -> tuple[dict, dict]:
    rng = np.random.default_rng(seed)
    files = [f"f{i}.wav" for i in range(int(rng.integers(1, 5)))]
    grid = [None, 50.0, 25.0][seed % 3]
    predicted = {f: random_events(rng, int(rng.integers(0, 9)), grid) for f in files}
    reference = {f: random_events(rng, int(rng.integers(0, 9)), grid) for f in files}
    if seed % 4 == 0:  # a reference file the predictions do not cover is ignored
        reference["unlisted.wav"] = random_events(rng, 3)
    return predicted, reference


EDGE_CASES = {
    "no predicted events": ({"f": []}, {"f": [{"label": "a", "start": 0, "end": 500}]}),
    "no reference events": ({"f": [{"label": "a", "start": 0, "end": 500}]}, {"f": []}),
    "nothing at all": ({"f": []}, {"f": []}),
    "no files": ({}, {"f": [{"label": "a", "start": 0, "end": 500}]}),
    "one class only": (
        {"f": [{"label": "b", "start": 100, "end": 900}, {"label": "b", "start": 950, "end": 990}]},
        {"f": [{"label": "b", "start": 120, "end": 800}]},
    ),
    "collar boundary": (
        {"f": [{"label": "a", "start": 1200.0, "end": 1300.0}]},
        {"f": [{"label": "a", "start": 1000.0, "end": 1250.0}]},
    ),
    "matching needs augmentation": (
        {"f": [{"label": "a", "start": 100, "end": 200}, {"label": "a", "start": 250, "end": 300}]},
        {"f": [{"label": "a", "start": 150, "end": 200}, {"label": "a", "start": 30, "end": 90}]},
    ),
    "missing reference file": ({"g": [{"label": "c", "start": 0, "end": 10}]}, {}),
    "negative onset": ({"f": [{"label": "a", "start": -700.0, "end": 300.0}]}, {"f": []}),
}
CASES = [random_case(seed) for seed in range(60)] + list(EDGE_CASES.values())
EVENT_METRICS = [
    (ev.event_onset_200ms_fms, {"evaluate_onset": True, "evaluate_offset": False, "t_collar": 0.2}),
    (ev.event_onset_50ms_fms, {"evaluate_onset": True, "evaluate_offset": False, "t_collar": 0.05}),
    (
        ev.event_onset_offset_50ms_20perc_fms,
        {
            "evaluate_onset": True,
            "evaluate_offset": True,
            "t_collar": 0.05,
            "percentage_of_length": 0.2,
        },
    ),
]


@pytest.mark.parametrize(("ours", "params"), EVENT_METRICS)
def test_event_based_scores_equal_sed_eval(ours: Any, params: dict) -> None:
    for predicted, reference in CASES:
        expected = sed_eval_scores(
            sed_eval.sound_event.EventBasedMetrics(event_label_list=LABELS, **params),
            predicted,
            reference,
        )
        got = dict(ours(predicted, reference, LABELS))
        assert list(got) == ["f_measure", "precision", "recall"]
        for key, value in got.items():
            assert same(value, expected[key]), (key, value, expected[key], predicted, reference)


def test_segment_error_rate_equals_sed_eval() -> None:
    for predicted, reference in CASES:
        metric = sed_eval.sound_event.SegmentBasedMetrics(LABELS, time_resolution=1.0)
        expected = sed_eval_scores(metric, predicted, reference)["error_rate"]
        ((name, value),) = ev.segment_1s_er(predicted, reference, LABELS)
        assert name == "error_rate"
        assert value == pytest.approx(expected, rel=1e-9, abs=1e-6), (predicted, reference)


def test_optimal_matching_beats_greedy_order() -> None:
    # est0 may match ref0 or ref1, est1 only ref0: a maximum matching pairs both.
    predicted = {
        "f": [{"label": "a", "start": 100, "end": 200}, {"label": "a", "start": 0, "end": 50}]
    }
    reference = {
        "f": [{"label": "a", "start": 50, "end": 300}, {"label": "a", "start": 250, "end": 300}]
    }
    f, p, r = ev.event_based_prf(predicted, reference, t_collar=0.2)
    assert (p, r) == (1.0, 1.0) and f == 1.0


# --- post-processing ---------------------------------------------------------------------------


def test_postprocessing_grid_is_parameter_grid_order() -> None:
    grid = ev.postprocessing_grid({"min_duration": [125, 250], "median_filter_ms": [250, 100]})
    assert grid == [
        (("median_filter_ms", 250), ("min_duration", 125)),
        (("median_filter_ms", 250), ("min_duration", 250)),
        (("median_filter_ms", 100), ("min_duration", 125)),
        (("median_filter_ms", 100), ("min_duration", 250)),
    ]


@pytest.mark.parametrize(
    ("hop", "median_ms", "width"),
    [
        (50.0, 250, 5),
        (40.0, 250, 6),
        (100.0, 250, 2),
        (100.0, 150, 2),
        (20.0, 150, 8),
        (46.5, 150, 3),
    ],
)
def test_median_filter_width_rounds_half_to_even(hop: float, median_ms: float, width: int) -> None:
    times = np.arange(10) * hop
    assert ev.median_filter_width(times, median_ms) == width


def test_active_runs() -> None:
    active = np.array([0, 1, 1, 0, 1, 0, 0, 1, 1, 1], dtype=bool)
    assert ev.active_runs(active) == [(1, 2), (4, 4), (7, 9)]
    assert ev.active_runs(np.zeros(4, dtype=bool)) == []


def test_frames_to_events_thresholds_runs_and_min_duration() -> None:
    times = np.arange(10, dtype=np.float64) * 50 + 25
    probs = np.zeros((10, 2), dtype=np.float32)
    probs[1:4, 0] = 0.9  # 75..175 ms: length 100
    probs[6, 0] = 0.7  # a single frame: length 0
    probs[5:10, 1] = 0.5  # not strictly above the threshold
    probs[8:10, 1] = 0.51  # 425..475: length 50
    got = ev.frames_to_events(times, probs, ["x", "y"], median_filter_ms=0, min_duration=50)
    assert got == [
        {"label": "x", "start": 75.0, "end": 175.0},
        {"label": "y", "start": 425.0, "end": 475.0},
    ]
    got = ev.frames_to_events(times, probs, ["x", "y"], median_filter_ms=0, min_duration=0)
    assert [e["start"] for e in got] == [75.0, 325.0, 425.0]


def test_frames_to_events_median_filter_is_scipy_per_class() -> None:
    rng = np.random.default_rng(0)
    times = np.arange(40, dtype=np.float64) * 40.0
    probs = rng.random((40, 3)).astype(np.float32)
    filtered = median_filter(probs, size=(6, 1))  # 250 / 40 = 6.25 -> 6 (an even size)
    expected = ev.frames_to_events(times, filtered, LABELS, median_filter_ms=0, min_duration=0)
    got = ev.frames_to_events(times, probs, LABELS, median_filter_ms=250, min_duration=0)
    assert got == expected


def test_frames_by_file_sorts_time_and_keeps_last_duplicate() -> None:
    preds = np.arange(12, dtype=np.float32).reshape(6, 2)
    row_file = np.array([1, 1, 1, 0, 0, 0])
    row_time = np.array([30.0, 10.0, 20.0, 5.0, 5.0, 0.0])
    out = ev.frames_by_file(preds, row_file, row_time, ["zero.wav", "one.wav"])
    assert list(out) == ["one.wav", "zero.wav"]  # order of first row
    times, rows = out["one.wav"]
    assert times.tolist() == [10.0, 20.0, 30.0] and rows[:, 0].tolist() == [2.0, 4.0, 0.0]
    times, rows = out["zero.wav"]
    assert times.tolist() == [0.0, 5.0] and rows[:, 0].tolist() == [10.0, 8.0]


# --- vectorised paths against their plain definitions -----------------------------------------


def _frames_by_file_reference(preds: np.ndarray, row_file: np.ndarray, row_time: np.ndarray):
    """The kit's way: a dict per file keyed on float(time), files in order of first row."""
    out: dict[int, dict[float, int]] = {}
    for r in range(len(row_file)):
        out.setdefault(int(row_file[r]), {})[float(row_time[r])] = r
    return {
        f: (np.array(sorted(d), dtype=np.float64), preds[[d[t] for t in sorted(d)]])
        for f, d in out.items()
    }


@pytest.mark.parametrize("seed", range(6))
def test_frames_by_file_equals_the_dict_definition(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 60))
    row_file = rng.integers(0, 5, size=n)
    row_time = rng.integers(0, 12, size=n).astype(np.float64) * 20.0  # many duplicates
    preds = rng.random((n, 2)).astype(np.float32)
    names = [f"f{i}" for i in range(5)]
    got = ev.frames_by_file(preds, row_file, row_time, names)
    want = _frames_by_file_reference(preds, row_file, row_time)
    assert list(got) == [names[f] for f in want]
    for f, (times, rows) in want.items():
        assert np.array_equal(got[names[f]][0], times) and np.array_equal(got[names[f]][1], rows)


@pytest.mark.parametrize("seed", range(8))
def test_events_for_files_equals_frames_to_events_file_by_file(seed: int) -> None:
    rng = np.random.default_rng(seed)
    frames = {}
    for i in range(int(rng.integers(1, 7))):
        length = int(rng.choice([2, 30, 30, 45]))  # files of equal and of other lengths
        hop = float(rng.choice([20.0, 46.5, 50.0]))
        smooth = np.cumsum(rng.normal(size=(length, 3)), axis=0) / 3 + 0.5
        frames[f"f{i}.wav"] = (np.arange(length) * hop + 7.0, smooth.astype(np.float32))
    for pp in [
        (("median_filter_ms", 250), ("min_duration", 125)),
        (("median_filter_ms", 0), ("min_duration", 0)),
        (("median_filter_ms", 150), ("min_duration", 60.0), ("threshold", 0.3)),
    ]:
        got = ev.events_for_files(frames, LABELS, pp)
        want = {n: ev.frames_to_events(t, p, LABELS, **dict(pp)) for n, (t, p) in frames.items()}
        assert list(got) == list(want) and got == want


@pytest.mark.parametrize("seed", range(4))
def test_median_above_equals_scipy_median_filter_then_threshold(seed: int) -> None:
    # Even and odd windows, windows longer than the clip, values tied with the threshold, NaN.
    rng = np.random.default_rng(seed)
    for trial in range(500):
        shape = (int(rng.integers(1, 4)), int(rng.integers(1, 40)), int(rng.integers(1, 4)))
        width = int(rng.integers(1, 30))
        probs = rng.random(shape).astype(np.float32)
        if trial % 3 == 0:
            probs = (np.round(probs * 4) / 4).astype(np.float32)
        if trial % 17 == 0:
            probs[0, rng.integers(shape[1]), 0] = np.nan
        threshold = float(rng.choice([0.5, 0.25, 0.3]))
        want = median_filter(probs, size=(1, width, 1)) > threshold
        got = ev.median_above(probs, width, threshold)
        assert np.array_equal(got, want), (shape, width, threshold)


@pytest.mark.parametrize("seed", range(40))
def test_matched_count_equals_scipy_maximum_matching(seed: int) -> None:
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import maximum_bipartite_matching

    rng = np.random.default_rng(seed)
    shape = (int(rng.integers(1, 9)), int(rng.integers(1, 9)))
    if seed % 10 == 9:
        shape = (70, 80)  # over the dense-path size
    hit = rng.random(shape) < [0.1, 0.3, 0.6][seed % 3]
    expected = int((maximum_bipartite_matching(csr_matrix(hit.astype(np.int8))) >= 0).sum())
    assert ev.matched_count(hit) == (expected if hit.any() else 0)
