"""One validation's event scoring at DCASE 2016 and MAESTRO sizes: hearbot's post-processing
(median filter by counting, `events.median_above`) against the same code with scipy's
median_filter (the kit's filter, and hearbot's before), measured in one run.

Exact mode validates every 3 epochs (DCASE 2016: every 10), up to 500 epochs, on the CPU while
the GPU waits, so this cost is paid hundreds of times per training. Each size is a validation
split of 120 s clips at a 20 ms hop (6,000 frames) with smoothed random probabilities around
the threshold and reference events; both paths must give the same events and scores (checked).
Prints seconds per validation for both and their ratio.
Usage: .venv/bin/python benchmarks/event_scoring_speed.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from scipy.ndimage import median_filter

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bot.evaluation import events as ev  # noqa: E402

# name: (validation files, labels, post-processing grid, primary metric)
SIZES: dict[str, tuple[int, int, dict[str, list[float]], Any]] = {
    "DCASE 2016 (14 files, 11 labels)": (
        14, 11, {"median_filter_ms": [250], "min_duration": [125, 250]}, ev.event_onset_200ms_fms
    ),
    "MAESTRO 5h (37 files, 88 labels)": (
        37, 88, {"median_filter_ms": [150], "min_duration": [50]}, ev.event_onset_50ms_fms
    ),
}  # fmt: skip
FRAMES, HOP_MS = 6000, 20.0


def validation(files: int, labels: int, seed: int = 0) -> tuple[dict, dict, list[str]]:
    rng = np.random.default_rng(seed)
    names = [str(i) for i in range(labels)]
    times = np.arange(FRAMES) * HOP_MS + HOP_MS / 2
    frames, reference = {}, {}
    for f in range(files):
        activity = np.zeros((FRAMES, labels), dtype=np.float32)
        events = []
        for _ in range(4 * labels):
            k, start, length = rng.integers(labels), rng.integers(FRAMES - 60), rng.integers(5, 60)
            activity[start : start + length, k] = 1.0
            events.append({"label": names[k], "start": times[start],
                           "end": times[start + length - 1]})  # fmt: skip
        noise = np.cumsum(rng.normal(scale=0.2, size=(FRAMES, labels)), axis=0)
        noise -= np.linspace(0, 1, FRAMES)[:, None] * noise[-1]  # no drift away from 0.5
        probs = np.clip(0.3 + 0.4 * activity + 0.1 * np.tanh(noise), 0, 1)
        frames[f"{f}.wav"] = (times, probs.astype(np.float32))
        reference[f"{f}.wav"] = sorted(events, key=lambda e: e["start"])
    return frames, reference, names


def scipy_median_above(probs: np.ndarray, width: int, threshold: float) -> np.ndarray:
    return median_filter(probs, size=(1, width, 1)) > threshold


def score_once(frames: dict, reference: dict, names: list[str], grid: dict, metric: Any) -> list:
    scores = []
    for pp in ev.postprocessing_grid(grid):
        predicted = ev.events_for_files(frames, names, pp)
        scores.append((metric(predicted, reference, names), predicted))
    return scores


def timed(repeat: int, *args: Any) -> tuple[float, list]:
    best, result = float("inf"), []
    for _ in range(repeat):
        start = time.perf_counter()
        result = score_once(*args)
        best = min(best, time.perf_counter() - start)
    return best, result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="best of N")
    args = parser.parse_args()
    counting = ev.median_above
    out: dict[str, Any] = {}
    for name, (files, labels, grid, metric) in SIZES.items():
        frames, reference, names = validation(files, labels)
        ev.median_above = scipy_median_above  # type: ignore[assignment]
        try:
            scipy_s, scipy_result = timed(args.repeat, frames, reference, names, grid, metric)
        finally:
            ev.median_above = counting  # type: ignore[assignment]
        ours_s, ours_result = timed(args.repeat, frames, reference, names, grid, metric)
        if ours_result != scipy_result:
            sys.exit(f"{name}: the two paths disagree")
        events = sum(len(v) for v in ours_result[0][1].values())
        out[name] = {
            "events_predicted": events,
            "scipy_median_s": round(scipy_s, 4),
            "hearbot_s": round(ours_s, 4),
            "ratio_scipy_over_hearbot": round(scipy_s / ours_s, 1),
        }
    print(json.dumps(out, indent=2))
    for name, row in out.items():
        print(f"{name}: one validation's scoring {row['hearbot_s']} s against "
              f"{row['scipy_median_s']} s with scipy's median filter: "
              f"{row['ratio_scipy_over_hearbot']}x faster, same events and scores")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
