"""How much of valence/arousal the surrogate puts in landmarks vs in the face image.

Linear probes (ridge regression, penalty chosen on validation) predict the per-frame latent
valence/arousal of synth-omg from (a) the 68 truth landmarks aligned by a 5-point
similarity, (b) the aligned 32x32 face pixels, (c) both; features of the current frame
plus the mean of a 1 s window around it (temporal cues). Prints CCC on the test split,
per frame and per utterance (frame means vs gold label). A rough lower bound on what an
image model can see, not a model of the paper.

    python benchmarks/cue_strength.py data/synth-quick [--stride 2] [--record benchmarks/records/cue_strength.json]

With ``--record`` the table is also written with its command, date, commit and machine
(`omglib.snippets.write_record`); book/surrogate.md shows that record.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
from scipy.ndimage import uniform_filter1d

from omglib.data.omg import OmgLayout
from omglib.landmarks import five_points
from omglib.metrics import ccc

CROP = 32
FEATURES = {"landmarks": "68 truth landmarks", "pixels": f"{CROP}x{CROP} face pixels", "both": "both"}
TEMPLATE = np.array([[0.34, 0.40], [0.66, 0.40], [0.50, 0.58], [0.37, 0.74], [0.63, 0.74]]) * CROP


def split_features(root: Path, split: str, stride: int, fps: float):
    utterances = OmgLayout(root).read_split(split).set_index(["video", "utterance"])
    rows = []
    for truth_path in sorted((root / "synth_truth" / split).glob("*.npz")):
        truth = np.load(truth_path)
        for index, name in enumerate(truth["files"]):
            in_segment = truth["segment"] == index
            capture = cv2.VideoCapture(str(root / split / truth_path.stem / name))
            lm_feats, px_feats, targets = [], [], []
            for landmarks, latent, visible in zip(truth["landmarks"][in_segment], truth["latent"][in_segment], truth["visible"][in_segment]):
                ok, frame = capture.read()
                if not ok or not visible:
                    continue
                matrix, _ = cv2.estimateAffinePartial2D(five_points(landmarks).astype(np.float32), TEMPLATE.astype(np.float32))
                aligned = landmarks @ matrix[:, :2].T + matrix[:, 2]
                face = cv2.warpAffine(frame, matrix, (CROP, CROP), flags=cv2.INTER_AREA)
                lm_feats.append(aligned.ravel() / CROP)
                px_feats.append(face.astype(np.float32).ravel() / 255.0)
                targets.append(latent)
            if len(targets) < 2:
                continue
            window = max(1, int(fps))
            for kind, feats in (("lm", lm_feats), ("px", px_feats)):
                x = np.asarray(feats)
                rows.append((kind, np.hstack([x, uniform_filter1d(x, window, axis=0, mode="nearest"),
                                              np.abs(np.diff(x, axis=0, prepend=x[:1]))])[::stride]))
            gold = utterances.loc[(truth_path.stem, name), ["valence", "arousal"]].to_numpy(dtype=float)
            rows.append(("y", np.asarray(targets)[::stride]))
            rows.append(("utt", np.repeat([[hash((truth_path.stem, name)) % 2**31, *gold]], len(targets[::stride]), 0)))
    return {k: np.concatenate([r for kk, r in rows if kk == k]) for k in ("lm", "px", "y", "utt")}


def ridge(x_train, y_train, x_val, y_val, x_test):
    mean, std = x_train.mean(0), x_train.std(0) + 1e-6
    xt, xv, xs = ((x - mean) / std for x in (x_train, x_val, x_test))
    gram, cross = xt.T @ xt, xt.T @ (y_train - y_train.mean(0))
    best = None
    for penalty in (1e0, 1e1, 1e2, 1e3, 1e4, 1e5):
        w = np.linalg.solve(gram + penalty * len(xt) ** 0.5 * np.eye(len(gram)), cross)
        score = np.mean([ccc(y_val[:, d], xv @ w[:, d] + y_train[:, d].mean()) for d in range(2)])
        if best is None or score > best[0]:
            best = (score, w)
    return xs @ best[1] + y_train.mean(0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path, help="output folder of omg synth")
    parser.add_argument("--stride", type=int, default=2, help="use every n-th frame")
    parser.add_argument("--record", type=Path, help="also write the table as a benchmark record (JSON) here")
    args = parser.parse_args()
    import json

    manifest = json.loads((args.data / "manifest.json").read_text())
    fps = manifest["synth"]["fps"]
    root = args.data / "omg"
    data = {s: split_features(root, s, args.stride, fps) for s in ("train", "validation", "test")}
    print(f"frames: train {len(data['train']['y'])}, validation {len(data['validation']['y'])}, test {len(data['test']['y'])}")
    print(f"{'features':12s} {'frame CCC V':>11s} {'frame CCC A':>11s} {'utt CCC V':>10s} {'utt CCC A':>10s}")
    table = []
    for name, keys in (("landmarks", ["lm"]), ("pixels", ["px"]), ("both", ["lm", "px"])):
        x = {s: np.hstack([data[s][k] for k in keys]) for s in data}
        pred = ridge(x["train"], data["train"]["y"], x["validation"], data["validation"]["y"], x["test"])
        test = data["test"]
        frame = [ccc(test["y"][:, d], pred[:, d]) for d in range(2)]
        per_utt = pd.DataFrame({"utt": test["utt"][:, 0], "gv": test["utt"][:, 1], "ga": test["utt"][:, 2],
                                "pv": pred[:, 0], "pa": pred[:, 1]}).groupby("utt").mean()
        utt = [ccc(per_utt["gv"], per_utt["pv"]), ccc(per_utt["ga"], per_utt["pa"])]
        print(f"{name:12s} {frame[0]:11.3f} {frame[1]:11.3f} {utt[0]:10.3f} {utt[1]:10.3f}", flush=True)
        table.append([FEATURES[name], *(f"{v:.3f}" for v in (*frame, *utt))])
    if args.record:
        from omglib.snippets import write_record

        frames = ", ".join(f"{s} {len(data[s]['y']):,}" for s in data)
        write_record(args.record, ["features (aligned by the 5 anchor points)", "frame CCC V", "frame CCC A",
                                   "utterance CCC V", "utterance CCC A"], table,
                     f"python benchmarks/cue_strength.py {args.data} --stride {args.stride}",
                     f"Data: the {manifest['profile']} surrogate (generator {manifest['generator_version']}, seed "
                     f"{manifest['seed']}); visible frames used (stride {args.stride}): {frames}",
                     generator=manifest["generator_version"])


if __name__ == "__main__":
    main()
