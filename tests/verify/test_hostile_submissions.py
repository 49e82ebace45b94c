"""Hostile submissions (tests/fixtures/hostile) through `hearbot verify`, sandbox on.

Each attack must end as `error` or `fail` (never `pass`) with a reason naming what stopped it,
and leave no trace: the listener on 127.0.0.1 sees nothing, no canary file appears, the fake
token appears in no output, log, report or file name, no sandboxed process outlives the run.
Small limits keep the suite fast and the machine safe.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main
from bot.common.schemas import leaderboard_facts, schema_errors
from bot.demo import STAND_INS, build_example_wheel, manifest, row
from bot.hear.synth import SPECS
from bot.runner.sandbox import directory_bytes
from bot.submission.leaderboard.names import slug
from tests.fixtures.hostile import build
from tests.verify.conftest import error_text

REPO_ROOT = Path(__file__).resolve().parents[2]
BASE = REPO_ROOT / "leaderboard.csv"
COLUMN = "ESC-50"
TODAY = dt.date(2026, 11, 26)
FAKE_TOKEN = "ghs_hearbotFAKEtoken0123456789abcdefXYZ"
SECRETS = {
    "GITHUB_TOKEN": FAKE_TOKEN,
    "ACTIONS_RUNTIME_TOKEN": FAKE_TOKEN + "-runtime",
    "HEARBOT_DEPLOY_SECRET": FAKE_TOKEN + "-deploy",
}
LIMITS = [
    "--limit-wall-s=90",
    "--limit-memory-mb=2000",
    "--limit-processes=64",
    "--limit-output-mb=100",
    "--limit-output-entries=20000",
]
TRUSTED_MEMORY_MB = 1024
"""The bound on the trusted process's peak memory (RSS) while it refuses a sparse embedding
that declares 1.5 GB: measured at 345 MB (torch and the evaluation imported) for a sparse
.embedding.npy, 2,132 MB with numpy.load in place of the bounded reader; now that embeddings
come through the stream, the same bound holds for a reply that declares 1.5 GB."""

pytestmark = pytest.mark.skipif(shutil.which("bwrap") is None, reason="needs bubblewrap")


@dataclass
class Listener:
    """A TCP listener on 127.0.0.1 that records every connection (none may arrive)."""

    port: int = 0
    seen: list[bytes] = field(default_factory=list)


@pytest.fixture(scope="module")
def listener() -> Iterator[Listener]:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    server.settimeout(0.2)
    record = Listener(port=server.getsockname()[1])
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                connection, _ = server.accept()
            except TimeoutError:
                continue
            with connection:
                connection.settimeout(1)
                try:
                    record.seen.append(connection.recv(4096) or b"(connected)")
                except OSError:
                    record.seen.append(b"(connected)")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield record
    stop.set()
    thread.join()
    server.close()


@pytest.fixture(scope="module")
def example_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_example_wheel(tmp_path_factory.mktemp("example-dist"))


@pytest.fixture(autouse=True)
def secrets_in_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in SECRETS.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("PYTHONPATH", raising=False)
    monkeypatch.delenv("CI", raising=False)


@dataclass
class Run:
    code: int
    result: dict[str, Any]
    root: Path
    output: str

    @property
    def column(self) -> dict[str, Any]:
        return self.column_named(COLUMN)

    def column_named(self, name: str) -> dict[str, Any]:
        return next(c for c in self.result["verification"]["columns"] if c["column"] == name)


def canary_folders(tasks: Path, root: Path) -> list[str]:
    """Host paths a hostile model tries to write into (none is visible in the sandbox)."""
    return [str(tasks / STAND_INS[COLUMN]), str(REPO_ROOT), str(Path.home()), str(root / "work")]


def run_hostile(
    package: str,
    tasks: Path,
    root: Path,
    example_wheel: Path,
    listener: Listener,
    capfd: pytest.CaptureFixture[str],
    *,
    claim: str = "0.5",
    model_options: dict[str, Any] | None = None,
    sdist: bool = False,
    limits: list[str] = LIMITS,
    claims: dict[str, str] | None = None,
    out: str = "out",
    max_epochs: int = 20,
    extra_target: dict[str, Any] | None = None,
    in_subprocess: bool = False,
) -> Run:
    """`hearbot verify` of the hostile ``package``, claiming ``claim`` for `COLUMN` (or
    ``claims``), the work directory ``root/work`` kept between runs of one test. With
    ``in_subprocess`` it runs as its own process, so that the result's ``memory_mb.evaluate``
    is the trusted process's own peak (getrusage), not this test process's."""
    claims = claims or {COLUMN: claim}
    dist = root / "dist"
    dist.mkdir(parents=True, exist_ok=True)
    shutil.copy(example_wheel, dist)
    target = {"port": listener.port, "paths": canary_folders(tasks, root), **(extra_target or {})}
    if sdist:
        package_file = build.write_sdist(package, dist, json.dumps(target).encode())
    else:
        package_file = build.write_wheel(
            package, dist, ["hear-example-model"], json.dumps(target).encode()
        )
    not_run = [name for name in leaderboard_facts().score_columns if name not in claims]
    document = manifest(f"Hostile {package}", example_wheel, not_run)
    document["install"] += [
        f"{package.replace('_', '-')}=={build.VERSION} --hash=sha256:{build.sha256(package_file)}"
    ]
    document["hear_module"] = package
    document["model_options"] = model_options or {}
    manifest_path = root / f"{slug(document['model'])}.json"
    manifest_path.write_text(json.dumps(document))
    head = root / "leaderboard.csv"
    decimals = {name: Decimal(value) for name, value in claims.items()}
    head.write_bytes(BASE.read_bytes() + b"\n" + row(document["model"], decimals).encode())
    arguments = [
        "verify",
        f"--base-file={BASE}",
        f"--head-file={head}",
        f"--manifest={manifest_path}",
        f"--tasks-dir={tasks}",
        f"--out={root / out}",
        f"--work={root / 'work'}",
        f"--find-links={dist}",
        *(f"--stand-in={name}={STAND_INS[name]}" for name in claims),
        "--tasks",
        *claims,
        f"--max-epochs={max_epochs}",
        "--seeds=1",  # one member: the interval is its score ± the floor (the rule's K = 1)
        f"--today={TODAY.isoformat()}",
        "--device=cpu",
        *limits,
    ]
    if in_subprocess:
        # Through a small launcher: a child started straight from this process (vfork, then
        # exec) inherits this process's peak RSS as its own ru_maxrss.
        launcher = "import subprocess, sys; sys.exit(subprocess.call(sys.argv[1:]))"
        completed = subprocess.run(
            [sys.executable, "-c", launcher, sys.executable, "-m", "bot", *arguments],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        code, output = completed.returncode, completed.stdout + completed.stderr
    else:
        code = main(arguments)
        captured = capfd.readouterr()
        output = captured.out + captured.err
    result = json.loads((root / out / "result.json").read_text())
    assert schema_errors("result.schema.json", result) == []
    return Run(code, result, root, output)


def assert_nothing_leaked(run: Run, listener: Listener, tasks: Path) -> None:
    assert listener.seen == [], f"the listener was reached: {listener.seen}"
    for folder in canary_folders(tasks, run.root):
        assert not (Path(folder) / "PWNED").exists(), f"{folder}/PWNED was written"
    needle = FAKE_TOKEN.encode()
    assert FAKE_TOKEN not in run.output
    for directory, names, files in os.walk(run.root):
        for name in [*names, *files]:
            assert FAKE_TOKEN not in name, f"the token is in a file name under {directory}"
            path = Path(directory) / name
            if path.is_file() and not path.is_symlink():
                assert not _contains(path, needle), f"the token is in {path}"
    assert _processes_of(run.root) == [], "a sandboxed process outlived its run"


def _contains(path: Path, needle: bytes) -> bool:
    """Whether ``needle`` is in the file, read in chunks (a hostile file may be 1.5 GB)."""
    tail = b""
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            if needle in tail + chunk:
                return True
            tail = chunk[-len(needle) :]
    return False


def _processes_of(root: Path) -> list[str]:
    """Processes still running a program from under ``root`` (this run's virtualenv); other
    tests' sandboxes may be running at the same time, so all of `nobody`'s would be wrong."""
    found = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                command = Path(entry.path, "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if str(root) in command:
                found.append(f"{entry.name}: {command[:200]}")
    return found


def assert_error(run: Run, *expected: str) -> str:
    assert run.code == 3, run.result["verification"]["reason"]
    assert run.result["verification"]["verdict"] == "error"
    assert run.column["outcome"] == "error"
    detail = error_text(run.result, run.column)
    assert any(text in detail for text in expected), detail
    return detail


@pytest.fixture
def env(
    synth_tasks: Path,
    tmp_path: Path,
    example_wheel: Path,
    listener: Listener,
    capfd: pytest.CaptureFixture[str],
) -> Any:
    def go(package: str, **kwargs: Any) -> Run:
        return run_hostile(package, synth_tasks, tmp_path, example_wheel, listener, capfd, **kwargs)

    return go


def check(run: Run, listener: Listener, synth_tasks: Path) -> None:
    assert_nothing_leaked(run, listener, synth_tasks)


# --- network -------------------------------------------------------------------------------------


def test_network_connections_and_name_lookups_are_blocked(env, listener, synth_tasks) -> None:
    run = env("hear_hostile_network")
    detail = assert_error(run, "HOSTILE-BLOCKED network")
    assert "connect 127.0.0.1" in detail and "resolve pypi.org" in detail
    check(run, listener, synth_tasks)


# --- secrets -------------------------------------------------------------------------------------


def test_no_token_reaches_the_model_and_none_is_in_any_output(env, listener, synth_tasks) -> None:
    run = env("hear_hostile_secrets")
    detail = assert_error(run, "HOSTILE-BLOCKED secrets")
    assert "GITHUB_TOKEN" not in detail.split("only", 1)[-1]
    check(run, listener, synth_tasks)


# --- writes outside the output directory ---------------------------------------------------------


def test_writes_to_tasks_checkout_home_and_code_are_refused(env, listener, synth_tasks) -> None:
    before = sorted(p.name for p in (synth_tasks / STAND_INS[COLUMN]).iterdir())
    run = env("hear_hostile_writes")
    detail = assert_error(run, "HOSTILE-BLOCKED writes")
    # No task is mounted: its host path does not exist in the sandbox.
    assert f"{synth_tasks / STAND_INS[COLUMN]}/PWNED: No such file or directory" in run.output
    assert "/opt/hearbot/bot/PWNED: Read-only file system" in run.output
    assert "Read-only file system" in detail
    assert sorted(p.name for p in (synth_tasks / STAND_INS[COLUMN]).iterdir()) == before
    check(run, listener, synth_tasks)


def test_planted_scores_files_are_ignored(env, listener, synth_tasks) -> None:
    run = env("hear_hostile_scores", claim="1")
    assert run.code == 1
    assert run.result["verification"]["verdict"] == "fail"
    assert run.column["outcome"] == "mismatch"
    assert run.column["reproduced"] < 0.99
    assert "planted 9 scores files" in run.output  # it did write them, where nothing reads
    trusted = [run.root / "work" / "embeddings", run.root / "work" / "scores"]
    kept = [p for root in trusted for p in root.rglob("scores.json")]
    assert kept == [], "a planted file outlived its sandbox"
    check(run, listener, synth_tasks)


# --- resources -----------------------------------------------------------------------------------


def test_a_model_that_sleeps_forever_is_killed_at_the_wall_time_limit(
    env, listener, synth_tasks
) -> None:
    limits = [*LIMITS, "--limit-wall-s=6"]
    run = env("hear_hostile_sleep", limits=limits)
    assert_error(run, "killed: wall time limit of 6 s")
    check(run, listener, synth_tasks)


def test_unbounded_memory_is_stopped(env, listener, synth_tasks) -> None:
    run = env("hear_hostile_memory")
    assert_error(run, "HOSTILE-BLOCKED memory", "killed: memory limit")
    check(run, listener, synth_tasks)


def test_unbounded_forking_is_stopped(env, listener, synth_tasks) -> None:
    run = env("hear_hostile_fork")
    assert_error(run, "HOSTILE-BLOCKED processes")
    check(run, listener, synth_tasks)


def test_unbounded_output_is_stopped_and_removed(env, listener, synth_tasks) -> None:
    run = env("hear_hostile_disk")
    assert_error(run, "HOSTILE-BLOCKED disk", "killed: output size limit")
    assert directory_bytes(run.root / "out") < 100 << 20
    check(run, listener, synth_tasks)


# --- what the model returns or writes ------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("nan", "embedding is not finite"),
        ("shape", "embedding width 64; the model declared 128"),
        ("short", "the stream ended after"),
        ("id", "carries another clip's id"),
        ("garbage", "a frame header declares 4294967295 bytes"),
    ],
)
def test_forged_replies_on_the_stream_are_errors_saying_what_was_wrong(
    env, listener, synth_tasks, mode: str, expected: str
) -> None:
    """The model writes replies of its own onto the reply pipe: each is refused, by what it
    declares or what it holds, before anything of it is written."""
    run = env("hear_hostile_tamper", model_options={"mode": mode})
    detail = assert_error(run, expected)
    assert "the model's process stopped" in detail
    assert (
        not list((run.root / "work" / "embeddings").glob("*/*/*/*.embedding.npy")) or mode == "id"
    )
    check(run, listener, synth_tasks)


@pytest.mark.parametrize("fault", ["nan", "float64", "wrong_size"])
def test_bad_values_through_the_api_fail_the_model_checks(
    env, listener, synth_tasks, fault: str
) -> None:
    run = env("hear_hostile_values", model_options={"fault": fault})
    assert_error(run, "The model fails the HEAR API checks")
    check(run, listener, synth_tasks)


# --- install time --------------------------------------------------------------------------------


def test_a_pth_file_runs_contained_like_run_time(env, listener, synth_tasks) -> None:
    run = env("hear_hostile_pth")
    detail = assert_error(run, "HOSTILE-BLOCKED install-time .pth")
    assert "connect 127.0.0.1" in detail and "no secret in the environment" in detail
    check(run, listener, synth_tasks)


def test_a_build_backend_runs_contained_at_install_time(env, listener, synth_tasks) -> None:
    run = env("hear_hostile_build", sdist=True)
    detail = assert_error(run, "HOSTILE-BLOCKED build backend")
    assert "install" in run.column["detail"] or "pip" in run.column["detail"]
    assert "connect 127.0.0.1" in detail
    check(run, listener, synth_tasks)


# --- forged log lines (issue #14) ----------------------------------------------------------------

STAMPED_PASS = re.compile(
    r"^\s*(\d\d:\d\d:\d\d )?(verify: pass|install: done in 1\.0 s \(7 packages\))"
)
"""Lines only the model prints here: hearbot's real verdict is `error`, and its own install
line counts 16 packages."""


def forged_lines(text: str, *, stop_commands: bool = False) -> list[str]:
    """The lines of ``text`` (split as `str.splitlines` does: on `\\r` and every Unicode break)
    that are a workflow command or a stamped line hearbot did not write. With
    ``stop_commands``, hearbot's own `::stop-commands::<token>` … `::<token>::` pairs are
    allowed, and each must close the token it opened."""
    forged, token = [], None
    for line in text.splitlines():
        command = line.lstrip()
        if stop_commands and token is None and command.startswith("::stop-commands::"):
            token = command.removeprefix("::stop-commands::")
            if len(token) != 32 or "forged" in token:
                forged.append(line)
        elif stop_commands and token is not None and command == f"::{token}::":
            token = None
        elif command.startswith("::") or STAMPED_PASS.match(line):
            forged.append(line)
    if token is not None:
        forged.append(f"(workflow commands were never resumed: {token})")
    return forged


def test_printed_lines_cannot_forge_commands_or_log_lines(
    env, listener, synth_tasks, monkeypatch
) -> None:
    from bot.report import render_markdown, render_text, render_verification

    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    run = env("hear_hostile_lines")
    detail = assert_error(run, "HOSTILE-FORGED lines")
    out = run.root / "out"
    log = (out / "verify.log").read_text(encoding="utf-8")
    assert forged_lines(run.output, stop_commands=True) == []
    result = run.result
    sinks = {
        "verify.log": log,
        "report.md": (out / "report.md").read_text(encoding="utf-8"),
        "result.json log tail": run.column["log_tail"] or "",
        "result.json stage error": json.dumps(result["verification"].get("stage_error")),
        "result.json detail": run.column["detail"],
        "comment": render_verification(result),  # type: ignore[arg-type]
        "markdown": render_markdown(result),  # type: ignore[arg-type]
        "text": render_text(result),  # type: ignore[arg-type]
    }
    for name, text in sinks.items():
        assert forged_lines(text) == [], name
    # ... yet the forgeries did reach every sink, split, inert and marked as the model's.
    for stage in ("check-model", "embed"):
        for shown in (f"{stage} x", "12:00:00 verify: pass", "\\u003a:error title=forged::pwned"):
            assert re.search(
                rf"^\d\d:\d\d:\d\d {stage}[^:]*: \[model\] {re.escape(shown)}$", log, re.M
            )
    assert "[model] 12:00:00 install: done in 1.0 s" in log and "\\u001b[2K" in log
    assert "HOSTILE-FORGED lines" in run.output and "\\u003a:add-mask::hearbot" in detail
    check(run, listener, synth_tasks)


def test_the_forged_line_check_has_teeth() -> None:
    raw = "12:00:01 embed x: [model] x\r::error title=forged::pwned\u202812:00:00 verify: pass"
    assert forged_lines(raw) == ["::error title=forged::pwned", "12:00:00 verify: pass"]
    assert forged_lines("::stop-commands::forged-token\n::forged-token::", stop_commands=True)
    assert forged_lines("::stop-commands::" + "a" * 32 + "\nx", stop_commands=True)


# --- a marker planted at install time (issue #14) -----------------------------------------------


def test_a_marker_planted_at_install_time_is_not_taken_for_a_complete_install(
    env, listener, synth_tasks, tmp_path
) -> None:
    first = env("hear_hostile_marker")
    detail = assert_error(first, "HOSTILE-PLANTED marker")
    assert "pip install failed (exit 1)" in error_text(first.result, first.column)
    venvs = tmp_path / "work" / "venvs"
    planted = [
        path
        for path in venvs.glob("*/.hearbot-installed.json")
        if not path.parent.name.startswith("runner-")  # the runner layer's own, trusted
    ]
    assert planted, "the payload did plant its marker inside the virtualenv"
    assert not (venvs / ".installed").exists() or not any((venvs / ".installed").iterdir())
    assert "forged-by-install" not in json.dumps(first.result)

    # The same submission again, on the same work directory: the broken virtualenv must be
    # installed again (and fail again), never reused.
    shutil.rmtree(tmp_path / "dist")
    second = env("hear_hostile_marker")
    assert_error(second, "HOSTILE-PLANTED marker")
    assert "install: reusing" not in second.output
    assert "is incomplete; recreating it" in second.output
    assert "forged-by-install" not in json.dumps(second.result)
    assert "HOSTILE-PLANTED" in detail


# --- what trusted code reads: bounded (bot/common/untrusted.py) ---------------------------------


@pytest.mark.parametrize("mode", ["fifo", "devzero"])
def test_installed_metadata_turned_into_a_fifo_or_dev_zero_is_refused_not_read(
    env, listener, synth_tasks, mode: str
) -> None:
    """A .pth turns the package's own dist-info/METADATA into a FIFO (the provenance reader
    would block until the job's timeout) or a link to /dev/zero (it would read without end)
    while pip installs; the reader refuses it by its kind, at once."""
    run = env("hear_hostile_metadata", extra_target={"mode": mode})
    expected = "a FIFO, not a regular file [not-a-file]" if mode == "fifo" else "[symlink]"
    detail = assert_error(run, expected)
    assert "provenance: hear_hostile_metadata-1.0.0.dist-info/METADATA" in detail
    check(run, listener, synth_tasks)


@pytest.mark.parametrize("mode", ["payload", "frames"])
def test_a_reply_declaring_a_huge_embedding_is_refused_before_it_is_read(
    env, listener, synth_tasks, mode: str
) -> None:
    """A reply whose header declares 1.5 GB (payload) or 375 M frames (frames), a few KB
    following. The trusted process (its own process here, so that its peak memory is its own)
    refuses it by its header and stays under TRUSTED_MEMORY_MB."""
    run = env("hear_hostile_sparse", model_options={"mode": mode}, in_subprocess=True)
    expected = {
        "payload": "declares a payload of 1500000128 bytes; at most 268435456 may follow it",
        "frames": "a scene embedding has no frames",
    }
    assert_error(run, expected[mode])
    peak = run.result["verification"]["memory_mb"]["evaluate"]
    assert peak < TRUSTED_MEMORY_MB, f"the trusted process reached {peak} MB"
    check(run, listener, synth_tasks)


def test_an_inode_flood_is_stopped_by_the_entries_limit(env, listener, synth_tasks) -> None:
    """100,000 empty files (no bytes for any size limit to see) beside honest embeddings."""
    run = env("hear_hostile_flood")
    assert_error(run, "killed: output entries limit of 20000 [output-entries]")
    assert not list((run.root / "work" / "embeddings").glob("*/*/flood"))
    check(run, listener, synth_tasks)


def test_deep_directories_are_a_named_error_not_a_recursion_error(
    env, listener, synth_tasks
) -> None:
    """1,500 nested directories beside honest embeddings: trusted code walks and removes them
    without recursion, and the run ends with the limit named."""
    run = env("hear_hostile_deep")
    assert_error(run, "killed: output depth limit of 64 [output-depth]")
    assert "RecursionError" not in run.output
    assert not list((run.root / "work" / "embeddings").glob("*/*/d"))
    check(run, listener, synth_tasks)


def test_a_later_task_cannot_rewrite_an_earlier_tasks_checked_embeddings(
    env, listener, synth_tasks
) -> None:
    """The model, embedding ESC-50's task, rewrites FSD50K's task's already checked and scored
    embeddings into that task's labels (same sizes, same times); a second run that scores the
    reused embeddings again (other --max-epochs) would then reproduce 1.0 and pass. Sealed per
    task, they are out of its reach; and their digest covers content."""
    victim = STAND_INS["FSD50K"]
    assert victim < STAND_INS[COLUMN]  # embedded (sorted) first
    claims = {"FSD50K": "0.5", COLUMN: "0.5"}
    victim_samples = int(SPECS["synth_mixtures"].sample_duration * 16000)
    options = {"victim": victim, "victim_samples": victim_samples}
    first = env("hear_hostile_crosstask", claims=claims, model_options=options, out="out-1")
    detail = first.column["detail"] + "\n" + (first.column["log_tail"] or "")
    assert "HOSTILE-BLOCKED cross-task" in detail, detail
    second = env(
        "hear_hostile_crosstask",
        claims={"FSD50K": "1"},
        model_options=options,
        out="out-2",
        max_epochs=21,
    )
    assert f"embed {victim}: reusing the checked embeddings" in second.output
    assert second.result["verification"]["verdict"] == "fail"
    assert second.column_named("FSD50K")["outcome"] == "mismatch"
    assert second.column_named("FSD50K")["reproduced"] < 0.99
    check(second, listener, synth_tasks)


# --- the answers ---------------------------------------------------------------------------------


def test_a_model_that_reads_the_answers_finds_none_and_fails(env, listener, synth_tasks) -> None:
    """It looks for the task's files everywhere it can read, to match clips to labels: the
    sandbox holds none, so its one-hot "embeddings" are noise and its claim of 1.0 fails."""
    run = env("hear_hostile_labels", claim="1")
    assert "answer-reader: found 0 task folders, 0 labelled clips" in run.output
    assert run.code == 1, run.result["verification"]["reason"]
    assert run.result["verification"]["verdict"] == "fail"
    assert run.column["outcome"] == "mismatch"
    assert run.column["reproduced"] < 0.9
    check(run, listener, synth_tasks)


def test_the_answer_reader_would_pass_if_the_task_were_mounted(
    env, listener, synth_tasks, monkeypatch
) -> None:
    """The defence removed (the task directories mounted read-only, as before), the same
    package passes with 1.0: the test above has teeth."""
    from bot.runner.sandbox import Mount
    from bot.verify import streamed

    mounted = tuple(
        Mount(path, f"/sandbox/tasks/{path.name}") for path in sorted(synth_tasks.iterdir())
    )
    original = streamed.run_worker

    def with_tasks(*args, **kwargs):
        return original(*args, extra_mounts=mounted, **kwargs)

    monkeypatch.setattr(streamed, "run_worker", with_tasks)
    run = env("hear_hostile_labels", claim="1")
    assert re.search(r"answer-reader: found [1-9][0-9]* task folders", run.output)
    assert run.result["verification"]["verdict"] == "pass", run.result["verification"]["reason"]
    assert run.column["reproduced"] == 1.0
    check(run, listener, synth_tasks)


def lookup_table(task: Path) -> dict[str, int]:
    """What a memoriser compiles offline from the public task: every clip's exact 16-bit
    samples -> its label's index."""
    import soundfile

    from tests.fixtures.hostile._answers import fingerprint

    vocabulary = {
        line.split(",")[1]: int(line.split(",")[0])
        for line in (task / "labelvocabulary.csv").read_text().splitlines()[1:]
    }
    table = {}
    for split_file in task.glob("*.json"):
        if split_file.name == "task_metadata.json":
            continue
        for name, labels in json.loads(split_file.read_text()).items():
            samples, _ = soundfile.read(task / "16000" / split_file.stem / name, dtype="int16")
            table[fingerprint(samples.astype("<i2").tobytes())] = vocabulary[str(labels[0])]
    return table


def test_the_canary_flags_a_model_that_memorised_the_test_clips(env, listener, synth_tasks) -> None:
    """A lookup table of the task's clips (compiled offline, shipped in the package) scores
    1.0 on audio alone, so its claim passes; the perturbed canary copies are not in its
    table, their score collapses, and the task is flagged suspicious for the maintainer."""
    table = lookup_table(synth_tasks / STAND_INS[COLUMN])
    run = env("hear_hostile_lookup", claim="1", extra_target={"table": table})
    assert run.result["verification"]["verdict"] == "pass", run.result["verification"]["reason"]
    task = next(
        t for t in run.result["verification"]["tasks"] if t["task_dir"] == STAND_INS[COLUMN]
    )
    canary = task["canary"]
    print(f"canary lookup table: {canary}")
    # On a copy it does not know, the model guesses one of 5 labels: the 10 copies score 0.2
    # on average, and the drop stays above the 0.2 threshold unless 8 or more guesses are
    # right (binomial, p = 1/5: about 1 run in 13,000).
    assert canary["original"] == 1.0 and canary["suspicious"] is True, canary
    assert canary["drop"] > canary["threshold"]
    assert "SUSPICIOUS" in run.output
    report = (run.root / "out" / "report.md").read_text()
    assert "memorisation canary" in report.lower()
    check(run, listener, synth_tasks)
