"""The HEAR commands, shared by ``hearbot`` (in-process) and ``python -m bot.hear.worker``.

`register_hear_commands(subparsers)` adds to hearbot's argparse subparsers:

- ``hearbot tasks synth --out DIR [--sample-rate 16000 ...] [--seed 0] [--task NAME ...]``
- ``hearbot tasks check DIR ... [--sample-rate SR ...] [--decode] [--columns C ...] [--json OUT]``
  (DIR: one task folder, or the whole tasks folder: per column and rate, present/missing/corrupt)
- ``hearbot tasks fetch --sample-rate SR [...] --dest DIR [--columns C ...] [--task-dir NAME ...]
  [--base-url URL] [--md5 ARCHIVE=MD5 ...] [--allow-unverified] [--keep-archives] [--dry-run]``
- ``hearbot check-model MODULE [--model W] [--model-options JSON] [--device D] [--json OUT]``
- ``hearbot embed MODULE [--model W] [--model-options JSON] --tasks-dir T [--task NAME ...]
  --out E [--device D] [--max-batch-size N] [--no-progress] [--json OUT]``

Each handler is ``func(args) -> int``: 0 ok; 1 checks failed, a task is broken or embedding
failed (the message names task, file and check); 2 usage (bad options, device or paths).
Nothing heavy is imported here: torch, numpy and soundfile load when a command runs.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
DEVICE_CHOICES = ("auto", "cpu", "cuda")
SAMPLE_RATE_CHOICES = (16000, 22050, 32000, 44100, 48000)


def _error(prog: str, message: str, code: int) -> int:
    sys.stderr.write(f"{prog}: error: {message}\n")
    return code


def _write_json(path: str | None, data: dict[str, Any]) -> None:
    if path:
        from bot.common.fileio import write_atomic

        write_atomic(Path(path), (json.dumps(data, indent=2) + "\n").encode("utf-8"))


def parse_model_options(text: str | None) -> dict[str, Any]:
    """``--model-options``: a JSON object of keyword arguments for load_model."""
    if not text:
        return {}
    try:
        options = json.loads(text)
    except ValueError as exc:
        raise ValueError(f"--model-options is not valid JSON: {exc}") from exc
    if not isinstance(options, dict):
        raise ValueError(f"--model-options must be a JSON object, not {text!r}")
    return options


# ---------------------------------------------------------------------------------------------
# Arguments


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("module", metavar="MODULE", help="the HEAR module's import name")
    parser.add_argument("--model", metavar="WEIGHTS", help="weights file for load_model")
    parser.add_argument(
        "--model-options",
        metavar="JSON",
        default="{}",
        help="a JSON object of keyword arguments for load_model",
    )
    parser.add_argument(
        "--device",
        choices=DEVICE_CHOICES,
        default="auto",
        help="auto (default): CUDA when torch sees a GPU, else CPU",
    )


def add_check_model_arguments(parser: argparse.ArgumentParser) -> None:
    add_model_arguments(parser)
    parser.add_argument("--json", metavar="OUT", help="also write the report as JSON")


def add_embed_arguments(parser: argparse.ArgumentParser) -> None:
    add_model_arguments(parser)
    parser.add_argument("--tasks-dir", required=True, metavar="T", help="folder of HEAR tasks")
    parser.add_argument(
        "--task",
        action="append",
        metavar="NAME",
        help="a task folder name in --tasks-dir (repeatable; default: all)",
    )
    parser.add_argument("--out", required=True, metavar="E", help="embeddings folder")
    parser.add_argument(
        "--max-batch-size",
        type=int,
        default=256,
        metavar="N",
        help="upper bound on the kit's estimated batch size (default 256)",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress on stderr")
    parser.add_argument("--json", metavar="OUT", help="also write a JSON summary")


def add_synth_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", required=True, metavar="DIR", help="where to write the tasks")
    parser.add_argument(
        "--sample-rate",
        type=int,
        action="append",
        choices=SAMPLE_RATE_CHOICES,
        metavar="SR",
        help="a sample rate to write (repeatable; default 16000)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--task",
        action="append",
        metavar="NAME",
        help="synth_tones, synth_mixtures, synth_events or synth_varlen (default: first three)",
    )


def add_tasks_check_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "task_dirs",
        nargs="+",
        metavar="DIR",
        help="a task folder, or the tasks folder holding them (checked per column and rate)",
    )
    parser.add_argument(
        "--sample-rate",
        type=int,
        action="append",
        metavar="SR",
        help="check the audio at this rate (repeatable; default: every rate present in a task "
        "folder, all five HEAR rates in a tasks folder)",
    )
    parser.add_argument("--decode", action="store_true", help="also read every sample")
    parser.add_argument(
        "--columns", nargs="+", metavar="COLUMN", help="tasks folder: only these columns"
    )
    parser.add_argument("--json", metavar="OUT", help="tasks folder: also write the table as JSON")


def add_tasks_fetch_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--sample-rate",
        type=int,
        action="append",
        required=True,
        choices=SAMPLE_RATE_CHOICES,
        metavar="SR",
        help="a sample rate to fetch (repeatable; a model may use any of the five)",
    )
    parser.add_argument("--dest", required=True, metavar="DIR", help="the tasks folder")
    parser.add_argument(
        "--columns",
        nargs="*",
        metavar="COLUMN",
        help="only these columns (default: all; none named: only the --task-dir folders)",
    )
    parser.add_argument(
        "--task-dir",
        action="append",
        default=[],
        metavar="NAME",
        help="also fetch this task folder, e.g. an open task (repeatable)",
    )
    parser.add_argument(
        "--base-url",
        metavar="URL",
        help="an http(s) URL or a local folder holding the archives (default: the public "
        "source of schemas/task-archives.json for the rate, if there is one)",
    )
    parser.add_argument(
        "--md5",
        action="append",
        default=[],
        metavar="ARCHIVE=MD5",
        help="the md5 the source shows for an archive without a recorded one (repeatable)",
    )
    parser.add_argument(
        "--allow-unverified",
        action="store_true",
        help="unpack archives without a known checksum (warned, and recorded as unverified)",
    )
    parser.add_argument(
        "--keep-archives", action="store_true", help="keep the .tar.gz files after unpacking"
    )
    parser.add_argument("--retries", type=int, default=5, help="resumes per archive (default 5)")
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="list archives, sizes, checksums; fetch nothing",
    )


# ---------------------------------------------------------------------------------------------
# Handlers


def cmd_check_model(args: argparse.Namespace, prog: str = "hearbot check-model") -> int:
    try:
        options = parse_model_options(args.model_options)
    except ValueError as exc:
        return _error(prog, str(exc), EXIT_USAGE)
    from bot.hear.conformance import run_conformance

    try:
        report = run_conformance(args.module, args.model, options, args.device)
    except ValueError as exc:
        return _error(prog, str(exc), EXIT_USAGE)
    sys.stdout.write(report.render_text())
    sys.stdout.flush()
    _write_json(args.json, report.to_dict())
    return EXIT_OK if report.ok else EXIT_FAILED


def cmd_embed(args: argparse.Namespace, prog: str = "hearbot embed") -> int:
    if args.max_batch_size < 1:
        return _error(prog, "--max-batch-size must be at least 1", EXIT_USAGE)
    if not Path(args.tasks_dir).is_dir():
        return _error(prog, f"--tasks-dir {args.tasks_dir} is not a directory", EXIT_USAGE)
    try:
        options = parse_model_options(args.model_options)
    except ValueError as exc:
        return _error(prog, str(exc), EXIT_USAGE)
    from bot.hear import api, embed
    from bot.hear.tasks import TaskError

    summary: dict[str, Any] = {"ok": False, "module": args.module, "tasks": [], "error": None}
    try:
        model = api.load(args.module, args.model, options, args.device)
    except ValueError as exc:
        return _error(prog, str(exc), EXIT_USAGE)
    except api.ModelAPIError as exc:
        summary["error"] = {"task": None, "file": None, "check": exc.check, "message": exc.message}
        _write_json(args.json, summary)
        return _error(prog, f"loading {args.module}: {exc}", EXIT_FAILED)
    try:
        results = embed.embed_tasks(
            model,
            Path(args.tasks_dir),
            Path(args.out),
            args.task,
            max_batch_size=args.max_batch_size,
            progress=not args.no_progress,
        )
    except (TaskError, embed.EmbedError) as exc:
        summary["error"] = {
            "task": exc.task,
            "file": exc.file,
            "check": exc.check,
            "message": exc.message,
        }
        _write_json(args.json, summary)
        return _error(prog, str(exc), EXIT_FAILED)
    for result in results:
        state = "already done" if result["skipped"] else f"{result['seconds']:.1f} s"
        sys.stdout.write(
            f"{result['task']}: {result['clips']} clips at {result['sample_rate']} Hz ({state})\n"
        )
    summary.update(ok=True, tasks=results)
    _write_json(args.json, summary)
    return EXIT_OK


def cmd_tasks_synth(args: argparse.Namespace, prog: str = "hearbot tasks synth") -> int:
    from bot.hear import synth

    rates = args.sample_rate or [synth.DEFAULT_SAMPLE_RATE]
    try:
        paths = synth.write_tasks(
            Path(args.out), rates, args.seed, tuple(args.task or synth.DEFAULT_TASKS)
        )
    except (ValueError, FileExistsError) as exc:
        return _error(prog, str(exc), EXIT_USAGE)
    for path in paths:
        sys.stdout.write(f"wrote {path} at {', '.join(map(str, sorted(set(rates))))} Hz\n")
        column = synth.STANDS_IN_FOR.get(path.name.split("-", 1)[0])
        if column:
            sys.stdout.write(
                f"  stands in for {column}: hearbot verify --stand-in '{column}={path.name}' "
                "(or --stand-ins synth for all three)\n"
            )
    return EXIT_OK


def cmd_tasks_check(args: argparse.Namespace, prog: str = "hearbot tasks check") -> int:
    from bot.hear.inventory import is_tasks_folder
    from bot.hear.tasks import TaskError, check_task

    status = EXIT_OK
    for task_dir in args.task_dirs:
        if is_tasks_folder(Path(task_dir)):
            status = max(status, _check_tasks_folder(args, Path(task_dir), prog))
            continue
        try:
            task, audio = check_task(Path(task_dir), args.sample_rate, decode=args.decode)
        except TaskError as exc:
            _error(prog, str(exc), EXIT_FAILED)
            status = EXIT_FAILED
            continue
        rates = ", ".join(f"{a.sample_rate} Hz" for a in audio)
        hours = sum(a.seconds for a in audio[:1]) / 3600
        sys.stdout.write(
            f"{task.name}: ok ({task.metadata.embedding_type}, {task.metadata.prediction_type}, "
            f"{len(task.metadata.splits)} splits, {task.n_items} clips, {hours:.2f} h; {rates})\n"
        )
    return status


def _check_tasks_folder(args: argparse.Namespace, folder: Path, prog: str) -> int:
    from bot.common.schemas import leaderboard_facts
    from bot.hear.fetch import SAMPLE_RATES
    from bot.hear.inventory import CORRUPT, complete, inventory, render_table

    rates = args.sample_rate or list(SAMPLE_RATES)
    unknown = [c for c in args.columns or [] if c not in leaderboard_facts().score_columns]
    if unknown:
        return _error(prog, f"not leaderboard columns: {', '.join(unknown)}", EXIT_USAGE)
    entries = inventory(folder, rates, args.columns, decode=args.decode)
    sys.stdout.write(render_table(folder, entries, rates))
    ok = complete(entries) and not any(e.state == CORRUPT for e in entries)
    _write_json(
        args.json,
        {
            "tasks_dir": str(folder),
            "sample_rates": rates,
            "complete": ok,
            "entries": [e.to_dict() for e in entries],
        },
    )
    return EXIT_OK if ok else EXIT_FAILED


def cmd_tasks_fetch(args: argparse.Namespace, prog: str = "hearbot tasks fetch") -> int:
    from bot.hear import fetch

    try:
        catalogue = fetch.load_catalogue()
        specs = fetch.plan_archives(
            catalogue,
            args.sample_rate,
            args.columns,
            args.task_dir,
            fetch.parse_md5_options(args.md5),
        )
    except fetch.FetchError as exc:
        return _error(prog, str(exc), EXIT_USAGE)
    if args.retries < 0:
        return _error(prog, "--retries must be 0 or more", EXIT_USAGE)
    dest = Path(args.dest)
    base_urls: dict[int, str] = {}
    for rate in args.sample_rate:
        url = args.base_url or catalogue.default_base_url(rate)
        if url is not None:
            base_urls[rate] = url
    if args.dry_run:
        return _fetch_plan(specs, dest, base_urls)
    dest.mkdir(parents=True, exist_ok=True)
    try:
        outcomes = fetch.fetch_archives(
            specs,
            dest,
            base_urls,
            release=catalogue.release,
            allow_unverified=args.allow_unverified,
            keep_archives=args.keep_archives,
            retries=args.retries,
            log=lambda line: sys.stderr.write(line + "\n"),
        )
    except fetch.FetchRefused as exc:
        return _error(prog, str(exc), EXIT_USAGE)
    except fetch.FetchError as exc:
        return _error(prog, str(exc), EXIT_FAILED)
    for outcome in outcomes:
        check = {True: "md5 checked", False: "UNVERIFIED", None: "not fetched by hearbot"}[
            outcome.verified
        ]
        state = "already present" if outcome.state == "present" else "fetched"
        sys.stdout.write(
            f"{outcome.spec.task_dir} at {outcome.spec.sample_rate} Hz: {state} ({check})\n"
        )
    sys.stdout.write(f"check it: hearbot tasks check {dest}\n")
    return EXIT_OK


def _fetch_plan(specs: list[Any], dest: Path, base_urls: dict[int, str]) -> int:
    from bot.hear import fetch

    todo = [s for s in specs if not fetch.is_present(dest, s)]
    for spec in specs:
        state = "present" if spec not in todo else "to fetch"
        md5 = spec.md5 or "unknown (needs --md5 or --allow-unverified)"
        where = base_urls.get(spec.sample_rate, "no public URL (requester-pays bucket)")
        sys.stdout.write(
            f"{spec.name}: {state}; md5 {md5}; about {fetch.human_bytes(spec.unpacked_bytes)} "
            f"unpacked; from {where}\n"
        )
    need = fetch.needed_bytes(dest, todo)
    free = fetch.free_bytes(dest)
    sys.stdout.write(
        f"{len(todo)} to fetch, about {fetch.human_bytes(need)} needed, "
        f"{fetch.human_bytes(free)} free at {dest}\n"
    )
    return EXIT_OK


# ---------------------------------------------------------------------------------------------
# Registration


def register_hear_commands(subparsers: Any) -> None:
    """Add ``tasks`` (synth, check), ``check-model`` and ``embed`` to hearbot's subparsers."""
    tasks = subparsers.add_parser("tasks", help="HEAR task folders: make synthetic ones, check")
    task_commands = tasks.add_subparsers(dest="tasks_command", metavar="COMMAND", required=True)
    synth = task_commands.add_parser(
        "synth",
        help="write small synthetic HEAR tasks (scene multiclass, multilabel, event)",
        description="Deterministic for a seed; a few MB; writes every --sample-rate given.",
    )
    add_synth_arguments(synth)
    synth.set_defaults(func=cmd_tasks_synth)
    check = task_commands.add_parser(
        "check",
        help="check task folders, or a whole tasks folder per column and sample rate",
        description=(
            "Exit 0: all good (a tasks folder: every column present at every rate asked for); "
            "1: a task is broken or missing (the message names file and check)."
        ),
    )
    add_tasks_check_arguments(check)
    check.set_defaults(func=cmd_tasks_check)
    fetch = task_commands.add_parser(
        "fetch",
        help="download and unpack the official HEAR task archives into a tasks folder",
        description=(
            "Resumes interrupted downloads, checks md5 and free disk first, unpacks atomically "
            "into DEST/<task folder>/ and skips what is already there. Exit 0: every archive is "
            "in place; 1: a download, checksum or archive failed (the message says what to do); "
            "2: usage (unknown column, missing checksum or location)."
        ),
    )
    add_tasks_fetch_arguments(fetch)
    fetch.set_defaults(func=cmd_tasks_fetch)

    check_model = subparsers.add_parser(
        "check-model",
        help="run the HEAR validator's checks on a model module (in this process)",
        description="Exit 0: conforms (warnings allowed); 1: a check failed; 2: usage.",
    )
    add_check_model_arguments(check_model)
    check_model.set_defaults(func=cmd_check_model)

    embed = subparsers.add_parser(
        "embed",
        help="compute embeddings of HEAR tasks in the official per-file layout",
        description=(
            "Writes OUT/<task>/<split>/<file>.embedding.npy, .target-labels.json and (event "
            "tasks) .timestamps.json; resumable. Exit 0: done; 1: a task or the model failed "
            "(the message names task, file and check); 2: usage."
        ),
    )
    add_embed_arguments(embed)
    embed.set_defaults(func=cmd_embed)
