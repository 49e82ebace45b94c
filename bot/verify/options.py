"""What a `hearbot verify` run is asked to do: `VerifyOptions`, as the command line gives it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from bot.common.schemas import Column
from bot.hear.canary import DEFAULT_FRACTION
from bot.runner.sandbox import Sandbox


@dataclass
class VerifyOptions:
    tasks_dir: Path
    out: Path
    columns: list[str] | None = None
    install: bool = True
    device: str = "auto"
    """auto, cpu or cuda; `verify` works on a resolved copy (auto → what torch sees)."""
    work: Path | None = None
    """Reusable work (virtualenvs, weights, embeddings, scores); default OUT/work."""
    max_epochs: int | None = None
    today: dt.date | None = None
    stand_ins: dict[str, str] = field(default_factory=dict)
    """Column → task directory used in place of the column's own (demos and tests)."""
    find_links: list[Path] = field(default_factory=list)
    """Local wheel directories pip may install from (offline runners, tests); a URL pin is
    satisfied from them by its sha256 (bot/runner/pinned_files.py)."""
    weights_file: Path | None = None
    """The manifest's weights from this local file (checked against its sha256)."""
    sandbox: Sandbox = field(default_factory=Sandbox)
    package_index: str | None = None
    """The index the install step may reach (through bot/runner/index_proxy.py); None: none."""
    cache_max_gb: float = 200.0
    """Bound on the kept embeddings (least recently used evicted; never the one in use)."""
    canary_fraction: float = DEFAULT_FRACTION
    """Share of each task's clips (test clips only) also embedded as perturbed copies, to
    show memorisation (bot/hear/canary.py); 0 turns the canary off."""
    seeds: int = 1
    """K, the members of each task's seed ensemble (member 0: the kit's run); the verdict's
    interval comes from their spread (bot/verify/verdict.py)."""
    evaluation_mode: str = "exact"
    """exact: the kit's random draws; batched: faster, other draws, and a column within one
    more half-width of a mismatch is evaluated again in exact mode before it is declared one."""

    @property
    def work_dir(self) -> Path:
        return self.work or self.out / "work"

    def task_dirs(self, column: Column) -> tuple[str, ...]:
        stand_in = self.stand_ins.get(column.name)
        return (stand_in,) if stand_in else column.task_dirs
