"""``hearbot publish``: build the static leaderboard site (and the bound records)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

EXIT_OK = 0
EXIT_INPUT = 1


def register_publish_command(commands: Any) -> None:
    publish = commands.add_parser(
        "publish",
        help="build the static leaderboard site from leaderboard.csv and the evidence records",
        description=(
            "Binds every row of leaderboard.csv to the evidence records of exactly its content "
            "and manifest (sha256), gives each row and column a tier (verified, overridden, "
            "validated, self-reported) and writes a static site: index.html, one page per "
            "model under models/, leaderboard.json, style.css and table.js. Exit codes: 0 "
            "written, 1 an input is unusable (the message says which)."
        ),
    )
    publish.add_argument("--out", required=True, type=Path, metavar="DIR")
    publish.add_argument("--leaderboard", type=Path, default=Path("leaderboard.csv"))
    publish.add_argument("--submissions", type=Path, default=Path("submissions"), metavar="DIR")
    publish.add_argument(
        "--evidence",
        type=Path,
        default=None,
        metavar="DIR",
        help="a checkout of the evidence branch (records/<key>/*.json); none: no evidence",
    )
    publish.add_argument(
        "--bound-out",
        type=Path,
        default=None,
        metavar="DIR",
        help="also write bound/<model>.verification.json for every row since the bot (the "
        "files the publish workflow commits to the evidence branch)",
    )
    publish.add_argument(
        "--pulls",
        type=Path,
        default=None,
        metavar="FILE",
        help="`hearbot github find-pulls --out` of this push: the merged PR of each new row",
    )
    publish.add_argument("--repository", default=None, help="owner/name, for links")
    publish.set_defaults(func=cmd_publish)


def cmd_publish(args: argparse.Namespace) -> int:
    from bot.publish.build import Inputs, PublishInputError, publish
    from bot.publish.rows import LeaderboardReadError

    inputs = Inputs(args.leaderboard, args.submissions, args.evidence, args.pulls)
    try:
        print(publish(inputs, args.out, repository=args.repository, bound_out=args.bound_out))
    except (PublishInputError, LeaderboardReadError) as exc:
        print(f"hearbot publish: error: {exc}", file=sys.stderr)
        return EXIT_INPUT
    return EXIT_OK
