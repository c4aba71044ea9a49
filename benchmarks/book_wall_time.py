"""Wall time of the whole book, old revision against new, back to back on this machine.

    python benchmarks/book_wall_time.py --old f6a0b5d [--new HEAD] [--profile quick]

Each revision is checked out into a fresh folder (nothing re-used: data, FrameStores, results
and the site are all made from scratch) and `omg book --profile P` runs there with this
environment's Python (the package download of `make env` is excluded, as for both sides).
Prints each side's per-stage times (from the book's _build/timings.json) and the 15-minute load
average before and after it (how busy the machine was), then the ratio. Run both sides on one
machine under the same conditions: a time measured elsewhere is not comparable.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def build(revision: str, profile: str, root: Path) -> tuple[float, dict, int]:
    folder = root / revision.replace("/", "_")
    subprocess.run(["git", "worktree", "add", "--detach", str(folder), revision], cwd=REPO, check=True,
                   capture_output=True)
    env = {**os.environ, "PYTHONPATH": str(folder)}
    tic = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "omglib.cli", "book", "--profile", profile, "--quiet"], cwd=folder,
                          env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - tic
    (root / f"{folder.name}.log").write_text(done.stdout + done.stderr)
    timings = folder / "book" / "_build" / "timings.json"
    return seconds, json.loads(timings.read_text()) if timings.is_file() else {}, done.returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old", required=True, help="the revision to compare against (e.g. the last landed commit)")
    parser.add_argument("--new", default="HEAD")
    parser.add_argument("--profile", default="quick")
    parser.add_argument("--keep", default=None, help="folder for the two checkouts and logs (default: a temporary one)")
    parser.add_argument("--only", choices=["old", "new"], default=None,
                        help="build one side only (the two can then run at different times of one session)")
    args = parser.parse_args()
    root = Path(args.keep or tempfile.mkdtemp(prefix="book-wall-time-"))
    root.mkdir(parents=True, exist_ok=True)
    results = {}
    for side in [args.only] if args.only else ["old", "new"]:
        revision = getattr(args, side)
        load = os.getloadavg()[2]
        seconds, stages, code = build(revision, args.profile, root)
        results[side] = seconds
        print(f"{side} ({revision}): {seconds / 60:.1f} min, exit {code}; "
              f"load average (15 min) {load:.2f} before, {os.getloadavg()[2]:.2f} after; log {root}")
        for stage, value in stages.items():
            print(f"    {stage:45s} {value:8.1f} s")
    if len(results) == 2:
        print(f"ratio new / old: {results['new'] / results['old']:.2f} (machine: {os.cpu_count()} cores, "
              f"{subprocess.run(['uname', '-m'], capture_output=True, text=True).stdout.strip()})")


if __name__ == "__main__":
    main()
