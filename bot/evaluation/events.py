"""Event post-processing (frame probabilities -> events) and the sed_eval event metrics.

Post-processing reproduces `create_events_from_prediction` / `get_events_for_all_files` of
heareval 2021.1.3; the metrics reproduce sed_eval 0.2.1 as `heareval/score.py` calls it
(`EventBasedMetrics` with optimal matching, `SegmentBasedMetrics`, overall scores, one
`evaluate` call per file that has frames). Times are in ms in, seconds inside the metrics.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import TypedDict

import numpy as np
from scipy.ndimage import median_filter
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import maximum_bipartite_matching


class Event(TypedDict):
    """An event in ms; `label` is a vocabulary label (a string)."""

    label: str
    start: float
    end: float


Postprocessing = tuple[tuple[str, float], ...]
EventsByFile = dict[str, list[Event]]
ScoreTuple = tuple[tuple[str, float], ...]

# EVENT_POSTPROCESSING_GRID of the kit; a task overrides it with
# evaluation_params.event_postprocessing_grid.
DEFAULT_POSTPROCESSING_GRID: dict[str, list[float]] = {
    "median_filter_ms": [250],
    "min_duration": [125, 250],
}
# The keyword arguments of create_events_from_prediction that a grid may set.
POSTPROCESSING_KEYS = ("median_filter_ms", "min_duration", "threshold")
EPS = float(np.spacing(1))  # sed_eval.metric's eps


def postprocessing_grid(grid: Mapping[str, Sequence[float]]) -> list[Postprocessing]:
    """sklearn ParameterGrid order: keys sorted, the last key varying fastest."""
    keys = sorted(grid)
    return [
        tuple(zip(keys, values, strict=True))
        for values in itertools.product(*(grid[k] for k in keys))
    ]


def median_filter_width(times: np.ndarray, median_filter_ms: float) -> int:
    """int(round(median_filter_ms / mean hop)); Python round, so halves go to even."""
    hop = np.mean(np.diff(times))
    return int(round(median_filter_ms / hop))  # noqa: RUF046 (numpy 1.x round gave a float)


def median_above(probs: np.ndarray, width: int, threshold: float) -> np.ndarray:
    """``median_filter(probs, size=(1, width, 1)) > threshold`` for (F, T, L) probabilities,
    exactly, by counting instead of sorting (about 20x faster: validation scores events at
    every check). scipy's median of a window is its element of rank width // 2 in ascending
    order, so it exceeds the threshold when at least width - width // 2 of the window's values
    do; frame i's window is i - width // 2 ... i - width // 2 + width - 1, mirrored at the ends
    (scipy's mode "reflect" is numpy's pad mode "symmetric" while the pad is no longer than
    the clip). Clips shorter than half the window, and NaN (whose rank scipy leaves to its
    sort), go through scipy itself."""
    before = width // 2
    if before > probs.shape[1] or np.isnan(probs).any():
        return median_filter(probs, size=(1, width, 1)) > threshold
    above = (probs > threshold).astype(np.int32)
    padded = np.pad(above, ((0, 0), (before, width - 1 - before), (0, 0)), mode="symmetric")
    sums = np.zeros((padded.shape[0], padded.shape[1] + 1, padded.shape[2]), dtype=np.int32)
    np.cumsum(padded, axis=1, out=sums[:, 1:])
    return sums[:, width:] - sums[:, :-width] >= width - before


def active_runs(active: np.ndarray) -> list[tuple[int, int]]:
    """(first, last) frame index of every run of consecutive True values."""
    idx = np.flatnonzero(active)
    if idx.size == 0:
        return []
    breaks = np.flatnonzero(np.diff(idx) != 1)
    firsts = np.concatenate(([idx[0]], idx[breaks + 1]))
    lasts = np.concatenate((idx[breaks], [idx[-1]]))
    return list(zip(firsts.tolist(), lasts.tolist(), strict=True))


def frames_to_events(
    times: np.ndarray,
    probs: np.ndarray,
    labels: Sequence[str],
    *,
    threshold: float = 0.5,
    median_filter_ms: float = 150,
    min_duration: float = 60.0,
) -> list[Event]:
    """Events of one file from its frame probabilities (defaults: the kit's signature).

    `times` (T,) ms sorted ascending, `probs` float32 (T, L). Per class: median filter over
    time with `scipy.ndimage.median_filter(probs, size=(w, 1))` (mode "reflect", as the kit;
    w = `median_filter_width`, skipped when median_filter_ms or w is 0), then `p > threshold`;
    each run of active frames is an event [time of first frame, time of last frame], kept when
    end - start >= min_duration. Events are sorted by start (stable: ties stay in class order).
    """
    if median_filter_ms:
        width = median_filter_width(times, median_filter_ms)
        if width:
            probs = median_filter(probs, size=(width, 1))
    active = probs > threshold
    events: list[Event] = []
    for k, label in enumerate(labels):
        for first, last in active_runs(active[:, k]):
            start, end = times[first], times[last]
            if end - start >= min_duration:
                events.append({"label": label, "start": start, "end": end})
    events.sort(key=lambda e: e["start"])
    return events


def frames_by_file(
    predictions: np.ndarray, row_file: np.ndarray, row_time: np.ndarray, files: Sequence[str]
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per file, in order of its first row: sorted timestamps and their prediction rows.

    As the kit keys a dict on float(timestamp), a repeated timestamp keeps its last row.
    """
    order = frame_order(row_file, row_time)
    return {files[f]: (row_time[rows].astype(np.float64), predictions[rows]) for f, rows in order}


def frame_order(row_file: np.ndarray, row_time: np.ndarray) -> list[tuple[int, np.ndarray]]:
    """(file index, its row indices sorted by time) for every file, files in order of their
    first row; of rows with equal (file, time) only the last is kept."""
    n = len(row_file)
    if n == 0:
        return []
    order = np.lexsort((np.arange(n), row_time, row_file))
    f, t = row_file[order], row_time[order]
    last = np.ones(n, dtype=bool)
    last[:-1] = (f[1:] != f[:-1]) | (t[1:] != t[:-1])
    order = order[last]
    bounds = np.flatnonzero(np.diff(row_file[order])) + 1
    groups = np.split(order, bounds)
    first_row = np.full(int(row_file.max()) + 1, n)
    np.minimum.at(first_row, row_file, np.arange(n))
    groups.sort(key=lambda g: int(first_row[row_file[g[0]]]))
    return [(int(row_file[g[0]]), g) for g in groups]


def events_for_files(
    frames: Mapping[str, tuple[np.ndarray, np.ndarray]],
    labels: Sequence[str],
    postprocessing: Postprocessing,
) -> EventsByFile:
    """`frames_to_events` for every file with the given post-processing parameters, computed
    for all files of one frame count and filter width at once (same events, same order)."""
    params = dict(postprocessing)
    threshold = float(params.get("threshold", 0.5))
    median_ms = params.get("median_filter_ms", 150)
    min_duration = params.get("min_duration", 60.0)
    names = list(frames)
    groups: dict[tuple[int, int], list[int]] = {}
    for i, name in enumerate(names):
        times = frames[name][0]
        width = median_filter_width(times, median_ms) if median_ms and len(times) else 0
        groups.setdefault((len(times), width), []).append(i)
    out: EventsByFile = {}
    for (_, width), members in groups.items():
        probs = np.stack([frames[names[i]][1] for i in members])
        active = median_above(probs, width, threshold) if width else probs > threshold
        found = events_from_activity(
            [frames[names[i]][0] for i in members], active, labels, min_duration
        )
        for i, events in zip(members, found, strict=True):
            out[names[i]] = events
    return {name: out[name] for name in names}


def events_from_activity(
    times: Sequence[np.ndarray], active: np.ndarray, labels: Sequence[str], min_duration: float
) -> list[list[Event]]:
    """Events of each file from its activity (F, T, L): each run of active frames of a class is
    an event [time of first frame, time of last frame], kept when end - start >= min_duration;
    per file sorted by start, ties in class order (as `frames_to_events`)."""
    by_class = np.moveaxis(active, 2, 1)  # (F, L, T): runs along the last axis
    padded = np.zeros((*by_class.shape[:2], by_class.shape[2] + 2), dtype=np.int8)
    padded[:, :, 1:-1] = by_class
    edges = np.diff(padded, axis=2)
    # One pass: within a (file, class) row, rises (+1) and falls (-1) alternate in time order.
    f_all, k_all, t_all = np.nonzero(edges)
    rising = edges[f_all, k_all, t_all] == 1
    f_on, k_on, first = f_all[rising], k_all[rising], t_all[rising]
    last = t_all[~rising] - 1
    out: list[list[Event]] = [[] for _ in range(len(times))]
    if not len(first):
        return out
    start = np.array([times[f][i] for f, i in zip(f_on.tolist(), first.tolist(), strict=True)])
    end = np.array([times[f][i] for f, i in zip(f_on.tolist(), last.tolist(), strict=True)])
    keep = np.flatnonzero(end - start >= min_duration)
    keep = keep[np.lexsort((k_on[keep], first[keep], f_on[keep]))]
    for j in keep.tolist():
        f = int(f_on[j])
        out[f].append({"label": labels[k_on[j]], "start": start[j], "end": end[j]})
    return out


# ---------------------------------------------------------------------------------------------
# sed_eval semantics

SecondsEvent = tuple[str, float, float]


def _to_seconds(events: Iterable[Event]) -> list[SecondsEvent]:
    """score.py's container: label str(), onset start / 1000.0, offset end / 1000.0."""
    return [(str(e["label"]), float(e["start"] / 1000.0), float(e["end"] / 1000.0)) for e in events]


def _hits(
    ref: list[SecondsEvent],
    est: list[SecondsEvent],
    t_collar: float,
    evaluate_offset: bool,
    percentage_of_length: float,
) -> np.ndarray:
    """sed_eval's hit matrix (ref x est): same label, |onset diff| <= collar, and with offsets
    |offset diff| <= max(collar, percentage_of_length * reference length)."""
    codes: dict[str, int] = {}  # labels as integers: comparing objects costs 10x more
    ref_label = np.array([codes.setdefault(e[0], len(codes)) for e in ref])
    est_label = np.array([codes.setdefault(e[0], len(codes)) for e in est])
    ref_on, ref_off = np.array([e[1] for e in ref]), np.array([e[2] for e in ref])
    est_on, est_off = np.array([e[1] for e in est]), np.array([e[2] for e in est])
    hit = ref_label[:, None] == est_label[None, :]
    hit &= np.abs(ref_on[:, None] - est_on[None, :]) <= t_collar
    if evaluate_offset:
        allowed = np.maximum(t_collar, percentage_of_length * (ref_off - ref_on))
        hit &= np.abs(ref_off[:, None] - est_off[None, :]) <= allowed[:, None]
    return hit


def matched_count(hit: np.ndarray) -> int:
    """Size of a maximum bipartite matching (sed_eval's 'optimal' event matching) of the hit
    matrix (ref x est). When no row and no column has two hits it is the number of hits;
    otherwise Kuhn's augmenting paths (the maximum size is unique, whatever the algorithm)."""
    if hit.size == 0 or not hit.any():
        return 0
    if hit.sum(axis=0).max() <= 1 or hit.sum(axis=1).max() <= 1:
        return int(min(hit.any(axis=1).sum(), hit.any(axis=0).sum()))
    if hit.shape[0] * hit.shape[1] > 4096:
        matching = maximum_bipartite_matching(csr_matrix(hit.astype(np.int8)), perm_type="column")
        return int((matching >= 0).sum())
    adjacency = [np.flatnonzero(row).tolist() for row in hit]
    owner: dict[int, int] = {}

    def augment(r: int, seen: set[int]) -> bool:
        for c in adjacency[r]:
            if c not in seen:
                seen.add(c)
                if c not in owner or augment(owner[c], seen):
                    owner[c] = r
                    return True
        return False

    return sum(augment(r, set()) for r in range(len(adjacency)))


def _precision_recall_f(ntp: float, nsys: float, nref: float) -> tuple[float, float, float]:
    """sed_eval.metric: p = Ntp/Nsys (NaN if Nsys=0), r = Ntp/Nref (NaN if Nref=0),
    f = 0 if p = r = 0 else 2pr/(p+r) (NaN if either is NaN)."""
    precision = math.nan if nsys == 0 else float(ntp / float(nsys))
    recall = math.nan if nref == 0 else float(ntp / float(nref))
    if precision == 0 and recall == 0:
        return 0.0, precision, recall
    return (
        float((1 + 1.0**2) * precision * recall / (1.0**2 * precision + recall)),
        precision,
        recall,
    )


def event_based_prf(
    predicted: Mapping[str, Sequence[Event]],
    reference: Mapping[str, Sequence[Event]],
    *,
    t_collar: float,
    evaluate_offset: bool = False,
    percentage_of_length: float = 0.5,
) -> tuple[float, float, float]:
    """Overall (f_measure, precision, recall) of sed_eval's EventBasedMetrics.

    Files evaluated: those of `predicted` (the kit loops over predicted files; a file's
    reference events are those of the same name). Nref, Nsys: event counts summed over files;
    Ntp: per file, a maximum matching between reference and estimated events where a pair
    matches when labels are equal and onsets differ by <= t_collar s (and, with offsets, the
    offsets differ by <= max(t_collar, percentage_of_length * reference duration)).
    """
    ntp = nsys = nref = 0
    for name, events in predicted.items():
        ref = _to_seconds(reference.get(name, []))
        est = _to_seconds(events)
        nref += len(ref)
        nsys += len(est)
        if ref and est:
            ntp += matched_count(_hits(ref, est, t_collar, evaluate_offset, percentage_of_length))
    return _precision_recall_f(float(ntp), float(nsys), float(nref))


def _event_roll(
    events: list[SecondsEvent], label_index: Mapping[str, int], res: float
) -> tuple[np.ndarray, float]:
    """sed_eval's event roll: ceil(max offset / res) rows; rows floor(on/res)..ceil(off/res)
    (a Python slice) set to 1. Returns the roll and the max offset (0 when empty)."""
    max_offset = 0.0
    for _, _, off in events:
        if off > max_offset:
            max_offset = off
    roll = np.zeros((math.ceil(max_offset * 1 / res), len(label_index)))
    for label, on, off in events:
        first = math.floor(on * 1 / float(res))
        last = math.ceil(off * 1 / float(res))
        roll[first:last, label_index[label]] = 1
    return roll, max_offset


def _fit_length(roll: np.ndarray, length: int) -> np.ndarray:
    if length < roll.shape[0]:
        return roll[:length]
    return np.vstack((roll, np.zeros((length - roll.shape[0], roll.shape[1]))))


def segment_based_error_rate(
    predicted: Mapping[str, Sequence[Event]],
    reference: Mapping[str, Sequence[Event]],
    labels: Sequence[str],
    *,
    time_resolution: float = 1.0,
) -> float:
    """Overall error rate of sed_eval's SegmentBasedMetrics.

    Per predicted file: both event lists become rolls of `time_resolution` s segments, cut or
    zero-padded to ceil(max(max offsets) / res) segments. Per segment: Ntp = classes active in
    both, Nref, Nsys = classes active; S = min(Nref, Nsys) - Ntp, D = max(0, Nref - Nsys),
    I = max(0, Nsys - Nref); summed over segments and files. ER = S/(Nref+eps) + D/(Nref+eps)
    + I/(Nref+eps) with eps = np.spacing(1), so no reference activity gives a huge ER, not NaN.
    """
    label_index = {label: i for i, label in enumerate(labels)}
    subs = dels = ins = nref = 0
    for name, events in predicted.items():
        ref_roll, ref_max = _event_roll(
            _to_seconds(reference.get(name, [])), label_index, time_resolution
        )
        est_roll, est_max = _event_roll(_to_seconds(events), label_index, time_resolution)
        length = math.ceil(max(ref_max, est_max) * 1 / float(time_resolution))
        ref_roll, est_roll = _fit_length(ref_roll, length), _fit_length(est_roll, length)
        tp = ((est_roll + ref_roll) > 1).sum(axis=1)
        n_ref, n_sys = ref_roll.sum(axis=1), est_roll.sum(axis=1)
        subs += int((np.minimum(n_ref, n_sys) - tp).sum())
        dels += int(np.maximum(0, n_ref - n_sys).sum())
        ins += int(np.maximum(0, n_sys - n_ref).sum())
        nref += int(n_ref.sum())
    total = float(nref)
    rates = [float(count / (total + EPS)) for count in (subs, dels, ins)]
    return float(rates[0] + rates[1] + rates[2])


# ---------------------------------------------------------------------------------------------
# The kit's event score functions: tuples of (sub-score name, value); the first is primary.


def event_onset_200ms_fms(
    predicted: EventsByFile, reference: EventsByFile, labels: Sequence[str]
) -> ScoreTuple:
    """Event-based, onset only, collar 0.2 s: (f_measure, precision, recall)."""
    f, p, r = event_based_prf(predicted, reference, t_collar=0.2)
    return (("f_measure", f), ("precision", p), ("recall", r))


def event_onset_50ms_fms(
    predicted: EventsByFile, reference: EventsByFile, labels: Sequence[str]
) -> ScoreTuple:
    """Event-based, onset only, collar 0.05 s: (f_measure, precision, recall)."""
    f, p, r = event_based_prf(predicted, reference, t_collar=0.05)
    return (("f_measure", f), ("precision", p), ("recall", r))


def event_onset_offset_50ms_20perc_fms(
    predicted: EventsByFile, reference: EventsByFile, labels: Sequence[str]
) -> ScoreTuple:
    """Event-based, onset and offset, collar 0.05 s, offset also within 20 % of the length."""
    f, p, r = event_based_prf(
        predicted, reference, t_collar=0.05, evaluate_offset=True, percentage_of_length=0.2
    )
    return (("f_measure", f), ("precision", p), ("recall", r))


def segment_1s_er(
    predicted: EventsByFile, reference: EventsByFile, labels: Sequence[str]
) -> ScoreTuple:
    """Segment-based error rate at 1 s resolution (lower is better): (error_rate,)."""
    return (("error_rate", segment_based_error_rate(predicted, reference, labels)),)
