"""One end-to-end training step of every network of Table 3 at the paper's size.

    PYTHONPATH=. python benchmarks/paper_step.py [--device cpu|cuda|all] [--batch 4] [--frames 80]
        [--steps N] [--warmup N] [--models NAME ...] [--markdown]

A step is what `omglib.train.fit` does with a batch when the whole network trains
(strategy end-to-end): forward on (B, T, 3, 96, 96) faces in [-1, 1] and (B, T, 136)
landmarks, the CCC loss (Eq. 3), backward, an Adam step. Precisions: CPU fp32; CPU bf16
autocast with channels_last weights; CUDA bf16 autocast with channels_last weights (what
`fit` runs on a GPU). Each (network, precision) runs in a fresh subprocess so that its
peak memory is its own: CPU peak = growth of the process's maximum resident set (model,
gradients, Adam state, activations) over the same process before the model was built;
CUDA peak = torch.cuda.max_memory_allocated. Seconds per step: the median of the timed
steps after the warm-up steps. Needs only torch and torchvision (no dlib).

Decision fusion (the last row of Table 3) averages other networks' outputs: no network.
A paper-size VGG step at 4 x 80 frames takes about a minute on a 2-core CPU; shrink
with e.g. ``--batch 1 --frames 16``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TABLE3 = ("VGG-Face", "DenseNet-121", "ResNet-50", "AffWildNet", "DenseNet-RNN",
          "CNN-1RNN-2nd-pool_last-pool_fc", "CNN-3RNN-2nd-pool_last-pool_fc",
          "Model-level Fusion + FC", "Model-level Fusion + RNN")
MODES = {"cpu": ("cpu fp32", "cpu bf16"), "cuda": ("cuda bf16",)}


def step_once(mode: str, name: str, batch: int, frames: int, warmup: int, steps: int) -> dict:
    """Build ``name`` at the paper profile and time its training steps (run in a subprocess)."""
    import torch

    from omglib.losses import ccc_loss
    from omglib.models import build
    from omglib.train import autocast, bf16

    device, precision = torch.device(mode.split()[0]), mode.split()[1]  # the same autocast as `fit`
    generator = torch.Generator().manual_seed(0)
    baseline_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    model = build(name, "paper").to(device)
    size = model.config.input_size
    faces = (torch.rand(batch, frames, 3, size, size, generator=generator) * 2 - 1).to(device)
    landmarks = (torch.rand(batch, frames, 136, generator=generator) * 2 - 1).to(device)
    labels = (torch.rand(batch, frames, 2, generator=generator) * 2 - 1).to(device)
    if bf16(device, precision):
        model.to(memory_format=torch.channels_last)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-5)
    model.train()
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    seconds = []
    for i in range(warmup + steps):
        tic = time.perf_counter()
        with autocast(device, precision):
            pred = model(faces, landmarks)
        loss = ccc_loss(pred, labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        if i >= warmup:
            seconds.append(time.perf_counter() - tic)
    if not torch.isfinite(loss):
        raise RuntimeError(f"loss is {loss.item()}")
    if device.type == "cuda":
        peak = torch.cuda.max_memory_allocated(device)
    else:
        peak = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - baseline_kib) * 1024
    median = statistics.median(seconds)
    return {"model": name, "mode": mode, "parameters": sum(p.numel() for p in model.parameters()),
            "peak_bytes": peak, "seconds": median, "frames_per_second": batch * frames / median}


def run_isolated(mode: str, name: str, args: argparse.Namespace) -> dict:
    """`step_once` in a fresh interpreter; a crash or an out-of-memory kill becomes the row's error."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", mode, "--models", name,
               "--batch", str(args.batch), "--frames", str(args.frames),
               "--warmup", str(args.warmup), "--steps", str(args.steps)]
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    if done.returncode == 0:
        return json.loads(done.stdout.strip().splitlines()[-1])
    last = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1]
    if done.returncode < 0:
        last = f"killed by signal {-done.returncode} (out of memory? try a smaller --batch/--frames)"
    return {"model": name, "mode": mode, "error": last[:120]}


def print_table(rows: list[dict], markdown: bool) -> None:
    header = ["model", "precision", "parameters", "peak memory GiB", "s/step", "frames/s"]
    lines = []
    for r in rows:
        if "error" in r:
            lines.append([r["model"], r["mode"], "", "", "", r["error"]])
        else:
            lines.append([r["model"], r["mode"], f"{r['parameters']:,}", f"{r['peak_bytes'] / 2**30:.2f}",
                          f"{r['seconds']:.3f}", f"{r['frames_per_second']:.1f}"])
    if markdown:
        print("| " + " | ".join(header) + " |")
        print("|" + "---|" * len(header))
        for line in lines:
            print("| " + " | ".join(line) + " |")
    else:
        print(f"{header[0]:32s} {header[1]:10s} " + " ".join(f"{h:>15s}" for h in header[2:]))
        for line in lines:
            print(f"{line[0]:32s} {line[1]:10s} " + " ".join(f"{v:>15s}" for v in line[2:]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", choices=["cpu", "cuda", "all"], default="all",
                        help="all: the CPU rows, and the CUDA row when a GPU is present")
    parser.add_argument("--batch", type=int, default=4, help="sequences per step (paper: 4)")
    parser.add_argument("--frames", type=int, default=80, help="frames per sequence (paper: 80)")
    parser.add_argument("--steps", type=int, default=None, help="timed steps (default: 3 on CPU, 10 on CUDA)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed steps first")
    parser.add_argument("--models", nargs="+", default=list(TABLE3), metavar="NAME", help="default: Table 3's networks")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(step_once(args.worker, args.models[0], args.batch, args.frames, args.warmup, args.steps)))
        return

    import torch

    cuda = torch.cuda.is_available()
    if args.device == "cuda" and not cuda:
        parser.exit(2, "paper_step: error: --device cuda but torch sees no GPU\n")
    modes = [*(MODES["cpu"] if args.device in ("cpu", "all") else ()), *(MODES["cuda"] if cuda and args.device != "cpu" else ())]
    where = torch.cuda.get_device_name() if cuda and args.device != "cpu" else f"{torch.get_num_threads()} CPU threads"
    steps = args.steps
    print(f"paper profile, batch {args.batch} x {args.frames} frames of 96x96, {args.warmup} warm-up step(s), "
          f"median of {steps or '3 (CPU) / 10 (CUDA)'} timed; torch {torch.__version__}, {where}", flush=True)
    rows = []
    for mode in modes:
        args.steps = steps or (10 if mode.startswith("cuda") else 3)
        for name in args.models:
            rows.append(run_isolated(mode, name, args))
            print(f"  {name} ({mode}): " + (rows[-1].get("error") or f"{rows[-1]['seconds']:.3f} s/step"), flush=True)
    print()
    print_table(rows, args.markdown)


if __name__ == "__main__":
    main()
