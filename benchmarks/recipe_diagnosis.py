"""Why did the networks on the quick VGG trunk fail? Train the VGG-Face CNN frame by frame
under several recipes and the CNN-3RNN heads above it, and print validation numbers only
(the test split is never looked at). With ``--probes``, also the linear probe
(`omglib.probe`) of what each frozen trunk passes on to its FC (`trunk_probe`), and of the
landmarks alone: whether the trunk learned anything the landmarks do not already say.

    python benchmarks/recipe_diagnosis.py [--variants old frames ...] [--pretrain affwild2 affwild]
                                          [--probes] [--stored] [--record benchmarks/records/recipe_diagnosis.json]

Each variant is the quick profile with some training fields overridden; its results go to a
folder named by those overrides (`Profile.label`), so that they never mix with the book's. ``--stored`` trains
nothing and tabulates what an earlier run left there; ``--record`` also writes the table that
book/training.md shows, with the run's commit, date and machine (`omglib.snippets.write_record`).
"""

from __future__ import annotations

import argparse
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

VARIANTS = {  # TrainConfig fields over the quick profile's; "landmarks": False pre-trains the CNN without them
    # the recipe before the fix: windows of 40 consecutive frames, 16 per batch, 15 epochs
    "old": {"cnn_seq_len": 40, "cnn_batch_size": 16, "pretrain_epochs": 15, "adapt_epochs": 0, "lr_cnn": 1e-3},
    # single frames drawn across videos, 64 per batch, 6 epochs, no adaptation to OMG
    "frames": {"adapt_epochs": 0, "lr_cnn": 1e-3},
    # the same CNN without the landmarks joined to its FC: does the trunk then learn more?
    "frames-no-landmarks": {"adapt_epochs": 0, "lr_cnn": 1e-3, "landmarks": False},
    # the frame recipe, then 2 epochs of the same training on OMG's training frames
    "adapt": {"adapt_epochs": 2, "lr_cnn": 1e-3},
    # the same with a 3x lower learning rate (does the trunk overfit its pre-training faces?)
    "frames-lr": {"adapt_epochs": 0, "lr_cnn": 3e-4},
    # on a trunk that sees its input (torchvision's VGG init): the quick recipe before it, and now
    "seeing-1e-3": {"adapt_epochs": 1, "lr_cnn": 1e-3},
    "seeing-3e-4": {"adapt_epochs": 3, "lr_cnn": 3e-4},
    "seeing-1e-4-adapt-1": {"adapt_epochs": 1, "lr_cnn": 1e-4},
    "quick": {},
}


VARIANT_NAMES = {"old": "40-frame windows x 16, 15 epochs", "frames": "single frames x 64, 6 epochs",
                 "frames-no-landmarks": "single frames x 64, no landmarks at the FC (no CNN-3RNN: the tables' reads one with them)",
                 "adapt": "single frames x 64, then 2 epochs on OMG train",
                 "frames-lr": "single frames x 64, learning rate 3e-4",
                 "seeing-1e-3": "learning rate 1e-3, then 1 epoch on OMG train (the quick recipe before the fix)",
                 "seeing-3e-4": "learning rate 3e-4, then 3 epochs on OMG train",
                 "seeing-1e-4-adapt-1": "learning rate 1e-4, then 1 epoch on OMG train",
                 "quick": "learning rate 1e-4, then 3 epochs on OMG train (the quick profile)"}


def _context(variant: str, results: str, frames: str):
    from omglib.config import get_profile
    from omglib.experiments import Context

    # an overridden profile keeps its results in a folder of its own (Profile.label)
    profile = get_profile("quick", [f"train.{k}={v}" for k, v in VARIANTS[variant].items() if k != "landmarks"])
    return Context.create(profile, frames, results, "cpu", seeds=(0,), progress=False, workers=1)


def _head(pretrain: str | None) -> str:
    from omglib.experiments import BEST_3RNN, PRETRAIN_NAMES

    return BEST_3RNN if pretrain == "affwild2" else f"{BEST_3RNN} ({PRETRAIN_NAMES[pretrain]})"


