"""The experiment graph on the dask engine's local cluster against the local engine, with as many
workers: wall time, and the dask engine's overhead per task.

    python benchmarks/engine_overhead.py [--profile smoke] [--table 3] [--workers 1 2 4] [--frames DIR]
                                         [--record benchmarks/records/engine_overhead.json]

Each side trains the same graph (one Table, seed 0) from scratch into a results folder of its
own; the FrameStores are made once, first, and shared. The dask side's wall time includes
starting its local cluster (workers that import torch), as `omg run --engine dask` pays it.
Overhead per task = (dask wall - local wall) / jobs. Run on one machine, side by side: a time
measured elsewhere is not comparable.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from dataclasses import replace
from pathlib import Path


def measure(ctx, names: list[str], workers: list[int], root: Path) -> list[list]:
    from omglib import experiments as X
    from omglib.experiments.engine import Engine
    from omglib.experiments.schedule import plan

    jobs = len(plan(ctx, X.with_members([X.get(n) for n in names])))
    rows = []
    for count in workers:
        wall = {}
        for kind in ("local", "dask"):
            side = replace(ctx, results=root / f"{kind}-{count}", workers=count, engine=Engine(kind, device="cpu"))
            tic = time.perf_counter()
            X.run(side, names)
            wall[kind] = time.perf_counter() - tic
        rows.append([count, jobs, round(wall["local"], 1), round(wall["dask"], 1),
                     round((wall["dask"] - wall["local"]) / jobs, 2), round(wall["dask"] / wall["local"], 2)])
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="smoke")
    parser.add_argument("--table", type=int, default=3)
    parser.add_argument("--workers", nargs="+", type=int, default=[1, 2, 4])
    parser.add_argument("--data-root", default=None, help="the profile's surrogate (default data/synth-PROFILE)")
    parser.add_argument("--frames", default=None)
    parser.add_argument("--record", type=Path, help="also write the table as a benchmark record")
    args = parser.parse_args()
    from omglib import book, experiments
    from omglib.snippets import write_record

    root = Path(tempfile.mkdtemp(prefix="engine-overhead-"))
    settings = book.Settings(args.profile, args.data_root, args.frames, root / "prepare", "cpu", (0,), progress=False)
    ctx = book.context(settings, generate=True)
    names = [e.name for e in experiments.TABLES[args.table]]
    rows = measure(ctx, names, args.workers, root)
    columns = ["workers", "jobs", "local engine (s)", "dask engine (s)", "dask overhead per job (s)", "dask / local"]
    print("\n".join(" | ".join(map(str, r)) for r in [columns, *rows]))
    print(f"machine: {os.cpu_count()} cores; results under {root}")
    if args.record:
        write_record(args.record, columns, rows,
                     f"python benchmarks/engine_overhead.py --profile {args.profile} --table {args.table} "
                     f"--workers {' '.join(map(str, args.workers))}",
                     f"Table {args.table} of the {args.profile} profile, seed 0, from scratch on each side, on a "
                     f"{os.cpu_count()}-core machine; the dask side starts its local cluster (in its wall time)")


if __name__ == "__main__":
    main()
