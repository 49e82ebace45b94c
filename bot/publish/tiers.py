"""Each leaderboard row bound to its evidence, with a tier per row and per column, and the
tie-aware ranks of every column. Pure: rows, manifests and records in, entries out.

Tiers, strongest first:

- ``verified``: the column was reproduced (``reproduced`` or ``above-claim``) by a verification
  of exactly this row and manifest, at the PR's head commit the record names;
- ``overridden``: a maintainer's ``/override accept`` (who and why are kept) is the newest word
  on this row and manifest;
- ``validated``: merged through the bot's validation, without a passing GPU run for the column
  (none ran, it failed, was inconclusive, or an override rejected it: the note says which);
- ``self-reported``: one of the rows from before the bot (schemas/self-reported-rows.json).

A row's tier is the weakest tier of its claimed columns.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.common.schemas import leaderboard_facts
from bot.publish.records import Binding, sha256_hex
from bot.publish.rows import Row, score_value, self_reported_hashes

TIERS = ("verified", "overridden", "validated", "self-reported")
REPRODUCED_OUTCOMES = frozenset({"reproduced", "above-claim"})
UNJUDGED_OUTCOMES = frozenset({"not-claimed", "not-run"})
TIER_MEANING = {
    "verified": "reproduced by hearbot on a GPU runner, for exactly this row and manifest",
    "overridden": "accepted by a maintainer's /override (who and why on the model page)",
    "validated": "merged through the bot's checks, without a passing GPU reproduction",
    "self-reported": "on the board before hearbot; reported by its team, never re-run",
}
TIE_RULE = (
    "Ranks are per column. Two neighbouring models are tied when the 95% confidence "
    "intervals of their scores (bootstrap over the test clips, from the verification) "
    "overlap; without intervals only equal scores tie. Tied models share the best rank of "
    "their group, shown as =N."
)


@dataclass
class ColumnEntry:
    column: str
    domain: str
    cell: str  # the CSV text
    claimed: float | None
    tier: str | None  # None when the row leaves the column empty
    outcome: str | None = None
    reproduced: float | None = None
    delta: float | None = None
    tolerance: float | None = None
    ci95: tuple[float, float] | None = None
    interval: dict[str, Any] | None = None
    members: list[float] | None = None
    rank: int | None = None
    tied: bool = False

    def as_json(self) -> dict[str, Any]:
        return {
            "column": self.column,
            "domain": self.domain,
            "cell": self.cell,
            "claimed": self.claimed,
            "tier": self.tier,
            "outcome": self.outcome,
            "reproduced": self.reproduced,
            "delta": self.delta,
            "tolerance": self.tolerance,
            "ci95": list(self.ci95) if self.ci95 else None,
            "interval": self.interval,
            "members": self.members,
            "rank": self.rank,
            "tied": self.tied,
        }


@dataclass
class Entry:
    row: Row
    page: str  # file name stem of the model page (unique)
    tier: str
    note: str
    manifest_sha256: str | None
    columns: list[ColumnEntry]
    verification: dict[str, Any] | None = None  # the newest verification record used
    override: dict[str, Any] | None = None  # the override record in force, if any
    records: list[dict[str, Any]] = field(default_factory=list)  # every record of the binding
    merged_pull: dict[str, Any] | None = None  # the merged PR that added the row, if known

    @property
    def pull_request(self) -> dict[str, Any] | None:
        """The PR the evidence names, else the merged PR GitHub associates with the row."""
        newest = self.override or self.verification
        if newest:
            return dict(newest["pull_request"])
        if self.merged_pull:
            return {"number": self.merged_pull["number"], "url": self.merged_pull["url"]}
        return None

    def as_json(self) -> dict[str, Any]:
        def run(record: dict[str, Any] | None) -> dict[str, Any] | None:
            if record is None:
                return None
            return {
                "recorded_at": record["recorded_at"],
                "run_url": record["run"]["url"],
                "head_sha": record["pull_request"]["head_sha"],
                "triggered_by": record["triggered_by"],
            }

        return {
            "model": self.row.model,
            "url": self.row.url,
            "date": self.row.date,
            "line": self.row.line,
            "slug": self.row.slug,
            "page": f"models/{self.page}.html",
            "row_sha256": self.row.row_sha256,
            "manifest_sha256": self.manifest_sha256,
            "tier": self.tier,
            "note": self.note,
            "pull_request": self.pull_request,
            "merged_pull": self.merged_pull,
            "verification": run(self.verification),
            "verdict": self.verification["verdict"] if self.verification else None,
            "provenance": self.verification["provenance"] if self.verification else None,
            "override": (
                {**self.override["override"], **(run(self.override) or {})}
                if self.override
                else None
            ),
            "columns": [column.as_json() for column in self.columns],
        }


def tier_rank(tier: str) -> int:
    return TIERS.index(tier)


def bind_rows(
    rows: Sequence[Row],
    manifests: Mapping[str, bytes],
    records: Mapping[str, Sequence[dict[str, Any]]],
    merged_pulls: Mapping[str, dict[str, Any]] | None = None,
) -> list[Entry]:
    """Every row with its tier and evidence. ``manifests``: slug -> bytes of
    submissions/<slug>.json on the default branch; ``records``: binding key -> its records;
    ``merged_pulls``: row content hash -> the merged PR that added it (links only)."""
    historical = self_reported_hashes()
    pages: set[str] = set()
    entries = []
    for row in rows:
        page = row.slug or f"row-{row.line}"
        if page in pages:
            page = f"{page}-line-{row.line}"
        pages.add(page)
        if row.row_sha256 in historical:
            entries.append(_plain(row, page, "self-reported", None, TIER_MEANING["self-reported"]))
            continue
        manifest = manifests.get(row.slug)
        if manifest is None:
            note = (
                f"no manifest submissions/{row.slug or '?'}.json on the default branch, so no "
                "evidence can be bound to this row"
            )
            entries.append(_plain(row, page, "validated", None, note))
            continue
        binding = Binding(row.model, row.slug, row.row_sha256, sha256_hex(manifest))
        found = sorted(records.get(binding.key, ()), key=lambda r: r["recorded_at"])
        entries.append(_with_evidence(row, page, binding, found))
    for entry in entries:
        if entry.tier != "self-reported" and merged_pulls:
            entry.merged_pull = merged_pulls.get(entry.row.row_sha256)
    add_ranks(entries)
    return entries


def _columns(row: Row, tier: str | None) -> list[ColumnEntry]:
    facts = leaderboard_facts()
    columns = []
    for column in facts.columns:
        cell = row.scores[column.name]
        claimed = score_value(cell)
        columns.append(
            ColumnEntry(
                column=column.name,
                domain=column.domain,
                cell=cell,
                claimed=claimed,
                tier=tier if cell.strip() else None,
            )
        )
    return columns


def _plain(row: Row, page: str, tier: str, manifest_sha: str | None, note: str) -> Entry:
    return Entry(row, page, tier, note, manifest_sha, _columns(row, tier))


def _with_evidence(row: Row, page: str, binding: Binding, records: list[dict[str, Any]]) -> Entry:
    """The newest word decides: an override newer than every verification sets the tier
    (accept: overridden; reject: validated); else each column's newest verification does."""
    verifications = [r for r in records if r["kind"] == "verification"]
    overrides = [r for r in records if r["kind"] == "override"]
    entry = Entry(row, page, "validated", "", binding.manifest_sha256, _columns(row, "validated"))
    entry.records = records
    entry.verification = verifications[-1] if verifications else None
    override = overrides[-1] if overrides else None
    if override is not None and (
        entry.verification is None or override["recorded_at"] >= entry.verification["recorded_at"]
    ):
        entry.override = override
        decision = override["override"]
        # the columns still show what the verifications measured, under the override's tier
        _apply_verifications(entry.columns, verifications, keep_tier=True)
        if decision["decision"] == "accept":
            for column in entry.columns:
                if column.tier is not None:
                    column.tier = "overridden"
            _row_tier(entry)
        entry.note = f"verification overridden: {decision['decision']}ed by {decision['by']}"
        return entry
    if not verifications:
        entry.note = "merged without a GPU verification of this row and manifest"
        return entry
    _apply_verifications(entry.columns, verifications, keep_tier=False)
    _row_tier(entry)
    if entry.tier == "verified":
        entry.note = "every claimed column reproduced"
    else:
        missing = [c.column for c in entry.columns if c.tier == "validated"]
        entry.note = "not reproduced (or not run): " + ", ".join(missing)
    return entry


