"""Where do the surrogate's valence and arousal live for a linear model: in one frame, or in
how frames change? The floor's ridge regression (`omglib.probe`) on the FrameStores the
networks read, with each part of its temporal summary alone: the frame itself (what a frame
CNN sees), its 1 s running mean, its absolute frame difference (motion energy), and all three
(the floor), for the face pixels, the landmarks, and both. Validation utterance CCC only (the
test split is never looked at). If arousal needs the frame difference, a trunk trained frame
by frame cannot see it, and the GRUs above it must learn the differencing themselves.

    python benchmarks/arousal_cues.py [--frames data/frames-quick] [--record benchmarks/records/arousal_cues.json]

With ``--record`` the table is also written with its command, date, commit and machine
(`omglib.snippets.write_record`); book/training.md shows that record.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

PARTS = {"the frame": (0,), "1 s mean": (1,), "frame difference": (2,), "all three (the floor's)": (0, 1, 2)}
INPUTS = ("face pixels", "landmarks", "both")


def main() -> None:
    from omglib import probe
    from omglib.config import get_profile
    from omglib.data.sequences import cut
    from omglib.experiments import Context
    from omglib.experiments.results import ccc_pair
    from omglib.postprocess import DIMENSIONS, UtteranceEstimate

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", default="data/frames-quick", help="the quick profile's FrameStores")
    parser.add_argument("--record", type=Path, help="also write the table as a benchmark record (JSON) here")
    args = parser.parse_args()

    profile = get_profile("quick")
    ctx = Context.create(profile, args.frames, "results", "cpu", seeds=(0,), progress=False, workers=1)
    seqs = {s: cut(ctx.store("omg", s), profile.train.seq_len) for s in ("train", "validation")}
    truth = lambda s: s.groups[list(DIMENSIONS)].to_numpy(np.float64)
    estimate = UtteranceEstimate(profile.train.aggregate, fallback=tuple(np.nanmean(truth(seqs["train"]), 0)))
    score = lambda frames: ccc_pair(truth(seqs["validation"]), estimate(frames, seqs["validation"])[0])
    floors = {s: probe.frame_features(q) for s, q in seqs.items()}  # (W, L, 3F): frame, 1 s mean, difference
    width = floors["train"].shape[-1] // 3  # the floor's base row: the colour face, then the landmark coordinates
    pixels = probe.SIDE * probe.SIDE * 3
    columns = {"face pixels": np.arange(pixels), "landmarks": np.arange(pixels, width), "both": np.arange(width)}
    pretraining = cut(ctx.store("affwild2", "train"), profile.train.seq_len)  # the quick CNNs' pre-training frames
    described = {"OMG train": floors, "Aff-Wild2 train": {"train": probe.frame_features(pretraining),
                                                         "validation": floors["validation"]}}
    runs = [("OMG train", part, inputs) for part in PARTS for inputs in INPUTS]
    runs += [("Aff-Wild2 train", "the frame", inputs) for inputs in INPUTS]  # what a frame CNN pre-trains on
    rows = []
    for fitted_on, part, inputs in runs:
        chosen = np.concatenate([columns[inputs] + b * width for b in PARTS[part]])
        splits = {"train": seqs["train"] if fitted_on == "OMG train" else pretraining, "validation": seqs["validation"]}
        tic = time.perf_counter()
        fit = probe.fit_predict(splits, score, features=lambda split, s, f=described[fitted_on], c=chosen: f[split][..., c])[1]
        v, a = fit.score
        print(f"{fitted_on:16s} {part:26s} {inputs:12s} V {v:.3f}  A {a:.3f}  ({fit.features:,} features, "
              f"{time.perf_counter() - tic:.0f} s)", flush=True)
        rows.append([fitted_on, part, inputs, f"{v:.3f}", f"{a:.3f}", f"{fit.features:,}"])
    if args.record:
        from omglib.snippets import write_record

        root = ctx.store("omg", "train").meta.data_root  # the surrogate the stores were made from
        manifest = Path(root).parent / "manifest.json" if root else None
        generator = json.loads(manifest.read_text())["generator_version"] if manifest and manifest.is_file() else None
        write_record(args.record, ["fitted on", "temporal summary", "inputs", "validation CCC V", "validation CCC A", "features"], rows,
                     f"python benchmarks/arousal_cues.py --frames {args.frames}",
                     "The quick surrogate's FrameStores; ridge regression with the floor's penalty grid, chosen on "
                     "validation utterance CCC; validation utterances only (the test split is never looked at)",
                     generator=generator)


if __name__ == "__main__":
    main()
