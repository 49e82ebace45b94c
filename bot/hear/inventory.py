"""What a whole tasks folder holds, per leaderboard column and sample rate
(``hearbot tasks check DIR`` on the folder ``verify --tasks-dir`` reads, and ``runner check``).

Each task folder of ``schemas/tasks.json`` at each sample rate is ``present`` (metadata,
vocabulary, splits and that rate's WAV headers check out), ``missing`` (no folder, or no
``<rate>/`` audio in it) or ``corrupt`` (there, but `check_task` fails: the detail says where).
Folders that belong to no column are listed too, with column None.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bot.hear.fetch import RECORDS_DIR, SAMPLE_RATES, STAGING_PREFIX, recorded_verified

PRESENT, MISSING, CORRUPT = "present", "missing", "corrupt"


@dataclass(frozen=True)
class Entry:
    column: str | None
    task_dir: str
    sample_rate: int
    state: str
    detail: str
    verified: bool | None = None  # what `tasks fetch` recorded (None: not fetched by hearbot)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def is_tasks_folder(path: Path) -> bool:
    """A folder of task folders (not itself a task folder)."""
    from bot.hear.tasks import METADATA_FILE

    return path.is_dir() and not (path / METADATA_FILE).is_file()


def inventory(
    tasks_dir: Path,
    sample_rates: Sequence[int] = SAMPLE_RATES,
    columns: Sequence[str] | None = None,
    *,
    decode: bool = False,
    quick: bool = False,
) -> list[Entry]:
    """Every (column, task folder, rate). ``quick``: instead of reading each WAV header, only
    check that each split's folder holds every file its split file lists (for a full dataset,
    seconds instead of minutes)."""
    from bot.common.schemas import leaderboard_facts
    from bot.hear.tasks import METADATA_FILE, TaskError, check_audio, read_task

    facts = leaderboard_facts()
    chosen = [facts.column(name) for name in (columns or facts.score_columns)]
    wanted: list[tuple[str | None, str]] = [(c.name, d) for c in chosen for d in c.task_dirs]
    known = {d for c in facts.columns for d in c.task_dirs}
    if columns is None:
        for path in sorted(tasks_dir.iterdir()):
            hidden = path.name.startswith(".") or path.name.startswith(STAGING_PREFIX)
            if path.is_dir() and not hidden and path.name not in known:
                wanted.append((None, path.name))
    entries: list[Entry] = []
    tasks: dict[str, Any] = {}
    for column, task_dir in wanted:
        folder = tasks_dir / task_dir
        rates = sample_rates
        if column is None:  # an extra folder: the rates it has
            rates = [r for r in sample_rates if (folder / str(r)).is_dir()] or list(sample_rates)
        for rate in rates:
            verified = recorded_verified(tasks_dir, task_dir, rate)
            if not folder.is_dir():
                entries.append(Entry(column, task_dir, rate, MISSING, f"no folder {task_dir}/"))
                continue
            if not (folder / METADATA_FILE).is_file():
                entries.append(
                    Entry(column, task_dir, rate, CORRUPT, f"{task_dir}/{METADATA_FILE} is missing")
                )
                continue
            if not (folder / str(rate)).is_dir():
                entries.append(
                    Entry(column, task_dir, rate, MISSING, f"no {task_dir}/{rate}/ audio folder")
                )
                continue
            try:
                if task_dir not in tasks:
                    tasks[task_dir] = read_task(folder)
                if quick:
                    detail = _files_listed(tasks[task_dir], rate)
                else:
                    summary = check_audio(tasks[task_dir], rate, decode=decode)
                    clips = sum(summary.files.values())
                    detail = f"{clips} clips, {summary.seconds / 3600:.2f} h"
            except TaskError as exc:
                entries.append(Entry(column, task_dir, rate, CORRUPT, str(exc), verified))
                continue
            entries.append(Entry(column, task_dir, rate, PRESENT, detail, verified))
    return entries


def _files_listed(task: Any, rate: int) -> str:
    from bot.hear.tasks import TaskError

    clips = 0
    for split, items in task.splits.items():
        folder = task.audio_dir(rate, split)
        have = set(os.listdir(folder)) if folder.is_dir() else set()
        absent = [item.file for item in items if item.file not in have]
        if absent:
            raise TaskError(
                task.name,
                f"{rate}/{split}/",
                "wav-missing",
                f"{len(absent)} of the {len(items)} files {split}.json lists are missing "
                f"(first: {absent[0]})",
            )
        clips += len(items)
    return f"{clips} clips (files listed)"


def render_table(tasks_dir: Path, entries: Sequence[Entry], sample_rates: Sequence[int]) -> str:
    """One line per task folder, one cell per sample rate; then the problems in full."""
    rows: dict[tuple[str | None, str], dict[int, Entry]] = {}
    for entry in entries:
        rows.setdefault((entry.column, entry.task_dir), {})[entry.sample_rate] = entry
    name_width = max([len("column")] + [len(c or "(no column)") for c, _ in rows])
    dir_width = max([len("task folder")] + [len(d) for _, d in rows])
    head = f"{'column':<{name_width}}  {'task folder':<{dir_width}}  " + "  ".join(
        f"{r:>10}" for r in sample_rates
    )
    lines = [f"HEAR tasks in {tasks_dir}", head]
    for (column, task_dir), by_rate in rows.items():
        cells = []
        for rate in sample_rates:
            entry = by_rate.get(rate)
            cell = "-" if entry is None else entry.state
            if entry is not None and entry.state == PRESENT and entry.verified is False:
                cell = "unverified"
            cells.append(f"{cell:>10}")
        lines.append(
            f"{column or '(no column)':<{name_width}}  {task_dir:<{dir_width}}  " + "  ".join(cells)
        )
    counts = {
        state: sum(e.state == state for e in entries) for state in (PRESENT, MISSING, CORRUPT)
    }
    lines.append(
        f"{counts[PRESENT]} present, {counts[MISSING]} missing, {counts[CORRUPT]} corrupt "
        f"(task folder x sample rate)"
    )
    for entry in entries:
        if entry.state == CORRUPT:
            lines.append(f"corrupt: {entry.task_dir} at {entry.sample_rate} Hz: {entry.detail}")
    if any(e.verified is False for e in entries):
        lines.append(
            "unverified: unpacked by `tasks fetch --allow-unverified` without a checksum "
            f"(records in {RECORDS_DIR}/)"
        )
    if counts[MISSING]:
        lines.append(
            "fetch what is missing: hearbot tasks fetch --sample-rate SR --dest "
            f"{tasks_dir} (docs/maintainers.md, step 2)"
        )
    return "\n".join(lines) + "\n"


def complete(entries: Sequence[Entry]) -> bool:
    """Every column's folder present at every rate asked for (extra folders do not count)."""
    return all(e.state == PRESENT for e in entries if e.column is not None)
