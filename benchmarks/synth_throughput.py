"""Surrogate generation throughput: frames/s per profile and worker count, into fresh folders.

    python benchmarks/synth_throughput.py [--profile smoke] [--workers 1 2]

Prints one row per run (frames, seconds, frames/s, MB written). Not a test: it measures.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from omglib.config import PROFILE_NAMES, get_profile
from omglib.synth.generate import generate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", choices=PROFILE_NAMES, default="smoke")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    print(f"{'profile':8s} {'workers':>7s} {'frames':>8s} {'seconds':>8s} {'frames/s':>9s} {'MB':>7s}")
    for workers in args.workers:
        with tempfile.TemporaryDirectory() as out:
            manifest = generate(get_profile(args.profile), out, workers=workers, progress=False)
            run = manifest["run"]
            megabytes = sum(p.stat().st_size for p in Path(out).rglob("*") if p.is_file()) / 1e6
            print(f"{args.profile:8s} {workers:7d} {run['frames_rendered']:8d} {run['seconds']:8.1f} "
                  f"{run['frames_per_second']:9.1f} {megabytes:7.1f}", flush=True)


if __name__ == "__main__":
    main()