def _apply_verifications(
    columns: list[ColumnEntry], verifications: list[dict[str, Any]], *, keep_tier: bool
) -> None:
    """Per column, the newest verification that judged it decides (a later run of only some
    columns does not erase the others)."""
    for column in columns:
        if column.tier is None:
            continue
        for record in reversed(verifications):
            judged = {c["column"]: c for c in record["columns"]}
            found = judged.get(column.column)
            if found is None or found["outcome"] in UNJUDGED_OUTCOMES:
                continue
            if not _same_claim(found["claimed"], column.claimed):
                continue  # judged against another number than the row's: not this claim
            column.outcome = found["outcome"]
            column.reproduced = found["reproduced"]
            column.delta = found["delta"]
            column.tolerance = found["tolerance"]
            ci95 = found.get("ci95")
            column.ci95 = (float(ci95[0]), float(ci95[1])) if ci95 else None
            column.interval = found.get("interval")
            column.members = found.get("members")
            if not keep_tier:
                reproduced = found["outcome"] in REPRODUCED_OUTCOMES
                column.tier = "verified" if reproduced else "validated"
            break


def _same_claim(recorded: float | None, claimed: float | None) -> bool:
    """The record judged the very number in the row (the CSV keeps at most 9 decimals)."""
    if recorded is None or claimed is None:
        return recorded is claimed
    return abs(recorded - claimed) <= 1e-12 * max(1.0, abs(claimed))


def _row_tier(entry: Entry) -> None:
    tiers = [c.tier for c in entry.columns if c.tier is not None]
    entry.tier = max(tiers, key=tier_rank) if tiers else "validated"


def add_ranks(entries: Sequence[Entry]) -> None:
    """Per column: rank 1 is the best score; neighbours whose ci95 intervals overlap (or whose
    scores are equal) are tied and share the best rank of their group."""
    facts = leaderboard_facts()
    for index, column in enumerate(facts.columns):
        scored = [
            (e.columns[index].claimed, e.columns[index])
            for e in entries
            if e.columns[index].claimed is not None
        ]
        scored.sort(key=lambda item: item[0], reverse=column.higher_is_better)
        group_rank = 0
        previous: ColumnEntry | None = None
        for position, (_, entry) in enumerate(scored, start=1):
            if previous is not None and _tied(previous, entry):
                entry.rank = group_rank
                entry.tied = previous.tied = True
            else:
                group_rank = position
                entry.rank = position
            previous = entry


def _tied(a: ColumnEntry, b: ColumnEntry) -> bool:
    if a.claimed == b.claimed:
        return True
    if a.ci95 is None or b.ci95 is None:
        return False
    return a.ci95[0] <= b.ci95[1] and b.ci95[0] <= a.ci95[1]
