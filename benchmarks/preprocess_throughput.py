"""Pre-processing throughput: per-frame detection vs tracking, 1 and 2 workers.

Renders surrogate 640x360 videos with the face about 100 px wide (25 fps), runs the whole
Sec. 4 pipeline (decode, detect, 68 landmarks, Procrustes, 96x96 crop, FrameStore) and prints
frames/s per setting, plus how far the tracked landmarks lie from the per-frame-detection
ones (pixels in the 96x96 crop, frames valid in both).

    python benchmarks/preprocess_throughput.py [--videos 6] [--seconds 8]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from omglib.config import PreprocessConfig, SplitCounts, get_profile
from omglib.preprocess.run import preprocess
from omglib.synth.generate import generate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=6)
    parser.add_argument("--seconds", type=float, default=8.0, help="length of each video")
    args = parser.parse_args()
    smoke = get_profile("smoke")
    bench = replace(smoke, synth=replace(
        smoke.synth, omg_videos=SplitCounts(args.videos, 0, 0), utterances_per_video=(1, 1), fps=25.0,
        duration_scale=args.seconds / 7.0, face_width=(100, 100),
        affwild2_videos=SplitCounts(0, 0, 0), affwild_videos=SplitCounts(0, 0, 0)))
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        generate(bench, tmp / "data", progress=False)
        print(f"{'mode':22s} {'workers':>7s} {'frames':>7s} {'seconds':>8s} {'frames/s':>9s} {'valid':>7s}")
        results = {}
        for mode, every in (("per-frame detection", 1), ("tracking (k=25)", 25)):
            for workers in (1, 2):
                out = tmp / f"pre-{every}-{workers}"
                started = time.perf_counter()
                store = preprocess(tmp / "data" / "omg", out, PreprocessConfig(crop_size=96, detect_every=every),
                                   workers=workers, progress=False)["omg/train"]
                seconds = time.perf_counter() - started
                results[every] = store
                print(f"{mode:22s} {workers:7d} {len(store):7d} {seconds:8.1f} {len(store) / seconds:9.1f} "
                      f"{store.meta.detection_rate:7.1%}", flush=True)
        a, b = results[1], results[25]
        both = (a.index["valid"] & b.index["valid"]).to_numpy()
        diff = np.linalg.norm(np.asarray(a.landmarks)[both] - np.asarray(b.landmarks)[both], axis=-1)
        print(f"landmarks, tracking vs per-frame detection (96x96 crop, {both.sum()} frames): "
              f"mean {diff.mean():.2f} px, median {np.median(diff):.2f} px, p95 {np.quantile(diff, 0.95):.2f} px")


if __name__ == "__main__":
    main()
