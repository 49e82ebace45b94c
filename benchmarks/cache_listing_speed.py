"""Listing the embedding cache (what every `verify` does before it evicts): walking every
entry against reading the sizes recorded after each entry's last use, measured in one run.

A full HEAR entry is about a million files (two or three per clip of 19 columns' tasks); here
--entries entries of --files small files each. The first listing walks them all and records
their sizes (bot/runner/cache.py); the next listings read the records. Prints both times and
the ratio.
Usage: .venv/bin/python benchmarks/cache_listing_speed.py [--entries 8] [--files 20000]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bot import cache  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=8)
    parser.add_argument("--files", type=int, default=20000)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="hearbot-cache-listing-"))
    try:
        for e in range(args.entries):
            split = work / "embeddings" / f"model{e}" / "task" / "train"
            split.mkdir(parents=True)
            for f in range(args.files):
                (split / f"{f}.wav.embedding.npy").write_bytes(b"x" * 100)
        start = time.perf_counter()
        walked = cache.entries(work)
        walk_s = time.perf_counter() - start
        start = time.perf_counter()
        recorded = cache.entries(work)
        recorded_s = time.perf_counter() - start
        if walked != recorded:
            sys.exit("the recorded sizes differ from the walked ones")
        files = args.entries * args.files
        print(
            f"listing {args.entries} cache entries of {files} files: walking {walk_s:.3f} s, "
            f"recorded sizes {recorded_s:.4f} s ({walk_s / recorded_s:.0f}x faster, same sizes)"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
