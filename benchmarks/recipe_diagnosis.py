"""Why did the networks on the quick VGG trunk fail? Train the VGG-Face CNN frame by frame
under several recipes and the CNN-3RNN heads above it, and print validation numbers only
(the test split is never looked at).

    python benchmarks/recipe_diagnosis.py [--variants old frames ...] [--pretrain affwild2 affwild]

Each variant is the quick profile with some training fields changed; its results go to
results/diagnosis-<variant>/ so that they never mix with the book's.
"""

from __future__ import annotations

import argparse
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from multiprocessing import get_context

VARIANTS = {
    # the recipe before the fix: windows of 40 consecutive frames, 16 per batch, 15 epochs
    "old": {"cnn_seq_len": 40, "cnn_batch_size": 16, "pretrain_epochs": 15},
    # the quick profile as it is: single frames drawn across videos, 64 per batch, 6 epochs
    "frames": {},
}


def one(variant: str, pretrain: str | None, heads: bool) -> list[dict]:
    import torch

    from omglib.config import get_profile
    from omglib.experiments import BEST_3RNN, Context, get, run_seed
    from omglib.experiments.pipeline import pretrained_cnn
    from omglib.experiments.results import run_folder
    import pandas as pd

    torch.set_num_threads(1)
    quick = get_profile("quick")
    profile = replace(quick, name=f"diagnosis-{variant}", train=replace(quick.train, **VARIANTS[variant]))
    ctx = Context.create(profile, "data/frames-quick", "results", "cpu", seeds=(0,), progress=False, workers=1)
    cnn = pretrained_cnn(ctx, "vgg16", pretrain, 0)
    h = pd.read_csv(cnn.folder / "history.csv")
    best = h.loc[h["val_score"].idxmax()]
    row = {"variant": variant, "pretrain": pretrain or "omg", "cnn epochs": len(h), "cnn best epoch": int(best["epoch"]),
           "cnn val frame CCC": round(best["val_score"], 3),
           "cnn train CCC": round((best["train_ccc_valence"] + best["train_ccc_arousal"]) / 2, 3),
           "cnn seconds": round(h["seconds"].sum(), 1)}
    if heads:
        name = BEST_3RNN if pretrain == "affwild2" else f"{BEST_3RNN} ({'Aff-Wild' if pretrain == 'affwild' else 'from scratch'})"
        result = run_seed(ctx, name, 0)
        hist = pd.read_csv(run_folder(ctx, get(name), 0) / "history.csv")
        row.update({"CNN-3RNN val CCC V": round(result.validation.ccc_valence, 3),
                    "CNN-3RNN val CCC A": round(result.validation.ccc_arousal, 3),
                    "CNN-3RNN best epoch": result.training["best_epoch"], "CNN-3RNN epochs": len(hist)})
    return [row]


def main() -> None:
    import pandas as pd

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", nargs="+", default=["old", "frames"], choices=list(VARIANTS))
    parser.add_argument("--pretrain", nargs="+", default=["affwild2", "affwild"])
    parser.add_argument("--no-heads", action="store_true")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    jobs = [(v, None if p == "omg" else p, not args.no_heads) for v in args.variants for p in args.pretrain]
    with ProcessPoolExecutor(args.workers, mp_context=get_context("forkserver")) as pool:
        rows = [r for rs in pool.map(one, *zip(*jobs)) for r in rs]
    print(pd.DataFrame(rows).to_markdown(index=False))


if __name__ == "__main__":
    main()
