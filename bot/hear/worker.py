"""``python -m bot.hear.worker``: the HEAR commands, run inside a submission's environment.

```
python -m bot.hear.worker check-model MODULE [--model WEIGHTS] [--model-options JSON]
                                      [--device auto|cpu|cuda] [--json OUT]
python -m bot.hear.worker embed MODULE [--model WEIGHTS] [--model-options JSON]
                                --tasks-dir T [--task NAME ...] --out E
                                [--device auto|cpu|cuda] [--max-batch-size N]
                                [--no-progress] [--json OUT]
```

Exit 0: ok; 1: checks failed or embedding failed (stderr names task, file and check); 2:
usage. Run with PYTHONPATH at the repository root. The submission's code runs in this
process, so a caller should trust the ``--json`` report it asked for over the exit code alone.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from bot.hear.commands import (
    add_check_model_arguments,
    add_embed_arguments,
    cmd_check_model,
    cmd_embed,
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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        sys.stderr.write(f"{PROG}: interrupted\n")
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
