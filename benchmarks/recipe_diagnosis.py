"""Why did the networks on the quick VGG trunk fail? Train the VGG-Face CNN frame by frame
under several recipes and the CNN-3RNN heads above it, and print validation numbers only
(the test split is never looked at).

    python benchmarks/recipe_diagnosis.py [--variants old frames ...] [--pretrain affwild2 affwild]
                                          [--stored] [--record benchmarks/records/recipe_diagnosis.json]

Each variant is the quick profile with some training fields changed; its results go to
results/diagnosis-<variant>/ so that they never mix with the book's. ``--stored`` trains
nothing and tabulates what an earlier run left there; ``--record`` also writes the table that
book/training.md shows, with the run's commit, date and machine (`omglib.snippets.write_record`).
"""

from __future__ import annotations

import argparse
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from multiprocessing import get_context
from pathlib import Path

VARIANTS = {
    # the recipe before the fix: windows of 40 consecutive frames, 16 per batch, 15 epochs
    "old": {"cnn_seq_len": 40, "cnn_batch_size": 16, "pretrain_epochs": 15},
    # the quick profile as it is: single frames drawn across videos, 64 per batch, 6 epochs
    "frames": {},
}


def _context(variant: str, results: str, frames: str):
    from omglib.config import get_profile
    from omglib.experiments import Context

    quick = get_profile("quick")
    profile = replace(quick, name=f"diagnosis-{variant}", train=replace(quick.train, **VARIANTS[variant]))
    return Context.create(profile, frames, results, "cpu", seeds=(0,), progress=False, workers=1)


def _head(pretrain: str | None) -> str:
    from omglib.experiments import BEST_3RNN, PRETRAIN_NAMES

    return BEST_3RNN if pretrain == "affwild2" else f"{BEST_3RNN} ({PRETRAIN_NAMES[pretrain]})"


def one(variant: str, pretrain: str | None, heads: bool, results: str = "results", frames: str = "data/frames-quick",
        stored: bool = False) -> list[dict]:
    """Train (unless ``stored``: read what an earlier run left) and tabulate one variant."""
    import torch

    from omglib.experiments import cnn_history, load, pretrained_cnn, run_seed

    torch.set_num_threads(1)
    ctx = _context(variant, results, frames)
    if not stored:
        pretrained_cnn(ctx, "vgg16", pretrain, 0)
        if heads:
            run_seed(ctx, _head(pretrain), 0)
    h = cnn_history(ctx, "vgg16", pretrain, 0)
    best = h.loc[h["val_score"].idxmax()]
    row = {"variant": variant, "pretrain": pretrain or "omg", "cnn epochs": len(h), "cnn best epoch": int(best["epoch"]),
           "cnn val frame CCC": round(best["val_score"], 3),
           "cnn train CCC": round((best["train_ccc_valence"] + best["train_ccc_arousal"]) / 2, 3),
           "cnn seconds": round(h["seconds"].sum(), 1)}
    if heads:
        result = load(ctx, _head(pretrain), 0)
        if result is None:
            raise SystemExit(f"{_head(pretrain)}: no stored result for {variant} in {results}")
        t = result.config["train"]
        recipe = "single frames" if t["cnn_seq_len"] == 1 else f"{t['cnn_seq_len']}-frame windows"
        row.update({"recipe": f"{recipe} x {t['cnn_batch_size']}, {t['pretrain_epochs']} epochs, patience {t['patience']}",
                    "CNN-3RNN val CCC V": round(result.validation.ccc_valence, 3),
                    "CNN-3RNN val CCC A": round(result.validation.ccc_arousal, 3),
                    "CNN-3RNN best epoch": result.training["best_epoch"],
                    "CNN-3RNN epochs": result.training["epochs_run"], "commit": result.provenance.get("git_commit")})
    return [row]


def record(rows: list[dict], path: Path, command: str, results: str) -> None:
    """The book's table (book/training.md) with the run's commit and date."""
    from datetime import datetime, timezone

    from omglib.experiments import PRETRAIN_NAMES
    from omglib.snippets import write_record

    metrics = sorted(Path(results).glob("diagnosis-*/cnn/*/seed-0/metrics.json"))
    when = max((datetime.fromtimestamp(m.stat().st_mtime, timezone.utc) for m in metrics), default=None)
    names = {k or "omg": v for k, v in PRETRAIN_NAMES.items()}
    table = [[r["recipe"], names[r["pretrain"]], r["cnn epochs"], f"{r['cnn val frame CCC']:.3f}", f"{r['cnn seconds']:.0f}",
              f"{r['CNN-3RNN val CCC V']:.3f} / {r['CNN-3RNN val CCC A']:.3f}"] for r in rows]
    commits = sorted({r["commit"] for r in rows if r.get("commit")})
    write_record(path, ["CNN recipe", "pre-training", "CNN epochs", "CNN validation frame CCC", "CNN seconds",
                        "CNN-3RNN validation CCC V / A"], table, command,
                 "The quick surrogate, one seed, one thread per training; validation numbers only (the test split is "
                 "never looked at)", when=when.date().isoformat() if when else None,
                 commit=commits[0] if len(commits) == 1 else None)


def main() -> None:
    import pandas as pd

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", nargs="+", default=["old", "frames"], choices=list(VARIANTS))
    parser.add_argument("--pretrain", nargs="+", default=["affwild2", "affwild"])
    parser.add_argument("--no-heads", action="store_true")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--results", default="results")
    parser.add_argument("--frames", default="data/frames-quick")
    parser.add_argument("--stored", action="store_true", help="train nothing: tabulate what an earlier run stored")
    parser.add_argument("--record", type=Path, help="also write the book's table as a benchmark record (JSON) here")
    args = parser.parse_args()
    jobs = [(v, None if p == "omg" else p, not args.no_heads, args.results, args.frames, args.stored)
            for v in args.variants for p in args.pretrain]
    with ProcessPoolExecutor(args.workers, mp_context=get_context("forkserver")) as pool:
        rows = [r for rs in pool.map(one, *zip(*jobs)) for r in rs]
    print(pd.DataFrame(rows).drop(columns=["commit"], errors="ignore").to_markdown(index=False))
    if args.record:
        if args.no_heads:
            raise SystemExit("--record needs the heads (drop --no-heads)")
        variants, pretrain = " ".join(args.variants), " ".join(args.pretrain)
        record(rows, args.record, f"python benchmarks/recipe_diagnosis.py --variants {variants} --pretrain {pretrain}",
               args.results)


if __name__ == "__main__":
    main()