def one(variant: str, pretrain: str | None, heads: bool, results: str = "results", frames: str = "data/frames-quick",
        stored: bool = False, probes: bool = False) -> list[dict]:
    """Train (unless ``stored``: read what an earlier run left) and tabulate one variant."""
    import torch

    from omglib.experiments import cnn_history, load, pretrained_cnn, run_seed, trunk_probe

    torch.set_num_threads(1)
    ctx = _context(variant, results, frames)
    landmarks = VARIANTS[variant].get("landmarks", True)
    heads = heads and landmarks  # the CNN-3RNN of the tables reads a CNN trained with landmarks
    cnn = pretrained_cnn(ctx, "vgg16", pretrain, 0, landmarks) if not stored else None
    if not stored and heads:
        run_seed(ctx, _head(pretrain), 0)
    h = cnn_history(ctx, "vgg16", pretrain, 0, landmarks)
    stages = h["data"].tolist() if "data" in h else [pretrain or "omg"] * len(h)
    row = {"variant": variant, "pretrain": pretrain or "omg", "cnn epochs": len(h), "cnn seconds": round(h["seconds"].sum(), 1)}
    for stage in dict.fromkeys(stages):  # pre-training, then the adaptation to OMG when there is one
        part = h[[d == stage for d in stages]]
        best = part.loc[part["val_score"].idxmax()]
        key = "cnn" if stage == stages[0] else f"cnn on {stage}"
        row |= {f"{key} best epoch": int(best["epoch"]), f"{key} val frame CCC": round(best["val_score"], 3),
                f"{key} train CCC": round((best["train_ccc_valence"] + best["train_ccc_arousal"]) / 2, 3)}
    if probes:
        from omglib.experiments import cnn_run

        trunk = trunk_probe(ctx, cnn or cnn_run(ctx, "vgg16", pretrain, 0, landmarks))[0]
        alone = trunk_probe(ctx, None)[0]
        row |= {"trunk probe V": round(trunk[0], 3), "trunk probe A": round(trunk[1], 3),
                "landmark probe V": round(alone[0], 3), "landmark probe A": round(alone[1], 3)}
    if heads:
        result = load(ctx, _head(pretrain), 0)
        if result is None:
            raise SystemExit(f"{_head(pretrain)}: no stored result for {variant} in {results}")
        row.update({"CNN-3RNN val CCC V": round(result.validation.ccc_valence, 3),
                    "CNN-3RNN val CCC A": round(result.validation.ccc_arousal, 3),
                    "CNN-3RNN best epoch": result.training.best_epoch,
                    "CNN-3RNN epochs": result.training.epochs_run, "commit": result.provenance.git_commit})
    return [row]


def record(rows: list[dict], path: Path, command: str, results: str) -> None:
    """The book's table (book/training.md) with the run's commit and date."""
    from datetime import datetime, timezone

    from omglib.experiments import PRETRAIN_NAMES
    from omglib.snippets import write_record

    metrics = sorted(Path(results).glob("quick*/cnn/*/seed-0/metrics.json"))
    when = max((datetime.fromtimestamp(m.stat().st_mtime, timezone.utc) for m in metrics), default=None)
    names = {k or "omg": v for k, v in PRETRAIN_NAMES.items()}
    pair = lambda r, key: f"{r[f'{key} V']:.3f} / {r[f'{key} A']:.3f}" if f"{key} V" in r else "-"
    probes = any("trunk probe V" in r for r in rows)
    table = [[VARIANT_NAMES[r["variant"]], names[r["pretrain"]], r["cnn epochs"],
              f"{r['cnn val frame CCC']:.3f}", f"{r['cnn seconds']:.0f}", *([pair(r, "trunk probe")] if probes else []),
              pair(r, "CNN-3RNN val CCC")] for r in rows]
    commits = sorted({r["commit"] for r in rows if r.get("commit")})
    notes = ("The quick surrogate, one seed, one thread per training; validation numbers only (the test split is never "
             "looked at)")
    if probes:
        notes += (f". Trunk probe: the linear probe on what the frozen CNN passes on to its FC (with the probe's temporal "
                  f"summary); the landmarks alone give {pair(rows[0], 'landmark probe')}")
    write_record(path, ["CNN recipe", "pre-training", "CNN epochs", "CNN validation frame CCC", "CNN seconds",
                        *(["trunk probe V / A"] if probes else []), "CNN-3RNN validation CCC V / A"], table, command,
                 notes, when=when.date().isoformat() if when else None, commit=commits[0] if len(commits) == 1 else None)


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
    parser.add_argument("--probes", action="store_true", help="also the linear probes of each trunk and of the landmarks")
    parser.add_argument("--record", type=Path, help="also write the book's table as a benchmark record (JSON) here")
    args = parser.parse_args()
    jobs = [(v, None if p == "omg" else p, not args.no_heads, args.results, args.frames, args.stored, args.probes)
            for v in args.variants for p in args.pretrain]
    with ProcessPoolExecutor(args.workers, mp_context=get_context("forkserver")) as pool:
        rows = [r for rs in pool.map(one, *zip(*jobs)) for r in rs]
    print(pd.DataFrame(rows).drop(columns=["commit"], errors="ignore").to_markdown(index=False))
    if args.record:
        if args.no_heads:
            raise SystemExit("--record needs the heads (drop --no-heads)")
        variants, pretrain = " ".join(args.variants), " ".join(args.pretrain)
        record(rows, args.record, f"python benchmarks/recipe_diagnosis.py --variants {variants} --pretrain {pretrain}"
               + (" --probes" if args.probes else ""),
               args.results)


if __name__ == "__main__":
    main()
