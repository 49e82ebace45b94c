"""hearbot publish without a browser: tiers, binding by content, escaping, leaderboard.json,
idempotence and clear refusals of bad evidence."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from bot.cli import main
from bot.publish.build import Inputs, PublishInputError, bind, bound_files, publish
from bot.publish.records import RECORDS_DIR, RecordError, read_record
from bot.publish.rows import LeaderboardReadError, parse_leaderboard
from tests.publish.scenario import HOSTILE, REPOSITORY, build_board


@pytest.fixture
def board(tmp_path: Path) -> dict:
    return build_board(tmp_path)


def inputs(board: dict) -> Inputs:
    return Inputs(board["repo"] / "leaderboard.csv", board["repo"] / "submissions",
                  board["evidence"])  # fmt: skip


def test_tiers_per_row_and_column(board: dict) -> None:
    entries = {e.row.model: e for e in bind(inputs(board))}
    assert len(entries) == 39
    assert sum(e.tier == "self-reported" for e in entries.values()) == 34
    acme = entries["Acme Verified Net"]
    assert acme.tier == "verified" and acme.verification is not None
    assert acme.verification["run"]["id"] == 7002  # the newest record decides
    assert {c.column: c.tier for c in acme.columns if c.tier} == {
        "Beehive": "verified", "ESC-50": "verified", "GTZAN Genre": "verified"}  # fmt: skip
    bolt = entries["Bolt Override Net"]
    assert bolt.tier == "overridden" and "lead-maintainer" in bolt.note
    assert bolt.override is not None and bolt.override["override"]["decision"] == "accept"
    cedar = entries["Cedar Unverified Net"]
    assert cedar.tier == "validated" and cedar.verification is None
    assert cedar.note == "merged without a GPU verification of this row and manifest"
    dune = entries["Dune Failed Net"]
    assert dune.tier == "validated"  # the weakest column decides the row
    assert {c.column: c.tier for c in dune.columns if c.tier} == {
        "ESC-50": "verified", "GTZAN Genre": "validated"}  # fmt: skip
    assert entries[HOSTILE].tier == "verified"


def test_a_changed_row_or_manifest_loses_its_evidence(board: dict) -> None:
    csv_path = board["repo"] / "leaderboard.csv"
    csv_path.write_bytes(csv_path.read_bytes().replace(b",0.9990,", b",0.9991,"))
    manifest = board["repo"] / "submissions" / "bolt-override-net.json"
    manifest.write_bytes(manifest.read_bytes() + b" ")
    entries = {e.row.model: e for e in bind(inputs(board))}
    assert entries["Acme Verified Net"].tier == "validated"
    assert entries["Bolt Override Net"].tier == "validated"
    # a historical row that changes is no longer self-reported either
    data = csv_path.read_bytes().replace(b"Sony UDONS ViT,", b"Sony UDONS ViT2,")
    csv_path.write_bytes(data)
    entries = {e.row.model: e for e in bind(inputs(board))}
    assert entries["Sony UDONS ViT2"].tier == "validated"


def test_site_is_escaped_and_idempotent(board: dict, tmp_path: Path) -> None:
    out, bound = tmp_path / "site", tmp_path / "bound"
    csv_path = str(board["repo"] / "leaderboard.csv")
    code = main(["publish", "--out", str(out), "--leaderboard", csv_path,
                 "--submissions", str(board["repo"] / "submissions"),
                 "--evidence", str(board["evidence"]), "--bound-out", str(bound),
                 "--repository", REPOSITORY])  # fmt: skip
    assert code == 0
    index = (out / "index.html").read_text()
    assert "<script>alert(1)</script>" not in index
    assert "Evil &lt;script&gt;alert(1)&lt;/script&gt; &quot;Net&quot;, v2" in index
    page = out / "models" / "evil-script-alert-1-script-net-v2.html"
    assert "<script>" not in page.read_text()
    before = {p: p.read_bytes() for p in [*out.rglob("*"), *bound.rglob("*")] if p.is_file()}
    assert len([p for p in before if p.suffix == ".json" and "bound" in p.parts]) == 5
    publish(inputs(board), out, repository=REPOSITORY, bound_out=bound)
    after = {p: p.read_bytes() for p in [*out.rglob("*"), *bound.rglob("*")] if p.is_file()}
    assert after == before


def test_leaderboard_json_for_other_sites(board: dict, tmp_path: Path) -> None:
    publish(inputs(board), tmp_path, repository=REPOSITORY, bound_out=None)
    document = json.loads((tmp_path / "leaderboard.json").read_text())
    assert [t["tier"] for t in document["tiers"]] == [
        "verified", "overridden", "validated", "self-reported"]  # fmt: skip
    assert "overlap" in document["ties"]
    rows = {r["model"]: r for r in document["rows"]}
    esc50 = {c["column"]: c for c in rows["Acme Verified Net"]["columns"]}["ESC-50"]
    assert esc50["rank"] == 1 and esc50["tied"] and esc50["ci95"] == pytest.approx([0.975, 1.015])
    assert rows["Acme Verified Net"]["pull_request"]["number"] == 11
    assert rows["Cedar Unverified Net"]["pull_request"] is None
    empty = {c["column"]: c for c in rows["Cedar Unverified Net"]["columns"]}["Beehive"]
    assert empty["claimed"] is None and empty["tier"] is None and empty["rank"] is None


def test_quoted_commas_are_one_field(board: dict) -> None:
    rows = parse_leaderboard((board["repo"] / "leaderboard.csv").read_bytes())
    assert rows[-1].model == HOSTILE and rows[-1].scores["ESC-50"] == "0.9985"


def test_bad_csv_is_refused_clearly() -> None:
    with pytest.raises(LeaderboardReadError, match="header"):
        parse_leaderboard(b"Model,URL\nx,y")
    header = (Path(__file__).resolve().parents[2] / "leaderboard.csv").read_bytes().split(b"\n")[0]
    with pytest.raises(LeaderboardReadError, match="line 2 has 2 fields"):
        parse_leaderboard(header + b"\nx,y")


def test_misfiled_or_forged_records_are_refused(board: dict) -> None:
    records = sorted((board["evidence"] / RECORDS_DIR).glob("*/*.json"))
    other = records[-1].parent.name
    wrong = board["evidence"] / RECORDS_DIR / ("0" * 64) / "x.json"
    wrong.parent.mkdir()
    shutil.copy(records[0], wrong)
    with pytest.raises(PublishInputError, match="not to its folder's key"):
        bind(inputs(board))
    wrong.unlink()
    record = json.loads(records[0].read_text())
    record["binding"]["row_sha256"] = "f" * 64
    with pytest.raises(RecordError, match="binding key does not match"):
        read_record(json.dumps(record).encode(), "x.json")
    record["verdict"] = "great"
    with pytest.raises(RecordError, match="/verdict"):
        read_record(json.dumps(record).encode(), "x.json")
    assert other


def test_bound_files_cover_every_row_since_the_bot(board: dict) -> None:
    files = bound_files(bind(inputs(board)))
    assert sorted(files) == [
        "bound/acme-verified-net.verification.json",
        "bound/bolt-override-net.verification.json",
        "bound/cedar-unverified-net.verification.json",
        "bound/dune-failed-net.verification.json",
        "bound/evil-script-alert-1-script-net-v2.verification.json",
    ]
    cedar = json.loads(files["bound/cedar-unverified-net.verification.json"])
    assert cedar["row"]["tier"] == "validated" and cedar["records"] == []


def test_the_newest_word_decides_between_overrides_and_verifications(board: dict) -> None:
    """A reject newer than a passing run makes the row validated; a run newer than an
    accepted override decides again."""
    from bot.publish.records import override_record, record_bytes, verification_record
    from tests.publish.scenario import context, result_for

    number, binding, scores = board["bindings"]["Acme Verified Net"]
    folder = board["evidence"] / RECORDS_DIR / binding.key
    ctx = context(number, who="lead-maintainer", at="2026-11-09T00:00:00Z")
    reject = override_record("reject", "weights differ from the paper", binding, ctx)
    (folder / "c.json").write_bytes(record_bytes(reject))
    acme = {e.row.model: e for e in bind(inputs(board))}["Acme Verified Net"]
    assert acme.tier == "validated"
    assert acme.note == "verification overridden: rejected by lead-maintainer"
    assert {c.outcome for c in acme.columns if c.tier} == {"reproduced"}  # still shown

    number, binding, scores = board["bindings"]["Bolt Override Net"]
    claims = {k: float(v) for k, v in scores.items()}
    rerun = result_for(claims, {"GTZAN Genre": "mismatch"}, ci=False)
    ctx = context(number, at="2026-11-10T00:00:00Z", run_id=7010)
    record = verification_record(rerun, binding, ctx)
    (board["evidence"] / RECORDS_DIR / binding.key / "c.json").write_bytes(record_bytes(record))
    bolt = {e.row.model: e for e in bind(inputs(board))}["Bolt Override Net"]
    assert bolt.tier == "validated" and bolt.override is None
    assert {c.column: c.tier for c in bolt.columns if c.tier} == {
        "ESC-50": "verified", "GTZAN Genre": "validated"}  # fmt: skip


def test_a_record_judging_another_number_does_not_verify_the_row(board: dict) -> None:
    """Defence in depth: a record whose claimed value is not the row's cell (it cannot come
    from this row's verification) leaves that column validated."""
    records = sorted((board["evidence"] / RECORDS_DIR).glob("*/b.json"))
    acme = next(p for p in records if "Acme" in p.read_text() and "verification" in p.read_text())
    record = json.loads(acme.read_text())
    for column in record["columns"]:
        if column["column"] == "ESC-50":
            column["claimed"] = 0.5
    acme.write_text(json.dumps(record))
    entry = {e.row.model: e for e in bind(inputs(board))}["Acme Verified Net"]
    tiers = {c.column: c.tier for c in entry.columns if c.tier}
    assert tiers["ESC-50"] == "validated" and tiers["Beehive"] == "verified"
    assert entry.tier == "validated"
