"""How many people must the quick CNN pre-train on before it learns their expressions rather
than who they are? Surrogate Aff-Wild2 training sets of ever more people (videos): 36 long
videos and 180 short ones of about the same frames, then 360 and 720 short ones, each
pre-training the quick VGG-Face CNN (and adapting it to OMG for its epoch), then the CNN-3RNN
above it on the quick book's OMG FrameStores. Validation numbers only (the test split is never
looked at).

    python benchmarks/pretraining_faces.py [--frames data/frames-quick] [--out results/pretraining-faces]
                                           [--record benchmarks/records/pretraining_faces.json]

Each size is generated (`omg synth`'s generator, Aff-Wild2 only) and pre-processed into
``--out``, with a link to the OMG stores of ``--frames``; its results go to a folder of their
own (`Profile.label`). Rows already trained are re-used. ``--record`` also writes the table
that book/training.md shows, with the run's commit, date and machine (`omglib.snippets.write_record`).
"""

from __future__ import annotations

import argparse
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

SIZES = {36: (140, 220), 180: (30, 45), 360: (30, 45), 720: (30, 45)}  # training videos (one person each): frames each
WAS, NOW = 36, 720  # the quick profile's before and after this benchmark


def one(videos: int, out: str, omg_frames: str) -> dict:
    """Generate, pre-process and train one size; return its row."""
    import torch

    from omglib.config import get_profile
    from omglib.experiments import BEST_3RNN, Context, cnn_history, load, pretrained_cnn, run_seed
    from omglib.preprocess.run import preprocess
    from omglib.synth.generate import generate

    torch.set_num_threads(1)
    frames_each = SIZES[videos]
    quick = get_profile("quick")
    profile = get_profile("quick", ["synth.omg_videos=(0, 0, 0)", "synth.affwild_videos=(0, 0, 0)",
                                    f"synth.affwild2_videos=({videos}, {quick.synth.affwild2_videos.validation}, 0)",
                                    f"synth.affwild2_frames={frames_each}"])
    out = Path(out)
    root, frames = out / f"synth-{profile.label('synth')}", out / f"frames-{profile.label('synth')}"
    generate(profile, root, workers=1, progress=False)
    preprocess(root, frames, profile.preprocess, workers=1, progress=False)
    if not (frames / "omg").exists():  # the OMG stores the quick book trains its heads on
        (frames / "omg").symlink_to(Path(omg_frames).resolve() / "omg", target_is_directory=True)
    ctx = Context.create(profile, frames, out / "results", "cpu", seeds=(0,), progress=False, workers=1)
    pretrained_cnn(ctx, "vgg16", "affwild2", 0)
    run_seed(ctx, BEST_3RNN, 0)
    h = cnn_history(ctx, "vgg16", "affwild2", 0)
    pre, adapted = h[h["data"] == "affwild2"], h[h["data"] == "omg"]
    best = pre.loc[pre["val_score"].idxmax()]
    on_omg = adapted.loc[adapted["val_score"].idxmax()] if len(adapted) else None
    result = load(ctx, BEST_3RNN, 0)
    pair = lambda v, a: f"{v:.3f} / {a:.3f}"
    name = f"{videos} people, {frames_each[0]}-{frames_each[1]} frames each" + {WAS: " (the quick book before)",
                                                                             NOW: " (the quick book now)"}.get(videos, "")
    return {"Aff-Wild2 pre-training": name, "frames": int(ctx.store("affwild2", "train").index["valid"].sum()),
            "CNN train frame CCC V / A, last epoch": pair(pre["train_ccc_valence"].iloc[-1], pre["train_ccc_arousal"].iloc[-1]),
            "CNN Aff-Wild2 validation frame CCC V / A, best epoch": f'{pair(best["val_ccc_valence"], best["val_ccc_arousal"])} '
                                                                    f'({int(best["epoch"])} of {len(pre)})',
            "CNN OMG validation frame CCC V / A, after its epoch on OMG": "-" if on_omg is None else pair(on_omg["val_ccc_valence"], on_omg["val_ccc_arousal"]),
            "CNN seconds": f"{h['seconds'].sum():.0f}",
            "CNN-3RNN validation CCC V / A": pair(result.validation.ccc_valence, result.validation.ccc_arousal),
            "commit": result.provenance.git_commit}


def main() -> None:
    import pandas as pd

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", default="data/frames-quick", help="the quick book's FrameStores (for OMG)")
    parser.add_argument("--out", default="results/pretraining-faces", help="where the sizes' data and results go")
    parser.add_argument("--sizes", nargs="+", type=int, default=list(SIZES), choices=list(SIZES),
                        help="Aff-Wild2 training videos (people)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--record", type=Path, help="also write the table as a benchmark record (JSON) here")
    args = parser.parse_args()
    if not (Path(args.frames) / "omg" / "train" / "meta.json").is_file():
        raise SystemExit(f"{args.frames}: no OMG FrameStores. Build the quick book's data first (`omg book --profile quick`)")
    with ProcessPoolExecutor(args.workers, mp_context=get_context("forkserver")) as pool:
        rows = list(pool.map(one, args.sizes, [args.out] * len(args.sizes), [args.frames] * len(args.sizes)))
    table = pd.DataFrame(rows)
    print(table.drop(columns=["commit"]).to_markdown(index=False))
    if args.record:
        from omglib.snippets import write_record

        commits = sorted({r["commit"] for r in rows if r["commit"]})
        write_record(args.record, list(table.columns[:-1]), table.drop(columns=["commit"]).values.tolist(),
                     "python benchmarks/pretraining_faces.py" + (f" --sizes {' '.join(map(str, args.sizes))}" if args.sizes != list(SIZES) else ""),
                     "The quick profile's CNN recipe, one seed, one thread per size; each size's own 24 Aff-Wild2 validation "
                     "videos (as long as its training videos); the quick book's OMG training and validation frames; "
                     "validation numbers only (the test split is never looked at)",
                     commit=commits[0] if len(commits) == 1 else None)


if __name__ == "__main__":
    main()
