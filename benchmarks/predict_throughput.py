"""`omg predict` throughput: end-to-end frames/s on a 640x360 video, split into decode,
detect/track (+ 68 landmarks), align and network; window and stream mode; torch and
onnxruntime. Networks have random weights (speed does not depend on them), built at the
quick profile (CNN-3RNN, DenseNet-RNN) and the paper's size (CNN-3RNN).

    python benchmarks/predict_throughput.py [--seconds 8] [--models quick:CNN-3RNN-2nd-pool_last-pool_fc ...]

Stream mode also prints the network's latency per frame (mean and p95). The face is about
100 px wide, found by dlib's HOG detector and tracked between full searches (``detect_every``
of the model's profile), as `omg preprocess` does.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from omglib.config import SplitCounts, get_profile
from omglib.export import open_network
from omglib.landmarks import detect_faces, predict_landmarks
from omglib.models import build, save
from omglib.predict import PredictOptions, predict_video
from omglib.synth.generate import generate

MODELS = ("quick:CNN-3RNN-2nd-pool_last-pool_fc", "quick:DenseNet-RNN", "paper:CNN-3RNN-2nd-pool_last-pool_fc")


def _video(folder: Path, seconds: float) -> Path:
    """One surrogate 640x360, 25 fps video (a single utterance) of about ``seconds``."""
    smoke = get_profile("smoke")
    bench = replace(smoke, synth=replace(
        smoke.synth, omg_videos=SplitCounts(1, 0, 0), utterances_per_video=(1, 1), fps=25.0,
        duration_scale=seconds / 7.0, face_width=(100, 100),
        affwild2_videos=SplitCounts(0, 0, 0), affwild_videos=SplitCounts(0, 0, 0)))
    generate(bench, folder, workers=1, progress=False)
    return max((folder / "omg" / "train").rglob("*.mp4"), key=lambda p: p.stat().st_size)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="length of the video")
    parser.add_argument("--models", nargs="+", default=list(MODELS), help="PROFILE:NAME of each network")
    parser.add_argument("--backends", nargs="+", default=["torch", "onnxruntime"])
    parser.add_argument("--modes", nargs="+", default=["window", "stream"])
    parser.add_argument("--threads", type=int, default=1, help="torch and onnxruntime intra-op threads")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"network threads: {args.threads}; `cpu` = the process's CPU seconds, a measure that a busy machine "
          "does not inflate (stages are wall seconds)", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        video = _video(tmp / "data", args.seconds)
        blank = np.zeros((64, 64, 3), np.uint8)
        detect_faces(blank)  # load dlib's detector and landmark model before anything is timed
        predict_landmarks(blank, np.array([0, 0, 63, 63], np.float32))
        header = (f"{'network':44s} {'backend':11s} {'mode':6s} {'frames':>6s} {'decode':>7s} {'detect':>7s} {'align':>6s} "
                  f"{'network':>8s} {'total':>7s} {'frames/s':>8s} {'cpu':>7s} {'frames/cpu-s':>12s} {'latency ms (p95)':>16s}")
        print(f"video: {video.name}, 640x360, 25 fps; seconds per stage, all frames\n{header}", flush=True)
        for spec in args.models:
            profile_name, name = spec.split(":", 1)
            profile = get_profile(profile_name)
            torch.manual_seed(0)
            model_path = tmp / spec.replace(":", "-").replace(" ", "_") / "model.pt"
            save(build(name, profile), model_path, experiment=name, recipe={"seq_len": profile.train.seq_len},
                 preprocess=profile.preprocess, training_data="random weights (benchmark)")
            for backend in args.backends:
                network = open_network(model_path, backend, model_path.parent, args.threads)
                for mode in args.modes:
                    cpu = time.process_time()
                    s = predict_video(video, network, tmp / "out", PredictOptions(mode, progress=False))
                    cpu = time.process_time() - cpu
                    sec = s.seconds
                    latency = f"{s.latency_ms.mean:.1f} ({s.latency_ms.p95:.1f})" if s.latency_ms else ""
                    print(f"{spec:44s} {backend:11s} {mode:6s} {s.frames:6d} {sec['decode']:7.2f} {sec['detect']:7.2f} "
                          f"{sec['align']:6.2f} {sec['network']:8.2f} {s.wall_seconds:7.2f} {s.frames_per_second:8.1f} "
                          f"{cpu:7.2f} {s.frames / cpu:12.1f} {latency:>16s}", flush=True)


if __name__ == "__main__":
    main()
