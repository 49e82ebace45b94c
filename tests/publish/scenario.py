"""A published board to test against: the real 34 historical rows, plus rows merged after the
bot started: one verified (with intervals), one overridden, one merged without verification,
one whose verification failed, and a hostile name with HTML and a comma (quoted in the CSV)."""

from __future__ import annotations

import copy
import csv
import io
import json
from pathlib import Path
from typing import Any

from bot.common.fileio import write_atomic
from bot.common.schemas import leaderboard_facts
from bot.publish.records import (
    RECORDS_DIR,
    Binding,
    RunContext,
    override_record,
    record_bytes,
    sha256_hex,
    verification_record,
)
from bot.publish.rows import row_sha256
from bot.submission.leaderboard.names import slug
from tests.github.verification_result import verification_result

REPO_ROOT = Path(__file__).resolve().parents[2]
BASE_CSV = (REPO_ROOT / "leaderboard.csv").read_bytes()
REPOSITORY = "hearbenchmark/hear-leaderboard"
HOSTILE = 'Evil <script>alert(1)</script> "Net", v2'


def fields(model: str, scores: dict[str, str]) -> list[str]:
    facts = leaderboard_facts()
    return [model, "https://example.org/" + slug(model), "2026-11-01"] + [
        scores.get(name, "") for name in facts.score_columns
    ]


def csv_line(values: list[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="").writerow(values)
    return buffer.getvalue()


def manifest_bytes(model: str) -> bytes:
    return json.dumps({"model": model, "install": ["x @ https://e.org/x.whl"]}).encode()


def context(pr: int, *, who: str = "maintainer", at: str, run_id: int = 7001) -> RunContext:
    return RunContext(
        pr=pr,
        head_sha=f"{pr:040x}",
        repository=REPOSITORY,
        server_url="https://github.com",
        triggered_by=who,
        run_id=run_id,
        run_attempt=1,
        hearbot_commit="c" * 40,
        recorded_at=at,
    )


def result_for(claims: dict[str, float], outcomes: dict[str, str], ci: bool) -> dict[str, Any]:
    result = copy.deepcopy(verification_result("pass"))
    verification = result["verification"]
    template = verification["columns"][0]
    facts = leaderboard_facts()
    columns = []
    for name, claim in claims.items():
        outcome = outcomes.get(name, "reproduced")
        reproduced = claim - 0.004 if outcome == "reproduced" else claim - 0.2
        column = {
            **template,
            "column": name,
            "outcome": outcome,
            "claimed": claim,
            "reproduced": reproduced,
            "delta": reproduced - claim,
            "tolerance": facts.column(name).floor,
            "interval": {
                "low": reproduced - facts.column(name).floor,
                "high": reproduced + facts.column(name).floor,
                "confidence": facts.column(name).confidence,
                "floor": facts.column(name).floor,
                "cap": facts.column(name).cap,
                "k": 1,
            },
            "task_dirs": list(facts.column(name).task_dirs),
        }
        if ci:
            column["ci95"] = [reproduced - 0.02, reproduced + 0.02]
            column["members"] = [reproduced - 0.001, reproduced, reproduced + 0.001]
        columns.append(column)
    verification["columns"] = columns
    failed = any(o != "reproduced" for o in outcomes.values())
    verification["verdict"] = "fail" if failed else "pass"
    verification["environment"]["device"] = "cuda (NVIDIA H100 80GB HBM3)"
    verification["environment"]["cuda"] = "12.8"
    verification["environment"]["driver"] = "570.86.15"
    return result


def build_board(root: Path) -> dict[str, Any]:
    """Writes ROOT/repo/{leaderboard.csv, submissions/} and ROOT/evidence/records/; returns
    what it made."""
    repo, evidence = root / "repo", root / "evidence"
    esc50, gtzan, beehive = "ESC-50", "GTZAN Genre", "Beehive"
    rows = {
        "Acme Verified Net": {esc50: "0.9990", gtzan: "0.95", beehive: "0.7"},
        "Bolt Override Net": {esc50: "0.5", gtzan: "0.6"},
        "Cedar Unverified Net": {esc50: "0.4"},
        "Dune Failed Net": {esc50: "0.3", gtzan: "0.99"},
        HOSTILE: {esc50: "0.9985"},
    }
    lines = [BASE_CSV.decode()]
    for model, scores in rows.items():
        lines.append(csv_line(fields(model, scores)))
    csv_bytes = "\n".join(lines).encode()
    write_atomic(repo / "leaderboard.csv", csv_bytes)
    bindings = {}
    for number, (model, scores) in enumerate(rows.items(), start=11):
        manifest = manifest_bytes(model)
        write_atomic(repo / "submissions" / f"{slug(model)}.json", manifest)
        binding = Binding(
            model, slug(model), row_sha256(fields(model, scores)), sha256_hex(manifest)
        )
        bindings[model] = (number, binding, scores)

    def store(record: dict[str, Any], name: str) -> None:
        key = record["binding"]["key"]
        write_atomic(evidence / RECORDS_DIR / key / name, record_bytes(record))

    def claims(model: str) -> dict[str, float]:
        return {k: float(v) for k, v in bindings[model][2].items()}

    number, binding, _ = bindings["Acme Verified Net"]
    # an older failing run, then a passing one: the newest decides
    old = result_for(claims("Acme Verified Net"), {esc50: "mismatch"}, ci=False)
    store(verification_record(old, binding, context(number, at="2026-11-01T10:00:00Z")), "a.json")
    new = result_for(claims("Acme Verified Net"), {}, ci=True)
    ctx = context(number, at="2026-11-02T10:00:00Z", run_id=7002)
    store(verification_record(new, binding, ctx), "b.json")

    number, binding, _ = bindings["Bolt Override Net"]
    failed = result_for(claims("Bolt Override Net"), {gtzan: "mismatch"}, ci=False)
    ctx = context(number, at="2026-11-03T10:00:00Z", run_id=7003)
    store(verification_record(failed, binding, ctx), "a.json")
    ctx = context(number, who="lead-maintainer", at="2026-11-04T10:00:00Z", run_id=7004)
    reason = "GTZAN split differs on the runner; reproduced locally by two maintainers"
    store(override_record("accept", reason, binding, ctx), "b.json")

    number, binding, _ = bindings["Dune Failed Net"]
    failed = result_for(claims("Dune Failed Net"), {gtzan: "mismatch"}, ci=True)
    ctx = context(number, at="2026-11-05T10:00:00Z", run_id=7005)
    store(verification_record(failed, binding, ctx), "a.json")

    number, binding, _ = bindings[HOSTILE]
    hostile = result_for(claims(HOSTILE), {}, ci=True)
    ctx = context(number, at="2026-11-06T10:00:00Z", run_id=7006)
    store(verification_record(hostile, binding, ctx), "a.json")
    return {"repo": repo, "evidence": evidence, "rows": rows, "bindings": bindings}
