"""The one entry point: `hearbot <command>` (also `python -m bot`).

Exit codes: 0 acceptable / done, 1 rejected, 2 usage or input error, 3 infrastructure error.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bot import __version__
from bot.common import strict_json
from bot.common.fileio import write_atomic
from bot.common.result import check_result
from bot.common.schemas import SchemaFileError
from bot.evaluation.cli import register_evaluate_command
from bot.github.cli import register_github_commands
from bot.hear.commands import register_hear_commands
from bot.publish.cli import register_publish_command
from bot.report import render_markdown, render_text
from bot.runner.check import register_runner_commands
from bot.runner.sandbox import Limits, Sandbox, SandboxError, refuse_unsafe_on_ci
from bot.submission.findings import CODES
from bot.verify.verdict import DEFAULT_SEEDS

EXIT_OK, EXIT_REJECTED, EXIT_USAGE, EXIT_INFRA = 0, 1, 2, 3
EXAMPLE_DIR = Path(__file__).resolve().parent.parent / "examples" / "submission"
REPO_DIR = Path(__file__).resolve().parent.parent


class UsageError(Exception):
    """Bad command-line input: printed as `hearbot: error: ...`, exit 2."""


def _read_bytes(path: str, what: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {what} {path!r}: {exc.strerror}") from exc


def _date(value: str) -> dt.date:
    try:
        if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
            raise ValueError(value)
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{value!r} is not a YYYY-MM-DD date") from exc


def _stand_in(value: str) -> tuple[str, str]:
    column, separator, task_dir = value.partition("=")
    if not separator or not column or not task_dir or "/" in task_dir:
        raise argparse.ArgumentTypeError(f"{value!r} is not COLUMN=TASK_DIR")
    return column, task_dir


def _emit(result: dict[str, Any], fmt: str, output: str | None) -> None:
    if output:
        write_atomic(Path(output), (json.dumps(result, indent=2) + "\n").encode("utf-8"))
    if fmt == "json":
        sys.stdout.write(json.dumps(result, indent=2) + "\n")
    elif fmt == "markdown":
        sys.stdout.write(render_markdown(result) + "\n")
    else:
        sys.stdout.write(render_text(result))


def cmd_validate(args: argparse.Namespace) -> int:
    from bot.submission.gitrepo import GitError, submission_from_git
    from bot.submission.validate import BaseFileError, Submission, validate

    file_mode = args.base_file is not None or args.head_file is not None
    git_mode = args.repo is not None or args.base is not None or args.head is not None
    if file_mode == git_mode:
        raise UsageError(
            "give either --base-file BASE.csv --head-file HEAD.csv [--manifest M.json], "
            "or --repo PATH --base REF --head REF"
        )
    if file_mode:
        if not (args.base_file and args.head_file):
            raise UsageError("--base-file and --head-file go together")
        named = None
        if args.manifest:
            named = (args.manifest, _read_bytes(args.manifest, "manifest"))
        submission = Submission(
            base_csv=_read_bytes(args.base_file, "base file"),
            head_csv=_read_bytes(args.head_file, "head file"),
            named_manifest=named,
        )
    else:
        if not (args.repo and args.base and args.head):
            raise UsageError("--repo, --base and --head go together")
        if args.manifest:
            raise UsageError(
                "--manifest is for file mode; with --repo the manifest is read from the head commit"
            )
        try:
            submission = submission_from_git(Path(args.repo), args.base, args.head)
        except GitError as exc:
            raise UsageError(str(exc)) from exc
    try:
        result = validate(submission, today=args.today)
    except BaseFileError as exc:
        raise UsageError(str(exc)) from exc
    _emit(result, args.format, args.output)
    return EXIT_OK if result["ok"] else EXIT_REJECTED


def load_result(path: str) -> dict[str, Any]:
    """A result JSON file, checked against the schema: it may come from an untrusted job."""
    data = _read_bytes(path, "result")
    if len(data) > 5_000_000:
        raise UsageError(f"{path} is {len(data)} bytes; a result is at most 5 MB")
    try:
        result = strict_json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise UsageError(f"{path} is not strict UTF-8 JSON: {exc}") from exc
    problems = check_result(result)
    if problems:
        details = "; ".join(problems[:10])
        raise UsageError(f"{path} does not match schemas/result.schema.json: {details}")
    return result


def cmd_report(args: argparse.Namespace) -> int:
    result = load_result(args.result)
    _emit(result, args.format, None)
    return EXIT_OK


def codes_markdown() -> str:
    """docs/error-codes.md: every code with its rule, a bad example and the fix."""
    lines = [
        "# Finding codes",
        "",
        "Generated by `hearbot codes --format markdown`; do not edit by hand. Codes are stable:",
        "a code never changes meaning, new problems get new codes.",
        "",
    ]
    for name, doc in CODES.items():
        lines += [
            f"## `{name}` ({doc.severity})",
            "",
            doc.rule,
            "",
            f"- Bad: {doc.bad}",
            f"- Fix: {doc.fix}",
            "",
        ]
    return "\n".join(lines)


def cmd_codes(args: argparse.Namespace) -> int:
    if args.format == "markdown":
        sys.stdout.write(codes_markdown())
    else:
        for name, doc in CODES.items():
            sys.stdout.write(f"{name:22} {doc.severity:8} {doc.rule}\n")
    return EXIT_OK


DEFAULT_VERIFY_SEEDS = DEFAULT_SEEDS
DEMO_SEEDS = 5  # K = 3 makes every demo column inconclusive (t = 9.9 with 2 dof)


def _seed_count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= 64:
        raise argparse.ArgumentTypeError(f"{text!r} is not a seed count from 1 to 64")
    return value


def cmd_schemas(args: argparse.Namespace) -> int:
    from bot.common.schema_build import stale_schemas, write_schemas

    if args.write:
        written = write_schemas()
        print("wrote " + ", ".join(written) if written else "schemas are up to date")
        return EXIT_OK
    stale = stale_schemas()
    if stale:
        print(
            "out of date with schemas/tasks.json: "
            + ", ".join(stale)
            + " (run `hearbot schemas --write`)",
            file=sys.stderr,
        )
        return EXIT_REJECTED
    print("schemas are up to date")
    return EXIT_OK


def demo_submission(leaderboard: Path, example_dir: Path):  # -> Submission
    """The example submission appended to a leaderboard, as a pull request would be."""
    from bot.submission.validate import Submission

    row = (example_dir / "row.csv").read_bytes().rstrip(b"\n")
    manifests = {
        f"submissions/{path.name}": path.read_bytes()
        for path in sorted((example_dir / "submissions").glob("*.json"))
    }
    base = leaderboard.read_bytes()
    return Submission(base_csv=base, head_csv=base + b"\n" + row, manifests=manifests)


def cmd_demo(args: argparse.Namespace) -> int:
    if args.validate_only:
        from bot.submission.validate import validate

        submission = demo_submission(Path(args.leaderboard), Path(args.example))
        result = validate(submission)
        _emit(result, args.format, args.output)
        return EXIT_OK if result["ok"] else EXIT_REJECTED
    from bot.demo import run_demo

    return run_demo(Path(args.out), args.format, args.device, args.max_epochs, args.seeds)


def cmd_verify(args: argparse.Namespace) -> int:
    from bot.report import render_markdown as markdown
    from bot.submission.validate import BaseFileError, Submission
    from bot.verify.options import VerifyOptions
    from bot.verify.pipeline import verify
    from bot.verify.result import write_outputs
    from bot.verify.verdict import Verdict

    manifest_bytes = _read_bytes(args.manifest, "manifest")
    stand_ins = dict(args.stand_in or [])
    if args.stand_ins == "synth":
        tasks_dir, synthetic = _synth_stand_ins(args, manifest_bytes)
        stand_ins = {**synthetic, **stand_ins}
    elif args.tasks_dir is None:
        raise UsageError(
            "give --tasks-dir DIR (HEAR task directories), or --stand-ins synth to verify on "
            "synthetic stand-in tasks"
        )
    else:
        tasks_dir = Path(args.tasks_dir)
    if not tasks_dir.is_dir():
        raise UsageError(f"--tasks-dir {args.tasks_dir!r} is not a directory")
    submission = Submission(
        base_csv=_read_bytes(args.base_file, "base file"),
        head_csv=_read_bytes(args.head_file, "head file"),
        named_manifest=(args.manifest, manifest_bytes),
    )
    # Absolute: the sandbox runs pip and the model in another working directory.
    options = VerifyOptions(
        tasks_dir=tasks_dir.absolute(),
        out=Path(args.out).absolute(),
        columns=args.tasks,
        install=not args.no_install,
        device=args.device,
        work=Path(args.work).absolute() if args.work else None,
        max_epochs=args.max_epochs,
        today=args.today,
        stand_ins=stand_ins,
        find_links=[Path(path).absolute() for path in args.find_links or []],
        weights_file=Path(args.weights_file).absolute() if args.weights_file else None,
        sandbox=_sandbox(args),
        package_index=args.package_index,
        cache_max_gb=args.cache_max_gb,
        evaluation_mode=args.evaluation_mode,
        seeds=args.seeds,
    )
    try:
        result = verify(submission, options)
    except (BaseFileError, ValueError, SandboxError) as exc:
        raise UsageError(str(exc)) from exc
    write_outputs(result, options.out, markdown(result))
    _emit(result, args.format, None)
    verdict = result["verification"]["verdict"]
    return {Verdict.PASS: EXIT_OK, Verdict.FAIL: EXIT_REJECTED}.get(verdict, EXIT_INFRA)


def _synth_stand_ins(args: argparse.Namespace, manifest: bytes) -> tuple[Path, dict[str, str]]:
    """`--stand-ins synth`: the synthetic tasks written (at the manifest's sample rate) under
    --tasks-dir or WORK/synth-tasks, and the columns they stand in for; said on stderr."""
    from bot.hear import synth

    try:
        rate = int(json.loads(manifest).get("sample_rate") or synth.DEFAULT_SAMPLE_RATE)
    except (ValueError, TypeError, AttributeError):
        rate = synth.DEFAULT_SAMPLE_RATE
    work = Path(args.work) if args.work else Path(args.out) / "work"
    tasks_dir = Path(args.tasks_dir) if args.tasks_dir else work / "synth-tasks"
    print(
        f"--stand-ins synth: writing synthetic tasks at {rate} Hz under {tasks_dir}",
        file=sys.stderr,
    )
    try:
        synth.write_tasks(tasks_dir, sample_rates=(rate,), seed=0)
    except (ValueError, FileExistsError) as exc:
        raise UsageError(str(exc)) from exc
    mapping = synth.stand_ins()
    for column, task_dir in mapping.items():
        print(f"--stand-ins synth: {column} is checked on {task_dir} (synthetic)", file=sys.stderr)
    print(
        "--stand-ins synth: stand-in scores test the pipeline and the claims' plumbing, not the "
        "model's real scores; other claimed columns are not run",
        file=sys.stderr,
    )
    return tasks_dir, mapping


UNSAFE_BANNER = """\
************************************************************************************
* --unsafe-no-sandbox: the model and its install run UNCONFINED, with your          *
* privileges, your network and your files. Use it only for your own model, on your  *
* own machine. A runner never does this (refused when CI or GITHUB_ACTIONS is set). *
************************************************************************************"""


def add_sandbox_arguments(parser: argparse.ArgumentParser) -> None:
    defaults = Limits()
    group = parser.add_argument_group("sandbox (docs/sandbox.md)")
    group.add_argument(
        "--unsafe-no-sandbox",
        action="store_true",
        help="run the model without the sandbox: only for your own model on your own machine; "
        "refused when CI or GITHUB_ACTIONS is set",
    )
    group.add_argument("--limit-wall-s", type=float, default=defaults.wall_s, metavar="S")
    group.add_argument("--limit-memory-mb", type=int, default=defaults.memory_mb, metavar="MB")
    group.add_argument("--limit-processes", type=int, default=defaults.processes, metavar="N")
    group.add_argument("--limit-output-mb", type=int, default=defaults.output_mb, metavar="MB")
    group.add_argument(
        "--limit-output-entries",
        type=int,
        default=defaults.output_entries,
        metavar="N",
        help="files and directories the sandbox's output directory may hold",
    )
    group.add_argument(
        "--sandbox-read-only",
        action="append",
        metavar="PATH",
        help="also show this host path read-only in the sandbox (e.g. GPU driver libraries "
        "outside /usr)",
    )


def _sandbox(args: argparse.Namespace) -> Sandbox:
    """The sandbox settings from the command line; `--unsafe-no-sandbox` is loud, and refused
    on CI and in GitHub Actions."""
    limits = Limits(
        wall_s=args.limit_wall_s,
        memory_mb=args.limit_memory_mb,
        processes=args.limit_processes,
        output_mb=args.limit_output_mb,
        output_entries=args.limit_output_entries,
    )
    if args.unsafe_no_sandbox:
        try:
            refuse_unsafe_on_ci(os.environ)
        except SandboxError as exc:
            raise UsageError(str(exc)) from exc
        print(UNSAFE_BANNER, file=sys.stderr, flush=True)
        return Sandbox(enabled=False, limits=limits)
    return Sandbox(
        limits=limits, extra_read_only=tuple(Path(p) for p in args.sandbox_read_only or [])
    )


def build_parser() -> argparse.ArgumentParser:
    """The one argparse tree: this module's commands, then each package's own."""
    parser = argparse.ArgumentParser(
        prog="hearbot", description="Validates and verifies HEAR leaderboard submissions."
    )
    parser.add_argument("--version", action="version", version=f"hearbot {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_validate(commands)
    _add_verify(commands)
    _add_document_commands(commands)
    _add_demo(commands)
    register_hear_commands(commands)
    register_runner_commands(commands)
    register_evaluate_command(commands)
    register_github_commands(commands)
    register_publish_command(commands)
    return parser


FORMATS = ("text", "json", "markdown")


def _add_validate(commands: Any) -> None:
    """`hearbot validate`: one appended row, from files or a git repository."""
    validate = commands.add_parser(
        "validate",
        help="check an appended leaderboard row (and its manifest)",
        description="Exit 0: acceptable; 1: rejected; 2: usage error.",
    )
    validate.add_argument("--base-file", help="leaderboard.csv before the change")
    validate.add_argument("--head-file", help="leaderboard.csv after the change")
    validate.add_argument("--manifest", help="the submission manifest (file mode)")
    validate.add_argument("--repo", help="a git repository to read the change from")
    validate.add_argument("--base", help="base revision (e.g. origin/main)")
    validate.add_argument("--head", help="head revision (e.g. HEAD)")
    validate.add_argument("--format", choices=FORMATS, default="text")
    validate.add_argument("--output", help="also write the JSON result to this file")
    validate.add_argument("--today", type=_date, help="judge dates as of this day (YYYY-MM-DD)")
    validate.set_defaults(func=cmd_validate)


def _add_verify(commands: Any) -> None:
    """`hearbot verify`: the submission, then how to run and judge it."""
    verify = commands.add_parser(
        "verify",
        help="re-run a submitted model through the HEAR protocol and judge its claims",
        description="Validate; install the pinned model into an isolated virtualenv under OUT; "
        "check the HEAR API; embed; evaluate; compare each claimed column under its tolerance "
        "(schemas/tasks.json). Writes OUT/result.json and OUT/report.md. "
        "Exit 0: pass; 1: fail (a claim is not reproduced, or validation fails); 3: error.",
    )
    _add_verify_inputs(verify)
    verify.add_argument(
        "--no-install",
        action="store_true",
        help="use the current environment instead of installing the pinned model "
        "(for submitters pre-checking their own model)",
    )
    verify.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    verify.add_argument("--out", required=True, help="working and output directory")
    verify.add_argument(
        "--work",
        help="reusable work: virtualenvs, weights, embeddings, scores (default OUT/work)",
    )
    verify.add_argument(
        "--stand-in",
        action="append",
        type=_stand_in,
        metavar="COLUMN=TASK_DIR",
        help="verify COLUMN on another task directory (demos and tests; shown in the result)",
    )
    verify.add_argument(
        "--find-links",
        action="append",
        metavar="DIR",
        help="a local wheel directory pip may install from (pins still apply); a URL pin "
        "(`pkg @ https://…#sha256=…`) is installed from the file here with that sha256, offline",
    )
    verify.add_argument(
        "--weights-file",
        metavar="PATH",
        help="the manifest's `weights` from this local file instead of its URL (its sha256 must "
        "be the manifest's `weights.sha256`)",
    )
    verify.add_argument(
        "--max-epochs",
        type=int,
        help="cap training epochs (deviates from the protocol's 500; for quick local checks)",
    )
    verify.add_argument(
        "--package-index",
        metavar="URL",
        help="let the install step reach this package index (and nothing else) through the "
        "bot's proxy; default: no network, only --find-links",
    )
    verify.add_argument(
        "--cache-max-gb",
        type=float,
        default=200.0,
        metavar="GB",
        help="bound on the embeddings kept under --work (least recently used evicted first, "
        "never one in use; default 200)",
    )
    verify.add_argument(
        "--evaluation-mode",
        choices=("exact", "batched"),
        default="exact",
        help="exact (default): the official kit's numbers; batched: grid points trained "
        "together (other random draws), and a column that misses its claim's interval by at "
        "most one more half-width is evaluated again in exact mode before it is called a "
        "mismatch",
    )
    verify.add_argument(
        "--seeds",
        type=_seed_count,
        default=DEFAULT_VERIFY_SEEDS,
        metavar="K",
        help=f"members of each task's seed ensemble (default {DEFAULT_VERIFY_SEEDS}, chosen in "
        "docs/tolerances.md): member 0 is the kit's run, members 1..K-1 the same protocol with "
        "other training draws (one by one on a CPU, trained together on a GPU); a claim is "
        "judged against their prediction interval; 1: the kit's run alone, judged within the "
        "column's floor (a quick local check)",
    )
    add_sandbox_arguments(verify)
    verify.add_argument("--today", type=_date, help=argparse.SUPPRESS)
    verify.add_argument("--format", choices=FORMATS, default="text")
    verify.set_defaults(func=cmd_verify)


def _add_verify_inputs(verify: argparse.ArgumentParser) -> None:
    """The submission's files and the task data."""
    verify.add_argument("--base-file", required=True, help="leaderboard.csv before the change")
    verify.add_argument("--head-file", required=True, help="leaderboard.csv with the new row")
    verify.add_argument("--manifest", required=True, help="the submission manifest")
    verify.add_argument(
        "--tasks-dir", help="HEAR task directories (with --stand-ins synth: where to write them)"
    )
    verify.add_argument(
        "--stand-ins",
        choices=("synth",),
        help="synth: write the synthetic tasks (`hearbot tasks synth`) at the manifest's sample "
        "rate and check ESC-50, FSD50K and DCASE 2016 on them (said in the report)",
    )
    verify.add_argument(
        "--tasks", nargs="+", metavar="COLUMN", help="only these leaderboard columns"
    )


def _add_document_commands(commands: Any) -> None:
    """`hearbot report`, `codes` and `schemas`: documents, no submission."""
    report = commands.add_parser("report", help="render a result JSON for people")
    report.add_argument("result", help="a result JSON (schemas/result.schema.json)")
    report.add_argument("--format", choices=FORMATS, default="markdown")
    report.set_defaults(func=cmd_report)

    codes = commands.add_parser("codes", help="list the finding codes and their rules")
    codes.add_argument("--format", choices=("text", "markdown"), default="text")
    codes.set_defaults(func=cmd_codes)

    schemas = commands.add_parser(
        "schemas", help="check (or --write) schemas derived from schemas/tasks.json"
    )
    schemas.add_argument("--write", action="store_true")
    schemas.set_defaults(func=cmd_schemas)


def _add_demo(commands: Any) -> None:
    """`hearbot demo`: the example submissions end to end."""
    demo = commands.add_parser(
        "demo",
        help="verify two example submissions end to end on synthetic tasks (one honest, one "
        "inflated) and print both reports",
    )
    demo.add_argument("--leaderboard", default=str(REPO_DIR / "leaderboard.csv"))
    demo.add_argument("--example", default=str(EXAMPLE_DIR))
    demo.add_argument("--format", choices=FORMATS, default="markdown")
    demo.add_argument("--output", help="with --validate-only: also write the JSON result here")
    demo.add_argument(
        "--validate-only",
        action="store_true",
        help="only validate examples/submission/ appended to the real leaderboard (fast)",
    )
    demo.add_argument("--out", default=str(REPO_DIR / "out" / "demo"), help="working directory")
    demo.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    demo.add_argument("--max-epochs", type=int, help=argparse.SUPPRESS)
    demo.add_argument(
        "--seeds",
        type=_seed_count,
        default=DEMO_SEEDS,
        metavar="K",
        help=f"members of each task's seed ensemble (default {DEMO_SEEDS}, as verify; K = 3 "
        "leaves every demo column too noisy to judge)",
    )
    demo.set_defaults(func=cmd_demo)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except UsageError as exc:
        parser.exit(EXIT_USAGE, f"hearbot: error: {exc}\n")
    except SchemaFileError as exc:
        parser.exit(EXIT_USAGE, f"hearbot: error: {exc}\n")
    except BrokenPipeError:
        return EXIT_OK
    return EXIT_OK
