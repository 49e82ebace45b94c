"""``python -m bot.hear.worker``: the HEAR commands, run inside a submission's environment.

```
python -m bot.hear.worker check-model MODULE [--model WEIGHTS] [--model-options JSON]
                                      [--device auto|cpu|cuda] [--json OUT]
python -m bot.hear.worker serve MODULE [--model WEIGHTS] [--model-options JSON]
                                --in-fd R --out-fd W [--device auto|cpu|cuda]
                                [--max-batch-size N]
python -m bot.hear.worker embed MODULE [--model WEIGHTS] [--model-options JSON]
                                --tasks-dir T [--task NAME ...] --out E
                                [--device auto|cpu|cuda] [--max-batch-size N]
                                [--no-progress] [--json OUT]
```

`serve` is how verification embeds: audio arrives on file descriptor R and embeddings leave on
W (bot/hear/stream.py); the process sees no task file. `embed` reads a tasks folder itself
(for local use).

Exit 0: ok; 1: checks failed or embedding failed (stderr names task, file and check); 2:
usage. Run with PYTHONPATH at the repository root. The submission's code runs in this
process, so a caller should trust the ``--json`` report it asked for over the exit code alone.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from bot.hear.commands import (
    add_check_model_arguments,
    add_embed_arguments,
    add_model_arguments,
    cmd_check_model,
    cmd_embed,
    parse_model_options,
)

PROG = "python -m bot.hear.worker"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG, description="HEAR model checks and embeddings, in the model's environment."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    check = commands.add_parser("check-model", help="the HEAR validator's checks")
    add_check_model_arguments(check)
    check.set_defaults(func=lambda args: cmd_check_model(args, f"{PROG} check-model"))
    embed = commands.add_parser("embed", help="embeddings in the official per-file layout")
    add_embed_arguments(embed)
    embed.set_defaults(func=lambda args: cmd_embed(args, f"{PROG} embed"))
    serve = commands.add_parser("serve", help="embed the audio streamed in on --in-fd")
    add_model_arguments(serve)
    serve.add_argument("--in-fd", type=int, required=True, metavar="R")
    serve.add_argument("--out-fd", type=int, required=True, metavar="W")
    serve.add_argument("--max-batch-size", type=int, default=256, metavar="N")
    serve.set_defaults(func=cmd_serve)
    return parser


def cmd_serve(args: argparse.Namespace) -> int:
    from bot.hear import api
    from bot.hear.serve import serve
    from bot.hear.stream import StreamError

    source = os.fdopen(args.in_fd, "rb", buffering=1 << 20)
    sink = os.fdopen(args.out_fd, "wb", buffering=1 << 20)
    try:
        model = api.load(
            args.module, args.model, parse_model_options(args.model_options), args.device
        )
    except (ValueError, api.ModelAPIError) as exc:
        sys.stderr.write(f"{PROG} serve: loading {args.module}: {exc}\n")
        return 1
    try:
        return serve(model, source, sink, args.max_batch_size)
    except (StreamError, BrokenPipeError) as exc:
        sys.stderr.write(f"{PROG} serve: the stream broke: {exc}\n")
        return 1


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        sys.stderr.write(f"{PROG}: interrupted\n")
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
