"""Does hiding the landmarks while the CNN pre-trains make its trunk learn the pixels (issue 17)?

    python benchmarks/landmark_dropout.py [--rates 0 0.5 0.8] [--seeds 0 1 2] [--frames DIR] [--results DIR]
                                          [--record benchmarks/records/landmark_dropout.json]

For each rate, the quick profile's CNN-3RNN and CNN-1RNN are trained over the seeds as the
experiments "CNN-3RNN (landmark_dropout=R)" (`omglib.experiments.catalogue.parse`: each rate
pre-trains its own VGG-Face CNN; rate 0 is the book's own row), and the frozen trunk of each
CNN is probed linearly (`experiments.trunk_probe`: what it passes on to its FC, pixels only).
Validation numbers only (the test split is never looked at), beside the linear floor's and the
landmarks-alone probe's on the same utterances. Results re-use what a run left in --results.
"""

from __future__ import annotations

import argparse
from pathlib import Path

NETWORKS = ("CNN-3RNN-2nd-pool_last-pool_fc", "CNN-1RNN-2nd-pool_last-pool_fc")


def measure(ctx, rates: list[float]) -> list[list]:
    import numpy as np

    from omglib import experiments as X

    X.run(ctx, [X.LINEAR_PROBE])
    floor = X.load(ctx, X.LINEAR_PROBE)
    alone = X.trunk_probe(ctx, None)[0]
    pair = lambda v, a: f"{v:.3f} / {a:.3f}"
    rows = [["linear floor (pixels + landmarks)", "-", pair(floor.validation.ccc_valence, floor.validation.ccc_arousal),
             pair(floor.validation.ccc_per_video_valence, floor.validation.ccc_per_video_arousal), "-"],
            ["the 68 landmarks alone (linear probe)", "-", pair(*alone), "-", "-"]]
    for rate in rates:
        names = [n if rate == 0 else f"{n} (landmark_dropout={rate:g})" for n in NETWORKS]
        X.run(ctx, names)
        own = ctx.with_settings(X.get(names[0]).overrides)
        trunk = X.trunk_probe(own, X.cnn_run(own, "vgg16", "affwild2", ctx.cnn_seed))[0]
        for name in names:
            scores = np.mean([[r.validation.ccc_valence, r.validation.ccc_arousal, r.validation.ccc_per_video_valence,
                               r.validation.ccc_per_video_arousal] for r in (X.load(ctx, name, s) for s in ctx.seeds)], 0)
            rows.append([name.partition(" (")[0], f"{rate:g}", pair(*scores[:2]), pair(*scores[2:]), pair(*trunk)])
            print(" | ".join(map(str, rows[-1])), flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", nargs="+", type=float, default=[0.0, 0.5, 0.8])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--data-root", default=None, help="the quick surrogate (default data/synth-quick)")
    parser.add_argument("--frames", default=None)
    parser.add_argument("--results", default="results")
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--record", type=Path, help="also write the table book/training.md shows, as a benchmark record")
    args = parser.parse_args()
    from omglib import book
    from omglib.snippets import write_record

    settings = book.Settings("quick", args.data_root, args.frames, args.results, "cpu", tuple(args.seeds), args.workers,
                             progress=False)
    rows = measure(book.context(settings), args.rates)
    columns = ["network", "landmark dropout", "validation CCC V / A", "per-video CCC V / A", "trunk probe V / A"]
    print("\n".join(" | ".join(map(str, r)) for r in [columns, *rows]))
    if args.record:
        write_record(args.record, columns, rows,
                     f"python benchmarks/landmark_dropout.py --rates {' '.join(f'{r:g}' for r in args.rates)} "
                     f"--seeds {' '.join(map(str, args.seeds))}",
                     f"The quick surrogate; networks: mean over training seeds {', '.join(map(str, args.seeds))}; "
                     "validation utterances only (the test split is never looked at). Trunk probe: the linear probe of "
                     "what the frozen VGG-Face trunk of that rate passes on to its FC (pixels only)")


if __name__ == "__main__":
    main()
